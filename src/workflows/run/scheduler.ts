/**
 * The scheduler's decisions, pure: which task starts next, what budget slice it gets, and the agent input it runs
 * with. Rules: a task is ready when its dependencies are satisfied (`satisfied`); ready tasks start by priority
 * (then plan order) while fewer than `maxConcurrency` work, never beside a started task whose declared files
 * overlap its own (the lock manager's rule, `setsConflict`: a directory overlaps every path inside it), and never
 * past its phase's limit, nor while the live overlap check holds it back (overlap.ts). A task `waiting` (for a lock another run holds, or a person's approval) holds no
 * concurrency or phase slot. Nothing starts while the run is paused or cancelled.
 */
import { defaultLimits, type AgentInput, type Amount } from '../../shared/agent';
import { DEFAULT_REVIEW_ROUNDS } from '../../shared/planLimits';
import type { Plan, Task } from '../../shared/plan';
import type { RunPlanInput } from '../../shared/run';
import { setsConflict } from '../locks/lockTable';
import { rowOf, type RunState } from './table';
import { goalOf } from './byReference';

/** The model a task runs when neither it, the plan's defaults nor the run name one. */
export const DEFAULT_MODEL = 'claude-sonnet-4-6';
/** The backend a task runs when neither it nor the plan's defaults name one. */
export const DEFAULT_BACKEND = 'scripted';

/**
 * Whether `id` lets its dependents start: it completed in this run, or it was already done in the source
 * (`skipped`) and everything it depends on is satisfied too. A done task passes its dependencies' state through
 * instead of opening the way by itself: importers express phase barriers as edges to the previous phase's last
 * tasks, so a done task there must not let a later phase start beside an earlier one that has not run.
 */
export function satisfied(plan: Plan, s: RunState, id: string, memo: Map<string, boolean> = new Map()): boolean {
  const status = rowOf(s, id)?.status;
  if (status === 'completed') return true;
  if (status !== 'skipped') return false;
  const known = memo.get(id);
  if (known !== undefined) return known;
  memo.set(id, true); // a cycle (validation refuses them) ends here
  const t = plan.tasks[s.index[id]!];
  const ok = !t || t.dependsOn.every((d) => !(d in s.index) || satisfied(plan, s, d, memo));
  memo.set(id, ok);
  return ok;
}

/** A declared path as the lock manager compares it: no `./`, no trailing `/`. */
const lockPath = (p: string) => p.replace(/^(\.\/)+/, '').replace(/\/+$/, '');

/** Whether two tasks' declared files may not be worked on at once: one rule with the lock manager's. */
export function filesOverlap(a: Task, b: Task): boolean {
  return a.files.length > 0 && b.files.length > 0 && setsConflict(a.files.map(lockPath), b.files.map(lockPath));
}

/**
 * Whether `t`, started but waiting, may take a slot now: fewer than `maxConcurrency` of the other started tasks
 * work (are not waiting), and fewer than its phase's limit in its phase.
 */
export function slotFree(plan: Plan, s: RunState, startedIds: readonly string[], t: Task): boolean {
  const byId = new Map(plan.tasks.map((x) => [x.id, x]));
  const working = startedIds.filter((id) => id !== t.id && rowOf(s, id)?.status !== 'waiting').map((id) => byId.get(id)!);
  const limit = t.phase ? plan.phaseLimits[t.phase] : undefined;
  return working.length < s.maxConcurrency && (limit === undefined || working.filter((o) => o.phase === t.phase).length < limit);
}

/** `held`: tasks the live overlap check holds back for now (overlap.ts); they are passed over. */
export function nextTask(plan: Plan, s: RunState, startedIds: readonly string[], held?: { has(id: string): boolean }): Task | undefined {
  const byId = new Map(plan.tasks.map((t) => [t.id, t]));
  const started = startedIds.map((id) => byId.get(id)!);
  // What waits (for a lock, for a person) does no work: it holds no slot. It still keeps overlapping tasks apart.
  const working = started.filter((t) => rowOf(s, t.id)?.status !== 'waiting');
  if (s.paused || s.status === 'cancelled' || working.length >= s.maxConcurrency) return undefined;
  const order = new Map(plan.tasks.map((t, i) => [t.id, i]));
  const overlaps = (t: Task) => started.some((o) => filesOverlap(t, o));
  const phaseFull = (t: Task) => {
    const limit = t.phase ? plan.phaseLimits[t.phase] : undefined;
    return limit !== undefined && working.filter((o) => o.phase === t.phase).length >= limit;
  };
  const memo = new Map<string, boolean>();
  const ready = plan.tasks.filter((t) => rowOf(s, t.id)!.status === 'pending' && t.dependsOn.every((d) => satisfied(plan, s, d, memo)));
  ready.sort((a, b) => b.priority - a.priority || order.get(a.id)! - order.get(b.id)!);
  return ready.find((t) => !held?.has(t.id) && !overlaps(t) && !phaseFull(t));
}

/**
 * A task's budget. Without a plan budget: its own (or the plan default), else unlimited. With one, the plan budget
 * is a ceiling for the whole run: every task's slice is taken out of the pool — its own budget (or the default),
 * else an equal share among the tasks still waiting for one — and never more than the pool still holds, so a
 * spent pool gives 0 and the task's agent stops before its first turn. `recordAgentResult` returns what is left.
 */
