/**
 * What every CLI command needs: the configuration, a connection (starting the embedded server when there is no
 * TEMPORAL_ADDRESS), and, for commands that drive work, an in-process worker.
 */
import { Client, type Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { loadConfig, type Config } from '../node/config';
import { logger } from '../node/logger';
import { installSdkLogging } from '../workers/logging';
import { failActivitiesOfDeadWorkers } from '../workers/orphanSweep';
import { createHostWorkers, type HostWorkers } from '../workers/hosts';
import { connectClient, connectWorkerConnection, prepareServer } from './connection';
import type { DevServer } from './devServer';

export interface Runtime {
  config: Config;
  client: Client;
  connection: Connection;
  server?: DevServer;
  close(): Promise<void>;
}

export async function openRuntime(opts: { startServer?: boolean; detachedServer?: boolean } = {}): Promise<Runtime> {
  const config = loadConfig();
  let server: DevServer | undefined;
  if (opts.startServer ?? true) {
    const prepared = await prepareServer(config, { detached: opts.detachedServer ?? true });
    server = prepared.server;
    if (prepared.started && opts.detachedServer !== false) {
      process.stderr.write(`started the Temporal dev server at ${config.address} (Web UI ${config.uiUrl}; stop it with \`cadre server stop\`)\n`);
    }
  }
  const { client, connection } = await connectClient(config);
  return { config, client, connection, server, close: () => connection.close() };
}

/**
 * This host's workers in this process (docs/hosts.md): cadre's task queue, the host queue `<taskQueue>@<host>` and
 * the placement queue, until `stop()`.
 */
export async function startInProcessWorker(config: Config): Promise<{ worker: HostWorkers; done: Promise<void>; stop(): Promise<void> }> {
  installSdkLogging(config.logLevel);
  const connection = await connectWorkerConnection(config);
  const worker = await createHostWorkers({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    host: config.host,
    maxAgents: config.maxAgents,
    deps: { stateDir: config.stateDir, config },
  });
  const running = worker.run();
  const swept = sweepDeadWorkers(connection, config);
  const done = running.finally(() => swept.then(() => connection.close()));
  return {
    worker,
    done,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

/** Hurry the retries of activities that a dead worker of this host left running (src/workers/orphanSweep.ts). */
async function sweepDeadWorkers(connection: NativeConnection, config: Config): Promise<void> {
  const log = logger(config.logLevel).child({ taskQueue: config.taskQueue });
  try {
    const swept = await failActivitiesOfDeadWorkers(new Client({ connection, namespace: config.namespace }), config.taskQueue);
    for (const a of swept) log.info({ workflowId: a.workflowId, activity: a.activityType, worker: a.worker }, 'retrying an activity of a dead worker now');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not look for activities of dead workers; they are retried after their heartbeat timeout');
  }
}
