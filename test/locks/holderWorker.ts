/**
 * A worker in a child process, for the crash test: it runs the test holders on one task queue until it is killed
 * with SIGKILL. Usage: node --import tsx holderWorker.ts <address> <taskQueue> <bundlePath> <stateDir>
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createCadreWorker } from '../../src/workers/worker';
import { probes } from './probes';

async function run(): Promise<void> {
  const [address, taskQueue, bundlePath, stateDir] = process.argv.slice(2);
  if (!address || !taskQueue || !bundlePath || !stateDir) throw new Error('usage: holderWorker <address> <taskQueue> <bundlePath> <stateDir>');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const worker = await createCadreWorker({
    connection,
    namespace: 'default',
    taskQueue,
    deps: { stateDir },
    workflowBundle: { codePath: bundlePath },
    extraActivities: probes,
  });
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
