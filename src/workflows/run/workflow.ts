/**
 * The `runPlan` workflow: the scheduler of one run, as a shell around the pure task table (table.ts) and
 * scheduling rules (scheduler.ts). It starts ready tasks as child `agent` workflows (or inline command activities),
 * merges completed tasks into the integration branch (merge.ts), blocks the dependents of a failed task while
 * independent work goes on (unless fail-fast), and answers the operator's updates (pause, resume, retry, cancel a
 * task, concurrency, approve or reject a task at its gate).
 *
 * A run whose verdict is `failed` ends by throwing `RunFailed` with its result as the detail (src/shared/outcome.ts),
 * so Temporal shows it failed; a run started with `carry.retry` finishes an ended run (docs/plans.md, "Finishing a
 * run later").
 */
import * as wf from '@temporalio/workflow';
import type { AgentResult } from '../../shared/agent';
import { ErrorType } from '../../shared/errors';
import {
  approveTaskUpdate,
  cancelTaskUpdate,
  deadLetterSignal,
  operatorMessageSignal,
  pauseRunUpdate,
  rejectTaskUpdate,
  resumeRunUpdate,
  retryTaskUpdate,
  runProgressQuery,
  setConcurrencyUpdate,
  type TaskRow,
  type TaskStatus,
} from '../../shared/messages';
import { failureCarrying, resultInFailure } from '../../shared/outcome';
import type { Plan, Task } from '../../shared/plan';
import type { RunPlanCarry, RunPlanInput, RunPlanResult } from '../../shared/run';
import { CadreBudgetUsed, CadrePhase, CadreRole, CadreRun, CadreStatus, CadreTask } from '../../shared/searchAttributes';
import type { agent } from '../agent';
import { acquire, release, type LockGrant } from '../locks/holder';
import { bookkeeping, gitOp } from '../presets';
import { runInline } from './inline';
import { createMerger, type Merger } from './merge';
import { agentIdFor, agentInputFor, isInline, nextTask, sliceFor, slotFree } from './scheduler';
import * as table from './table';

