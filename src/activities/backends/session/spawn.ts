/**
 * The one place an agent program (Claude Code, Codex) is started. A sandbox for agent programs (a PID namespace)
 * can wrap it here without touching the backends: they only describe argv, cwd and the complete environment.
 *
 * - Never a shell; stdin is closed (both CLIs otherwise wait for more input on it).
 * - Its own process group (`detached`), so the program and everything it started can be killed as one, by this
 *   attempt (budget stop, cancellation, exit) or by the next attempt when this worker dies (see `killOrphan`).
 * - stdout is split into lines for the caller (the CLIs print one JSON event per line); stderr is kept as a short
 *   tail for the error message.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { killGroup } from '../../commandRunner';

export interface AgentProcessOptions {
  argv: readonly string[];
  cwd: string;
  /** The complete environment: nothing of the worker's is added. */
  env: Record<string, string>;
  onLine: (line: string) => void;
}

export interface AgentProcess {
  pid: number | undefined;
  /** Resolves once the program exited and its output was read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; spawnError?: string }>;
  /** SIGTERM to the group, SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): void;
}

export function startAgentProcess(options: AgentProcessOptions): AgentProcess {
  const [program, ...args] = options.argv;
  const child = spawn(program, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
  let stderr = '';
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim()) options.onLine(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let stopping = false;
  let closed = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (graceMs = 2_000): void => {
    // After 'close' the group was killed already; signalling it again could hit a reused pid.
    if (stopping || closed) return;
    stopping = true;
    killGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
    killTimer.unref();
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; spawnError?: string }>((resolve) => {
    child.on('error', (err) => resolve({ code: 127, signal: null, stderr, spawnError: err.message }));
    // The program is gone: what it left in its group (a background `sleep &` holding our pipes) goes too, so the
    // pipes close and 'close' fires.
    child.on('exit', () => killGroup(child.pid, 'SIGKILL'));
    child.on('close', (code, signal) => {
      closed = true;
      if (pending.trim()) options.onLine(pending);
      pending = '';
      // Whatever the program left running in its group goes with it.
      killGroup(child.pid, 'SIGKILL');
      if (killTimer) clearTimeout(killTimer);
      resolve({ code, signal, stderr });
    });
  });
  return { pid: child.pid, exited, stop };
}

/**
 * A retried attempt whose worker died (kill -9, OOM) may have left the program running in its own group. Kill
 * that group before resuming, so two copies never work in one worktree. Only on this host; the pid comes from the
 * heartbeat details or the session record of the earlier attempt.
 */
export function killOrphan(earlier: { host?: string; pid?: number } | undefined): boolean {
  if (!earlier || earlier.host !== os.hostname() || typeof earlier.pid !== 'number' || earlier.pid === process.pid) return false;
  try {
    process.kill(-earlier.pid, 0);
  } catch {
    return false; // gone already
  }
  killGroup(earlier.pid, 'SIGKILL');
  return true;
}
