/**
 * The one worker factory: every cadre workflow and activity on one task queue. On one machine one worker does
 * everything; on many, every host runs this against the same cluster with its own clone (docs/architecture.md).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { processIdentity } from '../activities/processIdentity';

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

/**
 * The prebuilt bundle (`npm run build` writes dist/workflow-bundle.js), when this code runs from dist and the bundle
 * is at least as new as the compiled workflows; otherwise undefined and the worker bundles at start (seconds).
 */
export function prebuiltWorkflowBundle(): string | undefined {
  const bundle = join(__dirname, '..', 'workflow-bundle.js');
  try {
    const workflows = statSync(workflowsPath()).mtimeMs;
    return statSync(bundle).mtimeMs >= workflows ? bundle : undefined;
  } catch {
    return undefined;
  }
}

function workflowSource(given: CadreWorkerOptions['workflowBundle']): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (given) return { workflowBundle: given };
  const prebuilt = prebuiltWorkflowBundle();
  return prebuilt ? { workflowBundle: { codePath: prebuilt } } : { workflowsPath: workflowsPath() };
}

/** The activities a worker (or a host's workers, ./hosts.ts) serve: cadre's, then the extras over them. */
export function activitiesOf(opts: Pick<CadreWorkerOptions, 'deps' | 'extraActivities'>): Record<string, (...args: never[]) => Promise<unknown>> {
  return { ...createActivities(opts.deps), ...(opts.extraActivities ?? {}) } as Record<string, (...args: never[]) => Promise<unknown>>;
}

export async function createCadreWorker(opts: CadreWorkerOptions, activities = activitiesOf(opts)): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities,
    ...workflowSource(opts.workflowBundle),
    // A dead worker must be noticed in seconds: activities heartbeat and declare short heartbeat timeouts, and
    // the sticky queue falls back to the normal queue quickly.
    stickyQueueScheduleToStartTimeout: '3s',
    // pid and host: a later worker on this host can tell that this one is gone (./orphanSweep.ts).
    identity: processIdentity(),
    maxCachedWorkflows: 500,
    maxConcurrentActivityTaskExecutions: 50,
    ...opts.tuning,
  });
}
