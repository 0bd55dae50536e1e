/**
 * The embedded Temporal dev server: `temporal server start-dev` with SQLite persistence in the state directory (so
 * runs survive a server restart), the Web UI on its usual port and cadre's search attributes registered. A server
 * that already answers at the address is reused, never started twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../shared/searchAttributes';
import { CadreError } from '../shared/errors';

export interface DevServerOptions {
  bin: string;
  /** SQLite file; omit for an in-memory server (tests). */
  dbFile?: string;
  port: number;
  uiPort?: number;
  headless?: boolean;
  namespace?: string;
  logFile: string;
  /** Background server: survives this process (the CLI's default, so runs can be inspected afterwards). */
  detached?: boolean;
}

export interface DevServer {
  address: string;
  pid: number;
  process?: ChildProcess;
  stop(): Promise<void>;
}

/** True when a Temporal frontend answers at `address`. */
export async function serverAnswers(address: string, timeoutMs = 1500): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

function tail(file: string, lines = 8): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Transfer-queue reads per second for the embedded server (the server's default is 20). */
export const TRANSFER_QUEUE_POLL_RPS = 1000;

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const address = `127.0.0.1:${opts.port}`;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (opts.headless) args.push('--headless');
  else if (opts.uiPort) args.push('--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
  if (opts.namespace && opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const [name, type] of Object.entries(searchAttributeFlags)) args.push('--search-attribute', `${name}=${type}`);
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');
  args.push('--dynamic-config-value', 'system.forceSearchAttributesCacheRefreshOnRead=true');
  // The history service reads its transfer queue (the step that hands a new workflow or activity task to matching)
  // at most 20 times a second by default, so every step of every workflow waited up to 50 ms for the next read:
  // a chain of a child workflow with 5 activities took 450 ms a link, 90 ms with this (docs/benchmarks.md).
  args.push('--dynamic-config-value', `history.transferProcessorMaxPollRPS=${TRANSFER_QUEUE_POLL_RPS}`);

  const log = openSync(opts.logFile, 'a');
  const child = spawn(opts.bin, args, { stdio: ['ignore', log, log], detached: opts.detached ?? false });
  closeSync(log);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  if (opts.detached) child.unref();

  const deadline = Date.now() + 60_000;
  while (!(await serverAnswers(address, 1000))) {
    if (exited !== undefined) {
      throw new CadreError(`the Temporal dev server exited (code ${exited}) before it answered; its log ${opts.logFile} ends:\n${tail(opts.logFile)}`, 69);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new CadreError(`the Temporal dev server did not answer at ${address} within 60 s (log: ${opts.logFile})`, 69);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address,
    pid: child.pid!,
    process: child,
    stop: () => stopProcess(child.pid!, child),
  };
}

export async function stopProcess(pid: number, child?: ChildProcess, graceMs = 10_000): Promise<void> {
  const alive = () => {
    if (child) return child.exitCode === null && child.signalCode === null;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
}

interface PidFile {
  pid: number;
  port: number;
  uiPort: number;
}

export const pidFilePath = (stateDir: string) => join(stateDir, 'temporal.pid');

export function readPidFile(stateDir: string): PidFile | undefined {
  try {
    return JSON.parse(readFileSync(pidFilePath(stateDir), 'utf8')) as PidFile;
  } catch {
    return undefined;
  }
}

/**
 * Reuse the server at the embedded address if one answers; otherwise start one with its SQLite file in the state
 * directory. `detached` servers keep running after the CLI exits (their pid is kept in temporal.pid); foreground
 * ones (`cadre dev`) are stopped by the caller.
 */
export async function ensureEmbeddedServer(opts: {
  bin: () => string;
  stateDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  detached: boolean;
}): Promise<{ started: boolean; server?: DevServer }> {
  if (await serverAnswers(`127.0.0.1:${opts.port}`)) return { started: false };
  mkdirSync(opts.stateDir, { recursive: true });
  const server = await startDevServer({
    bin: opts.bin(),
    dbFile: join(opts.stateDir, 'temporal.sqlite'),
    port: opts.port,
    uiPort: opts.uiPort,
    namespace: opts.namespace,
    logFile: join(opts.stateDir, 'temporal.log'),
    detached: opts.detached,
  });
  const pidFile: PidFile = { pid: server.pid, port: opts.port, uiPort: opts.uiPort };
  writeFileSync(pidFilePath(opts.stateDir), JSON.stringify(pidFile));
  return { started: true, server };
}

export async function stopEmbeddedServer(stateDir: string): Promise<boolean> {
  const pid = readPidFile(stateDir);
  if (!pid) return false;
  await stopProcess(pid.pid);
  rmSync(pidFilePath(stateDir), { force: true });
  return true;
}
