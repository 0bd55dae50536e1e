/**
 * The one worker factory: every cadre workflow and activity on one task queue. On one machine one worker does
 * everything; on many, every host runs this against the same cluster with its own clone (docs/architecture.md).
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';

export interface CadreWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A pre-built workflow bundle (tests build one per run); by default the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra activities, e.g. test probes; override same-named cadre activities. */
  extraActivities?: Record<string, (...args: never[]) => Promise<unknown>>;
  tuning?: Partial<Pick<WorkerOptions, 'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions'>>;
}

export function workflowsPath(): string {
  return require.resolve('../workflows');
}

export async function createCadreWorker(opts: CadreWorkerOptions): Promise<Worker> {
  const activities = { ...createActivities(opts.deps), ...(opts.extraActivities ?? {}) };
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: workflowsPath() }),
    // A dead worker must be noticed in seconds: activities heartbeat and declare short heartbeat timeouts, and
    // the sticky queue falls back to the normal queue quickly.
    stickyQueueScheduleToStartTimeout: '3s',
    maxCachedWorkflows: 500,
    maxConcurrentActivityTaskExecutions: 50,
    ...opts.tuning,
  });
}
