/**
 * Runs programs for agents (run_command, the `command` backend, bootstrap setup, verification).
 *
 * - Never a shell: argv is passed to the program as is, so nothing in it is interpreted.
 * - Own process group (`detached: true`): on timeout, on cancellation, and after the program exits, the whole group
 *   gets SIGTERM and, after a grace period, SIGKILL, so background children (`sleep 100 &`, a dev server) die too.
 * - Scrubbed environment: only PATH, HOME, LANG, LC_ALL, TERM, TMPDIR from the worker plus the policy's own `env`.
 *   The worker's other variables (API keys, TEMPORAL_* credentials) never reach the program.
 * - Own namespaces (sandbox/agentProgram.ts): the program sees no other process, so it cannot read the worker's (or
 *   its ancestors') initial environment from /proc.
 * - Repository guard (`guardRepo`, sandbox/repoGuard.ts): what the program changed in the shared repository's
 *   configuration or hooks is undone when it ends, and said in its output.
 * - Output is streamed, redacted line by line, to an optional log file; the result carries only a capped tail.
 *
 * Hazard: process groups are POSIX; a program that calls setsid() leaves our group and is not killed. This module
 * confines nothing on the file system: the allow list says which programs may start, not what they may do.
 */
import type { ChildProcessByStdio } from 'node:child_process';
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { redact } from '../node/redact';
import { agentEnv, BASE_ENV_VARS, spawnAgentProgram } from './sandbox/agentProgram';
import { restoreRepository, snapshotRepository, undoneNote } from './sandbox/repoGuard';
import { portEnv, type PortLease } from '../shared/ports';

export interface CommandPolicy {
  /** Program names (matched against argv[0] when it has no slash) or exact paths that may run; `['*']` allows any. */
  allow: string[];
  /** Default and ceiling for one command's run time. */
  timeoutMs: number;
  /** Extra variables given to programs on top of the scrubbed base environment. */
  env: Record<string, string>;
}

/**
 * Development tools a coding agent commonly needs. Shells and `env` are left out on purpose (they run anything);
 * several listed tools can also run arbitrary code (node -e, npm run): the list prevents accidents, it is not a
 * sandbox.
 */
export const defaultCommandPolicy: CommandPolicy = Object.freeze({
  allow: Object.freeze([
    'git', 'node', 'npm', 'npx', 'pnpm', 'yarn', 'tsc', 'tsx', 'vitest', 'jest', 'eslint', 'prettier',
    'python', 'python3', 'pytest', 'go', 'cargo', 'rustc', 'make',
    'ls', 'cat', 'head', 'tail', 'wc', 'grep', 'rg', 'find', 'diff', 'sort', 'uniq', 'echo', 'pwd', 'true', 'false',
    'mkdir', 'touch', 'cp', 'mv',
  ]) as string[],
  timeoutMs: 10 * 60_000,
  env: Object.freeze({}) as Record<string, string>,
});

export { BASE_ENV_VARS };

/** A program's whole environment (sandbox/agentProgram.ts `agentEnv`). */
export const scrubbedEnv = agentEnv;

/** `policy` with the workspace's port variables (CADRE_PORT, PORT, CADRE_PORT_RANGE) added to its environment. */
export function withPortEnv(policy: CommandPolicy, ports: PortLease | undefined): CommandPolicy {
  return ports ? { ...policy, env: { ...policy.env, ...portEnv(ports) } } : policy;
}

/** Undefined when `argv` may run under `policy`, else the reason it may not. */
export function commandRefusal(policy: CommandPolicy, argv: readonly string[]): string | undefined {
  const program = argv[0];
  if (program === undefined || program.length === 0) return 'empty argv';
  if (program.includes('\0') || argv.some((a) => a.includes('\0'))) return 'argv contains a NUL byte';
  if (policy.allow.includes('*') || policy.allow.includes(program)) return undefined;
  return `${program} is not allowed by the command policy (allowed: ${policy.allow.join(', ') || 'nothing'})`;
}

export interface RunCommandOptions {
  argv: readonly string[];
  cwd: string;
  timeoutMs: number;
  /** The complete environment of the program; build it with scrubbedEnv(). */
  env: Record<string, string>;
  /** Appended to (created with its directory if missing); holds the full redacted output. */
  logFile?: string;
  /** Called every `heartbeatEveryMs` with the time of the program's last output (undefined before any): its progress. */
  heartbeat?: (progressAt?: number) => void;
  heartbeatEveryMs?: number;
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL to the process group. Default 3 s. */
  killGraceMs?: number;
  /** Size of the output tail kept in the result. Default 32 KB. */
  maxOutputBytes?: number;
  /** Called with the program's pid (= its process group id) once it is started. */
  onSpawn?: (pid: number) => void;
  /**
   * The worktree whose shared repository (config, hooks, info) the program must leave alone: snapshot before,
   * restore after, and a note in the output and log naming what was undone. Default `cwd`; false: no guard.
   */
  guardRepo?: string | false;
}

