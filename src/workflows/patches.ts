/**
 * Workflow patches (`patched(id)`), with a baseline: every change of workflow behaviour ships behind a patch id so
 * that histories recorded before it replay. Each `wf.patched` call in a new workflow records a marker and upserts
 * the `TemporalChangeVersion` search attribute with the whole list so far — two events per patch, and an agent that
 * ran a no-op command task passed eight patches: 16 of its 46 events.
 *
 * A workflow that calls `beginPatches()` first (agent, runPlan) records one marker instead, a baseline, which stands
 * for every id in its set: on code that has all of them, they are all on. Replay stays exact both ways:
 * - a history with the baseline marker was made by code with every baseline patch, so they are all on again;
 * - a history without it (recorded before the baseline, or a workflow started on older code) decides each patch by
 *   its own marker, as before.
 * Patches added later are not in the baseline and are decided by their own markers, so a history recorded on this
 * code replays on later code; a later baseline can take them in under a new id.
 *
 * There are two baselines. A new workflow records only the newest (`BASELINE_B`); a history that has the first
 * (`BASELINE_A`, recorded before `BASELINE_B` existed) has every patch of the first on and decides the ones added
 * since by their own markers (none then: they are off). Each baseline's ids are its own set, never changed.
 *
 * The decision lives in module state: the worker evaluates workflow modules once per workflow execution, so it is
 * this workflow's own (src/workflows/onDemand.ts says more on that evaluation).
 */
import * as wf from '@temporalio/workflow';

const BASELINE_A = 'cadre-baseline-2026-12';
const BASELINE_B = 'cadre-baseline-2026-12b';

/** Every patch id in the code when the first baseline was drawn. Never remove or add one: draw a new baseline instead. */
const BASELINE_A_PATCHES: ReadonlySet<string> = new Set([
  'agent-failed-as-failure',
  'approval-gates',
  'budget-upsert-when-changed',
  'command-task-in-one-activity',
  'dead-letter-unread',
  'hold-task-until-merged',
  'host-aware-resolution',
  'host-routing',
  'inline-moves-with-integration',
  'inline-ports-in-task',
  'inline-ports-via-activities',
  'live-overlap',
  'lock-release-as-local-activity',
  'lock-request-as-local-activity',
  'lock-wait-is-waiting',
  'merge-resolve',
  'notify',
  'operator-budget',
  'owner-lost-keeps-ports',
  'plan-by-reference',
  'port-lease',
  'port-scan-from-hash',
  'ports-from-owner',
  'redo-turn-after-move',
  'remove-integration-worktree',
  'reserve-carried-input',
  'review-rounds',
  'run-failed-as-failure',
  'scheduler-locks-via-activities',
  'stall-watch',
  'stall-watch-one-timer',
  'status-file-key-and-exit-code',
  'stop-when-overspent',
  'tasks-outside-run-scope',
  'verify-checks',
  'verify-retry',
]);

/** The second baseline: the first one's ids and those added after it. Never remove or add one. */
const BASELINE_B_PATCHES: ReadonlySet<string> = new Set([...BASELINE_A_PATCHES, 'command-ports-in-task', 'identity-at-start']);

let baseline: ReadonlySet<string> | undefined;

/**
 * Decides, at the very start of a workflow, which baseline it runs on (see above). The first is asked only when the
 * second is not there, so a new workflow records one marker.
 */
export function beginPatches(): void {
  baseline = wf.patched(BASELINE_B) ? BASELINE_B_PATCHES : wf.patched(BASELINE_A) ? BASELINE_A_PATCHES : undefined;
}

/** `wf.patched(id)`, answered by the baseline for the patches it stands for. */
export function patched(id: string): boolean {
  if (baseline?.has(id)) return true;
  return wf.patched(id);
}

/** The ids the newest baseline stands for (tests check that every one is still used, and that none is misspelt). */
export function baselinePatchIds(): readonly string[] {
  return [...BASELINE_B_PATCHES];
}

/** The marker a new workflow records. */
export const NEWEST_BASELINE = BASELINE_B;
