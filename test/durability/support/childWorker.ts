/**
 * The real `cadre worker` (the built CLI) in a child process, so a test can kill it with SIGKILL the way a crash or
 * an OOM killer would: no shutdown hook runs, nothing is flushed, open connections just drop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { processIdentity } from '../../../src/activities/processIdentity';
import { cadreBin, cliEnv, root } from '../../support/cli';

export interface ChildWorker {
  child: ChildProcess;
  pid: number;
  /** The identity Temporal records for this worker's activity attempts (`<pid>@<host>`). */
  identity: string;
  /** When it printed that it polls (ms since epoch). */
  readyAt: number;
  output(): string;
  /** SIGKILL, then wait until the process is gone. Returns the moment the signal was sent. */
  kill(): Promise<number>;
}

export interface ChildWorkerEnv {
  TEMPORAL_ADDRESS: string;
  CADRE_TASK_QUEUE: string;
  CADRE_STATE_DIR: string;
  CADRE_ANTHROPIC_BASE_URL?: string;
  ANTHROPIC_API_KEY?: string;
  CADRE_NOTIFY?: string;
  /** A host of its own (docs/hosts.md): its host queue, and at most CADRE_MAX_AGENTS agents at once. */
  CADRE_HOST?: string;
  CADRE_MAX_AGENTS?: string;
  /** Seconds between two checkpoints of a running Claude Code / Codex session of a run through a remote. */
  CADRE_SESSION_CHECKPOINT_SECONDS?: string;
  /** Codex's provider (the Responses API stub in tests). */
  OPENAI_BASE_URL?: string;
  OPENAI_API_KEY?: string;
}

/** Starts `node bin/cadre.js worker` and resolves once it polls its task queue. */
export function startChildWorker(env: ChildWorkerEnv, timeoutMs = 120_000): Promise<ChildWorker> {
  const child = spawn(process.execPath, [cadreBin, 'worker'], { env: cliEnv({ CADRE_LOG_LEVEL: 'error', ...env }), cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const worker: ChildWorker = {
    child,
    pid: child.pid!,
    identity: processIdentity(child.pid),
    readyAt: 0,
    output: () => out,
    kill: async () => {
      const at = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      return at;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cadre worker not polling after ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (!worker.readyAt && out.includes('worker polling task queue')) {
        worker.readyAt = Date.now();
        clearTimeout(timer);
        resolve(worker);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!worker.readyAt) reject(new Error(`cadre worker exited (${code ?? signal}) before polling:\n${out}`));
    });
  });
}

/** Kills whatever of these is still running (afterEach), by pid. */
async function killAll(workers: (ChildWorker | undefined)[]): Promise<void> {
  await Promise.all(workers.map((w) => w?.kill()));
}

/** A list for a test file's workers: whatever is in it is killed, and the list emptied, after each test. */
export function killedAfterEach(): ChildWorker[] {
  const workers: ChildWorker[] = [];
  afterEach(async () => {
    await killAll(workers.splice(0));
  });
  return workers;
}
