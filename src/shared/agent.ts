/**
 * The agent workflow's input and result. Both live in history: ids, paths, counts and short text only.
 */
import type { TextRef } from './blobs';
import type { AgentTreeNode } from './messages';
import type { Backend, Usage } from './model';
import type { Caches, Check } from './plan';
import type { PriceTableOverrides } from './priceTable';
import type { SessionPermissions } from './session';

export interface Amount {
  tokens?: number;
  usd?: number;
}

export interface AgentLimits {
  maxDepth: number;
  maxChildren: number;
}

export const defaultLimits: AgentLimits = { maxDepth: 5, maxChildren: 20 };

export interface AgentInput {
  /** Repository the agent works on (absolute path of the main checkout). */
  repo: string;
  /** Ref the agent's worktree branches from (a branch name or commit). */
  baseRef: string;
  goal: string;
  /**
   * The whole goal when it is long: `goal` is then its preview, and the activities that need the text read it
   * (src/shared/blobs.ts). A plan's long prompts reach their agents this way, never through history.
   */
  goalRef?: TextRef;
  system?: string;
  backend: Backend;
  model: string;
  maxTokens: number;
  maxTurns: number;
  /** scripted backend: absolute path of the script. */
  script?: string;
  /** command backend: argv run in the workspace. */
  command?: string[];
  /**
   * The command came from a model (`spawn_agent {backend: command}`), not from the plan or the operator: the
   * command activities hold it to the worker's command policy like any `run_command`.
   */
  commandFromModel?: boolean;
  timeoutSeconds?: number;
  /** The agent's own allocation; unset dimensions are unlimited. */
  budget: Amount;
  depth: number;
  limits: AgentLimits;
  parentId?: string;
  runId?: string;
  taskId?: string;
  /** Paths the agent is expected to touch (scope; informational for now). */
  files?: string[];
  /** Paths that must exist in the workspace after the agent's work, or it fails with "missing outputs" (after `verifyAttempts`). */
  outputs?: string[];
  /** argv run in the workspace after the agent's work is committed; non-zero exit fails the agent (after `verifyAttempts`). */
  verify?: string[];
  /** Machine checks on the workspace after the outputs (the task's `checks`); any failing fails the agent (after `verifyAttempts`). */
  checks?: Check[];
  /**
   * Attempts at passing the verification above, the first included (default 2, see docs/loops.md): a failure goes
   * back to the agent, which works again in the same worktree, until one passes or this many have failed.
   */
  verifyAttempts?: number;
  /**
   * Stalls (docs/loops.md): no progress (a model turn, a tool call, a child's report, a program's output) for this
   * many seconds marks the agent stalled and nudges it; as long again without progress ends it (`onStall: 'end'`,
   * the default: it fails "stalled: no progress for …", its work committed) or restarts its backend (`'restart'`).
   * Default 600 (10 minutes).
   */
  stallAfterSeconds?: number;
  onStall?: 'end' | 'restart';
  /**
   * An agent with no parent that runs short asks the operator and waits this many seconds for `cadre budget grant`
   * or `refuse` (src/workflows/agent/operatorBudget.ts). Absent or 0: refused at once, as before (workflows started
   * by other callers); `cadre run` and `cadre agent` give a day unless the plan or `--budget-wait` says otherwise.
   */
  budgetWaitSeconds?: number;
  /** A reviewer after the verification passes (docs/loops.md "Review"); `rounds` is set by the scheduler (default 2). */
  review?: { backend: AgentInput['backend']; model?: string; prompt?: string; rounds?: number; command?: string[]; script?: string };
  /** Set for a run's merge-conflict resolver (docs/loops.md "Merge conflicts"): its CadreRole search attribute. */
  role?: 'resolver';
  /** Plain (never secret) variables a command agent's program gets, e.g. a reviewer's CADRE_REVIEW_* (docs/loops.md). */
  env?: Record<string, string>;
  /** Workspace setup, once per workspace: copy these paths from the main checkout, then run `setup` (docs/workspaces.md). */
  bootstrap?: { copy?: string[]; setup?: string[]; setupTimeoutMs?: number; caches?: Caches; setupAlways?: boolean };
  /**
   * `worktree` (default): the agent works in a git worktree of its own. `shared`: it edits the repository's
   * checkout itself, as seeds 000/004 do; every write takes the file's lock first and is fenced by its token; the
   * system does not commit (the checkout is the user's).
   */
  workspaceMode?: 'worktree' | 'shared';
  /**
   * The host to make the workspace on if it is alive (docs/hosts.md): a sub-agent's parent's host, a retried task's
   * previous host. A shared workspace is on this host, with no other choice.
   */
  host?: string;
  /** Continue-as-new after this many turns in one run (default: when the server suggests it). */
  continueAsNewEvery?: number;
  /** Prices (USD per million tokens) that replace or extend the built-in table (CADRE_PRICES); children inherit. */
  prices?: PriceTableOverrides;
  /** Session backends (claude-code, codex): the program's own permission and sandbox settings (docs/backends.md). */
  permissions?: SessionPermissions;
}

/** One review round (docs/loops.md "Review"): the reviewer's verdict on a commit, with its short text. */
export interface ReviewRecord {
  round: number;
  verdict: 'approve' | 'changes';
  commit: string;
  summary: string;
}

/** Which part of the verification failed: the declared outputs, the machine checks, or the verify command. */
export type VerifyCheck = 'outputs' | 'checks' | 'verify';

/** One attempt at passing the verification, as status, results and `cadre logs` show it (short text only). */
export interface VerifyAttempt {
  attempt: number;
  ok: boolean;
  /** The part that failed (absent when the attempt passed). */
  check?: VerifyCheck;
  /** "passed", or the failure in a few hundred characters. */
  summary: string;
}

export type AgentStatus =
  | 'starting'
  | 'running'
  | 'waiting'
  | 'finishing'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'budget_exhausted'
  | 'timed_out'
  | 'max_turns';

export const terminalAgentStatuses: AgentStatus[] = ['completed', 'failed', 'cancelled', 'budget_exhausted', 'timed_out', 'max_turns'];

export interface AgentResult {
  agentId: string;
  status: AgentStatus;
  summary: string;
  branch: string;
  baseCommit?: string;
  commit?: string;
  filesChanged: string[];
  /** The agent's own usage plus its whole subtree's. */
  usage: Usage;
  costUsd: number;
  turns: number;
  error?: string;
  /** Budget handed back to the parent: the allocation plus grants that neither the agent nor its subtree used. */
  returned: Amount;
  /** The whole subtree at the end, for `cadre tree` on a finished agent. */
  tree?: AgentTreeNode;
  children: { name: string; agentId: string; status: AgentStatus; merged: boolean; conflicts?: string[] }[];
  /** Every verification attempt, when the agent was verified under fix-and-retry (docs/loops.md). */
  attempts?: VerifyAttempt[];
  /** Every review round (docs/loops.md "Review"), when the agent has a reviewer. */
  reviews?: ReviewRecord[];
  /** The agent's limit of verification attempts (set with `attempts`). */
  verifyAttempts?: number;
  /** Stalls the agent had (docs/loops.md "Stalls"); absent when it never stalled. */
  stalls?: number;
  /** The host that owned the agent's workspace (docs/hosts.md); absent without host routing. */
  host?: string;
}

/** The agent workflow's signature as a client sees it (the workflow's own carry argument is internal). */
export type AgentWorkflow = (input: AgentInput) => Promise<AgentResult>;
