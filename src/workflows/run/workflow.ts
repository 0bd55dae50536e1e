/**
 * The `runPlan` workflow: the scheduler of one run, as a shell around the pure task table (table.ts) and
 * scheduling rules (scheduler.ts). It starts ready tasks as child `agent` workflows (or inline command activities),
 * merges completed tasks into the integration branch (merge.ts), blocks the dependents of a failed task while
 * independent work goes on (unless fail-fast), and answers the operator's updates (pause, resume, retry, cancel a
 * task, concurrency).
 */
import * as wf from '@temporalio/workflow';
import type { AgentResult } from '../../shared/agent';
import {
  cancelTaskUpdate,
  deadLetterSignal,
  operatorMessageSignal,
  pauseRunUpdate,
  resumeRunUpdate,
  retryTaskUpdate,
  runProgressQuery,
  setConcurrencyUpdate,
  type TaskRow,
  type TaskStatus,
} from '../../shared/messages';
import type { Plan, Task } from '../../shared/plan';
import type { RunPlanCarry, RunPlanInput, RunPlanResult } from '../../shared/run';
import { CadreBudgetUsed, CadrePhase, CadreRole, CadreRun, CadreStatus, CadreTask } from '../../shared/searchAttributes';
import type { agent } from '../agent';
import { acquire, release, type LockGrant } from '../locks/holder';
import { bookkeeping, gitOp } from '../presets';
import { runInline } from './inline';
import { createMerger, type Merger } from './merge';
import { agentIdFor, agentInputFor, isInline, nextTask, sliceFor } from './scheduler';
import * as table from './table';

export async function runPlan(input: RunPlanInput, carry?: RunPlanCarry): Promise<RunPlanResult> {
  const { plan, runId } = input;
  const s = table.initialRunState(runId, plan, input.maxConcurrency, carry);
  const running = new Map<string, wf.CancellationScope>();
  const merger = createMerger(input.repo, s);
  /** Bumped on every change the scheduling loop must react to. */
  let tick = 0;
  const changed = () => void tick++;

  async function setRow(r: TaskRow, status: TaskStatus, patch: Partial<TaskRow> = {}): Promise<void> {
    Object.assign(r, patch, { status });
    changed();
    if (input.statusDir) {
      await bookkeeping.writeTaskStatus.executeWithOptions({ summary: `status ${r.id} ${status}` }, [{ dir: input.statusDir, row: r, agentId: r.agentId }]);
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
  const status = table.finalStatus(s);
  s.status = status;
  wf.upsertSearchAttributes([
    { key: CadreStatus, value: status },
    { key: CadreBudgetUsed, value: s.costUsd },
  ]);
  return table.runResult(s, status);
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
    cancelTaskUpdate,
    async (id) => {
      const r = table.rowOf(s, id)!;
      if (r.status === 'running') {
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
  setRow(r: TaskRow, status: TaskStatus, patch?: Partial<TaskRow>): Promise<void>;
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
  await d.setRow(r, 'running', { attempts: attempt, agentId, startedAt: Date.now(), endedAt: undefined, error: undefined });
  const { slice, fromPool } = sliceFor(plan, s, t);
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
        // same repository never write them at the same time (within this run the scheduler keeps them apart).
        if (t.files.length) grant = await acquire(input.repo, t.files, { label: `task ${t.id} of ${input.runId}` });
        if (isInline(plan, t)) {
          const done = await runInline(s, t, agentInputFor(input, s, t, slice), agentId);
          mergedInline = done.conflicts;
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
      cancelled = wf.isCancellation(err);
      failure = cancelled ? 'cancelled' : errText(err);
    }
    if (!holdUntilMerged) await free();
    if (result) {
      table.recordAgentResult(s, r, result, fromPool ? slice : undefined);
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
    await d.setRow(r, 'completed', { endedAt: Date.now() });
    return;
  }
  await d.setRow(r, cancelled ? 'cancelled' : 'failed', { endedAt: Date.now(), error: failure });
  await d.blockDependents(t.id);
  if (plan.failFast && !cancelled) d.stopAll(`fail-fast: ${t.id} failed`);
}

function errText(err: unknown): string {
  if (err instanceof wf.ChildWorkflowFailure || err instanceof wf.ActivityFailure) return errText(err.cause);
  return err instanceof Error ? err.message : String(err);
}
