/** Worker processes the benchmark starts, kills and restarts: the `cadre worker` CLI, or bench/childWorker.ts. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './env';

export interface ChildWorker {
  child: ChildProcess;
  spawnedAt: number;
  /** Resolves with the wall-clock time (Date.now()) at which the worker said it polls. */
  ready: Promise<number>;
  /** Lines the process wrote, for error messages. */
  output: string[];
  exited: Promise<number | null>;
}

function watch(child: ChildProcess, readyPattern: RegExp, spawnedAt: number): ChildWorker {
  const output: string[] = [];
  let onReady: (t: number) => void = () => undefined;
  let onFail: (err: Error) => void = () => undefined;
  const ready = new Promise<number>((ok, ko) => {
    onReady = ok;
    onFail = ko;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      output.push(line);
      if (readyPattern.test(line)) onReady(Date.now());
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  void exited.then((code) => onFail(new Error(`worker exited (${code}) before it was ready: ${output.slice(-5).join(' | ')}`)));
  ready.catch(() => undefined);
  return { child, spawnedAt, ready, output, exited };
}

/** `node bin/cadre.js worker` against the bench's server, on `taskQueue`, with its own state directory. */
export function spawnCadreWorker(opts: { address: string; taskQueue: string; stateDir: string }): ChildWorker {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'cadre.js'), 'worker'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: opts.address,
      CADRE_TASK_QUEUE: opts.taskQueue,
      CADRE_STATE_DIR: opts.stateDir,
      CADRE_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watch(child, /worker polling/, spawnedAt);
}

/**
 * A worker with a workflow bundle built beforehand. `prebuilt`: bench/coldWorker.mjs, plain node running the built
 * dist/workers/worker.js with cadre's activities (the cold-start prototype). `hold`: bench/childWorker.ts through
 * the tsx loader, with stubbed activities whose command waits for a `release` message, and memory probes over IPC.
 * `noop`: bench/childWorker.ts with stubs that return at once (the scaling section's workers).
 */
export function spawnBenchWorker(opts: { address: string; taskQueue: string; stateDir: string; bundlePath: string; mode: 'prebuilt' | 'hold' | 'noop' }): ChildWorker {
  const spawnedAt = Date.now();
  const args =
    opts.mode === 'prebuilt'
      ? [join(repoRoot, 'bench', 'coldWorker.mjs')]
      : ['--expose-gc', '--import', 'tsx', join(repoRoot, 'bench', 'childWorker.ts')];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      BENCH_ADDRESS: opts.address,
      BENCH_TASK_QUEUE: opts.taskQueue,
      BENCH_STATE_DIR: opts.stateDir,
      BENCH_BUNDLE: opts.bundlePath,
      BENCH_MODE: opts.mode,
    },
    stdio: opts.mode === 'hold' ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  return watch(child, /worker polling/, spawnedAt);
}

export async function stopChild(w: ChildWorker, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill(signal);
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 15_000);
  await w.exited;
  clearTimeout(timer);
}
