/**
 * The worktree pool (src/activities/worktreePool.ts) through createWorkspace: claims, refills, crash recovery,
 * broken entries, gc, concurrency and configuration. "Taken from the pool" is checked on facts, not on time: the
 * claimed worktree's git admin directory keeps the pool entry's name (`git worktree move` does not rename it), the
 * entry is gone from `.pool`, and the metadata records the entry's commit.
 */
import { TypedFailure } from '../../src/shared/errors';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  commitWorkspace,
  createWorkspace,
  ensureIntegrationWorktree,
  gcWorktrees,
  knownRepos,
  removeWorkspace,
  worktreesRoot,
  type WorkspaceMeta,
} from '../../src/activities/workspace';
import { createWorkspaceActivities } from '../../src/activities/workspaceActivities';
import { inActivities } from '../support/activityContext';
import { isPoolPath, poolSettled } from '../../src/activities/worktreePool';
import { DEFAULT_WORKTREE_POOL, loadConfig } from '../../src/node/config';
import { git } from '../support/repo';
import { tmp } from '../support/tmp';



function makeRepo(): string {
  const repo = tmp('repo');
  git(repo, 'init', '-q', '-b', 'main');
  for (let i = 0; i < 20; i++) {
    fs.mkdirSync(path.join(repo, 'src', `d${i % 4}`), { recursive: true });
    fs.writeFileSync(path.join(repo, 'src', `d${i % 4}`, `f${i}.ts`), `export const v${i} = ${i};\n`);
  }
  fs.writeFileSync(path.join(repo, 'README.md'), '# pool\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  return repo;
}

/** Commit on main in the user's checkout: the base moves. */
function moveBase(repo: string, files: Record<string, string>): string {
  for (const [rel, content] of Object.entries(files)) fs.writeFileSync(path.join(repo, rel), content);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'base moves');
  return git(repo, 'rev-parse', 'HEAD');
}

function poolDir(stateDir: string, repo: string): string {
  return path.join(worktreesRoot(stateDir, repo), '.pool');
}

/** Ready entries: name → commit. */
function readyEntries(stateDir: string, repo: string): Map<string, string> {
  const dir = poolDir(stateDir, repo);
  const ready = new Map<string, string>();
  if (!fs.existsSync(dir)) return ready;
  for (const f of fs.readdirSync(dir)) {
    if (!f.endsWith('.ready')) continue;
    const name = f.slice(0, -'.ready'.length);
    if (fs.existsSync(path.join(dir, name))) ready.set(name, (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { commit: string }).commit);
  }
  return ready;
}

async function settled(stateDir: string, repo: string): Promise<void> {
  await poolSettled(worktreesRoot(stateDir, repo));
}

/** The name of a worktree's admin directory (.git/worktrees/<name>): a pool entry keeps its own when it is moved. */
function adminName(worktree: string): string {
  return path.basename(git(worktree, 'rev-parse', '--absolute-git-dir'));
}

function metaOf(stateDir: string, repo: string, worktree: string): WorkspaceMeta {
  return JSON.parse(fs.readFileSync(path.join(worktreesRoot(stateDir, repo), '.meta', `${path.basename(worktree)}.json`), 'utf8')) as WorkspaceMeta;
}

function registered(repo: string): string[] {
  return git(repo, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).map((l) => l.slice(9));
}

/** A repository whose pool holds `size` ready entries at main, made by a first (cold) workspace. */
async function warmPool(size = 2) {
  const repo = makeRepo();
  const stateDir = tmp('state');
  const first = await createWorkspace({ stateDir, repo, agentId: 'first', baseRef: 'main', worktreePool: size });
  expect(metaOf(stateDir, repo, first.path).pooledFrom).toBeUndefined();
  await settled(stateDir, repo);
  const ready = readyEntries(stateDir, repo);
  expect(ready.size).toBe(size);
  return { repo, stateDir, ready };
}

