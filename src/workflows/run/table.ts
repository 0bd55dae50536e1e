/**
 * The run's state and task table, pure and plain JSON: rows in plan order, the scheduler's settings, spend, the
 * budget pool and the integration branch. The `runPlan` shell (workflow.ts) owns one `RunState` and changes it
 * only through these functions and scheduler.ts; what crosses continue-as-new is `carryOf`'s compact form.
 */
import type { Amount } from '../../shared/agent';
import type { AgentMessage, DeadLetter, RunProgress, TaskRow, TaskStatus } from '../../shared/messages';
import type { Plan } from '../../shared/plan';
import type { RunPlanCarry, RunPlanResult } from '../../shared/run';
import { transitiveDependents } from '../../shared/dag';
import type { ModelSpend } from '../../shared/costs';
import { PAGE_BYTES } from '../../shared/payloadBounds';
import { jsonBytes } from '../../shared/planIndex';
import { rowsThatMatter } from './byReference';

export const TERMINAL: readonly TaskStatus[] = ['completed', 'failed', 'blocked', 'cancelled', 'skipped'];
const RETRYABLE: readonly TaskStatus[] = ['failed', 'blocked', 'cancelled'];

export interface RunState {
  runId: string;
  /** One row per task, in plan order. */
  rows: TaskRow[];
  /** Row index by task id. */
  index: Record<string, number>;
  maxConcurrency: number;
  paused: boolean;
  status: RunProgress['status'];
  costUsd: number;
  tokens: number;
  /** The ended tasks' spend by model (from each result's final agent tree). */
  models: ModelSpend;
  /** The plan's budget shared by tasks without their own; unused slices come back. */
  pool?: Amount;
  /** The integration worktree; `host` owns it (docs/hosts.md), absent without host routing. */
  integration?: { path: string; branch: string; host?: string; movable?: boolean };
  lastCommit?: string;
  /** Messages nobody could receive (with the reason) and messages agents wrote to the operator. Never lost. */
  deadLetters: DeadLetter[];
  toOperator: AgentMessage[];
  /** Tasks started since this run of the workflow began (continue-as-new resets it). */
  startedThisRun: number;
  generation: number;
  /** A person's answers to tasks waiting at their gate, by task id (answered while waiting, so never carried). */
  gateAnswers: Record<string, GateAnswer>;
  /** Messages the operator answered or dismissed (answers.ts); not carried: a new run of the workflow starts empty. */
  answered: string[];
}

export interface GateAnswer {
  approved: boolean;
  reason?: string;
}

export function initialRunState(runId: string, plan: Plan, maxConcurrency: number | undefined, carry?: RunPlanCarry): RunState {
  // A carried row holds only what changes (continue-as-new payloads grow with the plan); the rest comes from the plan.
  const carried = new Map((carry?.rows ?? []).map((r) => [r.id, r]));
  const rows = plan.tasks.map(
    (t) => ({ id: t.id, title: t.title, phase: t.phase, priority: t.priority, status: t.done ? 'skipped' : 'pending', attempts: 0, ...carried.get(t.id) }) as TaskRow,
  );
  const paused = carry?.paused ?? false;
  return {
    runId,
    rows,
    index: Object.fromEntries(rows.map((r, i) => [r.id, i])),
    maxConcurrency: carry?.maxConcurrency ?? maxConcurrency ?? plan.maxConcurrency,
    paused,
    status: paused ? 'paused' : 'running',
    costUsd: carry?.costUsd ?? 0,
    tokens: carry?.tokens ?? 0,
    models: carry?.models ?? {},
    pool: carry ? carry.pool : plan.budget ? { ...plan.budget } : undefined,
    integration: carry?.integration,
    lastCommit: carry?.lastCommit,
    deadLetters: carry?.deadLetters ?? [],
    toOperator: carry?.toOperator ?? [],
    startedThisRun: 0,
    generation: carry?.generation ?? 0,
    gateAnswers: {},
    answered: [],
  };
}

export const rowOf = (s: RunState, id: string): TaskRow | undefined => (id in s.index ? s.rows[s.index[id]!] : undefined);

export function counts(s: RunState): Record<TaskStatus, number> {
  const c: Record<TaskStatus, number> = { pending: 0, ready: 0, running: 0, waiting: 0, completed: 0, failed: 0, blocked: 0, cancelled: 0, skipped: 0 };
  for (const r of s.rows) c[r.status]++;
  return c;
}

export const workLeft = (s: RunState): boolean => s.rows.some((r) => r.status === 'pending' || r.status === 'ready');

