import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listRescues } from '../../src/activities/rescue';
import { createWorkspace, gcWorktrees, removeWorkspace } from '../../src/activities/workspace';
import { git } from '../support/repo';
import { tmp } from '../support/tmp';

function makeRepo(): string {
  const repo = tmp('repo');
  git(repo, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(repo, 'README.md'), '# demo\n');
  fs.writeFileSync(path.join(repo, '.gitignore'), 'ignored/\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  return repo;
}

describe('rescue refs', () => {
  it('saves uncommitted and untracked work before a worktree is removed, leaving the worktree index alone', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const ws = await createWorkspace({ stateDir, repo, agentId: 'run-r/a', baseRef: 'main', worktreePool: 0 });
    fs.writeFileSync(path.join(ws.path, 'README.md'), '# changed\n');
    fs.writeFileSync(path.join(ws.path, 'new.txt'), 'fresh\n');
    fs.mkdirSync(path.join(ws.path, 'ignored'));
    fs.writeFileSync(path.join(ws.path, 'ignored', 'x'), 'not saved\n');
    const r = await removeWorkspace({ stateDir, repo, path: ws.path });
    expect(r.removed).toBe(true);
    expect(r.rescue?.ref).toMatch(/^refs\/cadre\/rescue\/run-r\.a\//);
    expect(r.rescue?.reason).toBe('uncommitted changes');
    expect(fs.existsSync(ws.path)).toBe(false);
    const commit = r.rescue!.commit;
    expect(git(repo, 'show', `${commit}:README.md`)).toBe('# changed');
    expect(git(repo, 'show', `${commit}:new.txt`)).toBe('fresh');
    expect(() => git(repo, 'show', `${commit}:ignored/x`)).toThrow();
    const listed = await listRescues(repo);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ ref: r.rescue!.ref, commit, branch: 'cadre/run-r.a', reason: 'uncommitted changes' });
  });

  it('saves commits that are on no other branch, and nothing for a clean merged worktree', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const clean = await createWorkspace({ stateDir, repo, agentId: 'clean', baseRef: 'main', worktreePool: 0 });
    expect((await removeWorkspace({ stateDir, repo, path: clean.path })).rescue).toBeUndefined();

    const ws = await createWorkspace({ stateDir, repo, agentId: 'detached', baseRef: 'main', worktreePool: 0 });
    fs.writeFileSync(path.join(ws.path, 'work.txt'), 'committed\n');
    git(ws.path, 'add', '-A');
    git(ws.path, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'agent work');
    const tip = git(ws.path, 'rev-parse', 'HEAD');
    git(ws.path, 'checkout', '-q', '--detach');
    git(repo, 'branch', '-D', 'cadre/detached');
    const r = await removeWorkspace({ stateDir, repo, path: ws.path });
    expect(r.rescue?.reason).toBe('commits on no other branch');
    expect(git(repo, 'rev-parse', `${r.rescue!.commit}^`)).toBe(tip);
    expect((await listRescues(repo))[0].branch).toBeUndefined();
  });

  it('gc saves an orphan worktree before removing it and reports the rescue', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const ws = await createWorkspace({ stateDir, repo, agentId: 'orphan', baseRef: 'main', worktreePool: 0 });
    fs.writeFileSync(path.join(ws.path, 'draft.md'), 'half done\n');
    const r = await gcWorktrees(stateDir, repo, async () => false);
    expect(r.removed).toHaveLength(1);
    expect(r.removed[0].rescue?.ref).toMatch(/^refs\/cadre\/rescue\/orphan\//);
    expect(git(repo, 'show', `${r.removed[0].rescue!.commit}:draft.md`)).toBe('half done');
    // A second gc finds nothing to remove and writes no second rescue.
    await gcWorktrees(stateDir, repo, async () => false);
    expect(await listRescues(repo)).toHaveLength(1);
  });
});
