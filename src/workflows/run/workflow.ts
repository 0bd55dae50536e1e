/**
 * The `runPlan` workflow: the scheduler of one run, as a shell around the pure task table (table.ts) and
 * scheduling rules (scheduler.ts). It starts ready tasks as child `agent` workflows (or inline command activities),
 * holds back a task whose declared files a running task has already changed (overlap.ts, docs/loops.md),
 * merges completed tasks into the integration branch (merge.ts), blocks the dependents of a failed task while
 * independent work goes on (unless fail-fast), and answers the operator's updates (pause, resume, retry, cancel a
 * task, concurrency, approve or reject a task at its gate).
 *
 * A run whose verdict is `failed` ends by throwing `RunFailed` with its result as the detail (src/shared/outcome.ts),
 * so Temporal shows it failed; a run started with `carry.retry` finishes an ended run (docs/plans.md, "Finishing a
 * run later").
 */
import * as wf from '@temporalio/workflow';
import { ErrorType } from '../../shared/errors';
import { runProgressQuery, type TaskRow, type TaskStatus } from '../../shared/messages';
import { failureCarrying } from '../../shared/outcome';
import type { Task } from '../../shared/plan';
import type { RunPlanCarry, RunPlanInput, RunPlanResult } from '../../shared/run';
import { CadreBudgetUsed, CadreRole, CadreRun, CadreStatus } from '../../shared/searchAttributes';
import { bookkeeping, gitOp, gitOpOn } from '../presets';
import { createMerger } from './merge';
import { isRemoteRepo } from '../../shared/hosts';
import { isHostLost } from '../agent/relocate';
import { nextTask } from './scheduler';
import { LIVE_RECHECK_MS, liveOverlap, overlapText, releaseHolds, runningKey, type Hold, type LiveChange } from './overlap';
import * as table from './table';
import { setHandlers } from './handlers';
import { runTask } from './task';
import { createNotifier } from '../notifier';
import { holdForSeveral } from '../locks/holderState';
import { gateEvent, runAlertEvents, runEndedEvent } from './notifications';
import { BY_REFERENCE, loadingProgress, loadPlan, loadRows, rowsThatMatter, storeRows, tooLargeInline } from './byReference';
import { beginPatches, patched } from '../patches';

const SCHEDULER_LOCKS_VIA_ACTIVITIES = 'scheduler-locks-via-activities';