/**
 * Why `retry` of this task is refused, or undefined when it may be retried. A blocked task whose blocker has not
 * been retried is refused, naming the blocker: retrying the blocker brings its dependents back with it, and a
 * blocked task put back alone could never start.
 */
export function retryProblem(s: RunState, id: string): string | undefined {
  const r = rowOf(s, id);
  if (!r) return `no task "${id}" in this run`;
  if (!RETRYABLE.includes(r.status)) return `task "${id}" is ${r.status}; only failed, blocked or cancelled tasks can be retried`;
  const blocker = stillFailedBlockers(s, r)[0];
  if (blocker) {
    return `task "${id}" is blocked by "${blocker.id}", which is still ${blocker.status}: retry ${blocker.id} instead (its blocked dependents, ${id} among them, come back with it)`;
  }
  return undefined;
}

/** The rows that blocked `r` and have not been retried since (still failed, blocked or cancelled). */
function stillFailedBlockers(s: RunState, r: TaskRow, except: ReadonlySet<string> = new Set()): TaskRow[] {
  if (r.status !== 'blocked') return [];
  return (r.blockedBy ?? []).filter((b) => !except.has(b)).map((b) => rowOf(s, b)).filter((b): b is TaskRow => !!b && RETRYABLE.includes(b.status));
}

/** Why `cancel` of this task is refused, or undefined. */
export function cancelProblem(s: RunState, id: string): string | undefined {
  const r = rowOf(s, id);
  if (!r) return `no task "${id}" in this run`;
  if (TERMINAL.includes(r.status)) return `task "${id}" is already ${r.status}`;
  return undefined;
}

export { approvalWaiting } from '../../shared/messages';

/**
 * The rows a retry of `ids` puts back to pending: the tasks and their failed, blocked or cancelled dependents,
 * except a dependent that another failure, not retried here, still blocks (it stays blocked by that one).
 */
export function retrySet(plan: Plan, s: RunState, ids: string | readonly string[]): TaskRow[] {
  const roots = typeof ids === 'string' ? [ids] : ids;
  const all = new Set<string>();
  for (const id of roots) for (const t of [id, ...transitiveDependents(plan.tasks, id)]) all.add(t);
  const candidates = plan.tasks.filter((t) => all.has(t.id)).map((t) => rowOf(s, t.id)!).filter((r) => RETRYABLE.includes(r.status));
  const reset = new Set(candidates.map((r) => r.id));
  // A dependent stays out while some blocker outside the reset set is still failed (repeat: leaving one out can
  // strand its own dependents).
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of candidates) {
      if (reset.has(r.id) && !roots.includes(r.id) && stillFailedBlockers(s, r, reset).length > 0) {
        reset.delete(r.id);
        changed = true;
      }
    }
  }
  return candidates.filter((r) => reset.has(r.id));
}

/**
 * Finishing an ended run (carry.retry): the rows of `retry` (or every failed, blocked or cancelled task for
 * `all`) and their dependents go back to pending, keeping their attempt counts, so new attempts get new agent
 * ids. Completed and skipped rows stay as they were: they are not run again.
 */
export function applyRetry(plan: Plan, s: RunState, retry: readonly string[] | 'all'): TaskRow[] {
  const ids = retry === 'all' ? s.rows.filter((r) => r.status === 'failed' || r.status === 'cancelled').map((r) => r.id) : retry;
  const reset = retrySet(plan, s, ids);
  for (const r of reset) Object.assign(r, { status: 'pending', error: undefined, blockedBy: undefined, waiting: undefined });
  return reset;
}

/**
 * Pending rows that can never start because a dependency ended failed, blocked or cancelled become blocked by it,
 * so a finished run has no row left pending and its counts add up to its tasks.
 */
export function blockStranded(plan: Plan, s: RunState): void {
  const byId = new Map(plan.tasks.map((t) => [t.id, t]));
  for (const r of s.rows) {
    if (r.status !== 'pending' && r.status !== 'ready') continue;
    const failedDeps = byId.get(r.id)!.dependsOn.filter((d) => RETRYABLE.includes(rowOf(s, d)?.status ?? 'completed'));
    if (failedDeps.length) Object.assign(r, { status: 'blocked', blockedBy: failedDeps });
  }
}

/** Why an answer to `id`'s gate is refused, or undefined when the task waits for one. */
export function gateProblem(plan: Plan, s: RunState, id: string): string | undefined {
  const r = rowOf(s, id);
  if (!r) return `no task "${id}" in this run`;
  if (!plan.tasks[s.index[id]!]!.gate) return `task "${id}" has no approval gate`;
  if (r.status !== 'waiting' || !r.waiting?.startsWith('approval')) return `task "${id}" is ${r.status}, not waiting for approval`;
  if (s.gateAnswers[id]) return `task "${id}" has been answered already`;
  return undefined;
}

