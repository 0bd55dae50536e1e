/** Throwaway git repositories for tests. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * Whether a live (not zombie) process runs `sleep <seconds>` — how tests find a program an agent started, since
 * agent programs run in their own PID namespace and the pids they print are not the host's.
 */
export function sleepRunning(seconds: number): boolean {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).some((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${seconds}\0` && !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!);
    } catch {
      return false;
    }
  });
}