export interface CommandResult {
  /** Null when the program was killed by a signal. 127 when it could not be started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  /** Redacted tail of stdout and stderr, interleaved as they arrived. */
  output: string;
  logFile?: string;
  durationMs: number;
  /** Files of the shared repository the program changed and the guard put back (see `guardRepo`). */
  undone?: string[];
}

/** A signal name for `code - 128`, as a shell reports a child killed by a signal; undefined for other codes. */
function signalOfStatus(code: number | null): NodeJS.Signals | undefined {
  if (code === null || code <= 128) return undefined;
  const n = code - 128;
  return (Object.entries(osConstants.signals) as [NodeJS.Signals, number][]).find(([, v]) => v === n)?.[0];
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (err) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((err as { code?: string }).code !== 'ESRCH') throw err;
  }
}

function groupExists(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
  return hasLiveMember(pid);
}

/**
 * kill(-pgid, 0) also succeeds while only zombies are left, which happens under an init that does not reap orphans
 * (common in containers). On Linux, look for a member that is not a zombie; elsewhere trust kill().
 */
function hasLiveMember(pgid: number): boolean {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  for (const p of pids) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Format: pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

/** Polls until no process of the group is left, for at most `withinMs`. */
async function groupGone(pid: number | undefined, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (groupExists(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

/** Keeps the last `max` characters of a stream of text. */
class Tail {
  private chunks: string[] = [];
  private length = 0;
  private dropped = 0;
  constructor(private readonly max: number) {}
  push(text: string): void {
    this.chunks.push(text);
    this.length += text.length;
    while (this.length > this.max && this.chunks.length > 1) {
      const first = this.chunks.shift() as string;
      this.length -= first.length;
      this.dropped += first.length;
    }
    if (this.length > this.max * 2) {
      const joined = this.chunks.join('');
      const cut = joined.length - this.max;
      this.chunks = [joined.slice(cut)];
      this.length = this.max;
      this.dropped += cut;
    }
  }
  text(): string {
    let joined = this.chunks.join('');
    let dropped = this.dropped;
    if (joined.length > this.max) {
      dropped += joined.length - this.max;
      joined = joined.slice(joined.length - this.max);
    }
    if (dropped === 0) return joined;
    // Start at a line boundary so a secret cut in half at the edge is not shown in part.
    const nl = joined.indexOf('\n');
    const body = nl >= 0 ? joined.slice(nl + 1) : '';
    return `[... ${dropped + (nl >= 0 ? nl + 1 : joined.length)} characters of earlier output omitted ...]\n${body}`;
  }
}

/**
 * Redacts complete lines before they reach the log file, so a secret is never split across two writes. A log that
 * cannot be written (disk full) is given up on; the command itself goes on and its result still has the tail.
 */
class RedactingLineWriter {
  private pending = '';
  private failed = false;
  constructor(private readonly stream: fs.WriteStream | undefined) {
    stream?.on('error', () => {
      this.failed = true;
    });
  }
  write(text: string): void {
    if (!this.stream || this.failed) return;
    this.pending += text;
    const nl = this.pending.lastIndexOf('\n');
    if (nl >= 0) {
      this.stream.write(redact(this.pending.slice(0, nl + 1)));
      this.pending = this.pending.slice(nl + 1);
    }
    if (this.pending.length > 64 * 1024) {
      this.stream.write(redact(this.pending));
      this.pending = '';
    }
  }
  async end(trailer: string): Promise<void> {
    const stream = this.stream;
    if (!stream || stream.closed) return;
    const rest = this.pending + (this.pending && !this.pending.endsWith('\n') ? '\n' : '');
    this.pending = '';
    // 'close' follows both a normal finish and an error, so this never hangs.
    await new Promise<void>((resolve) => {
      stream.once('close', () => resolve());
      if (this.failed) stream.destroy();
      else stream.end(redact(rest) + trailer);
    });
  }
}

/**
 * Run one program to completion. Never throws for the program's own failures (non-zero exit, cannot start, timeout,
 * cancellation): they are in the result. On cancellation the caller decides whether to rethrow.
 */
export async function runCommand(options: RunCommandOptions): Promise<CommandResult> {
  const started = Date.now();
  const { argv, cwd, env, signal } = options;
  if (argv.length === 0) throw new Error('runCommand: empty argv');
  const grace = options.killGraceMs ?? 3_000;
  const tail = new Tail(options.maxOutputBytes ?? 32 * 1024);
  let logStream: fs.WriteStream | undefined;
  if (options.logFile) {
    await fs.promises.mkdir(path.dirname(options.logFile), { recursive: true });
    logStream = fs.createWriteStream(options.logFile, { flags: 'a' });
  }
  const log = new RedactingLineWriter(logStream);
  log.write(`\n$ ${argv.join(' ')}    # cwd ${cwd}, ${new Date(started).toISOString()}\n`);
  const base = { logFile: options.logFile };

  if (signal?.aborted) {
    await log.end('[cancelled before start]\n');
    return { ...base, exitCode: null, signal: null, timedOut: false, cancelled: true, output: '', durationMs: 0 };
  }

  let child: ChildProcessByStdio<null, Readable, Readable>;
  let sandboxed = false;
  const guarded = options.guardRepo ?? cwd;
  const snapshot = guarded === false ? undefined : snapshotRepository(guarded);
  try {
    if (argv.some((a) => a.includes('\0'))) throw new TypeError('argv contains a NUL byte');
    const started = spawnAgentProgram(argv, env, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started.child as ChildProcessByStdio<null, Readable, Readable>;
    sandboxed = started.sandboxed;
  } catch (err) {
    // Invalid arguments (a NUL byte, say) throw synchronously instead of emitting 'error'.
    const message = `cadre: cannot run ${argv[0]}: ${(err as Error).message}\n`;
    log.write(message);
    await log.end('[not started]\n');
    return { ...base, exitCode: 127, signal: null, timedOut: false, cancelled: false, output: redact(message), durationMs: Date.now() - started };
  }
  const pid = child.pid;
  if (pid !== undefined) options.onSpawn?.(pid);
  let timedOut = false;
  let cancelled = false;
  let spawnError: Error | undefined;
  const timers: NodeJS.Timeout[] = [];

  // Escalation: SIGTERM now, SIGKILL after the grace period. Sent to the group, so it reaches grandchildren too.
  let terminating = false;
  const terminate = (): void => {
    if (terminating) return;
    terminating = true;
    killGroup(pid, 'SIGTERM');
    timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), grace));
  };

  let progressAt: number | undefined;
  const onOutput = (chunk: string): void => {
    progressAt = Date.now();
    tail.push(chunk);
    log.write(chunk);
  };
  child.stdout.setEncoding('utf8').on('data', onOutput);
  child.stderr.setEncoding('utf8').on('data', onOutput);

  const onAbort = (): void => {
    cancelled = true;
    terminate();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  timers.push(setTimeout(() => {
    timedOut = true;
    terminate();
  }, options.timeoutMs));
  if (options.heartbeat) {
    const beat = options.heartbeat;
    beat();
    timers.push(setInterval(() => beat(progressAt), options.heartbeatEveryMs ?? 5_000));
  }

  const outcome = await new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve) => {
    let exit: { code: number | null; sig: NodeJS.Signals | null } | undefined;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      resolve(exit ?? { code: null, sig: null });
    };
    child.on('error', (err) => {
      spawnError = err;
      exit = exit ?? { code: 127, sig: null };
      settle();
    });
    child.on('exit', (code, sig) => {
      exit = { code, sig };
      // Whatever the program left running in its group goes with it; the pipes then close and 'close' fires.
      terminate();
      // If some process escaped the group but holds our pipes open, stop waiting for them.
      timers.push(setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        settle();
      }, grace + 1_000));
    });
    child.on('close', () => settle());
  });

  signal?.removeEventListener('abort', onAbort);
  for (const t of timers) clearTimeout(t);
  // Return only once the group is gone: give what got SIGTERM the rest of its grace period, then SIGKILL it.
  if (terminating && !(await groupGone(pid, grace))) {
    killGroup(pid, 'SIGKILL');
    await groupGone(pid, 1_000);
  }

  if (spawnError) {
    const message = `cadre: cannot run ${argv[0]}: ${spawnError.message}\n`;
    tail.push(message);
    log.write(message);
  }
  // Behind the namespace init, a program killed by signal N shows as exit 128+N (sandbox/agentProgram.ts).
  const mapped = sandboxed ? signalOfStatus(outcome.code) : undefined;
  if (mapped) outcome.code = null;
  if (mapped) outcome.sig = mapped;
  const undone = restoreRepository(snapshot);
  if (undone.length) {
    tail.push(undoneNote(undone));
    log.write(undoneNote(undone));
  }
  const status = timedOut
    ? `[timed out after ${options.timeoutMs} ms; process group killed]\n`
    : cancelled
      ? '[cancelled; process group killed]\n'
      : `[exit ${outcome.code ?? outcome.sig}]\n`;
  await log.end(status);
  return {
    ...base,
    exitCode: outcome.code,
    signal: outcome.sig,
    timedOut,
    cancelled,
    output: redact(tail.text()),
    durationMs: Date.now() - started,
    ...(undone.length ? { undone } : {}),
  };
}
