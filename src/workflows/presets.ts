/**
 * Named activity presets: every proxy has explicit timeouts and a retry policy. Failure types listed as
 * non-retryable end the call at once; everything else is retried with backoff, and a model error that carries
 * `nextRetryDelay` (a 429's retry-after) is retried after exactly that delay.
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType } from '../shared/errors';

const never = [ErrorType.PathOutsideWorkspace, ErrorType.InvalidToolInput, ErrorType.WorkspaceError];

/** Git operations on the shared repository: short, serialised per repository, retried on lock contention. */
export const gitOp = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  // The activities heartbeat every 2 s: a dead worker's git operation is retried elsewhere within 10 s.
  heartbeatTimeout: '10s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 6, nonRetryableErrorTypes: never },
});

/**
 * One model turn, including the file tools it asked for. Heartbeats while streaming, so a dead worker is noticed
 * within the heartbeat timeout; a retry reuses the stored reply (idempotent on agent id and turn).
 */
export const modelTurn = proxyActivities<Activities>({
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
});

/** Verification after a task: output checks and the plan's verify command. */
export const verifyOp = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes: never },
});

/** Small bookkeeping: status files, notes. */
export const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', maximumAttempts: 5 },
});

/**
 * The command backend: a program that may run for a long time. It heartbeats every few seconds so a dead worker
 * is noticed quickly; on retry the command runs again (at most once more per lost worker).
 */
export function commandOp(timeoutSeconds: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${timeoutSeconds + 30}s`,
    heartbeatTimeout: '10s',
    // The agent's cleanup waits until the process group is really killed.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes: [ErrorType.CommandFailed, ...never] },
  });
}

/**
 * A command agent's program and its ending (commit, verification, diff, worktree removal) in one activity. The
 * program's own timeout is enforced inside; the rest gets the verification's 10 minutes and git's margin.
 */
export function commandTaskOp(timeoutSeconds: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${timeoutSeconds + 15 * 60}s`,
    heartbeatTimeout: '10s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes: [ErrorType.CommandFailed, ...never] },
  });
}

/**
 * An agent program's whole session (Claude Code, Codex) in one activity. It heartbeats every few seconds with the
 * session id, so a dead worker is noticed within 15 s and the retry resumes the same session (the activity kills
 * the dead worker's orphaned program first). A missing program or bad input is not retried.
 */
export function sessionOp(timeoutSeconds: number) {
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
  });
}

/**
 * Creating a workspace whose bootstrap runs a setup command (an install, a build): the git work of `gitOp` plus the
 * setup's own timeout. It heartbeats every 2 s, so a dead worker is still noticed within 10 s.
 */
export function workspaceSetupOp(setupTimeoutMs: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${Math.ceil(setupTimeoutMs / 1000) + 120}s`,
    heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3, nonRetryableErrorTypes: never },
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
