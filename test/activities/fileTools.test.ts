import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultCommandPolicy, type CommandPolicy } from '../../src/activities/commandRunner';
import { executeFileTool, type FileToolContext, type FileToolResult } from '../../src/activities/fileTools';
import type { FileToolName } from '../../src/shared/tools';

const SECRET = 'sk-file-tools-secret-9f8e7d6c5b';
let base: string;
let root: string;
let outside: string;
const anyProgram: CommandPolicy = { allow: ['*'], timeoutMs: 30_000, env: {} };
const results: FileToolResult[] = [];

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@localhost', ...args], { cwd, encoding: 'utf8' }).trim();
}

function ctx(extra: Partial<FileToolContext> = {}): FileToolContext {
  return { root, policy: anyProgram, ...extra };
}

async function call(name: FileToolName, input: unknown, extra: Partial<FileToolContext> = {}): Promise<FileToolResult> {
  const r = await executeFileTool(ctx(extra), name, input);
  results.push(r);
  return r;
}

beforeAll(() => {
  process.env.MY_API_KEY = SECRET;
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cadre-tools-')));
  root = path.join(base, 'repo');
  outside = path.join(base, 'repo2');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'private.txt'), 'outside the workspace\n');
  git(root, 'init', '-q', '-b', 'main');
  fs.mkdirSync(path.join(root, 'src'));
  fs.writeFileSync(path.join(root, 'README.md'), '# Demo\n\nHello world.\n');
  fs.writeFileSync(path.join(root, 'src', 'app.ts'), 'export const a = 1;\nexport const b = 2;\nexport const a2 = 1;\n');
  fs.writeFileSync(path.join(root, '.gitignore'), 'ignored.log\n');
  fs.writeFileSync(path.join(root, 'ignored.log'), 'noise\n');
  fs.writeFileSync(path.join(root, 'config.txt'), `api_key=${SECRET}\n`);
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'initial');
  fs.writeFileSync(path.join(root, 'untracked.ts'), 'new\n');
  fs.symlinkSync(outside, path.join(root, 'escape'));
});

afterAll(() => {
  delete process.env.MY_API_KEY;
  fs.rmSync(base, { recursive: true, force: true });
});

describe('input validation', () => {
  it('returns an error result, not an exception, for input that does not match the schema', async () => {
    for (const [name, input] of [
      ['read_file', { path: 5 }],
      ['read_file', {}],
      ['write_file', { path: 'x.txt' }],
      ['edit_file', { path: 'x', old_string: '', new_string: 'y' }],
      ['run_command', { argv: [] }],
      ['list_files', { path: '.', recursive: true }],
      ['read_file', 'README.md'],
    ] as const) {
      const r = await call(name, input);
      expect(r.isError).toBe(true);
      expect(r.content).toMatch(/^Invalid input for /);
      expect(r.summary).toBe(`${name} (invalid input)`);
    }
  });
});