/** The rows to block because `id` failed or was cancelled: its transitive dependents that have not started. */
export function rowsToBlock(plan: Plan, s: RunState, id: string): TaskRow[] {
  return transitiveDependents(plan.tasks, id).map((d) => rowOf(s, d)!).filter((r) => r.status === 'pending' || r.status === 'ready');
}

/** Stop the run: nothing new starts; what waits is cancelled with the reason (running tasks are the shell's). */
export function cancelWaiting(s: RunState, reason: string): void {
  s.status = 'cancelled';
  for (const r of s.rows) if (r.status === 'pending' || r.status === 'ready') Object.assign(r, { status: 'cancelled', error: reason });
}

export { recordAgentResult, recordSpend } from './spend';

/** The run's verdict once nothing runs: cancelled if it was stopped, failed if any task did not make it. */
export function finalStatus(s: RunState): RunPlanResult['status'] {
  if (s.status === 'cancelled') return 'cancelled';
  const c = counts(s);
  return c.failed + c.blocked + c.cancelled > 0 ? 'failed' : 'completed';
}

/** The Web UI's current details: counts and what runs now. */
export function describe(s: RunState, runningIds: string[]): string {
  const c = counts(s);
  // Pending rows with a `waiting` text are held back by the live overlap check (overlap.ts).
  const waiting = s.rows.filter((r) => r.status === 'waiting' || (r.status === 'pending' && r.waiting));
  const working = runningIds.filter((id) => rowOf(s, id)?.status !== 'waiting');
  const base = `${s.status}: ${c.completed + c.skipped}/${s.rows.length} done, ${c.failed} failed, ${c.blocked} blocked; running ${working.length ? working.slice(0, 10).join(', ') : 'nothing'}`;
  // Gates first: a person is what they wait for (`cadre approve|reject <run> <task>`).
  const lines = waiting.map((r) => `${r.id} is waiting for ${r.waiting?.startsWith('approval') ? `approval (cadre approve|reject ${s.runId} ${r.id}): ${r.waiting.slice('approval: '.length)}` : r.waiting ?? 'something'}`);
  return [base, ...lines.slice(0, 10)].join('\n');
}

export function progress(s: RunState, plan: Plan): RunProgress {
  // A huge table is summarised: the counts say everything, `tasks` the rows that matter (docs/architecture.md).
  const huge = s.rows.length > 200 && jsonBytes(s.rows) > PAGE_BYTES;
  const tasks = huge ? rowsThatMatter(s.rows) : s.rows;
  return {
    runId: s.runId,
    name: plan.name,
    status: s.status,
    maxConcurrency: s.maxConcurrency,
    integrationBranch: s.integration?.branch,
    tasks,
    ...(huge ? { tasksOmitted: s.rows.length - tasks.length } : {}),
    counts: counts(s),
    costUsd: s.costUsd,
    tokens: s.tokens,
    models: s.models,
    budget: plan.budget,
    deadLetters: s.deadLetters,
    toOperator: s.toOperator,
  };
}

export function carryOf(s: RunState): RunPlanCarry {
  return {
    rows: s.rows.filter((r) => r.status !== 'pending' || r.attempts > 0).map(compactRow),
    maxConcurrency: s.maxConcurrency,
    paused: s.paused,
    costUsd: s.costUsd,
    tokens: s.tokens,
    models: s.models,
    pool: s.pool,
    integration: s.integration!,
    lastCommit: s.lastCommit,
    deadLetters: s.deadLetters,
    toOperator: s.toOperator,
    generation: s.generation + 1,
  };
}

export function runResult(s: RunState, status: RunPlanResult['status']): RunPlanResult {
  return {
    runId: s.runId,
    status,
    integrationBranch: s.integration?.branch ?? `cadre/${s.runId}/integration`,
    commit: s.lastCommit,
    tasks: s.rows,
    counts: counts(s),
    costUsd: s.costUsd,
    tokens: s.tokens,
    models: s.models,
    deadLetters: s.deadLetters,
    toOperator: s.toOperator,
  };
}

/** A task row without what the plan already says (title, phase, priority), its texts trimmed. */
function compactRow({ title: _t, phase: _p, priority: _r, summary, error, ...rest }: TaskRow): Partial<TaskRow> {
  return { ...rest, ...(summary ? { summary: summary.slice(0, 120) } : {}), ...(error ? { error: error.slice(0, 300) } : {}) };
}
