import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cacheRoot, pruneCaches, readEntry, resolveCaches, restoreCache, saveCache, sparesSettled, withDepCaches, type ResolvedCache,
} from '../../src/activities/depCache';
import { BootstrapSchema, relativePathProblem } from '../../src/shared/plan';
import { git } from '../support/repo';
import { tmp } from '../support/tmp';

/** A git checkout standing in for a workspace (restore asks git whether the target has tracked files). */
function checkout(files: Record<string, string> = {}): string {
  const dir = tmp('ws');
  git(dir, 'init', '-q', '-b', 'main');
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

function write(root: string, rel: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
}

// Spares are made in the background: let them finish before the temporary directories go.
afterEach(() => sparesSettled());

/** The cache root's names, spares left out (they are made in the background). */
const entriesOf = (root: string) => fs.readdirSync(root).filter((n) => !n.startsWith('.spare-')).sort();
const sparesIn = (root: string) => fs.readdirSync(root).filter((n) => n.startsWith('.spare-')).sort();

async function only(ws: string, caches: Parameters<typeof resolveCaches>[1]): Promise<ResolvedCache> {
  const r = await resolveCaches(ws, caches);
  expect(r.caches).toHaveLength(1);
  return r.caches[0]!;
}

describe('cache declarations and keys', () => {
  it('auto applies the defaults whose lockfile exists, and keys on the lockfiles, the directory and the platform', async () => {
    const ws = checkout({ 'package-lock.json': '{"v":1}', 'requirements.txt': 'a==1\n', 'requirements-dev.txt': 'b==2\n', '.python-version': '3.11\n' });
    const { caches, skipped } = await resolveCaches(ws, 'auto');
    expect(skipped).toEqual([]);
    expect(caches.map((c) => c.dir)).toEqual(['node_modules', '.venv']); // no Cargo.lock: no target
    expect(caches[0]!.files).toEqual(['package-lock.json']);
    expect(caches[1]!.files).toEqual(['.python-version', 'requirements-dev.txt', 'requirements.txt']);
    expect(caches[0]!.name).toMatch(/^node_modules-[0-9a-f]{16}$/);
    expect(caches[1]!.name).toMatch(/^venv-[0-9a-f]{16}$/);

    const same = checkout({ 'package-lock.json': '{"v":1}' });
    expect((await only(same, 'auto')).hash).toBe(caches[0]!.hash);
    fs.writeFileSync(path.join(same, 'package-lock.json'), '{"v":2}');
    expect((await only(same, 'auto')).hash).not.toBe(caches[0]!.hash);
    // The same lockfile for another directory is another key.
    expect((await only(ws, [{ dir: 'web/node_modules', key: ['package-lock.json'] }])).hash).not.toBe(caches[0]!.hash);
  });

  it('an explicit cache whose key matches no file is skipped and said so; globs match within a segment', async () => {
    const ws = checkout({ 'py/requirements-a.txt': 'a\n', 'py/requirements-b.txt': 'b\n', 'py/other.txt': 'x\n' });
    const r = await resolveCaches(ws, [{ dir: 'py/.venv', key: ['py/requirements-*.txt'] }, { dir: 'target', key: ['Cargo.lock'] }]);
    expect(r.caches.map((c) => [c.dir, c.files])).toEqual([['py/.venv', ['py/requirements-a.txt', 'py/requirements-b.txt']]]);
    expect(r.skipped).toEqual(['target: no file matches its key Cargo.lock']);
    expect((await resolveCaches(checkout(), 'auto')).caches).toEqual([]);
  });

  it('refuses a key file that is a symlink out of the workspace', async () => {
    const ws = checkout();
    const outside = tmp('outside');
    fs.writeFileSync(path.join(outside, 'package-lock.json'), '{}');
    fs.symlinkSync(path.join(outside, 'package-lock.json'), path.join(ws, 'package-lock.json'));
    await expect(resolveCaches(ws, 'auto')).rejects.toThrow(/outside/);
  });

  it('the schema accepts auto and lists, and names the field of a bad declaration', () => {
    expect(BootstrapSchema.safeParse({ setup: ['npm', 'ci'], caches: 'auto' }).success).toBe(true);
    expect(BootstrapSchema.safeParse({ setup: ['x'], caches: [{ dir: '.venv', key: ['uv.lock'] }], setupAlways: true }).success).toBe(true);
    const bad = (v: unknown) => BootstrapSchema.safeParse(v).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(bad({ setup: ['x'], caches: [{ dir: '../up', key: ['a'] }] })).toEqual(['caches.0.dir: "../up" must not contain ".."']);
    expect(bad({ setup: ['x'], caches: [{ dir: 'nm', key: ['/etc/passwd'] }] })).toEqual(['caches.0.key.0: "/etc/passwd" must be relative to the repository root']);
    expect(bad({ caches: 'auto' })).toEqual(['caches: caches need a setup command (the one that produces the cached directories)']);
    expect(bad({ setup: ['x'], setupAlways: true })).toEqual(['setupAlways: setupAlways only applies with caches']);
    expect(bad({ setup: ['x'], caches: 'everything' })?.[0]).toMatch(/^caches:/);
    expect(relativePathProblem('.git/hooks')).toMatch(/\.git/);
    expect(relativePathProblem('./')).toMatch(/below the repository root/);
  });
});

describe('save and restore', () => {
  it('restores a saved directory into another workspace as an independent copy', async () => {
    const state = tmp('state');
    const root = cacheRoot(state, tmp('repo'));
    const a = checkout({ 'package-lock.json': '{}' });
    write(a, 'node_modules/dep/index.js', 'module.exports = 1;\n');
    fs.symlinkSync('dep/index.js', path.join(a, 'node_modules', 'link.js'));
    fs.chmodSync(path.join(a, 'node_modules/dep/index.js'), 0o755);
    const c = await only(a, 'auto');
    expect(await saveCache(root, a, c)).toMatchObject({ saved: true });
    expect(await saveCache(root, a, c)).toMatchObject({ saved: false, reason: 'already cached' });

    const b = checkout({ 'package-lock.json': '{}' });
    const r = await restoreCache(root, b, c);
    expect(r).toMatchObject({ restored: true });
    const file = path.join(b, 'node_modules/dep/index.js');
    expect(fs.readFileSync(file, 'utf8')).toBe('module.exports = 1;\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o755);
    expect(fs.readlinkSync(path.join(b, 'node_modules/link.js'))).toBe('dep/index.js');

    // Writing a restored file in place (as an editor or an installer would) changes neither the cache nor the source.
    const cached = path.join(root, c.name, 'tree', 'dep', 'index.js');
    expect(fs.statSync(file).ino).not.toBe(fs.statSync(cached).ino);
    fs.writeFileSync(file, 'module.exports = "changed by b";\n');
    expect(fs.readFileSync(cached, 'utf8')).toBe('module.exports = 1;\n');
    expect(fs.readFileSync(path.join(a, 'node_modules/dep/index.js'), 'utf8')).toBe('module.exports = 1;\n');
    const c2 = checkout({ 'package-lock.json': '{}' });
    await restoreCache(root, c2, c);
    expect(fs.readFileSync(path.join(c2, 'node_modules/dep/index.js'), 'utf8')).toBe('module.exports = 1;\n');
  });

  it('a restore takes a ready spare copy by renaming it, and a new spare is made in the background', async () => {
    const root = cacheRoot(tmp('state'), tmp('repo'));
    const a = checkout({ 'pnpm-lock.yaml': 'x' });
    write(a, 'node_modules/dep/index.js', 'one');
    const c = await only(a, 'auto');
    await saveCache(root, a, c);
    await sparesSettled();
    const [spare] = sparesIn(root);
    expect(spare).toMatch(new RegExp(`^\\.spare-${c.name}-[0-9a-f]{12}$`));
    const spareIno = fs.statSync(path.join(root, spare!, 'dep/index.js')).ino;

    const b = checkout({ 'pnpm-lock.yaml': 'x' });
    const r = await restoreCache(root, b, c);
    expect(r).toMatchObject({ restored: true, copiedWith: 'a ready copy (rename)' });
    const file = path.join(b, 'node_modules/dep/index.js');
    expect(fs.statSync(file).ino).toBe(spareIno); // the spare itself, moved: nobody else has it
    expect(fs.statSync(file).ino).not.toBe(fs.statSync(path.join(root, c.name, 'tree/dep/index.js')).ino);
    await sparesSettled();
    const [next] = sparesIn(root);
    expect(next).toBeDefined();
    expect(next).not.toBe(spare);
    fs.writeFileSync(file, 'changed by b');
    expect(fs.readFileSync(path.join(root, next!, 'dep/index.js'), 'utf8')).toBe('one');
    expect(fs.readFileSync(path.join(root, c.name, 'tree/dep/index.js'), 'utf8')).toBe('one');

    // Two restores racing for one spare: the rename gives it to one of them (the other copies, or takes the next
    // spare); both get the whole tree, and no file is shared.
    const [x, y] = [checkout({ 'pnpm-lock.yaml': 'x' }), checkout({ 'pnpm-lock.yaml': 'x' })];
    const both = await Promise.all([restoreCache(root, x, c), restoreCache(root, y, c)]);
    expect(both.map((q) => q.copiedWith)).toContain('a ready copy (rename)');
    for (const ws of [x, y]) expect(fs.readFileSync(path.join(ws, 'node_modules/dep/index.js'), 'utf8')).toBe('one');
    expect(fs.statSync(path.join(x, 'node_modules/dep/index.js')).ino).not.toBe(fs.statSync(path.join(y, 'node_modules/dep/index.js')).ino);
    await sparesSettled();
  });

  it('a missing entry is a miss; leftovers of a crashed restore are replaced; tracked directories are never replaced', async () => {
    const state = tmp('state');
    const root = cacheRoot(state, tmp('repo'));
    const a = checkout({ 'package-lock.json': '{}', 'node_modules/dep/a.js': 'a' });
    const c = await only(a, 'auto');
    expect(await restoreCache(root, a, c)).toMatchObject({ restored: false, reason: 'no entry' });
    await saveCache(root, a, c);

    const b = checkout({ 'package-lock.json': '{}' });
    write(b, 'node_modules/partial.js', 'half a copy');
    expect(await restoreCache(root, b, c)).toMatchObject({ restored: true });
    expect(fs.existsSync(path.join(b, 'node_modules/partial.js'))).toBe(false);
    expect(fs.existsSync(path.join(b, 'node_modules/dep/a.js'))).toBe(true);

    const tracked = checkout({ 'package-lock.json': '{}', 'node_modules/vendored.js': 'kept' });
    git(tracked, 'add', '-A');
    const r = await restoreCache(root, tracked, c);
    expect(r).toMatchObject({ restored: false });
    expect(r.reason).toMatch(/tracked files/);
    expect(fs.readFileSync(path.join(tracked, 'node_modules/vendored.js'), 'utf8')).toBe('kept');
  });

  it('saving nothing when the setup produced no directory', async () => {
    const root = cacheRoot(tmp('state'), tmp('repo'));
    const a = checkout({ 'package-lock.json': '{}' });
    expect(await saveCache(root, a, await only(a, 'auto'))).toMatchObject({ saved: false, reason: 'the setup left no directory node_modules' });
    expect(fs.existsSync(root) ? fs.readdirSync(root) : []).toEqual([]);
  });

  it('two concurrent saves of one key leave one complete entry and no temporary directories', async () => {
    const root = cacheRoot(tmp('state'), tmp('repo'));
    const a = checkout({ 'Cargo.lock': 'x' });
    const b = checkout({ 'Cargo.lock': 'x' });
    for (const ws of [a, b]) for (let i = 0; i < 200; i++) write(ws, `target/debug/f${i}.o`, `${ws} ${i}\n`.repeat(50));
    const c = await only(a, 'auto');
    const results = await Promise.all([saveCache(root, a, c), saveCache(root, b, c), saveCache(root, a, c)]);
    expect(results.filter((r) => r.saved)).toHaveLength(1);
    for (const r of results.filter((x) => !x.saved)) expect(r.reason).toMatch(/another workspace saved it first|already cached/);
    await sparesSettled();
    expect(entriesOf(root)).toEqual([c.name]);
    expect(sparesIn(root)).toHaveLength(1);
    const info = await readEntry(root, c.name);
    const winner = info!.originRoot;
    expect([a, b]).toContain(winner);
    const tree = path.join(root, c.name, 'tree', 'debug');
    expect(fs.readdirSync(tree)).toHaveLength(200);
    expect(fs.readFileSync(path.join(tree, 'f199.o'), 'utf8')).toBe(`${winner} 199\n`.repeat(50));
  });

  it('saves racing in separate processes leave one complete entry', async () => {
    const root = cacheRoot(tmp('state'), tmp('repo'));
    const go = path.join(tmp('go'), 'go');
    const sources = [checkout({ 'Cargo.lock': 'y' }), checkout({ 'Cargo.lock': 'y' })];
    for (const ws of sources) for (let i = 0; i < 300; i++) write(ws, `target/f${i}`, `${ws} ${i}\n`.repeat(100));
    const c = await only(sources[0]!, 'auto');
    const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
    const child = (ws: string) => new Promise<{ saved: boolean; reason?: string }>((resolve, reject) => {
      execFile(tsx, [path.join(__dirname, 'saveCacheChild.ts'), JSON.stringify({ root, worktree: ws, cache: c, go })], (err, out, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(JSON.parse(out) as { saved: boolean });
      });
    });
    const running = sources.map(child);
    await new Promise((r) => setTimeout(r, 1500)); // both processes started and waiting (not a timing assertion)
    fs.writeFileSync(go, '');
    const results = await Promise.all(running);
    expect(results.filter((r) => r.saved)).toHaveLength(1);
    expect(entriesOf(root)).toEqual([c.name]); // no temporary directory left by either process
    const winner = (await readEntry(root, c.name))!.originRoot;
    expect(fs.readdirSync(path.join(root, c.name, 'tree'))).toHaveLength(300);
    expect(fs.readFileSync(path.join(root, c.name, 'tree', 'f299'), 'utf8')).toBe(`${winner} 299\n`.repeat(100));
  });

  it('relocates a virtualenv: shebangs, .pth files and absolute links name the new workspace', async () => {
    const root = cacheRoot(tmp('state'), tmp('repo'));
    const a = checkout({ 'uv.lock': 'x' });
    write(a, '.venv/bin/pip', `#!${a}/.venv/bin/python\nimport pip\n`);
    fs.chmodSync(path.join(a, '.venv/bin/pip'), 0o755);
    write(a, '.venv/bin/activate', `VIRTUAL_ENV="${a}/.venv"\nOTHER="${a}b/.venv"\n`);
    write(a, '.venv/lib/python3.11/site-packages/__editable__.app.pth', `${a}/src\n`);
    write(a, '.venv/lib/python3.11/site-packages/untouched.txt', `${a}/src\n`);
    fs.symlinkSync(path.join(a, 'src'), path.join(a, '.venv/src-link'));
    fs.symlinkSync('/usr/bin/env', path.join(a, '.venv/bin/env-link'));
    const c = await only(a, 'auto');
    await saveCache(root, a, c);
    const info = await readEntry(root, c.name);
    expect(info?.relocate.sort()).toEqual(['bin/activate', 'bin/pip', 'lib/python3.11/site-packages/__editable__.app.pth']);
    expect(info?.links).toEqual(['src-link']);

    const b = checkout({ 'uv.lock': 'x' });
    const r = await restoreCache(root, b, c);
    expect(r).toMatchObject({ restored: true, relocated: 4 });
    expect(fs.readFileSync(path.join(b, '.venv/bin/pip'), 'utf8')).toBe(`#!${b}/.venv/bin/python\nimport pip\n`);
    expect(fs.statSync(path.join(b, '.venv/bin/pip')).mode & 0o777).toBe(0o755);
    // `${a}b` is another directory: only whole path names are rewritten.
    expect(fs.readFileSync(path.join(b, '.venv/bin/activate'), 'utf8')).toBe(`VIRTUAL_ENV="${b}/.venv"\nOTHER="${a}b/.venv"\n`);
    expect(fs.readFileSync(path.join(b, '.venv/lib/python3.11/site-packages/__editable__.app.pth'), 'utf8')).toBe(`${b}/src\n`);
    expect(fs.readlinkSync(path.join(b, '.venv/src-link'))).toBe(path.join(b, 'src'));
    expect(fs.readlinkSync(path.join(b, '.venv/bin/env-link'))).toBe('/usr/bin/env');
    // The cache itself still names the origin: relocation writes new files in the copy only.
    expect(fs.readFileSync(path.join(root, c.name, 'tree/bin/pip'), 'utf8')).toBe(`#!${a}/.venv/bin/python\nimport pip\n`);
  });

  it('prunes all but the most recently used entries of a directory, and temporary directories of dead processes', async () => {
    const root = cacheRoot(tmp('state'), tmp('repo'));
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const ws = checkout({ 'yarn.lock': `v${i}` });
      write(ws, 'node_modules/x.js', `${i}`);
      const c = await only(ws, 'auto');
      await saveCache(root, ws, c);
      const old = new Date(Date.now() - (60 - i) * 60_000); // an hour ago, newer by a minute each
      fs.utimesSync(path.join(root, c.name, 'used'), old, old);
      names.push(c.name);
    }
    const other = checkout({ 'Cargo.lock': 'x' });
    write(other, 'target/x', 'x');
    const t = await only(other, 'auto');
    await saveCache(root, other, t);
    fs.mkdirSync(path.join(root, '.tmp-999999999-dead'));
    fs.mkdirSync(path.join(root, `.tmp-${process.pid}-live`));
    await sparesSettled();
    expect(sparesIn(root)).toHaveLength(5);
    const removed = await pruneCaches(root, 'node_modules', 2);
    expect(removed.filter((n) => !n.startsWith('.spare-')).sort()).toEqual(['.tmp-999999999-dead', names[0], names[1]].sort());
    expect(entriesOf(root)).toEqual([`.tmp-${process.pid}-live`, names[2], names[3], t.name].sort());
    // The spares of pruned entries go with them.
    expect(sparesIn(root).map((n) => n.slice('.spare-'.length, -13)).sort()).toEqual([names[2], names[3], t.name].sort());
  });
});

describe('withDepCaches', () => {
  async function flow(ws: string, state: string, repo: string, extra: { setupAlways?: boolean; fail?: boolean } = {}) {
    let ran = 0;
    const logFile = path.join(state, 'logs', 'x.setup.log');
    fs.rmSync(logFile, { force: true });
    const result = await withDepCaches({ stateDir: state, repoRoot: repo, worktree: ws, caches: 'auto', setupAlways: extra.setupAlways, logFile }, async () => {
      ran++;
      if (extra.fail) throw new Error('setup failed');
      write(ws, 'node_modules/dep.js', `installed in ${ws}`);
    });
    return { ran, result, log: fs.readFileSync(logFile, 'utf8') };
  }

  it('misses and saves, then restores and skips the setup; setupAlways runs it; a failed setup saves nothing', async () => {
    const state = tmp('state');
    const repo = tmp('repo');
    const a = checkout({ 'package-lock.json': '{}' });
    const first = await flow(a, state, repo);
    expect(first.ran).toBe(1);
    expect(first.result).toEqual({ setupRan: true, restored: [], saved: ['node_modules'] });
    expect(first.log).toMatch(/\[cadre cache\] node_modules: miss node_modules-[0-9a-f]+ \(key package-lock.json\): no entry/);
    expect(first.log).toMatch(/node_modules: saved node_modules-/);

    const b = checkout({ 'package-lock.json': '{}' });
    const second = await flow(b, state, repo);
    expect(second.ran).toBe(0);
    expect(second.result).toEqual({ setupRan: false, restored: ['node_modules'], saved: [] });
    expect(second.log).toMatch(/node_modules: hit node_modules-[0-9a-f]+ .*restored in \d+ ms/);
    expect(second.log).toMatch(/setup skipped/);
    expect(fs.readFileSync(path.join(b, 'node_modules/dep.js'), 'utf8')).toBe(`installed in ${a}`);

    const c = checkout({ 'package-lock.json': '{}' });
    const always = await flow(c, state, repo, { setupAlways: true });
    expect(always.ran).toBe(1);
    expect(always.result).toEqual({ setupRan: true, restored: ['node_modules'], saved: [] });

    const d = checkout({ 'package-lock.json': '{"changed":true}' });
    await expect(flow(d, state, repo, { fail: true })).rejects.toThrow('setup failed');
    // The restores above refill their entry's spare in the background (built as a `.tmp-` directory): let it land.
    await sparesSettled();
    expect(entriesOf(cacheRoot(state, repo))).toHaveLength(1);

    const none = checkout();
    const noLock = await flow(none, state, repo);
    expect(noLock.ran).toBe(1);
    expect(noLock.log).toMatch(/no cache applies/);
  });
});
