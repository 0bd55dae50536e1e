/**
 * A host's workers (docs/hosts.md): one process, three pollers sharing one set of activities.
 *
 * - the shared task queue (`CADRE_TASK_QUEUE`): every workflow, and activities that can run anywhere;
 * - the host queue `<taskQueue>@<host>`: the activities of the workspaces this host owns (the workflows send them
 *   there once a workspace's creation has said which host made it);
 * - the placement queue `<taskQueue>@placement`: workspace creation for runs through a remote, polled only while
 *   this host has room for another agent (`maxAgents`, ../activities/agentSlots.ts).
 *
 * Without a host identity a worker is the single-queue worker of ./worker.ts, and nothing is routed.
 */
import { Worker } from '@temporalio/worker';
import { AgentSlots } from '../activities/agentSlots';
import { processIdentity } from '../activities/processIdentity';
import { hostQueue, placementQueue } from '../shared/hosts';
import { activitiesOf, createCadreWorker, type CadreWorkerOptions } from './worker';

/** No cap of its own: as many agents as the plans' concurrency starts. */
const UNCAPPED_PLACEMENTS = 50;

export interface HostWorkerOptions extends CadreWorkerOptions {
  /** This worker's host identity (CADRE_HOST). */
  host: string;
  /** Agents this host runs at once (`cadre worker --max-agents`, CADRE_MAX_AGENTS); undefined: no cap of its own. */
  maxAgents?: number;
}

export interface HostWorkers {
  host: string;
  hostQueue: string;
  workers: Worker[];
  run(): Promise<void>;
  runUntil<T>(p: Promise<T>): Promise<T>;
  shutdown(): void;
  getState(): ReturnType<Worker['getState']>;
}

export async function createHostWorkers(opts: HostWorkerOptions): Promise<HostWorkers> {
  const slots = new AgentSlots(opts.maxAgents ?? Number.POSITIVE_INFINITY);
  const deps = { ...opts.deps, host: opts.host, slots };
  const activities = activitiesOf({ deps, extraActivities: opts.extraActivities });
  const queue = hostQueue(opts.taskQueue, opts.host);
  const shared = await createCadreWorker({ ...opts, deps }, activities);
  const own = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: queue,
    activities,
    identity: processIdentity(),
    maxConcurrentActivityTaskExecutions: opts.tuning?.maxConcurrentActivityTaskExecutions ?? 50,
  });
  const placement = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: placementQueue(opts.taskQueue),
    activities: { createWorkspace: activities.createWorkspace! },
    identity: processIdentity(),
    tuner: {
      activityTaskSlotSupplier: opts.maxAgents === undefined ? { type: 'fixed-size', numSlots: UNCAPPED_PLACEMENTS } : slots.supplier(),
      workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
      localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
    },
  });
  const workers = [shared, own, placement];
  return {
    host: opts.host,
    hostQueue: queue,
    workers,
    run: async () => {
      // One stopping stops them all: a host that no longer serves its queue must not keep taking placements.
      const runs = workers.map((w) => w.run().finally(() => stopAll(workers)));
      await Promise.all(runs);
    },
    runUntil: async <T>(p: Promise<T>): Promise<T> => {
      const runs = Promise.all(workers.map((w) => w.run().finally(() => stopAll(workers))));
      try {
        return await p;
      } finally {
        stopAll(workers);
        await runs;
      }
    },
    shutdown: () => stopAll(workers),
    getState: () => shared.getState(),
  };
}

function stopAll(workers: Worker[]): void {
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
}