function expectClean(worktree: string): void {
  expect(git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
}

describe('worktree pool: claims', () => {
  it('a claim after a refill gives a clean worktree on the agent branch at the base, moved out of the pool', async () => {
    const { repo, stateDir, ready } = await warmPool();
    const main = git(repo, 'rev-parse', 'main');
    expect([...ready.values()]).toEqual([main, main]);

    const ws = await createWorkspace({ stateDir, repo, agentId: 'run-p/t1', baseRef: 'main' });
    expect(ws).toMatchObject({ branch: 'cadre/run-p.t1', baseCommit: main, created: true });
    expect(git(ws.path, 'branch', '--show-current')).toBe('cadre/run-p.t1');
    expect(git(ws.path, 'rev-parse', 'HEAD')).toBe(main);
    expectClean(ws.path);
    expect(fs.readFileSync(path.join(ws.path, 'src', 'd1', 'f5.ts'), 'utf8')).toBe('export const v5 = 5;\n');
    // The pool path was taken: this worktree is one of the ready entries, renamed into place.
    const entry = adminName(ws.path);
    expect(ready.has(entry)).toBe(true);
    expect(fs.existsSync(path.join(poolDir(stateDir, repo), entry))).toBe(false);
    expect(metaOf(stateDir, repo, ws.path).pooledFrom).toBe(main);

    // The workspace behaves like any other: commit, then remove (the branch stays).
    fs.writeFileSync(path.join(ws.path, 'new.txt'), 'x\n');
    expect((await commitWorkspace({ path: ws.path, message: 'work' })).committed).toBe(true);
    await removeWorkspace({ stateDir, repo, path: ws.path });
    expect(git(repo, 'show', 'cadre/run-p.t1:new.txt')).toBe('x');

    // The refill brings the pool back to two ready entries.
    await settled(stateDir, repo);
    expect(readyEntries(stateDir, repo).size).toBe(2);
  });

  it('claims at the new base when the base moved after the refill, and the refill moves the pool forward', async () => {
    const { repo, stateDir, ready } = await warmPool();
    const old = git(repo, 'rev-parse', 'main');
    const moved = moveBase(repo, { 'src/d0/f0.ts': 'export const v0 = "moved";\n', 'added.txt': 'added\n' });
    fs.rmSync(path.join(repo, 'src', 'd1', 'f1.ts'));
    git(repo, 'commit', '-q', '-am', 'delete one');
    const base = git(repo, 'rev-parse', 'main');
    expect(base).not.toBe(moved);

    const ws = await createWorkspace({ stateDir, repo, agentId: 'moved', baseRef: 'main' });
    expect(ready.has(adminName(ws.path))).toBe(true);
    expect(metaOf(stateDir, repo, ws.path).pooledFrom).toBe(old);
    expect(ws.baseCommit).toBe(base);
    expect(git(ws.path, 'rev-parse', 'HEAD')).toBe(base);
    expect(git(ws.path, 'branch', '--show-current')).toBe('cadre/moved');
    expectClean(ws.path);
    expect(fs.readFileSync(path.join(ws.path, 'src', 'd0', 'f0.ts'), 'utf8')).toBe('export const v0 = "moved";\n');
    expect(fs.readFileSync(path.join(ws.path, 'added.txt'), 'utf8')).toBe('added\n');
    expect(fs.existsSync(path.join(ws.path, 'src', 'd1', 'f1.ts'))).toBe(false);

    await settled(stateDir, repo);
    const after = readyEntries(stateDir, repo);
    expect([...after.values()]).toEqual([base, base]);
    // The entry left at the old commit was moved forward in place, not replaced.
    expect([...ready.keys()].filter((name) => after.has(name))).toHaveLength(1);
  });

  it('never hands out a dirty or broken entry: it is discarded and the workspace is added from scratch', async () => {
    const { repo, stateDir, ready } = await warmPool(3);
    const [modified, untracked, deleted] = [...ready.keys()].map((name) => path.join(poolDir(stateDir, repo), name));
    fs.appendFileSync(path.join(modified!, 'README.md'), 'edited in the pool\n');
    fs.writeFileSync(path.join(untracked!, 'stray.txt'), 'not from git\n');
    fs.rmSync(deleted!, { recursive: true, force: true });

    const ws = await createWorkspace({ stateDir, repo, agentId: 'picky', baseRef: 'main', worktreePool: 3 });
    expect(metaOf(stateDir, repo, ws.path).pooledFrom).toBeUndefined();
    expect([...ready.keys()]).not.toContain(adminName(ws.path));
    expectClean(ws.path);
    expect(fs.existsSync(path.join(ws.path, 'stray.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(ws.path, 'README.md'), 'utf8')).toBe('# pool\n');
    for (const p of [modified!, untracked!, deleted!]) expect(fs.existsSync(p)).toBe(false);

    // The refill deletes the discarded ones and forgets their registrations, then makes three new entries.
    await settled(stateDir, repo);
    const after = readyEntries(stateDir, repo);
    expect(after.size).toBe(3);
    for (const name of ready.keys()) expect(after.has(name)).toBe(false);
    expect(fs.readdirSync(path.join(poolDir(stateDir, repo), '.trash'))).toEqual([]);
    expect(registered(repo).filter((p) => p.includes(`${path.sep}.trash${path.sep}`))).toEqual([]);
  });

  it('gives concurrent creations distinct entries, each at most once', async () => {
    const { repo, stateDir, ready } = await warmPool();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => createWorkspace({ stateDir, repo, agentId: `conc-${i}`, baseRef: 'main' })),
    );
    const admins = results.map((r) => adminName(r.path));
    expect(new Set(admins).size).toBe(5);
    const fromPool = results.filter((r) => metaOf(stateDir, repo, r.path).pooledFrom !== undefined);
    // Both entries that were ready are used (later creations may also get entries the refill made meanwhile).
    for (const name of ready.keys()) expect(admins).toContain(name);
    expect(fromPool.length).toBeGreaterThanOrEqual(2);
    for (const [i, r] of results.entries()) {
      expect(git(r.path, 'branch', '--show-current')).toBe(`cadre/conc-${i}`);
      expectClean(r.path);
    }
    await settled(stateDir, repo);
  });

  it('warms the pool when a run ensures its integration worktree, at the integration head', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const integration = await ensureIntegrationWorktree({ stateDir, repo, runId: 'run-w', baseRef: 'main' });
    fs.writeFileSync(path.join(integration.path, 'merged.txt'), 'merged\n');
    await commitWorkspace({ path: integration.path, message: 'a task merged' });
    const head = git(integration.path, 'rev-parse', 'HEAD');
    // A second ensure (a re-attached run) warms at the branch's head, not at its original base.
    await settled(stateDir, repo);
    await ensureIntegrationWorktree({ stateDir, repo, runId: 'run-w', baseRef: 'main' });
    await settled(stateDir, repo);
    expect([...readyEntries(stateDir, repo).values()]).toEqual([head, head]);

    const ws = await createWorkspace({ stateDir, repo, agentId: 'run-w/t1', baseRef: integration.branch });
    expect(metaOf(stateDir, repo, ws.path).pooledFrom).toBe(head);
    expect(fs.readFileSync(path.join(ws.path, 'merged.txt'), 'utf8')).toBe('merged\n');
    await settled(stateDir, repo);
  });

  it('bootstraps a claimed worktree like a new one: copies are made and never committed', async () => {
    const { repo, stateDir, ready } = await warmPool();
    fs.writeFileSync(path.join(repo, '.env'), 'TOKEN_URL=local\n');
    const ws = await createWorkspace({
      stateDir, repo, agentId: 'boot', baseRef: 'main', bootstrap: { copy: ['.env'], setup: ['touch', 'setup-ran.txt'] },
    });
    expect(ready.has(adminName(ws.path))).toBe(true);
    expect(fs.readFileSync(path.join(ws.path, '.env'), 'utf8')).toBe('TOKEN_URL=local\n');
    const c = await commitWorkspace({ path: ws.path, message: 'work' });
    expect(c.filesChanged).toEqual(['setup-ran.txt']);
    await settled(stateDir, repo);
  });

  it('with a pool size of 0 makes no pool at all', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    await ensureIntegrationWorktree({ stateDir, repo, runId: 'run-0', baseRef: 'main', worktreePool: 0 });
    const ws = await createWorkspace({ stateDir, repo, agentId: 'no-pool', baseRef: 'main', worktreePool: 0 });
    await settled(stateDir, repo);
    expect(fs.existsSync(poolDir(stateDir, repo))).toBe(false);
    expect(registered(repo).filter(isPoolPath)).toEqual([]);
    expect(metaOf(stateDir, repo, ws.path).pooledFrom).toBeUndefined();
  });
});