describe('read_file', () => {
  it('returns numbered lines with a short summary', async () => {
    const r = await call('read_file', { path: 'README.md' });
    expect(r).toEqual({ isError: false, summary: 'read README.md', content: '1\t# Demo\n2\t\n3\tHello world.' });
  });

  it('pages with offset and limit and says how to read on', async () => {
    fs.writeFileSync(path.join(root, 'long.txt'), Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n'));
    const r = await call('read_file', { path: 'long.txt', offset: 10, limit: 5 });
    expect(r.content.split('\n').slice(0, 5)).toEqual(['11\tline 10', '12\tline 11', '13\tline 12', '14\tline 13', '15\tline 14']);
    expect(r.content).toContain('offset=15');
    const past = await call('read_file', { path: 'long.txt', offset: 50 });
    expect(past.isError).toBe(true);
  });

  it('caps the size of what it returns', async () => {
    fs.writeFileSync(path.join(root, 'huge.txt'), `${'x'.repeat(1000)}\n`.repeat(2000));
    const r = await call('read_file', { path: 'huge.txt', limit: 5000 });
    expect(r.isError).toBe(false);
    expect(r.content.length).toBeLessThanOrEqual(256 * 1024 + 200);
    expect(r.content).toMatch(/to read on, call read_file with offset=\d+/);
  });

  it('answers a missing file, a directory or a binary file with an error result', async () => {
    expect((await call('read_file', { path: 'nope.txt' })).content).toMatch(/No such file/);
    expect((await call('read_file', { path: 'src' })).content).toMatch(/is a directory/);
    fs.writeFileSync(path.join(root, 'bin.dat'), Buffer.from([1, 2, 0, 3]));
    const bin = await call('read_file', { path: 'bin.dat' });
    expect(bin.isError).toBe(true);
    expect(bin.content).toMatch(/binary/);
  });

  it('refuses paths outside the workspace: ../, absolute, symlinks, the sibling with the same prefix', async () => {
    for (const p of ['../repo2/private.txt', path.join(outside, 'private.txt'), 'escape/private.txt', 'src/../../repo2/private.txt', 'README.md\0']) {
      const r = await call('read_file', { path: p });
      expect(r.isError).toBe(true);
      expect(r.content).toMatch(/^Refused: /);
      expect(r.content).not.toContain('outside the workspace\n');
      expect(r.summary).toMatch(/^read .*\(error\)$/);
      expect(r.summary).not.toContain('\0');
    }
  });
});

describe('write_file and edit_file', () => {
  beforeEach(() => {
    fs.writeFileSync(path.join(root, 'src', 'edit.ts'), 'const x = 1;\nconst y = 2;\nconst x2 = 1;\n');
  });

  it('writes files, creating parent directories, and reports what it touched', async () => {
    const r = await call('write_file', { path: 'src/deep/new/file.ts', content: 'export {};\n' });
    expect(r).toMatchObject({ isError: false, summary: 'write src/deep/new/file.ts', touched: 'src/deep/new/file.ts' });
    expect(fs.readFileSync(path.join(root, 'src/deep/new/file.ts'), 'utf8')).toBe('export {};\n');
  });

  it('refuses writes outside the workspace and into .git', async () => {
    for (const p of ['../repo2/evil.txt', 'escape/evil.txt', '.git/hooks/pre-commit', '.git/config', path.join(base, 'abs.txt')]) {
      const r = await call('write_file', { path: p, content: 'evil' });
      expect(r.isError).toBe(true);
      expect(r.touched).toBeUndefined();
    }
    expect(fs.existsSync(path.join(outside, 'evil.txt'))).toBe(false);
    expect(fs.existsSync(path.join(root, '.git', 'hooks', 'pre-commit'))).toBe(false);
    expect(fs.existsSync(path.join(base, 'abs.txt'))).toBe(false);
  });

  it('replaces an exact, unique string', async () => {
    const r = await call('edit_file', { path: 'src/edit.ts', old_string: 'const y = 2;', new_string: 'const y = $& + 3;' });
    expect(r).toMatchObject({ isError: false, summary: 'edit src/edit.ts', touched: 'src/edit.ts' });
    expect(fs.readFileSync(path.join(root, 'src/edit.ts'), 'utf8')).toBe('const x = 1;\nconst y = $& + 3;\nconst x2 = 1;\n');
  });

  it('refuses a string that is not found, and leaves the file alone', async () => {
    const r = await call('edit_file', { path: 'src/edit.ts', old_string: 'const z = 3;', new_string: 'q' });
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/not found/);
    expect(fs.readFileSync(path.join(root, 'src/edit.ts'), 'utf8')).toBe('const x = 1;\nconst y = 2;\nconst x2 = 1;\n');
  });

  it('refuses a string that is not unique unless replace_all is set', async () => {
    const r = await call('edit_file', { path: 'src/edit.ts', old_string: ' = 1;', new_string: ' = 9;' });
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/occurs 2 times/);
    expect(fs.readFileSync(path.join(root, 'src/edit.ts'), 'utf8')).toContain('const x = 1;');
    const all = await call('edit_file', { path: 'src/edit.ts', old_string: ' = 1;', new_string: ' = 9;', replace_all: true });
    expect(all.isError).toBe(false);
    expect(all.content).toMatch(/replaced 2 occurrences/);
    expect(fs.readFileSync(path.join(root, 'src/edit.ts'), 'utf8')).toBe('const x = 9;\nconst y = 2;\nconst x2 = 9;\n');
  });

  it('refuses to edit a missing file or one outside', async () => {
    expect((await call('edit_file', { path: 'missing.ts', old_string: 'a', new_string: 'b' })).content).toMatch(/No such file/);
    expect((await call('edit_file', { path: 'escape/private.txt', old_string: 'outside', new_string: 'x' })).isError).toBe(true);
    expect(fs.readFileSync(path.join(outside, 'private.txt'), 'utf8')).toBe('outside the workspace\n');
  });
});

