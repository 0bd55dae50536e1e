/**
 * How many Updates to one workflow this worker process may have in flight at once. The server takes at most 10
 * per workflow at once; beyond that a lock workflow's history was seen to become impossible to replay (docs/locks.md,
 * "Asked in the call"). Every worker process polling the workflow's task queue may be asking at the same moment, so
 * each gets its share of 9: the processes are counted from the queue's workflow pollers (the server's view, by
 * worker identity, read at most every 10 s per queue), and the share is capped at 4, the figure measured best for
 * one process (docs/locks.md). When the pollers cannot be read the share is 0: file-lock requests then go by signal,
 * port leases take 1 (they have no fallback).
 */
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { LockRequest } from '../shared/locks';
import type { fileLocks, FileLocksInput } from '../workflows/locks/fileLocks';

/** Updates per workflow all processes together keep in flight: one under the server's limit of 10. */
const UPDATES_PER_WORKFLOW = 9;
/** The most one process takes even when it is alone. */
const MOST_PER_PROCESS = 4;
const REFRESH_MS = 10_000;

const WORKFLOW_POLLERS = temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW;

export type UpdateBudget = (taskQueue: string) => Promise<number>;

export interface UpdateBudgetOptions {
  /**
   * Count only the processes of this machine (identities `<pid>@<host>`, src/activities/processIdentity.ts): for a
   * workflow that only this machine's workers ask, such as its port lock manager.
   */
  host?: string;
  now?: () => number;
}

/** A budget reader with its own cache (one per worker process's activities). */
export function updateBudget(clientOf: () => Client, opts: UpdateBudgetOptions = {}): UpdateBudget {
  const now = opts.now ?? Date.now;
  const counted = (identity: string) => opts.host === undefined || identity.endsWith(`@${opts.host}`);
  const cache = new Map<string, { share: number; at: number }>();
  return async (taskQueue) => {
    const hit = cache.get(taskQueue);
    if (hit && now() - hit.at < REFRESH_MS) return hit.share;
    let share = 0;
    try {
      const client = clientOf();
      const r = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: taskQueue }, taskQueueType: WORKFLOW_POLLERS });
      share = shareOf(new Set((r.pollers ?? []).map((p) => p.identity ?? '').filter(counted)).size);
    } catch {
      // Unknown: no Updates until the next reading.
    }
    cache.set(taskQueue, { share, at: now() });
    return share;
  };
}

/** One process's share when `processes` poll the queue (a caller counts as one even before the server sees it). */
export function shareOf(processes: number): number {
  return Math.min(MOST_PER_PROCESS, Math.floor(UPDATES_PER_WORKFLOW / Math.max(1, processes)));
}

/** How a lock workflow is started by whichever call finds none running. */
export interface LockManagerStart {
  workflowId: string;
  taskQueue: string;
  args: [FileLocksInput];
  staticSummary: string;
}

/** An Update to the running lock workflow; with-start only when there is none yet. */
export async function askLockManager<A>(client: Client, start: LockManagerStart, update: UpdateDefinition<A, [LockRequest]>, request: LockRequest): Promise<A> {
  try {
    return await client.workflow.getHandle(start.workflowId).executeUpdate(update, { args: [request] });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  return client.workflow.executeUpdateWithStart(update, {
    args: [request],
    startWorkflowOperation: new WithStartWorkflowOperation<typeof fileLocks>('fileLocks', { ...start, workflowIdConflictPolicy: 'USE_EXISTING' }),
  });
}
