/* global process, performance */
/**
 * Cold-start prototype: the same worker as `cadre worker` (the built dist/workers/worker.js, cadre's activities),
 * but given a workflow bundle built beforehand (BENCH_BUNDLE) instead of bundling the workflows at start. Plain
 * JavaScript run by node directly, so no TypeScript loader is part of the measured start-up.
 * Prints the process's own clock at each step, then "worker polling".
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
const { DefaultLogger, NativeConnection, Runtime } = load('@temporalio/worker');
const { createCadreWorker } = load('../dist/workers/worker.js');
const loaded = performance.now();

Runtime.install({ logger: new DefaultLogger('ERROR') });
const connection = await NativeConnection.connect({ address: process.env.BENCH_ADDRESS });
const connected = performance.now();
const worker = await createCadreWorker({
  connection,
  namespace: 'default',
  taskQueue: process.env.BENCH_TASK_QUEUE,
  deps: { stateDir: process.env.BENCH_STATE_DIR },
  workflowBundle: { codePath: process.env.BENCH_BUNDLE },
});
const created = performance.now();
process.once('SIGTERM', () => worker.shutdown());
const running = worker.run();
process.stdout.write(`timing loaded=${Math.round(loaded)} connected=${Math.round(connected)} created=${Math.round(created)}\n`);
process.stdout.write('worker polling\n');
await running;
await connection.close();