describe('list_files and search_text', () => {
  it('lists tracked and untracked files, not ignored ones, in a git worktree', async () => {
    const r = await call('list_files', {});
    const files = r.content.split('\n');
    expect(files).toContain('README.md');
    expect(files).toContain('src/app.ts');
    expect(files).toContain('untracked.ts');
    expect(files).not.toContain('ignored.log');
    expect(files.some((f) => f.startsWith('.git/'))).toBe(false);
    expect(r.summary).toBe('list .');
    const sub = await call('list_files', { path: 'src' });
    expect(sub.content.split('\n')).toContain('src/app.ts');
    expect(sub.content).not.toContain('README.md');
  });

  it('walks plain directories, skipping node_modules', async () => {
    const plain = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cadre-plain-')));
    try {
      fs.mkdirSync(path.join(plain, 'node_modules', 'dep'), { recursive: true });
      fs.writeFileSync(path.join(plain, 'node_modules', 'dep', 'index.js'), '');
      fs.mkdirSync(path.join(plain, 'lib'));
      fs.writeFileSync(path.join(plain, 'lib', 'x.js'), 'x');
      const r = await executeFileTool({ root: plain, policy: anyProgram }, 'list_files', {});
      expect(r.content).toBe('lib/x.js');
    } finally {
      fs.rmSync(plain, { recursive: true, force: true });
    }
  });

  it('refuses to list outside', async () => {
    expect((await call('list_files', { path: '..' })).isError).toBe(true);
    expect((await call('list_files', { path: 'escape' })).isError).toBe(true);
  });

  it('searches with a JavaScript regular expression and reports path:line', async () => {
    const r = await call('search_text', { pattern: 'export const a\\d?' });
    expect(r.isError).toBe(false);
    expect(r.content.split('\n')).toEqual(['src/app.ts:1: export const a = 1;', 'src/app.ts:3: export const a2 = 1;']);
    expect(r.summary).toBe('search /export const a\\d?/ in .');
    const limited = await call('search_text', { pattern: 'export', max_results: 1 });
    expect(limited.content).toMatch(/stopped at 1 matches/);
    expect((await call('search_text', { pattern: 'nothing-matches-this' })).content).toBe('No matches.');
  });

  it('answers an invalid pattern with an error result', async () => {
    const r = await call('search_text', { pattern: '(unclosed' });
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/Invalid regular expression/);
  });

  it('gives up on a catastrophic pattern without blocking the event loop', async () => {
    fs.writeFileSync(path.join(root, 'redos.txt'), `${'a'.repeat(40)}b\n`);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const r = await call('search_text', { pattern: '^(a+)+$', path: 'redos.txt' }, { searchTimeoutMs: 600 });
    clearInterval(timer);
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/gave up/);
    expect(ticks).toBeGreaterThan(5);
  });
});

describe('run_command', () => {
  it('runs an allowed program with a history-safe summary', async () => {
    const r = await call('run_command', { argv: ['echo', 'hello'] });
    expect(r).toMatchObject({ isError: false, summary: 'run echo hello (exit 0)' });
    expect(r.content).toContain('hello');
    const fail = await call('run_command', { argv: ['false'] });
    expect(fail).toMatchObject({ isError: true, summary: 'run false (exit 1)' });
  });

  it('refuses programs outside the policy', async () => {
    const r = await call('run_command', { argv: ['sh', '-c', 'echo hi'] }, { policy: defaultCommandPolicy });
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/not allowed/);
    expect(r.summary).toBe('run sh -c echo hi (refused)');
  });

  it('caps the run time at the policy limit', async () => {
    const r = await call('run_command', { argv: ['sleep', '30'], timeout_seconds: 3600 }, { policy: { ...anyProgram, timeoutMs: 300 } });
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/timed out/);
    expect(r.summary).toBe('run sleep 30 (timed out)');
  });

  it('throws the cancellation when the signal fires, after killing the program', async () => {
    const ac = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => ac.abort(reason), 200);
    const t0 = Date.now();
    await expect(executeFileTool(ctx({ signal: ac.signal }), 'run_command', { argv: ['sleep', '30'] })).rejects.toBe(reason);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

describe('secrets', () => {
  it('never shows a worker secret in a tool result', async () => {
    const env = await call('run_command', { argv: ['env'] });
    expect(env.isError).toBe(false);
    expect(env.content).toContain('PATH=');
    expect(env.content).not.toContain('MY_API_KEY');
    const printenv = await call('run_command', { argv: ['printenv', 'MY_API_KEY'] });
    expect(printenv.content).not.toContain(SECRET);
    const cat = await call('run_command', { argv: ['cat', 'config.txt'] });
    expect(cat.content).toContain('api_key=[redacted]');
    const read = await call('read_file', { path: 'config.txt' });
    expect(read.content).toBe('1\tapi_key=[redacted]');
    const search = await call('search_text', { pattern: 'api_key' });
    expect(search.content).toBe('config.txt:1: api_key=[redacted]');
    const echoed = await call('run_command', { argv: ['echo', SECRET] });
    expect(echoed.summary).not.toContain(SECRET);
    expect(echoed.content).not.toContain(SECRET);

    expect(results.length).toBeGreaterThan(30);
    for (const r of results) {
      expect(r.content).not.toContain(SECRET);
      expect(r.summary).not.toContain(SECRET);
    }
  });
});
