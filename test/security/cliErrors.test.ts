/**
 * Issue 16, item 10 (CLI part): bad input is a one-line error naming its cause, with the documented exit code,
 * before anything starts (no server, no workflow).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { git } from '../support/repo';
import { tmp } from '../support/tmp';

const TSX = path.resolve('node_modules/.bin/tsx');
const MAIN = path.resolve('src/client/main.ts');

/** Runs the CLI to its end without blocking this test process (a blocked test worker times out its own runner). */
async function cadre(args: string[], cwd: string, env: Record<string, string> = {}) {
  const stateDir = path.join(tmp('cli-state'), 'state');
  const child = spawn(TSX, [MAIN, ...args], { cwd, env: { ...process.env, CADRE_STATE_DIR: stateDir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('close', (c, sig) => res([c, sig])));
  clearTimeout(timer);
  return { code, stdout, stderr: stderr.trim(), stateDir, signal };
}

function plan(dir: string, tasks = 1, promptBytes = 10): string {
  const file = path.join(dir, 'plan.yaml');
  const lines = ['tasks:'];
  for (let i = 0; i < tasks; i++) lines.push(`  - id: t${i}`, `    prompt: "${'x'.repeat(promptBytes)}"`, '    command: ["true"]');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('cadre exits with a clear one-line error', () => {
  it('an empty repository: exit 2, says it has no commits, starts nothing', async () => {
    const repo = tmp('cli-empty');
    git(repo, 'init', '-q');
    const r = await cadre(['run', plan(tmp('cli-plan'))], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has no commits/);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(fs.existsSync(r.stateDir)).toBe(false);
  });

  it('a bad --base: exit 2, names the ref', async () => {
    const repo = tmp('cli-repo');
    git(repo, 'init', '-q');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'i');
    const r = await cadre(['run', '--base', 'no-such-ref', plan(tmp('cli-plan'))], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--base no-such-ref: no such commit/);
  });

  // A 3.3 MB plan starts now (it travels by reference: test/workflows/planByReference.test.ts); one task whose own
  // fields (not its prompt) are too large for a page of the scheduler's index is refused, named.
  it('a task too large for the scheduler: exit 2, names the task, its size and the limit', async () => {
    const repo = tmp('cli-repo');
    git(repo, 'init', '-q');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'i');
    const file = path.join(tmp('cli-plan'), 'plan.yaml');
    fs.writeFileSync(file, `tasks:\n  - id: small\n    prompt: p\n    command: ["true"]\n  - id: huge\n    prompt: p\n    command: ["echo", "${'x'.repeat(30_000)}"]\n`);
    const r = await cadre(['run', file], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot start: task huge \(plan\.yaml:\d+\) weighs 30\d{3} bytes in the scheduler's index; at most 24576/);
  });

  it('CADRE_STATE_DIR under /proc: exit 73 at once', async () => {
    const t0 = Date.now();
    const r = await cadre(['list'], tmp('cli-cwd'), { CADRE_STATE_DIR: '/proc/x' });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(73);
    expect(r.stderr).toMatch(/state directory \/proc\/x is not writable/);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it.each([
    [['run', '--concurrency', '0', 'p.yaml']],
    [['run', '--no-such-option', 'p.yaml']],
    [['run']],
    [['no-such-command']],
  ])('usage error %j: exit 2', async (args) => {
    expect((await cadre(args, tmp('cli-cwd'))).code).toBe(2);
  });

  it.each([['validate'], ['run']])('a YAML alias bomb given to %s: exit 2, names the file', async (command) => {
    const dir = tmp('cli-bomb');
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    lines.push('tasks: [{ id: t1, command: ["true"] }]');
    const file = path.join(dir, 'bomb.yaml');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await cadre([command, file], dir);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/bomb\.yaml: /);
    expect(r.stdout + r.stderr).toMatch(/Excessive alias count/);
  }, 30_000);

  it.each([['9'.repeat(40)], ['99999999999999999'], ['0'], ['99999999usd']])('an absurd budget grant %s: exit 2 before anything is sent', async (amount) => {
    const r = await cadre(['budget', 'grant', 'some-agent', amount], tmp('cli-cwd'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^cadre: budget grant .*: a grant is/);
    expect(fs.existsSync(r.stateDir)).toBe(false);
  });
});