export async function runPlan(input: RunPlanInput, carry?: RunPlanCarry): Promise<RunPlanResult> {
  const { plan, runId } = input;
  const s = table.initialRunState(runId, plan, input.maxConcurrency, carry);
  const running = new Map<string, wf.CancellationScope>();
  const merger = createMerger(input.repo, s);
  /** Bumped on every change the scheduling loop must react to. */
  let tick = 0;
  const changed = () => void tick++;

  async function setRow(r: TaskRow, status: TaskStatus, patch: Partial<TaskRow> = {}, exitCode?: number): Promise<void> {
    Object.assign(r, { waiting: undefined }, patch, { status });
    changed();
    // Seed-003 has no "waiting": the status file says running from the start of the attempt.
    if (input.statusDir && status !== 'waiting') {
      const row = { ...r };
      delete row.waiting;
      // The task's seed-003 key (its status file's path) and the program's exit code, for runs recorded since.
      const extra = wf.patched('status-file-key-and-exit-code')
        ? { ...(plan.tasks[s.index[r.id]!]!.statusKey ? { key: plan.tasks[s.index[r.id]!]!.statusKey } : {}), ...(exitCode !== undefined ? { exitCode } : {}) }
        : {};
      await bookkeeping.writeTaskStatus.executeWithOptions({ summary: `status ${r.id} ${status}` }, [{ dir: input.statusDir, row, agentId: r.agentId, ...extra }]);
    }
  }
  async function blockDependents(id: string): Promise<void> {
    for (const r of table.rowsToBlock(plan, s, id)) await setRow(r, 'blocked', { blockedBy: [...(r.blockedBy ?? []), id] });
  }
  function stopAll(reason: string): void {
    table.cancelWaiting(s, reason);
    changed();
    for (const scope of running.values()) scope.cancel();
  }

  setHandlers({ plan, s, running, changed, setRow, blockDependents });
  // Finishing an ended run: the tasks to run again go back to pending; completed ones stay completed.
  if (carry?.retry) table.applyRetry(plan, s, carry.retry);
  wf.upsertSearchAttributes([
    { key: CadreRun, value: runId },
    { key: CadreRole, value: 'run' },
    { key: CadreStatus, value: 'running' },
  ]);

  const task = { input, plan, s, running, merger, setRow, blockDependents, stopAll };
  const inFlight = new Set<Promise<void>>();
  try {
    s.integration ??= await gitOp.ensureIntegrationWorktree.executeWithOptions({ summary: 'integration worktree' }, [
      { repo: input.repo, runId, baseRef: input.baseRef ?? 'HEAD' },
    ]);
    for (;;) {
      // History stays bounded: when the server suggests it (or after `continueAsNewEvery` starts), stop starting
      // tasks, let the running ones finish (their child workflows belong to this run), then continue as new.
      const rollOver = wf.workflowInfo().continueAsNewSuggested || (input.continueAsNewEvery !== undefined && s.startedThisRun >= input.continueAsNewEvery);
      let t: Task | undefined;
      while (!rollOver && (t = nextTask(plan, s, [...running.keys()]))) {
        const p: Promise<void> = runTask(task, t).finally(() => {
          inFlight.delete(p);
          changed();
        });
        inFlight.add(p);
      }
      if (rollOver && inFlight.size === 0 && table.workLeft(s) && s.status !== 'cancelled') {
        await merger.drained();
        await wf.condition(wf.allHandlersFinished);
        return await wf.continueAsNew<typeof runPlan>(input, table.carryOf(s));
      }
      if (inFlight.size === 0 && !s.paused) break;
      wf.setCurrentDetails(table.describe(s, [...running.keys()]));
      // Wake on any change: a task ending, an operator update, a resume.
      const before = tick;
      await wf.condition(() => tick !== before);
    }
  } catch (err) {
    if (!wf.isCancellation(err)) throw err;
    stopAll('run cancelled');
    await wf.CancellationScope.nonCancellable(() => Promise.all(inFlight));
  }
  await merger.drained();
  // The integration branch stays; its worktree goes (patched: histories recorded before this step replay as they were).
  if (s.integration && wf.patched('remove-integration-worktree')) {
    const path = s.integration.path;
    await wf.CancellationScope.nonCancellable(() =>
      gitOp.removeWorkspace.executeWithOptions({ summary: 'remove integration worktree' }, [{ repo: input.repo, path }]),
    );
  }
  table.blockStranded(plan, s);
  const status = table.finalStatus(s);
  s.status = status;
  wf.upsertSearchAttributes([
    { key: CadreStatus, value: status },
    { key: CadreBudgetUsed, value: s.costUsd },
  ]);
  const result = table.runResult(s, status);
  // A failed run fails in Temporal's eyes too, carrying its result (runs recorded before returned it).
  if (status === 'failed' && wf.patched('run-failed-as-failure')) throw failureCarrying(ErrorType.RunFailed, failedMessage(result), result);
  return result;
}

function failedMessage(r: RunPlanResult): string {
  const bad = r.tasks.filter((t) => t.status === 'failed' || t.status === 'blocked' || t.status === 'cancelled');
  return `run ${r.runId} failed: ${r.counts.failed} failed, ${r.counts.blocked} blocked, ${r.counts.cancelled} cancelled (${bad.slice(0, 5).map((t) => `${t.id} ${t.status}`).join(', ')}${bad.length > 5 ? ', …' : ''})`;
}

interface HandlerDeps {
  plan: Plan;
  s: table.RunState;
  running: Map<string, wf.CancellationScope>;
  changed(): void;
  setRow(r: TaskRow, status: TaskStatus, patch?: Partial<TaskRow>): Promise<void>;
  blockDependents(id: string): Promise<void>;
}

