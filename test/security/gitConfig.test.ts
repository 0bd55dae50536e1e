/**
 * The attacker's route through git configuration (issue 16, items 1 and 2): a program in an agent's worktree plants
 * an fsmonitor, a clean filter with a .gitattributes line, an external diff, a textconv, a merge driver and a hook in
 * the shared repository. Neither cadre's own git (commit, add, status, diff, merge, listing; `cadre diff`'s git) nor
 * the user's next `git status` in the main checkout may run any of them: the marker files must never appear.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCommandPolicy } from '../../src/activities/commandRunner';
import { executeFileTool } from '../../src/activities/fileTools';
import { gitFor } from '../../src/activities/git';
import { hardenedGitEnv } from '../../src/activities/gitSafety';
import { changedFiles, commitWorkspace, createWorkspace, diffStat, gitListFiles } from '../../src/activities/workspace';
import { mergeInto } from '../../src/activities/merge';
import { git as cliGit } from '../../src/client/commands/diff';
import { git, makeRepo } from '../support/repo';
import { tmp } from '../support/tmp';

/** An "agent program": writes a marker named after how it was started, and prints a fake diff. */
function evilProgram(dir: string): { prog: string; markers: () => string[] } {
  const markerDir = path.join(dir, 'markers');
  fs.mkdirSync(markerDir);
  const prog = path.join(dir, 'evil.sh');
  fs.writeFileSync(prog, `#!/bin/sh\ntouch "${markerDir}/$1"\nenv > "${markerDir}/env-$1"\necho EVIL OUTPUT\ncat\n`, { mode: 0o755 });
  return { prog, markers: () => fs.readdirSync(markerDir).filter((f) => !f.startsWith('env-')) };
}

/** What the attacker plants, as `git config` commands run in its worktree (they write the shared .git/config). */
function plant(prog: string): string[][] {
  return [
    ['git', 'config', 'core.fsmonitor', `${prog} fsmonitor`],
    ['git', 'config', 'filter.x.clean', `${prog} clean`],
    ['git', 'config', 'filter.x.smudge', `${prog} smudge`],
    ['git', 'config', 'filter.x.required', 'true'],
    ['git', 'config', 'diff.external', `${prog} external`],
    ['git', 'config', 'diff.t.textconv', `${prog} textconv`],
    ['git', 'config', 'diff.t.command', `${prog} diffcommand`],
    ['git', 'config', 'merge.m.driver', `${prog} merge %A`],
    ['git', 'config', 'core.pager', `${prog} pager`],
  ];
}

function commonDir(repo: string): string {
  return path.join(repo, '.git');
}

function plantHook(repo: string, prog: string): void {
  for (const hook of ['pre-commit', 'commit-msg', 'post-commit', 'pre-merge-commit', 'post-merge', 'post-checkout']) {
    fs.writeFileSync(path.join(commonDir(repo), 'hooks', hook), `#!/bin/sh\n${prog} hook-${hook}\n`, { mode: 0o755 });
  }
}