describe('worktree pool: crashes and retries', () => {
  it('a retry finishes a claim that died between the move and the agent branch', async () => {
    const { repo, stateDir, ready } = await warmPool();
    const main = git(repo, 'rev-parse', 'main');
    const root = worktreesRoot(stateDir, repo);
    // What a claim does before the switch, done by hand: take the entry out of the pool, write the metadata, move it.
    const [name, commit] = [...ready.entries()][0]!;
    const dir = path.join(root, 'crashed');
    fs.rmSync(path.join(root, '.pool', `${name}.ready`));
    const meta: WorkspaceMeta = {
      kind: 'agent', ownerId: 'crashed', repo, path: dir, branch: 'cadre/crashed', baseRef: 'main', baseCommit: main,
      createdAt: new Date().toISOString(), bootstrapped: false, pooledFrom: commit,
    };
    fs.writeFileSync(path.join(root, '.meta', 'crashed.json'), JSON.stringify(meta));
    git(repo, 'worktree', 'move', path.join(root, '.pool', name), dir);

    const ws = await createWorkspace({ stateDir, repo, agentId: 'crashed', baseRef: 'main' });
    expect(ws).toEqual({ path: dir, branch: 'cadre/crashed', baseCommit: main, created: true });
    expect(adminName(dir)).toBe(name);
    expect(git(dir, 'branch', '--show-current')).toBe('cadre/crashed');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(main);
    expectClean(dir);
    // And the call after that is a plain reuse.
    expect(await createWorkspace({ stateDir, repo, agentId: 'crashed', baseRef: 'main' })).toEqual({ ...ws, created: false });
    await settled(stateDir, repo);
  });

  it('a retry finishes a claim that died after creating the branch, before moving HEAD', async () => {
    const { repo, stateDir } = await warmPool();
    const main = git(repo, 'rev-parse', 'main');
    // HEAD.lock in every entry's admin directory: the claim creates the branch, then fails to move HEAD.
    const admin = path.join(repo, '.git', 'worktrees');
    const names = [...readyEntries(stateDir, repo).keys()];
    for (const name of names) fs.writeFileSync(path.join(admin, name, 'HEAD.lock'), '');
    const err = await createWorkspace({ stateDir, repo, agentId: 'half', baseRef: 'main' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypedFailure);
    expect((err as TypedFailure).retryable).toBe(true);
    expect(git(repo, 'rev-parse', 'cadre/half')).toBe(main);
    const dir = path.join(worktreesRoot(stateDir, repo), 'half');
    expect(git(dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('HEAD');

    for (const name of names) fs.rmSync(path.join(admin, name, 'HEAD.lock'), { force: true });
    const ws = await createWorkspace({ stateDir, repo, agentId: 'half', baseRef: 'main' });
    expect(ws).toMatchObject({ path: dir, branch: 'cadre/half', baseCommit: main, created: true });
    expect(git(dir, 'branch', '--show-current')).toBe('cadre/half');
    expectClean(dir);
    await settled(stateDir, repo);
  });

  it('a retry finishes a claim that died after checking out the moved base, before creating the branch', async () => {
    const { repo, stateDir, ready } = await warmPool();
    const base = moveBase(repo, { 'README.md': '# pool, moved\n', 'src/d2/f2.ts': 'export const v2 = "moved";\n' });
    // A lock on the branch's ref: the claim checks out the difference, then fails to create the branch.
    const refLock = path.join(repo, '.git', 'refs', 'heads', 'cadre', 'between.lock');
    fs.mkdirSync(path.dirname(refLock), { recursive: true });
    fs.writeFileSync(refLock, '');
    const err = await createWorkspace({ stateDir, repo, agentId: 'between', baseRef: 'main' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypedFailure);
    expect((err as TypedFailure).retryable).toBe(true);
    const dir = path.join(worktreesRoot(stateDir, repo), 'between');
    // Files at the new base, HEAD still detached at the entry's commit, no branch.
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('# pool, moved\n');
    expect(ready.get(adminName(dir))).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(() => git(repo, 'rev-parse', '--verify', 'cadre/between')).toThrow();

    fs.rmSync(refLock);
    const ws = await createWorkspace({ stateDir, repo, agentId: 'between', baseRef: 'main' });
    expect(ws).toEqual({ path: dir, branch: 'cadre/between', baseCommit: base, created: true });
    expect(git(dir, 'branch', '--show-current')).toBe('cadre/between');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(base);
    expectClean(dir);
    expect(fs.readFileSync(path.join(dir, 'src', 'd2', 'f2.ts'), 'utf8')).toBe('export const v2 = "moved";\n');
    await settled(stateDir, repo);
  });

  it('never moves a branch that has commits: a detached workspace whose branch moved on is left as it is', async () => {
    const { repo, stateDir } = await warmPool();
    const ws = await createWorkspace({ stateDir, repo, agentId: 'worked', baseRef: 'main' });
    expect(metaOf(stateDir, repo, ws.path).pooledFrom).toBeDefined();
    fs.writeFileSync(path.join(ws.path, 'work.txt'), 'the agent did this\n');
    const { commit } = await commitWorkspace({ path: ws.path, message: 'agent work' });
    // The agent (it can run git) detaches its own HEAD back at the base.
    git(ws.path, 'switch', '-q', '--detach', ws.baseCommit);

    const err = await createWorkspace({ stateDir, repo, agentId: 'worked', baseRef: 'main' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypedFailure);
    expect((err as TypedFailure).retryable).toBe(false);
    expect((err as TypedFailure).message).toContain('cadre/worked');
    expect(git(repo, 'rev-parse', 'cadre/worked')).toBe(commit);
    await settled(stateDir, repo);
  });

  it('settles without an unhandled rejection when the state directory and repository vanish during a refill', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    await createWorkspace({ stateDir, repo, agentId: 'vanish', baseRef: 'main' });
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(repo, { recursive: true, force: true });
    await settled(stateDir, repo);
    expect(fs.existsSync(path.join(stateDir, 'worktrees'))).toBe(false);
  });
});

describe('worktree pool: gc and configuration', () => {
  it('cadre gc removes the pool, also when it is all that is left of a repository', async () => {
    const { repo, stateDir, ready } = await warmPool();
    await removeWorkspace({ stateDir, repo, path: path.join(worktreesRoot(stateDir, repo), 'first') });
    expect(await knownRepos(stateDir)).toEqual([repo]);
    const entries = [...ready.keys()].map((name) => path.join(poolDir(stateDir, repo), name));

    const dry = await gcWorktrees(stateDir, repo, async () => false, { dryRun: true });
    expect(dry.pool.sort()).toEqual(entries.sort());
    expect(readyEntries(stateDir, repo).size).toBe(2);

    const result = await gcWorktrees(stateDir, repo, async () => false);
    expect(result.pool.sort()).toEqual(entries.sort());
    expect(fs.existsSync(poolDir(stateDir, repo))).toBe(false);
    expect(registered(repo)).toEqual([repo]);
    // The repository's branches are untouched.
    expect(git(repo, 'branch', '--format=%(refname:short)').split('\n').sort()).toEqual(['cadre/first', 'main']);
  });

  it('reads CADRE_WORKTREE_POOL: default 2, 0 turns it off, anything but a whole number is refused by name', () => {
    expect(DEFAULT_WORKTREE_POOL).toBe(2);
    expect(loadConfig({}).worktreePool).toBe(2);
    expect(loadConfig({ CADRE_WORKTREE_POOL: '0' }).worktreePool).toBe(0);
    expect(loadConfig({ CADRE_WORKTREE_POOL: '5' }).worktreePool).toBe(5);
    for (const bad of ['-1', '1.5', 'two', '']) {
      expect(() => loadConfig({ CADRE_WORKTREE_POOL: bad })).toThrow(/^bad configuration: CADRE_WORKTREE_POOL: /);
    }
  });

  it('the activities use the size they are given, and the default when none is', async () => {
    const repo = makeRepo();
    const withDefault = tmp('state');
    await inActivities(createWorkspaceActivities({ stateDir: withDefault })).createWorkspace({ repo, agentId: 'a', baseRef: 'main' });
    await settled(withDefault, repo);
    expect(readyEntries(withDefault, repo).size).toBe(DEFAULT_WORKTREE_POOL);

    const off = tmp('state');
    await inActivities(createWorkspaceActivities({ stateDir: off, worktreePool: 0 })).ensureIntegrationWorktree({ repo, runId: 'r', baseRef: 'main' });
    await settled(off, repo);
    expect(fs.existsSync(poolDir(off, repo))).toBe(false);
  });
});

describe('worktree pool: recycling a finished agent worktree', () => {
  async function finishedAgent(agentId: string) {
    const repo = makeRepo();
    const stateDir = tmp('state');
    fs.writeFileSync(path.join(repo, '.gitignore'), 'deps/\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'ignore deps');
    const ws = await createWorkspace({ stateDir, repo, agentId, baseRef: 'main', worktreePool: 0 });
    fs.writeFileSync(path.join(ws.path, 'done.txt'), 'committed work\n');
    await commitWorkspace({ path: ws.path, message: 'work' });
    fs.writeFileSync(path.join(ws.path, 'draft.txt'), 'left uncommitted\n');
    fs.mkdirSync(path.join(ws.path, 'deps'));
    fs.writeFileSync(path.join(ws.path, 'deps', 'lib.js'), 'ignored\n');
    return { repo, stateDir, ws, admin: adminName(ws.path) };
  }

  it('goes back to the pool reset and cleaned, with its work on its branch and a rescue ref, and is claimed next', async () => {
    const { repo, stateDir, ws, admin } = await finishedAgent('run-rc/a');
    const branchHead = git(repo, 'rev-parse', 'cadre/run-rc.a');
    const r = await removeWorkspace({ stateDir, repo, path: ws.path, worktreePool: 1 });
    expect(r).toMatchObject({ removed: true, recycled: true });
    expect(git(repo, 'show', `${r.rescue!.commit}:draft.txt`)).toBe('left uncommitted');
    expect(fs.existsSync(ws.path)).toBe(false);
    expect(git(repo, 'rev-parse', 'cadre/run-rc.a')).toBe(branchHead);
    const ready = readyEntries(stateDir, repo);
    expect(ready.size).toBe(1);
    const [[name, commit]] = [...ready];
    const entry = path.join(poolDir(stateDir, repo), name);
    expect(adminName(entry)).toBe(admin); // the same worktree, moved: not a new checkout
    expect(commit).toBe(branchHead);
    expect(git(entry, 'status', '--porcelain', '--untracked-files=all', '--ignored')).toBe('');
    expect(git(entry, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('HEAD');

    const next = await createWorkspace({ stateDir, repo, agentId: 'run-rc/b', baseRef: 'main', worktreePool: 1 });
    expect(adminName(next.path)).toBe(admin);
    expect(git(next.path, 'rev-parse', 'HEAD')).toBe(git(repo, 'rev-parse', 'main'));
    expect(fs.existsSync(path.join(next.path, 'done.txt'))).toBe(false);
    expect(fs.existsSync(path.join(next.path, 'deps'))).toBe(false);
    expectClean(next.path);
    await settled(stateDir, repo);
  });

  it('is removed instead when the pool is full, when no pool size is given (gc), or for an integration worktree', async () => {
    const full = await finishedAgent('run-full/a');
    await createWorkspace({ stateDir: full.stateDir, repo: full.repo, agentId: 'run-full/warm', baseRef: 'main', worktreePool: 1 });
    await settled(full.stateDir, full.repo);
    expect(readyEntries(full.stateDir, full.repo).size).toBe(1);
    const r1 = await removeWorkspace({ stateDir: full.stateDir, repo: full.repo, path: full.ws.path, worktreePool: 1 });
    expect(r1.recycled).toBeUndefined();
    expect([...readyEntries(full.stateDir, full.repo).keys()].map((n) => adminName(path.join(poolDir(full.stateDir, full.repo), n)))).not.toContain(full.admin);
    expect(registered(full.repo).map((p) => path.basename(p))).not.toContain(path.basename(full.ws.path));

    const gcLike = await finishedAgent('run-gc/a');
    const r2 = await removeWorkspace({ stateDir: gcLike.stateDir, repo: gcLike.repo, path: gcLike.ws.path });
    expect(r2.recycled).toBeUndefined();
    expect(readyEntries(gcLike.stateDir, gcLike.repo).size).toBe(0);

    const integration = await ensureIntegrationWorktree({ stateDir: gcLike.stateDir, repo: gcLike.repo, runId: 'run-gc', baseRef: 'main', worktreePool: 0 });
    const r3 = await removeWorkspace({ stateDir: gcLike.stateDir, repo: gcLike.repo, path: integration.path, worktreePool: 1 });
    expect(r3).toMatchObject({ removed: true });
    expect(r3.recycled).toBeUndefined();
  });

  it('is removed instead when its programs left git state behind: an unfinished bisect, or index entries hidden from status', async () => {
    const bisect = await finishedAgent('run-bisect/a');
    fs.writeFileSync(path.join(git(bisect.ws.path, 'rev-parse', '--absolute-git-dir'), 'BISECT_LOG'), '# planted\n');
    const r1 = await removeWorkspace({ stateDir: bisect.stateDir, repo: bisect.repo, path: bisect.ws.path, worktreePool: 1 });
    expect(r1).toMatchObject({ removed: true });
    expect(r1.recycled).toBeUndefined();
    expect(fs.existsSync(bisect.ws.path)).toBe(false);
    expect(readyEntries(bisect.stateDir, bisect.repo).size).toBe(0);

    const hidden = await finishedAgent('run-hidden/a');
    git(hidden.ws.path, 'update-index', '--skip-worktree', 'README.md');
    const r2 = await removeWorkspace({ stateDir: hidden.stateDir, repo: hidden.repo, path: hidden.ws.path, worktreePool: 1 });
    expect(r2.recycled).toBeUndefined();
    expect(fs.existsSync(hidden.ws.path)).toBe(false);
    expect(readyEntries(hidden.stateDir, hidden.repo).size).toBe(0);
  });
});
