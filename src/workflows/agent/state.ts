/**
 * The agent workflow's state: plain JSON, owned by the workflow shell (workflow.ts) and changed by the pure
 * functions of this folder. What crosses continue-as-new is `AgentCarry`; its shape lives in history (the next
 * run's input), so fields are only ever added, never renamed.
 */
import { terminalAgentStatuses, type AgentInput, type AgentStatus, type Amount, type ReviewRecord, type VerifyAttempt } from '../../shared/agent';
import type { AgentMessage, AgentTreeNode, DeadLetter } from '../../shared/messages';
import type { CommandTaskResult } from '../../shared/commandTask';
import { zeroUsage, type Usage } from '../../shared/usage';
import type { ToolResultLike } from '../../shared/session';
import type { ToolResult } from '../../shared/tools';
import * as ledger from './ledger';
import * as mail from './mailbox';
import type { PortHold } from '../locks/ports';
import type { StallState } from './stall';
import type { OperatorAsk } from './operatorBudget';

export interface Workspace {
  path: string;
  branch: string;
  baseCommit: string;
  /** The host that owns the worktree (docs/hosts.md); absent in histories from before host routing. */
  host?: string;
  /** Through a remote: the workspace can be made again on another host when its host is lost (relocate.ts). */
  movable?: boolean;
}

export interface ChildRecord {
  name: string;
  agentId: string;
  status: AgentStatus;
  allocated: Amount;
  branch?: string;
  usage?: Usage;
  costUsd?: number;
  merged: boolean;
  conflicts?: string[];
  summary?: string;
  /** The child's subtree as it last reported it. */
  node?: AgentTreeNode;
}

/** What an agent carries across continue-as-new. Children still running are never carried: it waits for them. */
export interface AgentCarry {
  ledger: ledger.Ledger;
  turn: number;
  ownUsage: Usage;
  ownCost: number;
  summary: string;
  lastText: string;
  nextInputEstimate: number;
  workspace: Workspace;
  children: ChildRecord[];
  handledRequests: string[];
  requestSeq: number;
  toolResults: ToolResult[];
  mailbox: mail.Mailbox;
  messageSeq: number;
  deadLetters: DeadLetter[];
  toOperator: AgentMessage[];
  /** Workflow time at which the agent's timeout fires, if it has one. */
  deadline?: number;
  generation: number;
  /** Fix-and-retry (docs/loops.md): the attempt the agent is on and the verdicts so far; absent in older carries. */
  attempt?: number;
  attempts?: VerifyAttempt[];
  reviews?: ReviewRecord[];
  /** The workspace's port block, still held (same workflow id across continue-as-new): the next run renews it. */
  ports?: PortHold;
}

export interface AgentState {
  agentId: string;
  status: AgentStatus;
  /** What the agent does now: shown by the status query, the tree, and the Web UI's current details. */
  doing: string;
  book: ledger.Ledger;
  turn: number;
  /** Turns taken since this run of the workflow started (continue-as-new resets it). */
  turnsThisRun: number;
  ownUsage: Usage;
  ownCost: number;
  summary: string;
  lastText: string;
  error?: string;
  nextInputEstimate: number;
  workspace?: Workspace;
  /** A command agent's ending, done by its one activity (commit, diff, removal); unset on every other path. */
  ended?: CommandTaskResult;
  children: ChildRecord[];
  /** Budget requests from children already answered (a repeated signal is ignored). */
  handledRequests: string[];
  requestSeq: number;
  /** Refusals of our own budget requests, by request id (grants are in the ledger's grant ids). */
  refusals: Record<string, string>;
  /** Tool results of the last turn, given to the model in the next one. */
  toolResults: ToolResult[];
  mailbox: mail.Mailbox;
  messageSeq: number;
  /** Kept here only for a standalone agent; inside a run they go to the run. */
  deadLetters: DeadLetter[];
  toOperator: AgentMessage[];
  /** Messages shown to the model whose turn has not completed yet (they become processed when it does). */
  awaitingProcessing: string[];
  /** Shared mode: the files this agent wrote (there is no branch to diff). */
  written: string[];
  deadline?: number;
  generation: number;
  /** A session backend's program is running (orchestration calls arrive as Updates only then). */
  inSession: boolean;
  /** Answers to the session's orchestration calls by call id: a resumed session's repeat gets the first answer. */
  sessionCalls: Record<string, ToolResultLike>;
  /** Fix-and-retry: the attempt the agent is on (from 1) and every verdict so far (attempts.ts). */
  attempt: number;
  attempts: VerifyAttempt[];
  /** What the next attempt is told about the failed one (a session's prompt, a command's CADRE_VERIFY_FAILURE). */
  fix?: string;
  /** Review (reviewer.ts): every round's verdict, and the last request for changes (a command's CADRE_REVIEW_CHANGES). */
  reviews: ReviewRecord[];
  reviewChanges?: string;
  /**
   * Set once the work was merged, committed and verified before the ending (fix-and-retry): the ending then only
   * diffs and removes the worktree. `commit` is undefined in shared mode.
   */
  settled?: { commit?: string };
  /** A session backend under fix-and-retry: the session's totals as its last attempt reported them. */
  session?: { usage: Usage; costUsd: number; turns: number };
  /** The workspace's port block (`patched('port-lease')`; docs/workspaces.md, "Ports"). */
  ports?: PortHold;
  /** Stalls (stall.ts): the last progress seen, the stall if any. Not carried: a new run starts from its start. */
  watch: StallState;
  /** Set when a stall ended the agent: its error ("stalled: no progress for …"). */
  stalledOut?: string;
  /** A budget request waiting for the operator (operatorBudget.ts); never across continue-as-new (it waits in a turn). */
  operatorAsk?: OperatorAsk;
  /** Messages the operator answered or dismissed (src/workflows/answers.ts); a standalone agent's lists only. */
  answered: string[];
  /** Hosts this agent's workspace was lost with (relocate.ts), in order; absent when it never moved. */
  lostHosts?: string[];
}

