/**
 * Every signal, query and update of cadre's workflows, in one file. Wire names are stable strings: they live in
 * history, so renaming one breaks replay of running workflows. Signals may be delivered twice; each carries an id
 * and handlers ignore repeats.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ModelSpend } from './costs';
import type { AgentStatus, Amount, ReviewRecord, VerifyAttempt } from './agent';
import type { Usage } from './model';
import type { NotifyFailure } from './notify';

// ---- agent ----------------------------------------------------------------------------------------------------

export interface LedgerView {
  allocated: Amount;
  granted: Amount;
  used: Amount;
  reserved: Amount;
  givenToChildren: Amount;
  reclaimed: Amount;
  available: Amount;
  alerts: number[];
}

export interface ChildView {
  name: string;
  agentId: string;
  status: AgentStatus;
  allocated: Amount;
  usage?: Usage;
  costUsd?: number;
}

export interface AgentSnapshot {
  agentId: string;
  parentId?: string;
  runId?: string;
  taskId?: string;
  depth: number;
  status: AgentStatus;
  backend: string;
  turn: number;
  /** What the agent does right now, in a few words ("model turn 12", "write src/x.ts", "waiting for 3 agents"). */
  doing: string;
  branch?: string;
  workspace?: string;
  usage: Usage;
  costUsd: number;
  ledger: LedgerView;
  children: ChildView[];
  lastText?: string;
  /** The verification attempt the agent is on (1 = its first work), of `verifyAttempts` (docs/loops.md). */
  attempt?: number;
  verifyAttempts?: number;
  /** The verification attempts so far, each with the check that failed and a short summary. */
  attempts?: VerifyAttempt[];
  /** Review rounds so far (docs/loops.md "Review"). */
  reviews?: ReviewRecord[];
  /** The workspace's leased ports, `first-last` (docs/workspaces.md, "Ports"). */
  ports?: string;
  /** Stalls (docs/loops.md): set while the agent is stalled — since when (epoch ms) nothing moved, when it was nudged. */
  stalled?: { since: number; nudgedAt: number };
  /** Stalls the agent had so far (absent: none). */
  stalls?: number;
  /** A budget request that reached the top and waits for the operator (`cadre budget grant|refuse`; docs/cli.md). */
  budgetRequest?: OperatorBudgetRequest;
  /** Notifications not delivered after their retries (docs/notifications.md). */
  notifyFailures?: NotifyFailure[];
}

/** A budget request of an agent with no parent to ask (a task's agent, a root agent): the operator answers it. */
export interface OperatorBudgetRequest {
  requestId: string;
  tokens?: number;
  usd?: number;
  /** When it began waiting (epoch ms, workflow time). */
  since: number;
  /** When the wait ends as a refusal (epoch ms), docs/cli.md "cadre budget". */
  until: number;
}

export const agentStatusQuery = defineQuery<AgentSnapshot>('cadre.agent.status');

/** One agent and, recursively, its sub-agents as last reported to it (children push on status changes). */
export interface AgentTreeNode {
  agentId: string;
  name?: string;
  depth: number;
  status: AgentStatus;
  doing: string;
  /** The agent's own allocation plus grants. */
  allocated: Amount;
  /** Usage of the agent and its whole subtree. */
  usage: Usage;
  costUsd: number;
  /** The model the agent's turns are priced at (`command` for a program agent); absent in runs recorded before. */
  model?: string;
  /** Budget alert thresholds (50/80/95/100 %) this agent has crossed, each once. */
  alerts: number[];
  /** The workspace's leased ports, `first-last` (docs/workspaces.md, "Ports"). */
  ports?: string;
  children: AgentTreeNode[];
}

export const agentTreeQuery = defineQuery<AgentTreeNode>('cadre.agent.tree');

/** A child's subtree, pushed to its parent when a status in it changes or a budget alert fires. */
export const childProgressSignal = defineSignal<[{ childId: string; node: AgentTreeNode }]>('cadre.agent.childProgress');

export interface BudgetGrant {
  grantId: string;
  tokens?: number;
  usd?: number;
  from: string;
}
export const budgetGrantSignal = defineSignal<[BudgetGrant]>('cadre.agent.budgetGrant');

export interface BudgetRefusal {
  requestId: string;
  reason: string;
}
export const budgetRefusalSignal = defineSignal<[BudgetRefusal]>('cadre.agent.budgetRefusal');

export interface BudgetRequest {
  requestId: string;
  from: string;
  tokens?: number;
  usd?: number;
}
export const budgetRequestSignal = defineSignal<[BudgetRequest]>('cadre.agent.budgetRequest');

/**
 * The operator's grant (`cadre budget grant`), as an Update: idempotent on `grantId` (a repeated id counts once);
 * returns what happened ("granted 50000 tokens …; the agent resumes"). The signal above stays for grants between
 * agents and for workflows started before.
 */
export const budgetGrantUpdate = defineUpdate<string, [BudgetGrant]>('cadre.agent.grantBudget');
/** The operator refuses the budget request waiting for them (`cadre budget refuse`): the agent goes on without it. */
export const budgetRefuseUpdate = defineUpdate<string, [{ reason: string }]>('cadre.agent.refuseBudget');

export interface ChildEnded {
  childId: string;
  status: AgentStatus;
  usage: Usage;
  costUsd: number;
  returned: Amount;
  /** The child's final subtree, for the parent's tree view. */
  node?: AgentTreeNode;
}
export const childEndedSignal = defineSignal<[ChildEnded]>('cadre.agent.childEnded');

// ---- messages between agents -----------------------------------------------------------------------------------

