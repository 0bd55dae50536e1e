/**
 * The scheduler's decisions, pure: which task starts next, what budget slice it gets, and the agent input it runs
 * with. Rules: a task is ready when its dependencies are completed or skipped; ready tasks start by priority (then
 * plan order) while fewer than `maxConcurrency` run, never beside a running task whose declared files overlap its
 * own, and never past its phase's limit. Nothing starts while the run is paused or cancelled.
 */
import { defaultLimits, type AgentInput, type Amount } from '../../shared/agent';
import type { Plan, Task } from '../../shared/plan';
import type { RunPlanInput } from '../../shared/run';
import { rowOf, type RunState } from './table';

/** The model a task runs when neither it, the plan's defaults nor the run name one. */
export const DEFAULT_MODEL = 'claude-sonnet-4-6';
/** The backend a task runs when neither it nor the plan's defaults name one. */
export const DEFAULT_BACKEND = 'scripted';

const done = (s: RunState, id: string) => ['completed', 'skipped'].includes(rowOf(s, id)!.status);

export function nextTask(plan: Plan, s: RunState, runningIds: readonly string[]): Task | undefined {
  if (s.paused || s.status === 'cancelled' || runningIds.length >= s.maxConcurrency) return undefined;
  const order = new Map(plan.tasks.map((t, i) => [t.id, i]));
  const byId = new Map(plan.tasks.map((t) => [t.id, t]));
  const running = runningIds.map((id) => byId.get(id)!);
  const overlaps = (t: Task) => t.files.length > 0 && running.some((o) => o.files.some((f) => t.files.includes(f)));
  const phaseFull = (t: Task) => {
    const limit = t.phase ? plan.phaseLimits[t.phase] : undefined;
    return limit !== undefined && running.filter((o) => o.phase === t.phase).length >= limit;
  };
  const ready = plan.tasks.filter((t) => rowOf(s, t.id)!.status === 'pending' && t.dependsOn.every((d) => done(s, d)));
  ready.sort((a, b) => b.priority - a.priority || order.get(a.id)! - order.get(b.id)!);
  return ready.find((t) => !overlaps(t) && !phaseFull(t));
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
  const d = input.plan.defaults;
  return {
    repo: input.repo,
    baseRef: s.integration!.branch,
    goal: t.prompt || t.title,
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
    prices: input.prices,
  };
}

/** Command tasks run as activities of the scheduler, not as child agents, when the plan asks for it. */
export function isInline(plan: Plan, t: Task): boolean {
  // Plans recorded before the option existed have no field: false.
  return plan.inlineCommands === true && (t.backend ?? plan.defaults.backend) === 'command';
}

export function mergeMessage(t: Task): string {
  return `cadre: merge task ${t.id}: ${t.title}`.slice(0, 200);
}
