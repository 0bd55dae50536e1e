/**
 * The `runPlan` workflow: the scheduler of one run.
 *
 * Keeps the task table; starts ready tasks as child `agent` workflows in priority order (then plan order) while at
 * most `maxConcurrency` run, honouring per-phase caps and never running two tasks at once whose declared files
 * overlap; a failed task blocks its transitive dependents (blockedBy) while independent work goes on, unless
 * fail-fast; completed tasks' branches are merged into the run's integration branch one at a time. Operators
 * steer it with updates (pause, resume, retry, cancel a task, concurrency).
 */
import * as wf from '@temporalio/workflow';
import { defaultLimits, type AgentInput, type AgentResult, type Amount } from '../shared/agent';
import {
  deadLetterSignal,
  operatorMessageSignal,
  type AgentMessage,
  type DeadLetter,
  cancelTaskUpdate,
  pauseRunUpdate,
  resumeRunUpdate,
  retryTaskUpdate,
  runProgressQuery,
  setConcurrencyUpdate,
  type RunProgress,
  type TaskRow,
  type TaskStatus,
} from '../shared/messages';
import type { Plan, Task } from '../shared/plan';
import type { PriceTableOverrides } from '../shared/pricing';
import { CadreRun, CadreStatus, CadreTask, CadrePhase, CadreRole, CadreBudgetUsed } from '../shared/searchAttributes';
import { agent } from './agent';
import { transitiveDependents } from './dag';
import { acquire, release, type LockGrant } from './locks';
import { bookkeeping, commandTaskOp, gitOp } from './presets';
import { taskVerdict } from '../shared/commandTask';
import { zeroUsage } from '../shared/model';

export interface RunPlanInput {
  runId: string;
  plan: Plan;
  /** Absolute path of the repository's main checkout. */
  repo: string;
  /** Ref the integration branch starts from (default HEAD of the repository). */
  baseRef?: string;
  maxConcurrency?: number;
  /** Seed-003 compatibility: mirror each task's status as JSON files in this directory. */
  statusDir?: string;
  model?: string;
  /** Continue-as-new after starting this many tasks in one run (default: when the server suggests it). */
  continueAsNewEvery?: number;
  /** Price table overrides (CADRE_PRICES), passed to every agent. */
  prices?: PriceTableOverrides;
}

/** What a run carries across continue-as-new: the task table and the scheduler's own state. */
export interface RunPlanCarry {
  /** Only what changed since the plan: rows still pending and never tried are left out entirely. */
  rows: Partial<TaskRow>[];
  maxConcurrency: number;
  paused: boolean;
  costUsd: number;
  tokens: number;
  pool?: Amount;
  integration: { path: string; branch: string };
  lastCommit?: string;
  deadLetters: DeadLetter[];
  toOperator: AgentMessage[];
  generation: number;
}

export interface RunPlanResult {
  runId: string;
  status: 'completed' | 'failed' | 'cancelled';
  integrationBranch: string;
  commit?: string;
  tasks: TaskRow[];
  counts: Record<TaskStatus, number>;
  costUsd: number;
  tokens: number;
  deadLetters: DeadLetter[];
  toOperator: AgentMessage[];
}

const TERMINAL: TaskStatus[] = ['completed', 'failed', 'blocked', 'cancelled', 'skipped'];

