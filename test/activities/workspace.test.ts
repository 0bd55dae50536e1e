import { TypedFailure } from '../../src/shared/errors';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoKey } from '../../src/activities/paths';
import {
  changedFiles,
  commitWorkspace,
  createWorkspace,
  diffStat,
  ensureIntegrationWorktree,
  findOrphanWorktrees,
  gcWorktrees,
  knownRepos,
  removeWorkspace,
} from '../../src/activities/workspace';
import { mergeInto } from '../../src/activities/merge';
import { isPoolPath } from '../../src/activities/worktreePool';
import { git } from '../support/repo';
import { tmp } from '../support/tmp';




function makeRepo(files: Record<string, string> = { 'README.md': '# demo\nline two\n' }): string {
  const repo = tmp('repo');
  git(repo, 'init', '-q', '-b', 'main');
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
    fs.writeFileSync(path.join(repo, rel), content);
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  return repo;
}

function branchExists(repo: string, branch: string): boolean {
  try {
    git(repo, 'show-ref', '--verify', '--quiet', `refs/heads/${branch}`);
    return true;
  } catch {
    return false;
  }
}

describe('createWorkspace', () => {
  it('creates a worktree under the state directory on a cadre/ branch from the base ref', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const ws = await createWorkspace({ stateDir, repo, agentId: 'run-1/t07/child-a', baseRef: 'main' });
    expect(ws.created).toBe(true);
    expect(ws.branch).toBe('cadre/run-1.t07.child-a');
    expect(ws.path).toBe(path.join(stateDir, 'worktrees', repoKey(repo), 'run-1.t07.child-a'));
    expect(ws.baseCommit).toBe(git(repo, 'rev-parse', 'main'));
    expect(fs.readFileSync(path.join(ws.path, 'README.md'), 'utf8')).toContain('# demo');
    expect(git(ws.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('cadre/run-1.t07.child-a');
    // The user's checkout is untouched.
    expect(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
  });

  it('is idempotent: a second call returns the same workspace', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const first = await createWorkspace({ stateDir, repo, agentId: 'a1', baseRef: 'main' });
    fs.writeFileSync(path.join(first.path, 'wip.txt'), 'work in progress');
    const second = await createWorkspace({ stateDir, repo, agentId: 'a1', baseRef: 'main' });
    expect(second).toEqual({ ...first, created: false });
    expect(fs.readFileSync(path.join(second.path, 'wip.txt'), 'utf8')).toBe('work in progress');
  });

  it('re-adds the worktree on an existing branch, keeping its commits and base', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const first = await createWorkspace({ stateDir, repo, agentId: 'a1', baseRef: 'main' });
    fs.writeFileSync(path.join(first.path, 'done.txt'), 'x');
    const { commit } = await commitWorkspace({ path: first.path, message: 'work' });
    await removeWorkspace({ stateDir, repo, path: first.path });
    // The base moves on meanwhile; the re-added workspace must still report its original base.
    fs.writeFileSync(path.join(repo, 'later.txt'), 'later');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'later');
    const again = await createWorkspace({ stateDir, repo, agentId: 'a1', baseRef: 'main' });
    expect(again.created).toBe(true);
    expect(again.path).toBe(first.path);
    expect(again.baseCommit).toBe(first.baseCommit);
    expect(git(again.path, 'rev-parse', 'HEAD')).toBe(commit);
  });

  it('recovers when the worktree directory was deleted by hand', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const first = await createWorkspace({ stateDir, repo, agentId: 'gone', baseRef: 'main' });
    fs.rmSync(first.path, { recursive: true, force: true });
    const again = await createWorkspace({ stateDir, repo, agentId: 'gone', baseRef: 'main' });
    expect(again.path).toBe(first.path);
    expect(fs.existsSync(path.join(again.path, 'README.md'))).toBe(true);
  });

  it('survives eight concurrent creations on one repository', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const ids = Array.from({ length: 8 }, (_, i) => `run-c/t${i}`);
    const results = await Promise.all(ids.map((agentId) => createWorkspace({ stateDir, repo, agentId, baseRef: 'main' })));
    expect(results.every((r) => r.created)).toBe(true);
    expect(new Set(results.map((r) => r.path)).size).toBe(8);
    // The main checkout and the eight agents; the pool the first creation started refilling is not counted.
    const listed = git(repo, 'worktree', 'list', '--porcelain').split('\n')
      .filter((l) => l.startsWith('worktree ') && !isPoolPath(l.slice('worktree '.length)));
    expect(listed).toHaveLength(9);
    for (const r of results) expect(fs.existsSync(path.join(r.path, 'README.md'))).toBe(true);
  });

  it('gives eight concurrent creations of the same agent one workspace', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const results = await Promise.all(Array.from({ length: 8 }, () => createWorkspace({ stateDir, repo, agentId: 'same', baseRef: 'main' })));
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('refuses an unknown base ref with a non-retryable error', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const err = await createWorkspace({ stateDir, repo, agentId: 'x', baseRef: 'no-such-branch' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypedFailure);
    expect((err as TypedFailure).retryable).toBe(false);
    expect((err as TypedFailure).message).toContain('no-such-branch');
    const opt = await createWorkspace({ stateDir, repo, agentId: 'x', baseRef: '--output=/tmp/x' }).catch((e: unknown) => e);
    expect(opt).toBeInstanceOf(TypedFailure);
  });

  it('bootstraps: copies listed untracked files, runs setup, never commits the copies', async () => {
    const repo = makeRepo();
    fs.writeFileSync(path.join(repo, '.env'), 'DB_URL=postgres://local\n');
    const stateDir = tmp('state');
    const ws = await createWorkspace({
      stateDir,
      repo,
      agentId: 'boot',
      baseRef: 'main',
      bootstrap: { copy: ['.env', 'not-there.txt'], setup: ['touch', 'setup-ran.txt'] },
    });
    expect(fs.readFileSync(path.join(ws.path, '.env'), 'utf8')).toBe('DB_URL=postgres://local\n');
    expect(fs.existsSync(path.join(ws.path, 'setup-ran.txt'))).toBe(true);
    expect(fs.existsSync(path.join(ws.path, 'not-there.txt'))).toBe(false);
    const c = await commitWorkspace({ path: ws.path, message: 'work' });
    expect(c.filesChanged).toEqual(['setup-ran.txt']);
    expect(git(ws.path, 'ls-files')).not.toContain('.env');
  });

  it('refuses bootstrap copies that escape the repository', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    await expect(
      createWorkspace({ stateDir, repo, agentId: 'esc', baseRef: 'main', bootstrap: { copy: ['../../etc/passwd'] } }),
    ).rejects.toThrow(/outside/);
  });

  it('reports a failing setup command', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    await expect(
      createWorkspace({ stateDir, repo, agentId: 'badsetup', baseRef: 'main', bootstrap: { setup: ['false'] } }),
    ).rejects.toThrow(/bootstrap setup false failed \(exit 1\)/);
  });
});

