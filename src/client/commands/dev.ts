/**
 * `cadre dev`: the embedded default in the foreground — the Temporal dev server (or the one already answering)
 * plus a worker in this process — until Ctrl-C, which stops both cleanly. `cadre worker`: just the worker.
 */
import { workflowUrl } from '../../node/config';
import { CadreError } from '../../shared/errors';
import { problemsBeforeServing } from '../cluster';
import { openRuntime, startInProcessWorker } from '../runtime';

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

export async function devCommand(): Promise<number> {
  const rt = await openRuntime({ detachedServer: false });
  const { config } = rt;
  const worker = await startInProcessWorker(config);
  process.stdout.write(
    `${rt.server ? 'started' : 'reusing'} Temporal at ${config.address} (namespace ${config.namespace}, state ${config.stateDir})\n` +
      `Web UI: ${config.uiUrl}  e.g. ${workflowUrl(config, '<run-id>')}\n` +
      `worker polling task queue "${config.taskQueue}" — Ctrl-C to stop\n`,
  );
  const stopped = await Promise.race([untilSignal(), worker.done.then(() => 'worker' as const)]);
  process.stdout.write(`stopping (${stopped})…\n`);
  await worker.stop();
  await rt.close();
  await rt.server?.stop();
  return 0;
}

export async function workerCommand(): Promise<number> {
  const rt = await openRuntime({ startServer: false });
  const problems = await problemsBeforeServing(rt.connection, rt.config.namespace);
  await rt.close();
  if (problems) throw new CadreError(problems, 78);
  const worker = await startInProcessWorker(rt.config);
  const cap = rt.config.maxAgents === undefined ? 'no agent cap' : `at most ${rt.config.maxAgents} agents`;
  process.stdout.write(`worker polling task queue "${rt.config.taskQueue}" at ${rt.config.address} as host ${rt.config.host} (${worker.worker.hostQueue}, ${cap}) — Ctrl-C to stop\n`);
  await Promise.race([untilSignal(), worker.done]);
  await worker.stop();
  return 0;
}
