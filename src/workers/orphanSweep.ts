/**
 * Faster failover after a worker dies on this host. The server hands a dead worker's activity to another worker only
 * when the activity's heartbeat timeout expires (10–15 s in src/workflows/presets.ts). A new worker on the same host
 * knows better: it can see that the process named in the activity's worker identity no longer runs. So at start it
 * looks at the open workflows of its task queue and fails, by id, every started activity whose worker is a dead
 * process of this host; the retry policy then schedules the next attempt at once. It also resets the sticky task
 * queue of every open workflow there, so that its next workflow task does not wait for a dead worker's sticky queue to
 * time out first.
 *
 * Identities are `<pid>@<hostname>`. An identity of another host, of a live process (or a reused pid), or one this
 * code cannot read is left alone: the heartbeat timeout remains the fallback. Hosts must have distinct hostnames (one Temporal cluster, many machines).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { isDeadLocalProcess } from '../activities/processIdentity';

const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

export interface SweptActivity {
  workflowId: string;
  activityId: string;
  activityType: string;
  worker: string;
}

/**
 * Fail the started activities of dead local workers on `taskQueue`, so that they are retried now. Returns what it
 * failed. Errors on single workflows (closed meanwhile, already retried) are skipped: the sweep is an optimisation.
 */
export async function failActivitiesOfDeadWorkers(client: Client, taskQueue: string): Promise<SweptActivity[]> {
  const swept: SweptActivity[] = [];
  const query = `ExecutionStatus = "Running" AND TaskQueue = "${taskQueue}"`;
  for await (const wf of client.workflow.list({ query })) {
    // Its next workflow task goes to the shared queue instead of waiting (stickyQueueScheduleToStartTimeout) on the
    // sticky queue of a worker that may be gone. This worker starts with an empty cache, so it would replay the
    // history anyway; a live worker elsewhere loses its cached copy once.
    await client.workflowService.resetStickyTaskQueue({ namespace: client.options.namespace, execution: { workflowId: wf.workflowId, runId: wf.runId } }).catch(() => undefined);
    let pending;
    try {
      pending = (await client.workflow.getHandle(wf.workflowId, wf.runId).describe()).raw.pendingActivities ?? [];
    } catch {
      continue;
    }
    for (const a of pending) {
      const worker = a.lastWorkerIdentity ?? '';
      if (a.state !== STARTED || !a.activityId || !isDeadLocalProcess(worker)) continue;
      const failure = ApplicationFailure.retryable(`worker ${worker} is gone: its process no longer runs on this host`, 'WorkerLost');
      try {
        await client.activity.fail({ workflowId: wf.workflowId, runId: wf.runId, activityId: a.activityId }, failure);
        swept.push({ workflowId: wf.workflowId, activityId: a.activityId, activityType: a.activityType?.name ?? '?', worker });
      } catch {
        // Completed, timed out or retried between the describe and now: nothing left to hurry.
      }
    }
  }
  return swept;
}