export async function runPlan(input: RunPlanInput, carry?: RunPlanCarry): Promise<RunPlanResult> {
  const { plan, runId } = input;
  const byId = new Map(plan.tasks.map((t) => [t.id, t]));
  const order = new Map(plan.tasks.map((t, i) => [t.id, i]));
  // A carried row holds only what changes (continue-as-new payloads grow with the plan); the rest comes from the plan.
  const carried = new Map((carry?.rows ?? []).map((r) => [r.id, r]));
  const rows = new Map<string, TaskRow>(
    plan.tasks.map((t) => [
      t.id,
      { id: t.id, title: t.title, phase: t.phase, priority: t.priority, status: t.done ? 'skipped' : 'pending', attempts: 0, ...carried.get(t.id) } as TaskRow,
    ]),
  );
  let maxConcurrency = carry?.maxConcurrency ?? input.maxConcurrency ?? plan.maxConcurrency;
  let paused = carry?.paused ?? false;
  let runStatus: RunProgress['status'] = paused ? 'paused' : 'running';
  let costUsd = carry?.costUsd ?? 0;
  let tokens = carry?.tokens ?? 0;
  let startedThisRun = 0;
  /** Messages nobody could receive, with the reason; and messages agents wrote to the operator. Never lost. */
  const deadLetters: DeadLetter[] = carry?.deadLetters ?? [];
  const toOperator: AgentMessage[] = carry?.toOperator ?? [];
  wf.setHandler(deadLetterSignal, (d) => {
    if (!deadLetters.some((x) => x.message.id === d.message.id)) deadLetters.push(d);
  });
  wf.setHandler(operatorMessageSignal, (m) => {
    if (!toOperator.some((x) => x.id === m.id)) toOperator.push(m);
  });
  const running = new Map<string, wf.CancellationScope>();
  let integration: { path: string; branch: string } | undefined = carry?.integration;
  let lastCommit: string | undefined = carry?.lastCommit;
  let mergeChain: Promise<void> = Promise.resolve();
  /** Bumped on every change the scheduling loop must react to. */
  let tick = 0;
  // Budget pool: the plan's ceiling shared over tasks that do not declare their own; unused slices come back.
  const pool: Amount | undefined = carry ? carry.pool : plan.budget ? { ...plan.budget } : undefined;

  const counts = (): Record<TaskStatus, number> => {
    const c: Record<TaskStatus, number> = { pending: 0, ready: 0, running: 0, completed: 0, failed: 0, blocked: 0, cancelled: 0, skipped: 0 };
    for (const r of rows.values()) c[r.status]++;
    return c;
  };

  wf.setHandler(runProgressQuery, (): RunProgress => ({
    runId,
    name: plan.name,
    status: runStatus,
    maxConcurrency,
    integrationBranch: integration?.branch,
    tasks: [...rows.values()],
    counts: counts(),
    costUsd,
    tokens,
    budget: plan.budget,
    deadLetters,
    toOperator,
  }));
  wf.setHandler(pauseRunUpdate, () => {
    paused = true;
    runStatus = 'paused';
    tick++;
  });
  wf.setHandler(resumeRunUpdate, () => {
    paused = false;
    runStatus = 'running';
    tick++;
  });
  const setConcurrency = (n: number): number => {
    maxConcurrency = n;
    tick++;
    return n;
  };
  wf.setHandler(setConcurrencyUpdate, setConcurrency, {
    validator: (n) => {
      if (!Number.isInteger(n) || n < 1) throw new Error(`concurrency must be a positive integer, got ${n}`);
    },
  });
  wf.setHandler(
    retryTaskUpdate,
    async (id) => {
      const reset = [id, ...transitiveDependents(plan.tasks, id)].filter((t) => ['failed', 'blocked', 'cancelled'].includes(rows.get(t)!.status));
      for (const t of reset) {
        const r = rows.get(t)!;
        await setRow(r, 'pending', { error: undefined, blockedBy: undefined });
      }
      return `${reset.length} task(s) back to pending: ${reset.join(', ')}`;
    },
    { validator: (id) => validateRetry(id) },
  );
  wf.setHandler(
    cancelTaskUpdate,
    async (id) => {
      const r = rows.get(id)!;
      if (r.status === 'running') {
        running.get(id)?.cancel();
        return `cancelling ${id}`;
      }
      await setRow(r, 'cancelled', { error: 'cancelled by operator' });
      await blockDependents(id);
      return `cancelled ${id}`;
    },
    {
      validator: (id) => {
        const r = rows.get(id);
        if (!r) throw new Error(`no task "${id}" in this run`);
        if (TERMINAL.includes(r.status)) throw new Error(`task "${id}" is already ${r.status}`);
      },
    },
  );

  function validateRetry(id: string): void {
    const r = rows.get(id);
    if (!r) throw new Error(`no task "${id}" in this run`);
    if (!['failed', 'blocked', 'cancelled'].includes(r.status)) throw new Error(`task "${id}" is ${r.status}; only failed, blocked or cancelled tasks can be retried`);
  }

  async function setRow(r: TaskRow, status: TaskStatus, patch: Partial<TaskRow> = {}): Promise<void> {
    Object.assign(r, patch, { status });
    tick++;
    if (input.statusDir) {
      await bookkeeping.writeTaskStatus.executeWithOptions({ summary: `status ${r.id} ${status}` }, [
        { dir: input.statusDir, row: r, agentId: r.agentId },
      ]);
    }
  }

  async function blockDependents(id: string): Promise<void> {
    for (const dep of transitiveDependents(plan.tasks, id)) {
      const r = rows.get(dep)!;
      if (r.status === 'pending' || r.status === 'ready') await setRow(r, 'blocked', { blockedBy: [...(r.blockedBy ?? []), id] });
    }
  }

  const depsDone = (t: Task) => t.dependsOn.every((d) => ['completed', 'skipped'].includes(rows.get(d)!.status));
  const runningTasks = () => [...running.keys()].map((id) => byId.get(id)!);
  const overlaps = (t: Task) => t.files.length > 0 && runningTasks().some((o) => o.files.some((f) => t.files.includes(f)));
  const phaseFull = (t: Task) => {
    const limit = t.phase ? plan.phaseLimits[t.phase] : undefined;
    return limit !== undefined && runningTasks().filter((o) => o.phase === t.phase).length >= limit;
  };

  function nextTask(): Task | undefined {
    if (paused || runStatus === 'cancelled' || running.size >= maxConcurrency) return undefined;
    const ready = plan.tasks.filter((t) => rows.get(t.id)!.status === 'pending' && depsDone(t));
    ready.sort((a, b) => b.priority - a.priority || order.get(a.id)! - order.get(b.id)!);
    return ready.find((t) => !overlaps(t) && !phaseFull(t));
  }

  /** A task's budget: its own (or the plan default), else an equal share of what is left of the plan's pool. */
  function sliceFor(t: Task): { slice: Amount; fromPool: boolean } {
    const own = t.budget ?? plan.defaults.budget;
    if (own || !pool) return { slice: own ?? {}, fromPool: false };
    const waiting = plan.tasks.filter((x) => ['pending', 'ready'].includes(rows.get(x.id)!.status) && !x.budget).length || 1;
    const slice: Amount = {
      tokens: pool.tokens !== undefined ? Math.floor(pool.tokens / waiting) : undefined,
      usd: pool.usd !== undefined ? pool.usd / waiting : undefined,
    };
    if (pool.tokens !== undefined) pool.tokens -= slice.tokens!;
    if (pool.usd !== undefined) pool.usd -= slice.usd!;
    return { slice, fromPool: true };
  }

  function agentInputFor(t: Task, slice: Amount): AgentInput {
    const d = plan.defaults;
    return {
      repo: input.repo,
      baseRef: integration!.branch,
      goal: t.prompt || t.title,
      backend: t.backend ?? d.backend ?? 'scripted',
      model: t.model ?? d.model ?? input.model ?? 'claude-sonnet-4-6',
      maxTokens: 8192,
      maxTurns: t.maxTurns ?? d.maxTurns ?? 50,
      script: t.script,
      command: t.command,
      timeoutSeconds: t.timeoutSeconds ?? d.timeoutSeconds,
      budget: slice,
      depth: 0,
      limits: defaultLimits,
      runId,
      taskId: t.id,
      files: t.files,
      outputs: t.outputs,
      verify: t.verify,
      prices: input.prices,
    };
  }

  async function runTask(t: Task): Promise<void> {
    const r = rows.get(t.id)!;
    const scope = new wf.CancellationScope();
    running.set(t.id, scope);
    const attempt = r.attempts + 1;
    startedThisRun++;
    const agentId = attempt === 1 ? `${runId}/${t.id}` : `${runId}/${t.id}~${attempt}`;
    await setRow(r, 'running', { attempts: attempt, agentId, startedAt: Date.now(), endedAt: undefined, error: undefined });
    const { slice, fromPool } = sliceFor(t);
    let result: AgentResult | undefined;
    /** An inline command task merges in its own activity: the conflicts it met, if it got that far. */
    let mergedInline: string[] | undefined;
    let failure: string | undefined;
    let cancelled = false;
    let grant: LockGrant | undefined;
    let freed = false;
    const free = async (): Promise<void> => {
      if (freed) return;
      freed = true;
      if (grant) await release(grant);
      running.delete(t.id);
    };
    // Runs recorded before this change freed the slot and the lock before merging; they replay that way.
    const holdUntilMerged = wf.patched('hold-task-until-merged');
    try {
      try {
        result = await scope.run(async () => {
          // Declared files are locked through the repository's fileLocks workflow, so tasks of other runs on the
          // same repository never write them at the same time (within this run the scheduler already keeps
          // overlapping tasks apart). A task waiting for its lock holds its concurrency slot.
          if (t.files.length) grant = await acquire(input.repo, t.files, { label: `task ${t.id} of ${runId}` });
          if (inline(t)) {
            const done = await runInline(t, agentInputFor(t, slice), agentId);
            mergedInline = done.conflicts;
            return done.result;
          }
          return wf.executeChild(agent, {
            workflowId: agentId,
            args: [agentInputFor(t, slice)],
            cancellationType: 'WAIT_CANCELLATION_COMPLETED',
            parentClosePolicy: 'REQUEST_CANCEL',
            staticSummary: `task ${t.id}: ${t.title}`.slice(0, 200),
            memo: { title: t.title },
            typedSearchAttributes: [
              { key: CadreRun, value: runId },
              { key: CadreTask, value: t.id },
              { key: CadreRole, value: 'task' },
              ...(t.phase ? [{ key: CadrePhase, value: t.phase }] : []),
            ],
          });
        });
      } catch (err) {
        cancelled = wf.isCancellation(err);
        failure = cancelled ? 'cancelled' : errText(err);
      }
      if (!holdUntilMerged) await free();
      if (result) {
        costUsd += result.costUsd;
        tokens += result.usage.inputTokens + result.usage.outputTokens + result.usage.cacheReadTokens + result.usage.cacheWriteTokens;
        // Only a slice that came from the pool goes back to it: a task's own budget is not the plan's.
        if (pool && fromPool) {
          if (pool.tokens !== undefined && result.returned.tokens !== undefined) pool.tokens += result.returned.tokens;
          if (pool.usd !== undefined && result.returned.usd !== undefined) pool.usd += result.returned.usd;
        }
        r.costUsd = result.costUsd;
        r.tokens = result.usage.inputTokens + result.usage.outputTokens;
        r.summary = result.summary.slice(0, 300);
        r.commit = result.commit;
        if (result.status === 'completed') {
          // Still counted as running and still holding its files' lock: a task declaring the same files starts
          // only once this work is on the integration branch it will branch from.
          const conflicts = mergedInline ?? (await merge(t, result));
          if (conflicts.length) failure = `merge conflict in ${conflicts.join(', ')}`;
        } else if (result.status === 'cancelled') {
          cancelled = true;
          failure = 'cancelled';
        } else {
          failure = result.error ?? result.status;
        }
      }
    } finally {
      await free();
    }
    if (!failure) {
      await setRow(r, 'completed', { endedAt: Date.now() });
      return;
    }
    await setRow(r, cancelled ? 'cancelled' : 'failed', { endedAt: Date.now(), error: failure });
    await blockDependents(t.id);
    if (plan.failFast && !cancelled) stopAll(`fail-fast: ${t.id} failed`);
  }

  /** Command tasks run as activities of this workflow, not as child agents, when the plan asks for it. */
  function inline(t: Task): boolean {
    // Plans recorded before the option existed have no field: false.
    return plan.inlineCommands === true && (t.backend ?? plan.defaults.backend) === 'command';
  }

  /**
   * A command task as one activity of the scheduler: workspace, program, commit, verification, diff, removal and the
   * merge into the integration branch. It reports like an agent would, so the rest of runTask is the same.
   */
  async function runInline(t: Task, a: AgentInput, agentId: string): Promise<{ result: AgentResult; conflicts?: string[] }> {
    if (!a.command?.length) throw new Error(`task ${t.id}: the command backend needs a command`);
    const timeout = a.timeoutSeconds ?? 3600;
    const r = await commandTaskOp(timeout).runInlineCommandTask.executeWithOptions({ summary: `task ${t.id}: ${a.command.join(' ')}`.slice(0, 100) }, [
      {
        agentId,
        repo: a.repo,
        baseRef: a.baseRef,
        argv: a.command,
        timeoutSeconds: timeout,
        outputs: a.outputs,
        verify: a.verify,
        mergeInto: { worktree: integration!.path, message: mergeMessage(t) },
      },
    ]);
    if (r.merge?.ok) lastCommit = r.merge.commit;
    const v = taskVerdict(r.task, timeout);
    const result: AgentResult = {
      agentId,
      status: v.status,
      summary: v.summary,
      branch: r.branch,
      baseCommit: r.baseCommit,
      commit: r.task.commit,
      filesChanged: r.task.files,
      usage: zeroUsage(),
      costUsd: 0,
      turns: 0,
      error: v.error,
      returned: a.budget,
      children: [],
    };
    return { result, conflicts: r.merge ? (r.merge.ok ? [] : r.merge.conflicts) : undefined };
  }

  function mergeMessage(t: Task): string {
    return `cadre: merge task ${t.id}: ${t.title}`.slice(0, 200);
  }

  /** Merge a completed task's branch into the integration branch; one merge at a time, in completion order. */
  function merge(t: Task, result: AgentResult): Promise<string[]> {
    const next = mergeChain.then(async () => {
      const m = await gitOp.mergeBranch.executeWithOptions({ summary: `merge ${t.id}` }, [
        { repo: input.repo, worktree: integration!.path, branch: result.branch, message: mergeMessage(t) },
      ]);
      if (m.ok) lastCommit = m.commit;
      return m.ok ? [] : m.conflicts;
    });
    mergeChain = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** The Web UI's current details: counts and what runs now. */
  function describeNow(): void {
    const c = counts();
    const runningIds = [...running.keys()];
    wf.setCurrentDetails(
      `${runStatus}: ${c.completed + c.skipped}/${plan.tasks.length} done, ${c.failed} failed, ${c.blocked} blocked; running ${runningIds.length ? runningIds.slice(0, 10).join(', ') : 'nothing'}`,
    );
  }

  function stopAll(reason: string): void {
    runStatus = 'cancelled';
    tick++;
    for (const r of rows.values()) {
      if (r.status === 'pending' || r.status === 'ready') Object.assign(r, { status: 'cancelled', error: reason });
    }
    for (const scope of running.values()) scope.cancel();
  }

  wf.upsertSearchAttributes([
    { key: CadreRun, value: runId },
    { key: CadreRole, value: 'run' },
    { key: CadreStatus, value: 'running' },
  ]);

  const inFlight = new Set<Promise<void>>();
  try {
    integration ??= await gitOp.ensureIntegrationWorktree.executeWithOptions({ summary: 'integration worktree' }, [
      { repo: input.repo, runId, baseRef: input.baseRef ?? 'HEAD' },
    ]);
    for (;;) {
      // History stays bounded: when the server suggests it (or after `continueAsNewEvery` starts), stop starting
      // tasks, let the running ones finish (their child workflows belong to this run), then continue as new.
      const rollOver = wf.workflowInfo().continueAsNewSuggested || (input.continueAsNewEvery !== undefined && startedThisRun >= input.continueAsNewEvery);
      let t: Task | undefined;
      while (!rollOver && (t = nextTask())) {
        const p: Promise<void> = runTask(t).finally(() => {
          inFlight.delete(p);
          tick++;
        });
        inFlight.add(p);
      }
      const workLeft = [...rows.values()].some((r) => r.status === 'pending' || r.status === 'ready');
      if (rollOver && inFlight.size === 0 && workLeft && (runStatus as RunProgress['status']) !== 'cancelled') {
        await mergeChain;
        await wf.condition(wf.allHandlersFinished);
        const next: RunPlanCarry = {
          rows: [...rows.values()].filter((r) => r.status !== 'pending' || r.attempts > 0).map(compactRow),
          maxConcurrency,
          paused,
          costUsd,
          tokens,
          pool,
          integration,
          lastCommit,
          deadLetters,
          toOperator,
          generation: (carry?.generation ?? 0) + 1,
        };
        return await wf.continueAsNew<typeof runPlan>(input, next);
      }
      if (inFlight.size === 0 && !paused) break;
      describeNow();
      // Wake on any change: a task ending, an operator update, a resume.
      const before = tick;
      await wf.condition(() => tick !== before);
    }
  } catch (err) {
    if (!wf.isCancellation(err)) throw err;
    stopAll('run cancelled');
    await wf.CancellationScope.nonCancellable(() => Promise.all(inFlight));
  }
  await mergeChain;
  // The integration branch stays; its worktree goes (patched: histories recorded before this step replay as they were).
  if (integration && wf.patched('remove-integration-worktree')) {
    await wf.CancellationScope.nonCancellable(() =>
      gitOp.removeWorkspace.executeWithOptions({ summary: 'remove integration worktree' }, [{ repo: input.repo, path: integration!.path }]),
    );
  }
  const c = counts();
  const status: RunPlanResult['status'] =
    (runStatus as RunProgress['status']) === 'cancelled' ? 'cancelled' : c.failed + c.blocked + c.cancelled > 0 ? 'failed' : 'completed';
  runStatus = status;
  wf.upsertSearchAttributes([
    { key: CadreStatus, value: status },
    { key: CadreBudgetUsed, value: costUsd },
  ]);
  return {
    runId,
    status,
    integrationBranch: integration?.branch ?? `cadre/${runId}/integration`,
    commit: lastCommit,
    tasks: [...rows.values()],
    counts: c,
    costUsd,
    tokens,
    deadLetters,
    toOperator,
  };
}

/** A task row without what the plan already says (title, phase, priority), its texts trimmed. */
function compactRow({ title: _t, phase: _p, priority: _r, summary, error, ...rest }: TaskRow): Partial<TaskRow> {
  return { ...rest, ...(summary ? { summary: summary.slice(0, 120) } : {}), ...(error ? { error: error.slice(0, 300) } : {}) };
}

function errText(err: unknown): string {
  if (err instanceof wf.ChildWorkflowFailure || err instanceof wf.ActivityFailure) return errText(err.cause);
  return err instanceof Error ? err.message : String(err);
}