function setHandlers({ plan, s, running, changed, setRow, blockDependents }: HandlerDeps): void {
  wf.setHandler(deadLetterSignal, (d) => {
    if (!s.deadLetters.some((x) => x.message.id === d.message.id)) s.deadLetters.push(d);
  });
  wf.setHandler(operatorMessageSignal, (m) => {
    if (!s.toOperator.some((x) => x.id === m.id)) s.toOperator.push(m);
  });
  wf.setHandler(runProgressQuery, () => table.progress(s, plan));
  wf.setHandler(pauseRunUpdate, () => {
    s.paused = true;
    s.status = 'paused';
    changed();
  });
  wf.setHandler(resumeRunUpdate, () => {
    s.paused = false;
    s.status = 'running';
    changed();
  });
  wf.setHandler(
    setConcurrencyUpdate,
    (n) => {
      s.maxConcurrency = n;
      changed();
      return n;
    },
    {
      validator: (n) => {
        if (!Number.isInteger(n) || n < 1) throw new Error(`concurrency must be a positive integer, got ${n}`);
      },
    },
  );
  wf.setHandler(
    retryTaskUpdate,
    async (id) => {
      const reset = table.retrySet(plan, s, id);
      for (const r of reset) await setRow(r, 'pending', { error: undefined, blockedBy: undefined });
      return `${reset.length} task(s) back to pending: ${reset.map((r) => r.id).join(', ')}`;
    },
    { validator: (id) => throwIf(table.retryProblem(s, id)) },
  );
  wf.setHandler(
    approveTaskUpdate,
    (id) => {
      s.gateAnswers[id] = { approved: true };
      changed();
      return `approved ${id}`;
    },
    { validator: (id) => throwIf(table.gateProblem(plan, s, id)) },
  );
  wf.setHandler(
    rejectTaskUpdate,
    (id, reason) => {
      s.gateAnswers[id] = { approved: false, reason: reason.slice(0, 500) };
      changed();
      return `rejected ${id}: it fails with the reason`;
    },
    {
      validator: (id, reason) => {
        throwIf(table.gateProblem(plan, s, id));
        if (typeof reason !== 'string' || !reason.trim()) throw new Error('a rejection needs a reason');
      },
    },
  );
  wf.setHandler(
    cancelTaskUpdate,
    async (id) => {
      const r = table.rowOf(s, id)!;
      if (r.status === 'running' || r.status === 'waiting') {
        running.get(id)?.cancel();
        return `cancelling ${id}`;
      }
      await setRow(r, 'cancelled', { error: 'cancelled by operator' });
      await blockDependents(id);
      return `cancelled ${id}`;
    },
    { validator: (id) => throwIf(table.cancelProblem(s, id)) },
  );
}

function throwIf(problem: string | undefined): void {
  if (problem) throw new Error(problem);
}

interface TaskDeps {
  input: RunPlanInput;
  plan: Plan;
  s: table.RunState;
  running: Map<string, wf.CancellationScope>;
  merger: Merger;
  setRow(r: TaskRow, status: TaskStatus, patch?: Partial<TaskRow>, exitCode?: number): Promise<void>;
  blockDependents(id: string): Promise<void>;
  stopAll(reason: string): void;
}

/**
 * One attempt at a task: its lock (declared files), its agent (or inline activity), the merge of a completed task,
 * and its row. The task holds its concurrency slot and its lock until its work is merged, so a task declaring the
 * same files branches from an integration branch that already has it.
 */
async function runTask(d: TaskDeps, t: Task): Promise<void> {
  const { input, plan, s, running } = d;
  const r = table.rowOf(s, t.id)!;
  const scope = new wf.CancellationScope();
  running.set(t.id, scope);
  const attempt = r.attempts + 1;
  s.startedThisRun++;
  const agentId = agentIdFor(input.runId, t.id, attempt);
  // A task whose lock is not granted at once is shown waiting and holds no slot (runs recorded before held it).
  const lockWait = t.files.length > 0 && wf.patched('lock-wait-is-waiting');
  await d.setRow(r, 'running', { attempts: attempt, agentId, startedAt: Date.now(), endedAt: undefined, error: undefined });
  const { slice, fromPool } = sliceFor(plan, s, t);
  let result: AgentResult | undefined;
  /** The program's exit code, where the scheduler learns it (inline command tasks). */
  let exitCode: number | undefined;
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
        // same repository never write them at the same time (within this run the scheduler keeps them apart).
        if (t.files.length) {
          const request = acquire(input.repo, t.files, { label: `task ${t.id} of ${input.runId}` });
          grant = lockWait ? await waitForLock(d, t, r, request) : await request;
        }
        if (isInline(plan, t)) {
          const done = await runInline(s, t, agentInputFor(input, s, t, slice), agentId, t.gate !== undefined && wf.patched(GATES));
          mergedInline = done.conflicts;
          exitCode = done.exitCode;
          return done.result;
        }
        return wf.executeChild<typeof agent>('agent', {
          workflowId: agentId,
          args: [agentInputFor(input, s, t, slice)],
          cancellationType: 'WAIT_CANCELLATION_COMPLETED',
          parentClosePolicy: 'REQUEST_CANCEL',
          staticSummary: `task ${t.id}: ${t.title}`.slice(0, 200),
          memo: { title: t.title },
          typedSearchAttributes: [
            { key: CadreRun, value: input.runId },
            { key: CadreTask, value: t.id },
            { key: CadreRole, value: 'task' },
            ...(t.phase ? [{ key: CadrePhase, value: t.phase }] : []),
          ],
        });
      });
    } catch (err) {
      // A task's agent that ended failed throws its result (TaskFailed): read it as if it had been returned.
      result = resultInFailure<AgentResult>(err, ErrorType.TaskFailed);
      if (!result) {
        cancelled = wf.isCancellation(err);
        failure = cancelled ? 'cancelled' : errText(err);
      }
    }
    if (!holdUntilMerged) await free();
    if (result) {
      table.recordAgentResult(s, r, result, fromPool ? slice : undefined);
      // The gate: a completed task waits for a person before it is merged and counts as completed.
      if (result.status === 'completed' && t.gate && wf.patched(GATES)) {
        const answer = await waitAtGate(d, t, r, scope, () => {
          if (grant) {
            const g = grant;
            grant = undefined;
            return release(g);
          }
          return Promise.resolve();
        });
        if (answer === 'cancelled') result = { ...result, status: 'cancelled' };
        else if (!answer.approved) result = { ...result, status: 'failed', error: `rejected: ${answer.reason ?? ''}` };
      }
      if (result.status === 'completed') {
        const conflicts = mergedInline ?? (await d.merger.merge(t, result));
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
    await d.setRow(r, 'completed', { endedAt: Date.now() }, exitCode);
    return;
  }
  await d.setRow(r, cancelled ? 'cancelled' : 'failed', { endedAt: Date.now(), error: failure }, exitCode);
  await d.blockDependents(t.id);
  if (plan.failFast && !cancelled) d.stopAll(`fail-fast: ${t.id} failed`);
}

