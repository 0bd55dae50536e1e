/**
 * Named activity presets: every proxy has explicit timeouts and a retry policy. Failure types listed as
 * non-retryable end the call at once; everything else is retried with backoff, and a model error that carries
 * `nextRetryDelay` (a 429's retry-after) is retried after exactly that delay.
 *
 * Hosts (docs/hosts.md): each preset that touches a worktree has an `…On(host)` form whose calls go to that host's
 * queue, `<this workflow's task queue>@<host>`. Without a host (histories recorded before host routing, workers
 * without a host identity) the call goes to the workflow's own queue, as it always did.
 */
import { ActivityCancellationType, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType } from '../shared/errors';
import { hostQueue } from '../shared/hosts';

const never = [ErrorType.PathOutsideWorkspace, ErrorType.InvalidToolInput, ErrorType.WorkspaceError];

/** Git operations on the shared repository: short, serialised per repository, retried on lock contention. */
const gitOpOptions: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  // The activities heartbeat every 2 s: a dead worker's git operation is retried elsewhere within 10 s.
  heartbeatTimeout: '10s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 6, nonRetryableErrorTypes: never },
};
export const gitOp = proxyActivities<Activities>(gitOpOptions);
export const gitOpOn = (owner: Owner | undefined) => (owner?.host ? proxyActivities<Activities>({ ...gitOpOptions, ...onHost(owner) }) : gitOp);
/** gitOp with other options (a queue, a schedule-to-start timeout): creating a workspace (agent/placement.ts). */
export const gitOpWith = (extra: Partial<ActivityOptions>) => proxyActivities<Activities>({ ...gitOpOptions, ...extra });

/**
 * One model turn, including the file tools it asked for. Heartbeats while streaming, so a dead worker is noticed
 * within the heartbeat timeout; a retry reuses the stored reply (idempotent on agent id and turn).
 */
const modelTurnOptions: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  // The turn heartbeats every 5 s (and on every stream event); 15 s leaves room for a busy event loop.
  // A cancelled turn finishes its cancellation (aborts the request, stops tools) before the agent cleans up.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  heartbeatTimeout: '15s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [ErrorType.ModelBadRequest, ErrorType.ModelAuth, ErrorType.ModelSpendLimit, ErrorType.ScriptExhausted, ErrorType.TranscriptMissing, ...never],
  },
};
export const modelTurn = proxyActivities<Activities>(modelTurnOptions);
/** A turn's file tools run in the worktree, and its transcript is in the owner's state directory: the owner's queue. */
export const modelTurnOn = (owner: Owner | undefined) => (owner?.host ? proxyActivities<Activities>({ ...modelTurnOptions, ...onHost(owner) }) : modelTurn);

/** Verification after a task: output checks and the plan's verify command. */
const verifyOpOptions: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes: never },
};
export const verifyOp = proxyActivities<Activities>(verifyOpOptions);
export const verifyOpOn = (owner: Owner | undefined) => (owner?.host ? proxyActivities<Activities>({ ...verifyOpOptions, ...onHost(owner) }) : verifyOp);

/** Small bookkeeping: status files, notes. */
export const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', maximumAttempts: 5 },
});

/**
 * The command backend: a program that may run for a long time. It heartbeats every few seconds so a dead worker
 * is noticed quickly; on retry the command runs again (at most once more per lost worker).
 */
export function commandOp(timeoutSeconds: number, owner?: Owner) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${timeoutSeconds + 30}s`,
    heartbeatTimeout: '10s',
    // The agent's cleanup waits until the process group is really killed.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes: [ErrorType.CommandFailed, ...never] },
    ...(owner?.host ? onHost(owner) : {}),
  });
}

/**
 * A command agent's program and its ending (commit, verification, diff, worktree removal) in one activity. The
 * program's own timeout is enforced inside; the rest gets the verification's 10 minutes and git's margin.
 */
export function commandTaskOp(timeoutSeconds: number, owner?: Owner) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${timeoutSeconds + 15 * 60}s`,
    heartbeatTimeout: '10s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes: [ErrorType.CommandFailed, ...never] },
    ...(owner?.host ? onHost(owner) : {}),
  });
}

/**
 * An agent program's whole session (Claude Code, Codex) in one activity. It heartbeats every few seconds with the
 * session id, so a dead worker is noticed within 15 s and the retry resumes the same session (the activity kills
 * the dead worker's orphaned program first). A missing program or bad input is not retried.
 */
export function sessionOp(timeoutSeconds: number, owner?: Owner) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${timeoutSeconds + 60}s`,
    heartbeatTimeout: '15s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: 5,
      nonRetryableErrorTypes: [ErrorType.AgentProgramMissing, ErrorType.ModelBadRequest, ...never],
    },
    ...(owner?.host ? onHost(owner) : {}),
  });
}

/**
 * Creating a workspace whose bootstrap runs a setup command (an install, a build): the git work of `gitOp` plus the
 * setup's own timeout. It heartbeats every 2 s, so a dead worker is still noticed within 10 s.
 */
export function workspaceSetupOp(setupTimeoutMs: number, extra: Partial<ActivityOptions> = {}) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${Math.ceil(setupTimeoutMs / 1000) + 120}s`,
    heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3, nonRetryableErrorTypes: never },
    ...extra,
  });
}

/**
 * A notification (src/activities/notify.ts): a program or a webhook gets 30 s; it heartbeats, so a dead worker's
 * delivery is retried within 10 s. Five attempts over about 15 s (a receiver down for longer misses the event), then
 * the workflow records it as not delivered (a failing receiver never fails a run).
 */
export const notifyOp = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5, nonRetryableErrorTypes: [ErrorType.InvalidToolInput] },
});

/**
 * Who owns a workspace: its host (absent: not routed) and whether it can move to another host (a run through a
 * remote, docs/hosts.md). Workspace records and the integration worktree's record are owners.
 */
export interface Owner {
  host?: string;
  movable?: boolean;
}

/**
 * The options that send a call to its owner's host queue (docs/hosts.md). A movable workspace's call (or retry)
 * that no worker of the host takes within HOST_LOST_AFTER fails with a schedule-to-start timeout: the host is gone,
 * and the agent moves the workspace (agent/relocate.ts) instead of waiting for ever on a queue nobody polls. A
 * workspace that cannot move (no remote: its branch is only on that host) waits for its host to come back, as a
 * single machine's work always waited for its worker.
 */
export function onHost(owner: Owner): Pick<ActivityOptions, 'taskQueue' | 'scheduleToStartTimeout'> {
  if (!owner.host) throw new Error('onHost: the owner names no host');
  return { taskQueue: hostQueue(workflowInfo().taskQueue, owner.host), ...(owner.movable ? { scheduleToStartTimeout: HOST_LOST_AFTER } : {}) };
}

/** Long enough for a busy host to take its next call, short enough that a lost host costs seconds, not the run. */
const HOST_LOST_AFTER = '30s' as const;
