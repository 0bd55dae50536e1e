/** Throwaway git repositories for tests. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isPoolPath } from '../../src/activities/worktreePool';
import { testDir } from './temporal';

/** git in `repo` as a test user; stderr is captured (it is in the error when git fails). */
export function git(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@localhost', ...args], {
    cwd: repo,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

export function makeRepo(files: Record<string, string> = { 'README.md': '# test repo\n' }): string {
  const repo = testDir('repo');
  git(repo, 'init', '-q', '-b', 'main');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), content);
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  return repo;
}

/** The content of `path` on `branch`, or undefined when the file is not there. */
export function showFile(repo: string, branch: string, path: string): string | undefined {
  try {
    return execFileSync('git', ['show', `${branch}:${path}`], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

export function branches(repo: string): string[] {
  return git(repo, 'branch', '--format=%(refname:short)').split('\n').filter(Boolean);
}

/** Registered worktrees of the repository (absolute paths), leaving out the worktree pool's spare checkouts. */
export function worktreesOutsidePool(repo: string): string[] {
  return git(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length))
    .filter((p) => !isPoolPath(p));
}