/** How long a task keeps its slot while its lock request is answered; an uncontended lock comes back well within it. */
const LOCK_PATIENCE = '2s';

/**
 * A task's lock, when it may be held elsewhere (another run on the repository): if it is not granted within
 * LOCK_PATIENCE the row turns `waiting` ("lock on …") and gives up its slot; once granted, the task takes a free
 * slot again before it goes on (the claim is made inside the condition, so two granted tasks never take one slot).
 */
async function waitForLock(d: TaskDeps, t: Task, r: TaskRow, request: Promise<LockGrant>): Promise<LockGrant> {
  let answered = false;
  const answer = request.finally(() => void (answered = true));
  // Cancelled while waiting, the request fails where nobody awaits it any more: that is expected, not a crash.
  answer.catch(() => undefined);
  if (await wf.condition(() => answered, LOCK_PATIENCE)) return answer;
  await d.setRow(r, 'waiting', { waiting: `lock on ${t.files.slice(0, 3).join(', ')}${t.files.length > 3 ? ', …' : ''}` });
  const grant = await answer;
  await wf.condition(() => {
    if (!slotFree(d.plan, d.s, [...d.running.keys()], t)) return false;
    Object.assign(r, { status: 'running', waiting: undefined });
    return true;
  });
  await d.setRow(r, 'running', { startedAt: Date.now() });
  return grant;
}

/** Patch of approval gates: runs recorded before treated a gate task as an ordinary one. */
const GATES = 'approval-gates';

/**
 * Waits at a task's gate for `cadre approve|reject`: the row is `waiting` (no slot), the task's lock is given back
 * first (a person may take days), and the wait is durable (a worker restart replays to the same wait). A cancel of
 * the task or the run ends the wait as cancelled.
 */
async function waitAtGate(d: TaskDeps, t: Task, r: TaskRow, scope: wf.CancellationScope, letGo: () => Promise<void>): Promise<table.GateAnswer | 'cancelled'> {
  const { s } = d;
  await letGo();
  await d.setRow(r, 'waiting', { waiting: table.approvalWaiting(t.gate!.prompt) });
  try {
    await scope.run(() => wf.condition(() => s.gateAnswers[t.id] !== undefined));
  } catch (err) {
    if (wf.isCancellation(err)) return 'cancelled';
    throw err;
  }
  const answer = s.gateAnswers[t.id]!;
  delete s.gateAnswers[t.id];
  await d.setRow(r, 'running');
  return answer;
}

function errText(err: unknown): string {
  if (err instanceof wf.ChildWorkflowFailure || err instanceof wf.ActivityFailure) return errText(err.cause);
  return err instanceof Error ? err.message : String(err);
}