describe('commitWorkspace', () => {
  it('commits everything once, as cadre, even without any git identity configured', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const ws = await createWorkspace({ stateDir, repo, agentId: 'c1', baseRef: 'main' });
    fs.mkdirSync(path.join(ws.path, 'src'));
    fs.writeFileSync(path.join(ws.path, 'src', 'new.ts'), 'export const x = 1;\n');
    fs.appendFileSync(path.join(ws.path, 'README.md'), 'more\n');
    const home = process.env.HOME;
    process.env.HOME = tmp('emptyhome');
    try {
      const first = await commitWorkspace({ path: ws.path, message: 'cadre: c1 work' });
      expect(first.committed).toBe(true);
      expect(first.filesChanged.sort()).toEqual(['README.md', 'src/new.ts']);
      expect(first.commit).toBe(git(repo, 'rev-parse', 'cadre/c1'));
      expect(git(ws.path, 'log', '-1', '--format=%cn <%ce>|%an|%s')).toBe('cadre <cadre@localhost>|cadre|cadre: c1 work');

      const second = await commitWorkspace({ path: ws.path, message: 'again' });
      expect(second).toEqual({ commit: first.commit, filesChanged: [], committed: false });
    } finally {
      process.env.HOME = home;
    }
  });

  it('records a given author, still with cadre as committer', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const ws = await createWorkspace({ stateDir, repo, agentId: 'c2', baseRef: 'main' });
    fs.writeFileSync(path.join(ws.path, 'a.txt'), 'a');
    await commitWorkspace({ path: ws.path, message: 'm', author: { name: 'Agent Smith', email: 'smith@example.com' } });
    expect(git(ws.path, 'log', '-1', '--format=%an <%ae>|%cn')).toBe('Agent Smith <smith@example.com>|cadre');
  });

  it('does not run the repository hooks (an agent could have written them)', async () => {
    const repo = makeRepo();
    git(repo, 'config', 'core.hooksPath', '.hooks');
    const stateDir = tmp('state');
    const ws = await createWorkspace({ stateDir, repo, agentId: 'hooks', baseRef: 'main' });
    fs.mkdirSync(path.join(ws.path, '.hooks'));
    const marker = path.join(stateDir, 'hook-ran');
    fs.writeFileSync(path.join(ws.path, '.hooks', 'pre-commit'), `#!/bin/sh\ntouch ${marker}\nexit 1\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(ws.path, '.hooks', 'post-commit'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const r = await commitWorkspace({ path: ws.path, message: 'with hooks present' });
    expect(r.committed).toBe(true);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('mergeInto', () => {
  async function setup() {
    const repo = makeRepo({ 'README.md': 'one\ntwo\nthree\n' });
    const stateDir = tmp('state');
    const integration = await ensureIntegrationWorktree({ stateDir, repo, runId: 'run-m', baseRef: 'main' });
    return { repo, stateDir, integration };
  }

  async function agentWith(stateDir: string, repo: string, agentId: string, files: Record<string, string>) {
    const ws = await createWorkspace({ stateDir, repo, agentId, baseRef: 'main' });
    for (const [rel, content] of Object.entries(files)) fs.writeFileSync(path.join(ws.path, rel), content);
    await commitWorkspace({ path: ws.path, message: `${agentId} work` });
    return ws;
  }

  it('has an integration branch in a worktree of its own, idempotently', async () => {
    const { repo, stateDir, integration } = await setup();
    expect(integration.branch).toBe('cadre/run-m/integration');
    expect(integration.path).toBe(path.join(stateDir, 'worktrees', repoKey(repo), 'integration@run-m'));
    const again = await ensureIntegrationWorktree({ stateDir, repo, runId: 'run-m', baseRef: 'main' });
    expect(again).toEqual({ ...integration, created: false });
  });

  it('merges branches with merge commits; merging again is a no-op', async () => {
    const { repo, stateDir, integration } = await setup();
    const a = await agentWith(stateDir, repo, 'run-m/a', { 'a.txt': 'a\n' });
    const b = await agentWith(stateDir, repo, 'run-m/b', { 'b.txt': 'b\n' });
    const ma = await mergeInto({ stateDir, repo, worktree: integration.path, branch: a.branch, message: 'merge a' });
    const mb = await mergeInto({ stateDir, repo, worktree: integration.path, branch: b.branch, message: 'merge b' });
    expect(ma.ok && mb.ok).toBe(true);
    if (!mb.ok) throw new Error('unreachable');
    expect(git(repo, 'rev-parse', integration.branch)).toBe(mb.commit);
    expect(git(repo, 'show', `${integration.branch}:a.txt`)).toBe('a');
    expect(git(repo, 'show', `${integration.branch}:b.txt`)).toBe('b');
    expect(git(repo, 'log', '-1', '--format=%P|%s', integration.branch).split('|')[0].split(' ')).toHaveLength(2);
    const again = await mergeInto({ stateDir, repo, worktree: integration.path, branch: b.branch, message: 'merge b' });
    expect(again).toEqual(mb);
  });

  it('reports a conflict by file, aborts, and leaves the worktree clean', async () => {
    const { repo, stateDir, integration } = await setup();
    const a = await agentWith(stateDir, repo, 'run-m/a', { 'README.md': 'one\nTWO by a\nthree\n' });
    const b = await agentWith(stateDir, repo, 'run-m/b', { 'README.md': 'one\nTWO by b\nthree\n', 'other.txt': 'b\n' });
    const ma = await mergeInto({ stateDir, repo, worktree: integration.path, branch: a.branch, message: 'merge a' });
    expect(ma.ok).toBe(true);
    const head = git(integration.path, 'rev-parse', 'HEAD');
    const mb = await mergeInto({ stateDir, repo, worktree: integration.path, branch: b.branch, message: 'merge b' });
    expect(mb).toEqual({ ok: false, conflicts: ['README.md'] });
    expect(git(integration.path, 'status', '--porcelain')).toBe('');
    expect(git(integration.path, 'rev-parse', 'HEAD')).toBe(head);
    expect(fs.existsSync(path.join(integration.path, 'other.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(integration.path, 'README.md'), 'utf8')).toBe('one\nTWO by a\nthree\n');
  });

  it('refuses to merge into a worktree with uncommitted changes', async () => {
    const { repo, stateDir, integration } = await setup();
    const a = await agentWith(stateDir, repo, 'run-m/a', { 'a.txt': 'a\n' });
    fs.appendFileSync(path.join(integration.path, 'README.md'), 'dirty\n');
    await expect(mergeInto({ stateDir, repo, worktree: integration.path, branch: a.branch, message: 'm' })).rejects.toThrow(/uncommitted/);
  });
});

describe('removeWorkspace, diff, gc', () => {
  it('removes the worktree, keeps the branch, and is idempotent', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const ws = await createWorkspace({ stateDir, repo, agentId: 'r1', baseRef: 'main' });
    fs.writeFileSync(path.join(ws.path, 'uncommitted.txt'), 'saved to a rescue ref');
    expect(await removeWorkspace({ stateDir, repo, path: ws.path })).toMatchObject({ removed: true, rescue: { reason: 'uncommitted changes' } });
    expect(fs.existsSync(ws.path)).toBe(false);
    expect(branchExists(repo, 'cadre/r1')).toBe(true);
    expect(git(repo, 'worktree', 'list')).not.toContain(ws.path);
    expect(await removeWorkspace({ stateDir, repo, path: ws.path })).toEqual({ removed: false });
  });

  it('refuses to remove anything that is not a cadre worktree', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    await expect(removeWorkspace({ stateDir, repo, path: repo })).rejects.toThrow(/refusing/);
    await expect(removeWorkspace({ stateDir, repo, path: path.join(stateDir, 'worktrees') })).rejects.toThrow(/refusing/);
    expect(fs.existsSync(path.join(repo, 'README.md'))).toBe(true);
  });

  it('describes a branch against its base', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const ws = await createWorkspace({ stateDir, repo, agentId: 'd1', baseRef: 'main' });
    fs.writeFileSync(path.join(ws.path, 'x.ts'), 'x\n');
    fs.appendFileSync(path.join(ws.path, 'README.md'), 'more\n');
    await commitWorkspace({ path: ws.path, message: 'w' });
    // Later commits on the base do not show up: the diff is from the merge base.
    fs.writeFileSync(path.join(repo, 'main-only.txt'), 'm');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'main moves');
    const stat = await diffStat({ repo, branch: ws.branch, base: 'main' });
    expect(stat).toMatch(/README\.md/);
    expect(stat).toMatch(/2 files changed/);
    expect(await changedFiles({ repo, branch: ws.branch, base: ws.baseCommit })).toEqual(['README.md', 'x.ts']);
    expect(await changedFiles({ repo, branch: ws.branch, base: 'main' })).toEqual(['README.md', 'x.ts']);
  });

  it('gc removes worktrees whose owner is not running, and keeps their branches', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const live = await createWorkspace({ stateDir, repo, agentId: 'run-g/live', baseRef: 'main' });
    const dead = await createWorkspace({ stateDir, repo, agentId: 'run-g/dead', baseRef: 'main' });
    const integration = await ensureIntegrationWorktree({ stateDir, repo, runId: 'run-g', baseRef: 'main' });
    const asked: string[] = [];
    const isLive = async (id: string) => {
      asked.push(id);
      return id === 'run-g/live' || id === 'run-g';
    };
    const orphans = await findOrphanWorktrees(stateDir, repo, isLive);
    expect(orphans.map((o) => o.path)).toEqual([dead.path]);
    expect(orphans[0]).toMatchObject({ ownerId: 'run-g/dead', kind: 'agent', branch: dead.branch });
    expect(asked.sort()).toEqual(['run-g', 'run-g/dead', 'run-g/live']);

    expect(await knownRepos(stateDir)).toEqual([repo]);
    const dry = await gcWorktrees(stateDir, repo, isLive, { dryRun: true });
    expect(dry.removed).toHaveLength(1);
    expect(fs.existsSync(dead.path)).toBe(true);

    const result = await gcWorktrees(stateDir, repo, isLive);
    expect(result.removed.map((o) => o.path)).toEqual([dead.path]);
    expect(fs.existsSync(dead.path)).toBe(false);
    expect(fs.existsSync(live.path)).toBe(true);
    expect(fs.existsSync(integration.path)).toBe(true);
    expect(branchExists(repo, dead.branch)).toBe(true);
    expect(await findOrphanWorktrees(stateDir, repo, isLive)).toEqual([]);
  });

  it('gc treats a directory without metadata as an orphan', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const stray = path.join(stateDir, 'worktrees', repoKey(repo), 'stray');
    fs.mkdirSync(stray, { recursive: true });
    const result = await gcWorktrees(stateDir, repo, async () => true);
    expect(result.removed.map((o) => o.path)).toEqual([stray]);
    expect(fs.existsSync(stray)).toBe(false);
  });
});