export interface AgentMessage {
  /** `<sender id>#<n>`, or a caller-chosen id: repeats of one id are delivered once. */
  id: string;
  from: string;
  to: string;
  text: string;
  priority: 'high' | 'normal' | 'low';
  replyTo?: string;
  thread?: string;
  sentAt: number;
}
export const agentMessageSignal = defineSignal<[AgentMessage]>('cadre.agent.message');
/** The operator's message (`cadre send`), as an Update: idempotent on the message id; returns what became of it. */
export const operatorSendUpdate = defineUpdate<string, [AgentMessage]>('cadre.agent.operatorSend');

export interface MailboxView {
  messages: (AgentMessage & { thread: string; state: 'pending' | 'delivered' | 'processed' })[];
  deadLetters: DeadLetter[];
  toOperator: AgentMessage[];
}
export const mailboxQuery = defineQuery<MailboxView>('cadre.agent.mailbox');

/** A message that could not be delivered (its recipient has ended or never existed), with the reason. */
export interface DeadLetter {
  message: AgentMessage;
  reason: string;
  at: number;
}
/** Sent to the run (or kept by a standalone root agent) when a message cannot be delivered. */
export const deadLetterSignal = defineSignal<[DeadLetter]>('cadre.run.deadLetter');
/** Messages addressed to the operator, collected by the run. */
export const operatorMessageSignal = defineSignal<[AgentMessage]>('cadre.run.operatorMessage');
/**
 * The operator answered a message to the operator (a reply) or dismissed a dead letter, by message id: it leaves the
 * inbox. Handled by the run, and by a standalone root agent for its own lists. A repeat answers "already answered".
 */
export const messageAnsweredUpdate = defineUpdate<string, [string]>('cadre.messageAnswered');

// ---- runPlan --------------------------------------------------------------------------------------------------

/**
 * `waiting`: started, but waiting for something other than work — a lock another run holds, or a person's approval
 * (`waiting` on the row says which). A waiting task holds no concurrency or phase slot.
 */
export type TaskStatus = 'pending' | 'ready' | 'running' | 'waiting' | 'completed' | 'failed' | 'blocked' | 'cancelled' | 'skipped';

/** The row's (and the Web UI's) words for a task waiting at its gate; the history reader says the same. */
export function approvalWaiting(prompt: string): string {
  return `approval: ${prompt.replace(/\s+/g, ' ').slice(0, 200)}`;
}

export interface TaskRow {
  id: string;
  title: string;
  phase?: string;
  priority: number;
  status: TaskStatus;
  agentId?: string;
  attempts: number;
  startedAt?: number;
  endedAt?: number;
  blockedBy?: string[];
  /**
   * While `waiting`: what for, in a few words ("lock on src/a.ts", "approval: Check the login page"). On a `running`
   * row: the step the run itself is taking for the task ("resolving conflict in a.ts", docs/loops.md "Merge conflicts").
   */
  waiting?: string;
  /** Every round of bringing the integration branch into the task's branch after its merge conflicted (docs/loops.md). */
  resolutions?: ResolutionRecord[];
  error?: string;
  summary?: string;
  commit?: string;
  costUsd?: number;
  tokens?: number;
  /** The host of the last attempt's workspace (docs/hosts.md): a retry asks it first. Absent without host routing. */
  host?: string;
}

/**
 * One round of a merge-conflict resolution (docs/loops.md "Merge conflicts"): the integration head was merged into the
 * task's branch; `clean` needed no resolver, `resolved` had one whose work passed the task's checks and was merged,
 * `failed` says why not. Small: it lives in the run's history and carry.
 */
export interface ResolutionRecord {
  round: number;
  files: string[];
  outcome: 'clean' | 'resolved' | 'failed';
  /** The resolver's agent id (`<task agent>/resolve-<n>`), when one ran. */
  agentId?: string;
  /** Why a round failed, in a line. */
  why?: string;
  costUsd?: number;
}

export interface RunProgress {
  runId: string;
  name: string;
  status: 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
  maxConcurrency: number;
  integrationBranch?: string;
  /** Every row; for a table too large for one answer (docs/architecture.md), the rows that matter, and `tasksOmitted` says how many are left out. */
  tasks: TaskRow[];
  tasksOmitted?: number;
  counts: Record<TaskStatus, number>;
  costUsd: number;
  tokens: number;
  /** The ended tasks' spend by model, their whole subtrees' (docs/cli.md, "Costs"); running tasks are not in it yet. */
  models?: ModelSpend;
  budget?: Amount;
  deadLetters?: DeadLetter[];
  toOperator?: AgentMessage[];
  /** Notifications not delivered after their retries (docs/notifications.md). */
  notifyFailures?: NotifyFailure[];
}

export const runProgressQuery = defineQuery<RunProgress>('cadre.run.progress');
export const pauseRunUpdate = defineUpdate<void>('cadre.run.pause');
export const resumeRunUpdate = defineUpdate<void>('cadre.run.resume');
export const retryTaskUpdate = defineUpdate<string, [string]>('cadre.run.retryTask');
export const cancelTaskUpdate = defineUpdate<string, [string]>('cadre.run.cancelTask');
export const setConcurrencyUpdate = defineUpdate<number, [number]>('cadre.run.setConcurrency');
/** A person approves a task waiting at its gate (`gate: {kind: approval}`): it goes on to merge and complete. */
export const approveTaskUpdate = defineUpdate<string, [string]>('cadre.run.approveTask');
/** A person rejects a task waiting at its gate: it fails with the reason (its dependents are blocked). */
export const rejectTaskUpdate = defineUpdate<string, [string, string]>('cadre.run.rejectTask');
export * from './locks';