export async function runPlan(given: RunPlanInput, carry?: RunPlanCarry): Promise<RunPlanResult> {
  beginPatches();
  const { runId } = given;
  // Many tasks ask for and give back locks and port blocks at once: through ordinary activities (holderState.ts).
  if (patched(SCHEDULER_LOCKS_VIA_ACTIVITIES)) holdForSeveral();
  // A plan by reference is read as its index (long prompts as previews); `input` is the shell's own view of the run,
  // never sent anywhere: continue-as-new passes `given` on, the reference and not the plan.
  // Not cancellable: a cancel that comes while they are read is seen by the first step of the loop, which ends the
  // run as cancelled with its table, as before.
  const ref = given.planRef;
  // While the index is read, progress says so (the real handlers are set once the table exists).
  if (ref) wf.setHandler(runProgressQuery, () => loadingProgress(runId, given.planName ?? runId, carry));
  const plan = ref ? await wf.CancellationScope.nonCancellable(() => loadPlan(ref)) : given.plan!;
  const input: RunPlanInput = { ...given, plan };
  // A table too large for the carry came as a chain of chunks.
  const rowsRef = carry?.rowsRef;
  if (carry && rowsRef) carry = { ...carry, rows: [...(await wf.CancellationScope.nonCancellable(() => loadRows(rowsRef))), ...carry.rows] };
  const s = table.initialRunState(runId, plan, input.maxConcurrency, carry);
  const running = new Map<string, wf.CancellationScope>();
  const merger = createMerger(input.repo, s, isRemoteRepo(input.repo) ? (from) => moveIntegration(from) : undefined);
  /** Bumped on every change the scheduling loop must react to. */
  let tick = 0;
  const changed = () => void tick++;
  // Notifications (docs/notifications.md): gates and the run's budget alerts are seen here, at the rows' changes.
  const notifier = createNotifier();
  const alerted = new Set<number>();

  async function setRow(r: TaskRow, status: TaskStatus, patch: Partial<TaskRow> = {}, exitCode?: number): Promise<void> {
    Object.assign(r, { waiting: undefined }, patch, { status });
    changed();
    const gate = gateEvent(runId, r);
    if (gate) void notifier.send(gate);
    for (const alert of runAlertEvents(runId, plan, s, alerted)) void notifier.send(alert);
    // Seed-003 has no "waiting": the status file says running from the start of the attempt.
    if (input.statusDir && status !== 'waiting') {
      const row = { ...r };
      delete row.waiting;
      // The task's seed-003 key (its status file's path) and the program's exit code, for runs recorded since.
      const extra = patched('status-file-key-and-exit-code')
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

  setHandlers({ plan, s, running, changed, setRow, blockDependents, notifier });
  // Finishing an ended run: the tasks to run again go back to pending; completed ones stay completed.
  if (carry?.retry) table.applyRetry(plan, s, carry.retry);
  wf.upsertSearchAttributes([
    { key: CadreRun, value: runId },
    { key: CadreRole, value: 'run' },
    { key: CadreStatus, value: 'running' },
  ]);

  const task = { input, plan, s, running, merger, setRow, blockDependents, stopAll };
  const inFlight = new Set<Promise<void>>();
  /** Tasks the live overlap check holds back (overlap.ts): looked at again when a running task ends, or later. */
  const holds = new Map<string, Hold>();
  /** What the running tasks have changed so far: one activity per check, for every running task at once. */
  async function liveChanges(): Promise<LiveChange[]> {
    const tasks = [...running.keys()].flatMap((id) => (table.rowOf(s, id)?.agentId ? [{ taskId: id, agentId: table.rowOf(s, id)!.agentId! }] : []));
    try {
      return (await gitOp.liveChangedPaths.executeWithOptions({ summary: 'live changes' }, [{ repo: input.repo, tasks }])).changes;
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      return []; // the check is advice: without it, the lock and the merge still keep the work apart
    }
  }
  // Through a remote the integration worktree can move to another host when its host is lost (docs/hosts.md).
  const ensureIntegration = async (summary: string) => {
    const made = await gitOp.ensureIntegrationWorktree.executeWithOptions({ summary }, [{ repo: input.repo, runId, baseRef: input.baseRef ?? 'HEAD' }]);
    return made.host && isRemoteRepo(input.repo) ? { ...made, movable: true } : made;
  };
  /**
   * Losing the integration host (docs/hosts.md): the worktree is made again elsewhere from the remote's branch. A merge
   * and inline tasks may find the loss together: one move per lost host, and none when it has moved off it already.
   */
  let moving: { from?: string; done: Promise<void> } | undefined;
  function moveIntegration(from: string | undefined): Promise<void> {
    if (moving && moving.from === from) return moving.done;
    if (s.integration?.host !== from) return Promise.resolve();
    const done = ensureIntegration(`integration worktree (host ${from ?? '?'} lost)`).then((made) => void (s.integration = made));
    moving = { ...(from ? { from } : {}), done };
    return done;
  }
  try {
    s.integration ??= await ensureIntegration('integration worktree');
    for (;;) {
      // History stays bounded: when the server suggests it (or after `continueAsNewEvery` starts), stop starting
      // tasks, let the running ones finish (their child workflows belong to this run), then continue as new.
      const rollOver = wf.workflowInfo().continueAsNewSuggested || (input.continueAsNewEvery !== undefined && s.startedThisRun >= input.continueAsNewEvery);
      let t: Task | undefined;
      for (const id of releaseHolds(holds, runningKey(running.keys()), Date.now())) {
        const r = table.rowOf(s, id)!;
        if (r.status === 'pending') r.waiting = undefined;
      }
      let live: { at: string; changes: LiveChange[] } | undefined;
      while (!rollOver && (t = nextTask(plan, s, [...running.keys()], holds))) {
        // Seeing conflicts coming: a task with declared files waits while a running task has changed them.
        if (t.files.length && running.size > 0 && patched('live-overlap')) {
          if (!live) {
            const at = runningKey(running.keys());
            live = { at, changes: await liveChanges() };
            continue; // the state may have changed during the check (a cancel, a pause): choose again
          }
          const overlaps = liveOverlap(t.files, live.changes);
          if (overlaps.length) {
            holds.set(t.id, { running: live.at, at: Date.now() });
            table.rowOf(s, t.id)!.waiting = overlapText(overlaps);
            continue;
          }
        }
        // A task is cancelled through its own scope (stopAll on a run cancel), never by the run's scope: else the
        // merge, the row and the status file of a task whose agent completed as the run was cancelled are started
        // in a cancelled scope, fail, and the run ends cancelled with no result (runs recorded before replay so).
        const one = t;
        const p: Promise<void> = (patched(TASKS_OUTSIDE_RUN_SCOPE) ? wf.CancellationScope.nonCancellable(() => runTask(task, one)) : runTask(task, t)).finally(() => {
          inFlight.delete(p);
          changed();
        });
        inFlight.add(p);
      }
      if (rollOver && inFlight.size === 0 && table.workLeft(s) && s.status !== 'cancelled') {
        await merger.drained();
        await wf.condition(wf.allHandlersFinished);
        await notifier.flush();
        return await wf.continueAsNew<typeof runPlan>(given, await boundedCarry(input.repo, table.carryOf(s)));
      }
      if (inFlight.size === 0 && !s.paused) break;
      wf.setCurrentDetails(table.describe(s, [...running.keys()]));
      // Wake on any change: a task ending, an operator update, a resume.
      const before = tick;
      // A held task is looked at again later even when nothing changes (not while paused: no timers for days).
      if (holds.size && !s.paused) await wf.condition(() => tick !== before, LIVE_RECHECK_MS);
      else await wf.condition(() => tick !== before);
    }
  } catch (err) {
    if (!wf.isCancellation(err)) throw err;
    stopAll('run cancelled');
    await wf.CancellationScope.nonCancellable(() => Promise.all(inFlight));
  }
  await merger.drained();
  // The integration branch stays; its worktree goes (patched: histories recorded before this step replay as they were).
  if (s.integration && patched('remove-integration-worktree')) {
    const { path } = s.integration;
    // A lost integration host took its worktree with it: nothing left to remove.
    await wf.CancellationScope.nonCancellable(() =>
      gitOpOn(s.integration).removeWorkspace.executeWithOptions({ summary: 'remove integration worktree' }, [{ repo: input.repo, path }]).catch((err: unknown) => {
        if (!isHostLost(err)) throw err;
      }),
    );
  }
  table.blockStranded(plan, s);
  const status = table.finalStatus(s);
  s.status = status;
  wf.upsertSearchAttributes([
    { key: CadreStatus, value: status },
    { key: CadreBudgetUsed, value: s.costUsd },
  ]);
  const result = await boundedResult(input.repo, table.runResult(s, status));
  await notifier.send(runEndedEvent(result, carry?.retry ? wf.workflowInfo().firstExecutionRunId : undefined));
  await notifier.flush();
  // A failed run fails in Temporal's eyes too, carrying its result (runs recorded before returned it).
  if (status === 'failed' && patched('run-failed-as-failure')) throw failureCarrying(ErrorType.RunFailed, failedMessage(result), result);
  return result;
}

/** The carry, its rows written as a chain when they are too large for one payload (runs recorded before carried them). */
async function boundedCarry(repo: string, carry: RunPlanCarry): Promise<RunPlanCarry> {
  if (!tooLargeInline(carry.rows) || !patched(BY_REFERENCE)) return carry;
  return { ...carry, rows: [], rowsRef: await storeRows(repo, carry.rows) };
}

/** The result, its whole table written as a chain when too large for one payload; `tasks` keeps the rows that matter. */
async function boundedResult(repo: string, result: RunPlanResult): Promise<RunPlanResult> {
  if (!tooLargeInline(result.tasks) || !patched(BY_REFERENCE)) return result;
  // Not cancellable: a cancelled run still ends with its table (as the worktree removal before it).
  const tableRef = await wf.CancellationScope.nonCancellable(() => storeRows(repo, result.tasks));
  return { ...result, tasks: rowsThatMatter(result.tasks), tableRef };
}

/** Patch: tasks run outside the run's cancellation scope, cancelled only through their own. */
const TASKS_OUTSIDE_RUN_SCOPE = 'tasks-outside-run-scope';

function failedMessage(r: RunPlanResult): string {
  const bad = r.tasks.filter((t) => t.status === 'failed' || t.status === 'blocked' || t.status === 'cancelled');
  return `run ${r.runId} failed: ${r.counts.failed} failed, ${r.counts.blocked} blocked, ${r.counts.cancelled} cancelled (${bad.slice(0, 5).map((t) => `${t.id} ${t.status}`).join(', ')}${bad.length > 5 ? ', …' : ''})`;
}