/** The state at the start of a run of the workflow: fresh, or taken over from the previous run's carry. */
export function initialState(agentId: string, input: AgentInput, now: number, carry?: AgentCarry): AgentState {
  return {
    agentId,
    status: carry ? 'running' : 'starting',
    doing: carry ? `model turn ${carry.turn}` : 'creating workspace',
    book: carry?.ledger ?? ledger.newLedger(input.budget),
    turn: carry?.turn ?? 0,
    turnsThisRun: 0,
    ownUsage: carry?.ownUsage ?? zeroUsage(),
    ownCost: carry?.ownCost ?? 0,
    summary: carry?.summary ?? '',
    lastText: carry?.lastText ?? '',
    nextInputEstimate: carry?.nextInputEstimate ?? Math.ceil(goalChars(input) / 3) + 2000,
    workspace: carry?.workspace,
    children: carry?.children ?? [],
    handledRequests: carry?.handledRequests ?? [],
    requestSeq: carry?.requestSeq ?? 0,
    refusals: {},
    toolResults: carry?.toolResults ?? [],
    mailbox: carry?.mailbox ?? mail.newMailbox(),
    messageSeq: carry?.messageSeq ?? 0,
    deadLetters: carry?.deadLetters ?? [],
    toOperator: carry?.toOperator ?? [],
    awaitingProcessing: [],
    written: [],
    deadline: carry?.deadline ?? (input.timeoutSeconds ? now + input.timeoutSeconds * 1000 : undefined),
    generation: carry?.generation ?? 0,
    inSession: false,
    sessionCalls: {},
    attempt: carry?.attempt ?? 1,
    attempts: carry?.attempts ?? [],
    reviews: carry?.reviews ?? [],
    ...(carry?.ports ? { ports: carry.ports } : {}),
    watch: { progressAt: now, stalls: 0, restarts: 0 },
    answered: [],
  };
}

/** The carry for the next run (the field order is the one recorded histories hold). */
export function carryOf(s: AgentState): AgentCarry {
  return {
    ledger: s.book,
    turn: s.turn,
    ownUsage: s.ownUsage,
    ownCost: s.ownCost,
    summary: s.summary,
    lastText: s.lastText,
    nextInputEstimate: s.nextInputEstimate,
    workspace: s.workspace!,
    children: s.children,
    handledRequests: s.handledRequests,
    requestSeq: s.requestSeq,
    toolResults: s.toolResults,
    mailbox: s.mailbox,
    messageSeq: s.messageSeq,
    deadLetters: s.deadLetters,
    toOperator: s.toOperator,
    deadline: s.deadline,
    generation: s.generation + 1,
    // Only once fix-and-retry has something to carry: older carries (recorded histories) stay as they were.
    ...(s.attempt > 1 || s.attempts.length ? { attempt: s.attempt, attempts: s.attempts } : {}),
    ...(s.ports ? { ports: s.ports } : {}),
    ...(s.reviews.length ? { reviews: s.reviews } : {}),
  };
}

/**
 * Continue-as-new is due between turns when the server suggests it (or every `continueAsNewEvery` turns), and only
 * when no child still runs (children belong to this run) and the workspace exists.
 */
export function continueAsNewDue(s: AgentState, input: AgentInput, suggested: boolean): boolean {
  const due = suggested || (input.continueAsNewEvery !== undefined && s.turnsThisRun >= input.continueAsNewEvery);
  return due && !!s.workspace && !s.children.some((c) => !isTerminal(c.status));
}

export const isTerminal = (status: AgentStatus): boolean => terminalAgentStatuses.includes(status);

/** The goal's length in characters, also when only its preview is in the input (goalRef). */
function goalChars(input: AgentInput): number {
  const ref = input.goalRef;
  return !ref ? input.goal.length : ref.kind === 'plan-task' ? ref.chars : ref.bytes;
}