describe('an agent cannot make git run its programs', () => {
  it('a program\'s change to the shared config and hooks is undone and reported; the user\'s git status runs nothing', async () => {
    const repo = makeRepo({ 'a.txt': 'one\n', '.gitattributes': '*.txt filter=x diff=t merge=m\n' });
    const stateDir = tmp('state');
    const { prog, markers } = evilProgram(tmp('evil'));
    const ws = await createWorkspace({ stateDir, repo, agentId: 'attacker', baseRef: 'HEAD', worktreePool: 0 });
    const ctx = { root: ws.path, policy: { ...defaultCommandPolicy, allow: [...defaultCommandPolicy.allow, 'sh'] } };
    const reports: string[] = [];
    for (const argv of plant(prog)) reports.push((await executeFileTool(ctx, 'run_command', { argv })).content);
    // A hook written by a program (sh is allowed here so the program can write into .git/hooks).
    reports.push((await executeFileTool(ctx, 'run_command', { argv: ['sh', '-c', `printf '#!/bin/sh\\n${prog} hook\\n' > "$(git rev-parse --git-common-dir)/hooks/pre-commit"; chmod +x "$(git rev-parse --git-common-dir)/hooks/pre-commit"`] })).content);
    expect(reports.every((r) => r.includes('the change was undone'))).toBe(true);
    expect(reports[0]).toContain('.git/config');
    expect(reports.at(-1)).toContain('.git/hooks/pre-commit');
    expect(fs.readFileSync(path.join(commonDir(repo), 'config'), 'utf8')).not.toContain(prog);
    expect(fs.existsSync(path.join(commonDir(repo), 'hooks', 'pre-commit'))).toBe(false);

    // The user, later, in the main checkout (with their own, unhardened git).
    fs.writeFileSync(path.join(repo, 'a.txt'), 'two\n');
    execFileSync('git', ['status'], { cwd: repo, stdio: 'ignore' });
    execFileSync('git', ['diff'], { cwd: repo, stdio: 'ignore' });
    expect(markers()).toEqual([]);
  });

  it('cadre\'s own git ignores dangerous keys and hooks that are in the shared repository', async () => {
    const repo = makeRepo({ 'a.txt': 'one\n', '.gitattributes': '*.txt filter=x diff=t merge=m\n' });
    const stateDir = tmp('state');
    const { prog, markers } = evilProgram(tmp('evil'));
    const integration = await createWorkspace({ stateDir, repo, agentId: 'target', baseRef: 'HEAD', worktreePool: 0 });
    const ws = await createWorkspace({ stateDir, repo, agentId: 'attacker2', baseRef: 'HEAD', worktreePool: 1 });
    // Planted behind the guard's back (say, by a program still running while cadre works for another agent).
    for (const argv of plant(prog)) git(repo, ...argv.slice(1));
    plantHook(repo, prog);
    process.env.ANTHROPIC_API_KEY_FOR_TEST = 'sk-ant-canary-0123456789abcdef';

    fs.writeFileSync(path.join(ws.path, 'a.txt'), 'two\n');
    fs.writeFileSync(path.join(ws.path, 'b.txt'), 'new\n');
    const commit = await commitWorkspace({ path: ws.path, message: 'work' });
    expect(commit.committed).toBe(true);
    expect(await gitListFiles(ws.path)).toContain('b.txt');
    await gitFor(ws.path).raw(['status', '--porcelain']);
    const stat = await diffStat({ repo, branch: ws.branch, base: ws.baseCommit });
    expect(stat).toContain('a.txt');
    expect(await changedFiles({ repo, branch: ws.branch, base: ws.baseCommit })).toEqual(['a.txt', 'b.txt']);
    // A conflicting change on the target, so a merge driver would be asked for a.txt.
    fs.writeFileSync(path.join(integration.path, 'a.txt'), 'three\n');
    await commitWorkspace({ path: integration.path, message: 'other' });
    const merge = await mergeInto({ stateDir, repo, worktree: integration.path, branch: ws.branch, message: 'merge' });
    expect(merge.ok).toBe(false); // git's own merge-file: a conflict, not the planted driver's "resolution"
    // What `cadre diff` runs: the patch of a finished agent, and a running agent's worktree.
    const patch = await cliGit(repo, ['diff', ws.baseCommit, ws.branch]);
    expect(patch).toContain('+two');
    expect(patch).not.toContain('EVIL');
    await cliGit(ws.path, ['diff', ws.baseCommit]);
    await cliGit(ws.path, ['ls-files', '--others', '--exclude-standard']);
    expect(markers()).toEqual([]);

    const env = hardenedGitEnv(repo);
    expect(Object.values(env).join('\n')).not.toContain('sk-ant-canary');
    expect(env.GIT_CONFIG_GLOBAL).toBe('/dev/null');
    expect(env.GIT_CONFIG_NOSYSTEM).toBe('1');
    delete process.env.ANTHROPIC_API_KEY_FOR_TEST;
  });
});
