/**
 * A cadre worker in a process of its own (started by bench/lib/child.ts with the tsx loader), using a workflow
 * bundle built beforehand (BENCH_BUNDLE); the git and command activities are stubbed.
 *
 * BENCH_MODE `hold` (the memory benchmark, with an IPC channel): the command stub waits until the parent sends
 * `{ cmd: 'release' }`, so agent workflows stay open in the worker's cache; `{ cmd: 'mem' }` answers with the
 * process's memory after a full GC (of the main isolate) and the number of cached workflows.
 * BENCH_MODE `noop` (the scaling benchmark): the stubs return at once and the worker keeps cadre's default tuning,
 * so N of these on one task queue are N ordinary workers sharing a run.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createCadreWorker } from '../src/workers/worker';
import { stubActivities } from './lib/stubs';

Runtime.install({ logger: new DefaultLogger('ERROR') });

interface MemReply {
  rss: number;
  heapUsed: number;
  cached: number;
  holding: number;
}

async function main(): Promise<void> {
  const connection = await NativeConnection.connect({ address: process.env.BENCH_ADDRESS! });
  const noop = process.env.BENCH_MODE === 'noop';
  let holding = 0;
  let releaseAll: () => void = () => undefined;
  let released = new Promise<void>((resolve) => (releaseAll = resolve));
  const hold = async () => {
    holding++;
    await released;
    holding--;
  };
  const worker = await createCadreWorker({
    connection,
    namespace: 'default',
    taskQueue: process.env.BENCH_TASK_QUEUE!,
    deps: { stateDir: process.env.BENCH_STATE_DIR! },
    workflowBundle: { codePath: process.env.BENCH_BUNDLE! },
    ...(noop
      ? { extraActivities: stubActivities() }
      : { extraActivities: stubActivities({ hold }), tuning: { maxCachedWorkflows: 5000, maxConcurrentActivityTaskExecutions: 5000 } }),
  });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'release') {
      releaseAll();
      released = new Promise<void>((resolve) => (releaseAll = resolve));
    } else if (m.cmd === 'mem') {
      (globalThis as { gc?: () => void }).gc?.();
      const mem = process.memoryUsage();
      const reply: MemReply = { rss: mem.rss, heapUsed: mem.heapUsed, cached: worker.getStatus().numCachedWorkflows, holding };
      process.send?.(reply);
    }
  });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  process.stdout.write('worker polling\n');
  await running;
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`childWorker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