export function sliceFor(plan: Plan, s: RunState, t: Task): { slice: Amount; fromPool: boolean } {
  const own = t.budget ?? plan.defaults.budget;
  const pool = s.pool;
  if (!pool) return { slice: own ?? {}, fromPool: false };
  const waiting = plan.tasks.filter((x) => ['pending', 'ready'].includes(rowOf(s, x.id)!.status) && !x.budget).length || 1;
  const take = (left: number | undefined, wanted: number | undefined, share: (n: number) => number): number | undefined =>
    left === undefined ? wanted : Math.max(0, Math.min(wanted ?? share(left), left));
  const slice: Amount = {
    tokens: take(pool.tokens, own?.tokens, (n) => Math.floor(n / waiting)),
    usd: take(pool.usd, own?.usd, (n) => n / waiting),
  };
  if (pool.tokens !== undefined) pool.tokens -= slice.tokens!;
  if (pool.usd !== undefined) pool.usd -= slice.usd!;
  return { slice, fromPool: true };
}

/** The agent id of a task's attempt: stable, so a retried start after a crash finds the same workflow. */
export function agentIdFor(runId: string, taskId: string, attempt: number): string {
  return attempt === 1 ? `${runId}/${taskId}` : `${runId}/${taskId}~${attempt}`;
}

export function agentInputFor(input: RunPlanInput, s: RunState, t: Task, slice: Amount): AgentInput {
  const d = input.plan!.defaults;
  return {
    repo: input.repo,
    baseRef: s.integration!.branch,
    ...goalOf(input, t),
    backend: t.backend ?? d.backend ?? DEFAULT_BACKEND,
    model: t.model ?? d.model ?? input.model ?? DEFAULT_MODEL,
    maxTokens: 8192,
    maxTurns: t.maxTurns ?? d.maxTurns ?? 50,
    script: t.script,
    command: t.command,
    timeoutSeconds: t.timeoutSeconds ?? d.timeoutSeconds,
    budget: slice,
    depth: 0,
    limits: defaultLimits,
    runId: input.runId,
    taskId: t.id,
    files: t.files,
    outputs: t.outputs,
    verify: t.verify,
    ...(t.checks?.length ? { checks: t.checks } : {}),
    ...verifyAttemptsOf(t.verifyAttempts ?? d.verifyAttempts),
    ...stallOf(t.stallAfterSeconds ?? d.stallAfterSeconds, t.onStall ?? d.onStall),
    ...budgetWaitOf(t.budgetWaitSeconds ?? d.budgetWaitSeconds),
    ...reviewOf(t.review ?? d.review),
    prices: input.prices,
    ...bootstrapOf(t.bootstrap ?? d.bootstrap),
    // A retry prefers the host of the previous attempt while it is alive (docs/hosts.md).
    ...previousHost(s, t),
  };
}

function previousHost(s: RunState, t: Task): Pick<AgentInput, 'host'> {
  const host = s.rows[s.index[t.id]!]?.host;
  return host ? { host } : {};
}

/** A task's fix-and-retry limit as the agent takes it (absent when the plan sets none: the agent's default). */
function verifyAttemptsOf(n: number | undefined): Pick<AgentInput, 'verifyAttempts'> {
  return n === undefined ? {} : { verifyAttempts: n };
}

/** A task's wait for the operator's budget answer (absent when the plan sets none: refused at once). */
function budgetWaitOf(n: number | undefined): Pick<AgentInput, 'budgetWaitSeconds'> {
  return n === undefined ? {} : { budgetWaitSeconds: n };
}

/** A task's stall settings as the agent takes them (absent when the plan sets none: the agent's defaults). */
function stallOf(after: number | undefined, on: AgentInput['onStall']): Pick<AgentInput, 'stallAfterSeconds' | 'onStall'> {
  return { ...(after === undefined ? {} : { stallAfterSeconds: after }), ...(on === undefined ? {} : { onStall: on }) };
}

/** A task's reviewer as the agent takes it (absent without one, so other inputs stay as they were). */
function reviewOf(r: Task['review']): Pick<AgentInput, 'review'> {
  return r ? { review: { ...r, rounds: r.rounds ?? DEFAULT_REVIEW_ROUNDS } } : {};
}

/** Command tasks run as activities of the scheduler, not as child agents, when the plan asks for it. */
export function isInline(plan: Plan, t: Task): boolean {
  // Plans recorded before the option existed have no field: false.
  // A reviewed task needs its agent workflow (the reviewer is its child).
  return plan.inlineCommands === true && (t.backend ?? plan.defaults.backend) === 'command' && !(t.review ?? plan.defaults.review);
}

export function mergeMessage(t: Task): string {
  return `cadre: merge task ${t.id}: ${t.title}`.slice(0, 200);
}

/** A task's workspace setup as the agent takes it (absent when the task has none, so old inputs stay as they were). */
function bootstrapOf(b: Task['bootstrap']): Pick<AgentInput, 'bootstrap'> {
  if (!b || (!b.copy?.length && !b.setup?.length)) return {};
  return {
    bootstrap: {
      copy: b.copy,
      setup: b.setup,
      ...(b.setupTimeoutSeconds ? { setupTimeoutMs: Math.round(b.setupTimeoutSeconds * 1000) } : {}),
      // Only present when the plan declares them, so inputs of plans without caches stay as they were.
      ...(b.caches ? { caches: b.caches } : {}),
      ...(b.setupAlways !== undefined ? { setupAlways: b.setupAlways } : {}),
    },
  };
}
