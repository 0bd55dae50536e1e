/**
 * cadre's git plumbing, shared by workspaces and the worktree pool: git commands with cadre's fixed settings, git
 * failures mapped to typed ones, the repository root behind any path, and the worktree listing.
 *
 * cadre's own git commands run with a fixed identity and with configuration an agent cannot change (./gitSafety.ts:
 * no hooks, fsmonitor, filters, drivers, textconv, external diff, helpers or pager; no system or global
 * configuration; no auto-gc, which would take repository locks behind our back; no commit signing) and with a
 * minimal environment.
 *
 * Commands are spawned directly rather than through simple-git: simple-git waits a fixed 50 ms after every command
 * that prints nothing (`worktree prune`, `worktree move`, `switch -q`, a clean `status`), which alone would cost a
 * pooled workspace claim more than the claim itself.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TypedFailure } from '../shared/errors';
import { hardenArgs, hardenedGitEnv } from './gitSafety';

export const CADRE_IDENTITY = { name: 'cadre', email: 'cadre@localhost' } as const;

const IDENTITY: readonly (readonly [string, string])[] = [
  ['user.name', CADRE_IDENTITY.name],
  ['user.email', CADRE_IDENTITY.email],
];

/** git in one directory with cadre's settings. */
export interface Git {
  /** Run `git <args>`; resolves to its stdout, rejects on a non-zero exit with its stderr and stdout as the message. */
  raw(args: string[]): Promise<string>;
}

export function gitFor(dir: string, extraEnv: Record<string, string> = {}): Git {
  // The environment is built per command: the repository's configuration may have changed since the last one.
  return { raw: (args) => runGit(dir, ['--no-pager', ...hardenArgs(args)], { ...hardenedGitEnv(dir, IDENTITY), ...extraEnv }) };
}

function runGit(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    // No stdin: a git command that wanted input would otherwise wait for ever.
    const child = spawn('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err: NodeJS.ErrnoException) => {
      // spawn reports a missing working directory as a missing program: say which it is.
      reject(err.code === 'ENOENT' && !fs.existsSync(cwd) ? new Error(`${cwd} does not exist`) : err);
    });
    child.on('close', (code, signal) => {
      const out = Buffer.concat(stdout).toString('utf8');
      if (code === 0) return resolve(out);
      const detail = `${Buffer.concat(stderr).toString('utf8')}${out}`.trim();
      reject(new Error(detail || `git ${args.slice(1).join(' ')} exited with ${code ?? signal}`));
    });
  });
}

const LOCK_CONTENTION = /\.lock'?: File exists|Unable to create '[^']*\.lock'|cannot lock ref|could not lock|unable to lock|Another git process/i;
const PERMANENT = /not a git repository|unknown revision|invalid reference|not a valid (object|ref)|bad revision|ambiguous argument|is already (checked out|used by worktree)|already exists|not a commit/i;

/** Map a git failure to a typed one: lock contention is retryable, bad refs and similar are not. */
export function gitFailure(err: unknown, what: string): TypedFailure {
  if (err instanceof TypedFailure) return err;
  const detail = (err instanceof Error ? err.message : String(err)).trim();
  const retryable = LOCK_CONTENTION.test(detail) || !PERMANENT.test(detail);
  return new TypedFailure(ErrorType.WorkspaceError, `${what}: ${detail}`, retryable);
}

/** Run one git command; a failure becomes a TypedFailure that starts with `what`. */
export async function git(g: Git, args: string[], what = `git ${args[0]}`): Promise<string> {
  try {
    return await g.raw(args);
  } catch (err) {
    throw gitFailure(err, what);
  }
}

/** Refs come from workflow inputs: refuse anything git could take for an option. */
export function assertRef(ref: string, what: string): void {
  if (ref.length === 0 || ref.startsWith('-') || /[\0\s]/.test(ref)) {
    throw new TypedFailure(ErrorType.WorkspaceError, `invalid ${what}: ${JSON.stringify(ref)}`, false);
  }
}

export async function resolveCommit(g: Git, ref: string): Promise<string> {
  assertRef(ref, 'ref');
  try {
    return (await g.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim();
  } catch {
    throw new TypedFailure(ErrorType.WorkspaceError, `unknown ref ${ref}`, false);
  }
}

export async function branchExists(g: Git, branch: string): Promise<boolean> {
  try {
    await g.raw(['show-ref', '--verify', '--quiet', `refs/heads/${branch}`]);
    return true;
  } catch {
    return false;
  }
}

export async function headCommit(g: Git): Promise<string> {
  return (await git(g, ['rev-parse', 'HEAD'], 'reading HEAD')).trim();
}

/** The real path of `p`, or its absolute form when it does not exist (yet). */
export function realOrResolved(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

const repoRoots = new Map<string, string>();

/**
 * The main working directory of the repository `repo` belongs to (for a linked worktree, its main checkout), so the
 * lock key and the worktree directory are the same however the repository is named.
 */
export async function resolveRepoRoot(repo: string): Promise<string> {
  const given = realOrResolved(repo);
  const cached = repoRoots.get(given);
  if (cached) return cached;
  const common = (await git(gitFor(given), ['rev-parse', '--git-common-dir'], `${repo} is not a git repository`)).trim();
  const commonAbs = realOrResolved(path.resolve(given, common));
  const root = path.basename(commonAbs) === '.git' ? path.dirname(commonAbs) : commonAbs;
  repoRoots.set(given, root);
  return root;
}

export interface WorktreeEntry {
  path: string;
  head?: string;
  /** Short branch name, without refs/heads/. */
  branch?: string;
  detached: boolean;
}

export async function listWorktrees(repoRoot: string): Promise<WorktreeEntry[]> {
  const out = await git(gitFor(repoRoot), ['worktree', 'list', '--porcelain'], 'listing worktrees');
  const entries: WorktreeEntry[] = [];
  let current: WorktreeEntry | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('worktree ')) {
      current = { path: line.slice('worktree '.length), detached: false };
      entries.push(current);
    } else if (current && line.startsWith('HEAD ')) {
      current.head = line.slice(5);
    } else if (current && line.startsWith('branch ')) {
      current.branch = line.slice(7).replace(/^refs\/heads\//, '');
    } else if (current && line === 'detached') {
      current.detached = true;
    }
  }
  return entries;
}
