import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commandRefusal, defaultCommandPolicy, runCommand, scrubbedEnv } from '../../src/activities/commandRunner';

const SECRET = 'sk-cadre-test-secret-0123456789';
let dir: string;
/** Tokens of the background sleeps the tests start (see sleeper()). */
const started: string[] = [];
let seq = 0;

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cadre-cmd-')));
  process.env.MY_API_KEY = SECRET;
});

afterAll(() => {
  delete process.env.MY_API_KEY;
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  // Never leave a stray sleep behind, whatever a test did.
  for (const token of started.splice(0)) for (const pid of pidsOf(token)) process.kill(pid, 'SIGKILL');
});

/**
 * Host pids of live (not zombie) processes whose command line is `sleep <token>`. Programs run in a PID namespace
 * of their own (sandbox/agentProgram.ts), so the pids they see of themselves mean nothing here: a unique sleep
 * duration is what identifies them.
 */
function pidsOf(token: string): number[] {
  const found: number[] = [];
  for (const p of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') !== `sleep\0${token}\0`) continue;
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (!['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0])) found.push(Number(p));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

function alive(token: string): boolean {
  return pidsOf(token).length > 0;
}

function script(name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

/** A unique duration for `sleep`, by which the test finds that process again (pidsOf). */
function token(): string {
  const t = `100.${process.pid}${++seq}`;
  started.push(t);
  return t;
}

/** A script that starts a background sleep (writing the pid file once it has), then sleeps in the foreground. */
function sleeper(name: string, prelude = ''): { file: string; pidFile: string } {
  const pidFile = path.join(dir, `${name}.pid`);
  const file = script(name, `${prelude}\nsleep ${token()} &\necho $$ $! > ${pidFile}\necho started\nsleep ${token()}`);
  return { file, pidFile };
}

/** The token of the background sleep of `file`, once the script has written `pidFile` (it has started it). */
async function readPid(pidFile: string, file: string): Promise<string> {
  const read = (): string => (fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : '');
  for (let i = 0; i < 250 && !/^\d+ \d+\n/.test(read()); i++) await new Promise((r) => setTimeout(r, 20));
  return /sleep (\S+) &/.exec(fs.readFileSync(file, 'utf8'))![1];
}

const env = () => scrubbedEnv();

describe('runCommand', () => {
  it('passes argv as is, with no shell in between', async () => {
    const r = await runCommand({ argv: ['echo', 'a;b', '$HOME', '`id`'], cwd: dir, env: env(), timeoutMs: 10_000 });
    expect(r.exitCode).toBe(0);
    expect(r.output.trim()).toBe('a;b $HOME `id`');
  });

  it('gives programs a scrubbed environment: no worker secrets, only the base set plus the policy env', async () => {
    const all = await runCommand({ argv: ['env'], cwd: dir, env: scrubbedEnv({ EXTRA_ALLOWED: 'yes' }), timeoutMs: 10_000 });
    expect(all.exitCode).toBe(0);
    expect(all.output).not.toContain(SECRET);
    expect(all.output).not.toContain('MY_API_KEY');
    expect(all.output).toContain('EXTRA_ALLOWED=yes');
    const names = all.output.trim().split('\n').map((l) => l.split('=')[0]);
    for (const name of names) expect(['PATH', 'HOME', 'LANG', 'LC_ALL', 'TERM', 'TMPDIR', 'EXTRA_ALLOWED', 'PWD', 'SHLVL', '_']).toContain(name);

    const one = await runCommand({ argv: ['printenv', 'MY_API_KEY'], cwd: dir, env: env(), timeoutMs: 10_000 });
    expect(one.exitCode).toBe(1);
    expect(one.output).not.toContain(SECRET);
  });

  it('redacts secrets a program prints anyway, in the result and in the log file', async () => {
    fs.writeFileSync(path.join(dir, 'leak.txt'), `token: ${SECRET}\nline two\n`);
    const logFile = path.join(dir, 'logs', 'leak.log');
    const r = await runCommand({ argv: ['cat', 'leak.txt'], cwd: dir, env: env(), timeoutMs: 10_000, logFile });
    expect(r.output).toContain('token: [redacted]');
    expect(r.output).not.toContain(SECRET);
    const log = fs.readFileSync(logFile, 'utf8');
    expect(log).toContain('token: [redacted]');
    expect(log).toContain('line two');
    expect(log).not.toContain(SECRET);
  });

  it('kills the whole process group on timeout', async () => {
    const { file, pidFile } = sleeper('timeout.sh');
    const t0 = Date.now();
    const r = await runCommand({ argv: [file], cwd: dir, env: env(), timeoutMs: 700, killGraceMs: 500 });
    const bg = await readPid(pidFile, file);
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(r.output).toContain('started');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(alive(bg)).toBe(false);
  });

  it('escalates to SIGKILL when the group ignores SIGTERM', async () => {
    const { file, pidFile } = sleeper('stubborn.sh', "trap '' TERM");
    const t0 = Date.now();
    const r = await runCommand({ argv: [file], cwd: dir, env: env(), timeoutMs: 500, killGraceMs: 500 });
    const bg = await readPid(pidFile, file);
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(alive(bg)).toBe(false);
  });

  it('kills the whole process group when the AbortSignal fires', async () => {
    const { file, pidFile } = sleeper('cancel.sh');
    const ac = new AbortController();
    const pending = runCommand({ argv: [file], cwd: dir, env: env(), timeoutMs: 60_000, signal: ac.signal, killGraceMs: 500 });
    const bg = await readPid(pidFile, file);
    expect(alive(bg)).toBe(true);
    ac.abort();
    const r = await pending;
    expect(r.cancelled).toBe(true);
    expect(r.timedOut).toBe(false);
    expect(alive(bg)).toBe(false);
  });

  it('does not start at all when already cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    const marker = path.join(dir, 'should-not-exist');
    const r = await runCommand({ argv: ['touch', marker], cwd: dir, env: env(), timeoutMs: 10_000, signal: ac.signal });
    expect(r.cancelled).toBe(true);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('cleans up background processes a program leaves behind when it exits', async () => {
    const pidFile = path.join(dir, 'left.pid');
    const file = script('leaves.sh', `sleep ${token()} &\necho $$ $! > ${pidFile}\nexit 3`);
    const t0 = Date.now();
    const r = await runCommand({ argv: [file], cwd: dir, env: env(), timeoutMs: 60_000, killGraceMs: 500 });
    const bg = await readPid(pidFile, file);
    expect(r.exitCode).toBe(3);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(alive(bg)).toBe(false);
  });

  it('heartbeats with the time of the last output: the progress the stall watch reads', async () => {
    const seen: (number | undefined)[] = [];
    const before = Date.now();
    await runCommand({ argv: ['sh', '-c', 'sleep 0.2; echo hi; sleep 0.4'], cwd: dir, env: env(), timeoutMs: 10_000, heartbeat: (at) => seen.push(at), heartbeatEveryMs: 50 });
    expect(seen[0]).toBeUndefined();
    const last = seen[seen.length - 1];
    expect(last).toBeGreaterThanOrEqual(before);
    expect(new Set(seen.filter((x) => x !== undefined)).size).toBe(1);
  });

  it('heartbeats while the program runs', async () => {
    let beats = 0;
    const r = await runCommand({ argv: ['sleep', '0.6'], cwd: dir, env: env(), timeoutMs: 10_000, heartbeat: () => beats++, heartbeatEveryMs: 50 });
    expect(r.exitCode).toBe(0);
    expect(beats).toBeGreaterThanOrEqual(4);
  });

  it('reports a program that cannot start as exit 127 instead of throwing', async () => {
    const r = await runCommand({ argv: ['cadre-no-such-program-xyz'], cwd: dir, env: env(), timeoutMs: 10_000 });
    expect(r.exitCode).toBe(127);
    expect(r.output).toContain('cannot run cadre-no-such-program-xyz');
  });

  it('reports arguments the OS cannot take as exit 127 instead of throwing', async () => {
    const r = await runCommand({ argv: ['echo', 'a\0b'], cwd: dir, env: env(), timeoutMs: 10_000 });
    expect(r.exitCode).toBe(127);
  });

  it('keeps only a tail of long output in the result, everything in the log', async () => {
    const logFile = path.join(dir, 'logs', 'long.log');
    const file = script('long.sh', 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done');
    const r = await runCommand({ argv: [file], cwd: dir, env: env(), timeoutMs: 10_000, logFile, maxOutputBytes: 1000 });
    expect(r.output.length).toBeLessThan(1200);
    expect(r.output).toContain('omitted');
    expect(r.output).toContain('line 1999');
    expect(r.output).not.toContain('line 0\n');
    const log = fs.readFileSync(logFile, 'utf8');
    expect(log).toContain('line 0\n');
    expect(log).toContain('line 1999\n');
    expect(log).toContain('[exit 0]');
  });
});

describe('command policy', () => {
  it('allows listed programs and refuses others; * allows anything', () => {
    const policy = { ...defaultCommandPolicy, allow: ['npm', './scripts/test.sh'] };
    expect(commandRefusal(policy, ['npm', 'test'])).toBeUndefined();
    expect(commandRefusal(policy, ['./scripts/test.sh'])).toBeUndefined();
    expect(commandRefusal(policy, ['rm', '-rf', '/'])).toMatch(/not allowed/);
    expect(commandRefusal(policy, ['/usr/bin/npm'])).toMatch(/not allowed/);
    expect(commandRefusal({ ...policy, allow: ['*'] }, ['anything'])).toBeUndefined();
    expect(commandRefusal({ ...policy, allow: ['*'] }, [''])).toMatch(/empty/);
  });

  it('leaves shells out of the default policy', () => {
    for (const shell of ['sh', 'bash', 'zsh', 'env']) expect(commandRefusal(defaultCommandPolicy, [shell])).toBeDefined();
  });
});
