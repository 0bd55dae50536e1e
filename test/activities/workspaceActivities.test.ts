import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWorkspaceActivities } from '../../src/activities/workspaceActivities';
import { inActivities, inActivityContext } from '../support/activityContext';
import { tmp } from '../support/tmp';


function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@localhost', ...args], { cwd, encoding: 'utf8' }).trim();
}

function makeRepo(): string {
  const repo = tmp('repo');
  git(repo, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(repo, 'README.md'), 'one\ntwo\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  return repo;
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('workspace activities', () => {
  it('run the whole workspace life cycle with small JSON results', async () => {
    const repo = makeRepo();
    const stateDir = tmp('state');
    const acts = inActivities(createWorkspaceActivities({ stateDir }));
    const integration = await acts.ensureIntegrationWorktree({ repo, runId: 'run-1', baseRef: 'main' });
    const ws = await acts.createWorkspace({ repo, agentId: 'run-1/t1', baseRef: 'main' });
    expect(ws).toMatchObject({ branch: 'cadre/run-1.t1', created: true });
    fs.writeFileSync(path.join(ws.path, 'out.txt'), 'result\n');

    expect(await acts.verifyOutputs({ path: ws.path, outputs: ['out.txt', 'missing.txt'] })).toEqual({ missing: ['missing.txt'] });
    const commit = await acts.commitWorkspace({ path: ws.path, message: 'work' });
    expect(commit).toMatchObject({ committed: true, filesChanged: ['out.txt'], filesChangedCount: 1 });
    const diff = await acts.diffStat({ repo, branch: ws.branch, base: ws.baseCommit });
    expect(diff).toMatchObject({ files: ['out.txt'], filesCount: 1 });
    expect(diff.stat).toContain('out.txt');
    const merged = await acts.mergeBranch({ repo, worktree: integration.path, branch: ws.branch, message: 'merge t1' });
    expect(merged.ok).toBe(true);
    // The activities' default pool (2) has room: the finished worktree goes back to it (worktreePool.ts, recycleIntoPool).
    expect(await acts.removeWorkspace({ repo, path: ws.path })).toEqual({ removed: true, recycled: true });
    expect(JSON.stringify([ws, commit, diff, merged]).length).toBeLessThan(2000);
  });

  it('turn bad input into non-retryable InvalidToolInput failures', async () => {
    const acts = inActivities(createWorkspaceActivities({ stateDir: tmp('state') }));
    const missing = await failureOf(acts.createWorkspace({ repo: '/x' } as never));
    expect(missing.type).toBe('InvalidToolInput');
    expect(missing.nonRetryable).toBe(true);
    const option = await failureOf(acts.diffStat({ repo: '/x', branch: '--output=/tmp/pwned', base: 'main' }));
    expect(option.type).toBe('InvalidToolInput');
    expect(fs.existsSync('/tmp/pwned')).toBe(false);
  });

  it('map an unknown base ref to a non-retryable WorkspaceError', async () => {
    const acts = inActivities(createWorkspaceActivities({ stateDir: tmp('state') }));
    const f = await failureOf(acts.createWorkspace({ repo: makeRepo(), agentId: 'a', baseRef: 'nope' }));
    expect(f.type).toBe('WorkspaceError');
    expect(f.nonRetryable).toBe(true);
  });

  it('map path escapes to non-retryable PathOutsideWorkspace failures', async () => {
    const acts = inActivities(createWorkspaceActivities({ stateDir: tmp('state') }));
    const root = tmp('ws');
    const f = await failureOf(acts.verifyOutputs({ path: root, outputs: ['../../etc/passwd'] }));
    expect(f.type).toBe('PathOutsideWorkspace');
    expect(f.nonRetryable).toBe(true);
  });

  it('refuse to commit or merge anywhere but in a cadre worktree (never in the user checkout)', async () => {
    const repo = makeRepo();
    const acts = inActivities(createWorkspaceActivities({ stateDir: tmp('state') }));
    fs.writeFileSync(path.join(repo, 'user-wip.txt'), 'mine');
    const commit = await failureOf(acts.commitWorkspace({ path: repo, message: 'oops' }));
    expect(commit).toMatchObject({ type: 'WorkspaceError', nonRetryable: true });
    expect(git(repo, 'status', '--porcelain')).toBe('?? user-wip.txt');
    const a = await acts.createWorkspace({ repo, agentId: 'g', baseRef: 'main' });
    const merge = await failureOf(acts.mergeBranch({ repo, worktree: repo, branch: a.branch, message: 'oops' }));
    expect(merge).toMatchObject({ type: 'WorkspaceError', nonRetryable: true });
  });

  it('report a merge conflict as a result listing the files', async () => {
    const repo = makeRepo();
    const acts = inActivities(createWorkspaceActivities({ stateDir: tmp('state') }));
    const integration = await acts.ensureIntegrationWorktree({ repo, runId: 'r', baseRef: 'main' });
    const a = await acts.createWorkspace({ repo, agentId: 'r/a', baseRef: 'main' });
    const b = await acts.createWorkspace({ repo, agentId: 'r/b', baseRef: 'main' });
    fs.writeFileSync(path.join(a.path, 'README.md'), 'one\nA\n');
    fs.writeFileSync(path.join(b.path, 'README.md'), 'one\nB\n');
    await acts.commitWorkspace({ path: a.path, message: 'a' });
    await acts.commitWorkspace({ path: b.path, message: 'b' });
    expect((await acts.mergeBranch({ repo, worktree: integration.path, branch: a.branch, message: 'a' })).ok).toBe(true);
    expect(await acts.mergeBranch({ repo, worktree: integration.path, branch: b.branch, message: 'b' })).toEqual({ ok: false, conflicts: ['README.md'] });
  });
});

describe('liveChangedPaths', () => {
  it('lists what each running workspace changed: committed since its base, uncommitted, untracked; capped', async () => {
    const repo = makeRepo();
    fs.mkdirSync(path.join(repo, 'src'));
    fs.writeFileSync(path.join(repo, 'src', 'old.ts'), 'old\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'src');
    const acts = inActivities(createWorkspaceActivities({ stateDir: tmp('state'), worktreePool: 0 }));
    const ws = await acts.createWorkspace({ repo, agentId: 'run-1/t1', baseRef: 'main' });
    fs.writeFileSync(path.join(ws.path, 'committed.txt'), 'c\n');
    await acts.commitWorkspace({ path: ws.path, message: 'work' });
    fs.writeFileSync(path.join(ws.path, 'README.md'), 'changed\n');
    fs.rmSync(path.join(ws.path, 'src', 'old.ts'));
    fs.writeFileSync(path.join(ws.path, 'src', 'new.ts'), 'new\n');
    const clean = await acts.createWorkspace({ repo, agentId: 'run-1/t2', baseRef: 'main' });
    expect(clean.created).toBe(true);

    const { changes } = await acts.liveChangedPaths({
      repo,
      tasks: [{ taskId: 't1', agentId: 'run-1/t1' }, { taskId: 't2', agentId: 'run-1/t2' }, { taskId: 't3', agentId: 'run-1/never-started' }],
    });
    expect(changes).toEqual([
      { taskId: 't1', paths: ['README.md', 'committed.txt', 'src/new.ts', 'src/old.ts'] },
      { taskId: 't2', paths: [] },
      { taskId: 't3', paths: [] },
    ]);
    // Read-only: the workspace is as it was (nothing staged by the check).
    expect(git(ws.path, 'diff', '--cached', '--name-only')).toBe('');

    for (let i = 0; i < 150; i++) fs.writeFileSync(path.join(ws.path, `many-${String(i).padStart(3, '0')}.txt`), 'x');
    const [big] = (await acts.liveChangedPaths({ repo, tasks: [{ taskId: 't1', agentId: 'run-1/t1' }] })).changes;
    expect(big!.paths).toHaveLength(100);
    expect(big!.truncated).toBe(true);
    const bad = await failureOf(acts.liveChangedPaths({ repo, tasks: [{ taskId: '', agentId: 'x' }] }));
    expect(bad).toMatchObject({ type: 'InvalidToolInput', nonRetryable: true });
  });
});

describe('runAgentCommand and runVerify', () => {
  it('run the command backend in the workspace, log it, and map the exit code', async () => {
    const stateDir = tmp('state');
    const root = tmp('ws');
    process.env.CADRE_TEST_TOKEN = 'tok-should-never-show-0001';
    try {
      const acts = inActivities(createWorkspaceActivities({ stateDir, policy: { allow: [], timeoutMs: 30_000, env: { FROM_POLICY: 'p' } } }));
      const ok = await acts.runAgentCommand({ agentId: 'run-1/t2', workspace: root, argv: ['sh', '-c', 'pwd; echo "$FROM_POLICY"; env'] });
      expect(ok.ok).toBe(true);
      expect(ok.exitCode).toBe(0);
      expect(ok.tail).toContain(root);
      expect(ok.tail).toContain('\np\n');
      expect(ok.tail).not.toContain('CADRE_TEST_TOKEN');
      const log = fs.readFileSync(path.join(stateDir, 'logs', 'run-1.t2.log'), 'utf8');
      expect(log).toContain(root);

      const bad = await acts.runAgentCommand({ agentId: 'run-1/t2', path: root, argv: ['sh', '-c', 'echo failing; exit 3'] });
      expect(bad).toEqual({ ok: false, exitCode: 3, tail: 'failing\n', timedOut: false });

      const slow = await acts.runAgentCommand({ agentId: 'run-1/t2', workspace: root, argv: ['sleep', '30'], timeoutMs: 300 });
      expect(slow).toMatchObject({ ok: false, timedOut: true });

      const verify = await acts.runVerify({ path: root, argv: ['sh', '-c', 'echo checked; exit 1'], logName: 't2' });
      expect(verify).toEqual({ exitCode: 1, timedOut: false, tail: 'checked\n' });
      expect(fs.existsSync(path.join(stateDir, 'logs', 'verify-t2.log'))).toBe(true);
    } finally {
      delete process.env.CADRE_TEST_TOKEN;
    }
  });

  it('keep the result small however much the command prints', async () => {
    const acts = inActivities(createWorkspaceActivities({ stateDir: tmp('state') }));
    const r = await acts.runAgentCommand({ agentId: 'loud', workspace: tmp('ws'), argv: ['sh', '-c', 'yes | head -c 1000000'] });
    expect(r.ok).toBe(true);
    expect(r.tail.length).toBeLessThanOrEqual(4000);
  });

  it('heartbeat inside an activity, and on cancellation kill the process group and rethrow the cancellation', async () => {
    const stateDir = tmp('state');
    const root = tmp('ws');
    const pidFile = path.join(root, 'bg.pid');
    // The program runs in a PID namespace of its own: it is found again by a unique sleep duration, not its pid.
    const token = `100.${process.pid}7`;
    fs.writeFileSync(path.join(root, 'run.sh'), `#!/bin/sh\nsleep ${token} &\necho $! > ${pidFile}\nsleep 100\n`, { mode: 0o755 });
    const acts = createWorkspaceActivities({ stateDir });
    const { result, abort, beats } = inActivityContext(() => acts.runAgentCommand({ agentId: 'c', workspace: root, argv: ['./run.sh'] }));
    for (let i = 0; i < 250 && !/^\d+\n/.test(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : ''); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const alive = (): boolean => fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).some((p) => {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${token}\0` && !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]);
      } catch {
        return false;
      }
    });
    expect(alive()).toBe(true);
    expect(beats()).toBeGreaterThanOrEqual(1);
    abort();
    await expect(result).rejects.toBeInstanceOf(CancelledFailure);
    expect(alive()).toBe(false);
  });
});
