/**
 * Branches through the remote (docs/hosts.md, "The remote"). A run whose repository is a remote (a URL, an
 * scp-like address or a bare repository ending in .git: isRemoteRepo) is worked on in this host's own clone of it,
 * `${stateDir}/clones/<key>`, made on first use. Branches move through the remote: the clone fetches before a
 * branch is started or merged, and pushes an agent's branch after every commit and the receiving branch after every
 * merge, so the next host that needs a branch finds it there.
 *
 * Refs named by workflows (`cadre/<run>/integration`, `HEAD`) are read from the remote-tracking refs when the
 * remote has them: a branch another host moved is only current there. A branch this host does not have yet but the
 * remote does (an agent's branch after its first host was lost, an integration branch taken over) is first made
 * locally at the remote's commit, so the workspace continues from what was pushed.
 *
 * Everything here is idempotent: a second clone finds the first, fetch and push of an unchanged branch change
 * nothing. Git runs with cadre's hardened settings (git.ts): no credential helpers, so a remote that needs
 * credentials must be reachable with the worker's own SSH setup.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRemoteRepo } from '../shared/hosts';
import { branchExists, git, gitFor, realOrResolved, resolveRepoRoot, type Git } from './git';
import { isWithin } from './paths';
import { withRepoLock } from './repoMutex';

const ORIGIN = 'origin';
const cloning = new Map<string, Promise<string>>();

function clonesRoot(stateDir: string): string {
  return path.join(realOrResolved(stateDir), 'clones');
}

/** `<basename>-<hash of the remote as written>`: the same remote, the same clone. */
export function cloneDir(stateDir: string, remote: string): string {
  const base = path.basename(remote.replace(/\/+$/, '')).replace(/\.git$/, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 40) || 'repo';
  return path.join(clonesRoot(stateDir), `${base}-${createHash('sha256').update(remote).digest('hex').slice(0, 10)}`);
}

/**
 * The local repository for a run's `repo`: the repository itself for a checkout on this machine, this host's clone
 * (made now if missing) for a remote. A clone is made in a temporary directory and renamed into place, so a crash
 * mid-clone leaves no half clone under the final name.
 */
export async function localRepo(stateDir: string, repo: string): Promise<string> {
  if (!isRemoteRepo(repo)) return repo;
  const dir = cloneDir(stateDir, repo);
  if (fs.existsSync(path.join(dir, '.git'))) return dir;
  let pending = cloning.get(dir);
  if (!pending) {
    pending = cloneInto(repo, dir).finally(() => cloning.delete(dir));
    cloning.set(dir, pending);
  }
  return pending;
}

async function cloneInto(remote: string, dir: string): Promise<string> {
  await fs.promises.mkdir(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await git(gitFor(path.dirname(dir)), ['clone', '--quiet', '--no-checkout', '--origin', ORIGIN, '--end-of-options', remote, tmp], `cloning ${remote}`);
  try {
    await fs.promises.rename(tmp, dir);
  } catch (err) {
    // Another process of this host cloned it first: use theirs.
    await fs.promises.rm(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, '.git'))) throw err;
  }
  return dir;
}

/** Whether a repository root (or a worktree of one) is a clone this host made of a run's remote. */
export async function isCloneOfRemote(stateDir: string, dir: string): Promise<string | undefined> {
  // A host that never worked through a remote has no clones: no git call for its commits and merges.
  if (!fs.existsSync(clonesRoot(stateDir))) return undefined;
  const root = await resolveRepoRoot(dir);
  return isWithin(clonesRoot(stateDir), root) ? root : undefined;
}

/** A workspace's way to the run's remote: this host's clone and the remote it was cloned from. */
export interface RemoteWorktree {
  clone: string;
  remote: string;
}

const originUrls = new Map<string, string>();

/**
 * The clone and remote `workspace` works through, or undefined for a workspace of a local repository. The remote is
 * the clone's origin as the run wrote it (cloneDir finds the clone again from it); a clone of another spelling is not
 * one of ours. Read once per clone.
 */
export async function worktreeRemote(stateDir: string, workspace: string): Promise<RemoteWorktree | undefined> {
  const root = path.resolve(stateDir);
  const clone = await isCloneOfRemote(root, workspace);
  if (!clone) return undefined;
  let remote = originUrls.get(clone);
  if (remote === undefined) {
    remote = (await git(gitFor(clone), ['config', '--get', 'remote.origin.url'], `reading the remote of ${clone}`)).trim();
    originUrls.set(clone, remote);
  }
  return remote && path.resolve(cloneDir(root, remote)) === path.resolve(clone) ? { clone, remote } : undefined;
}

/** Fetch every branch of the remote (serialised with the clone's other git work). */
export async function fetchRemote(stateDir: string, clone: string): Promise<void> {
  await withRepoLock(stateDir, clone, async () => {
    await git(gitFor(clone), ['fetch', '--quiet', '--prune', ORIGIN], `fetching ${ORIGIN} into ${clone}`);
  });
}

async function hasRemoteBranch(g: Git, branch: string): Promise<boolean> {
  try {
    await g.raw(['show-ref', '--verify', '--quiet', `refs/remotes/${ORIGIN}/${branch}`]);
    return true;
  } catch {
    return false;
  }
}

/** The ref to start from: the remote's copy of a branch (or of HEAD) when it has one, else `ref` as given. */
export async function remoteRef(clone: string, ref: string): Promise<string> {
  const g = gitFor(clone);
  if (ref === 'HEAD') return (await hasRemoteBranch(g, 'HEAD')) ? `refs/remotes/${ORIGIN}/HEAD` : ref;
  return (await hasRemoteBranch(g, ref)) ? `refs/remotes/${ORIGIN}/${ref}` : ref;
}

/** Make `branch` locally at the remote's commit when only the remote has it (its first host was lost). */
export async function adoptRemoteBranch(stateDir: string, clone: string, branch: string): Promise<void> {
  const g = gitFor(clone);
  if ((await branchExists(g, branch)) || !(await hasRemoteBranch(g, branch))) return;
  await withRepoLock(stateDir, clone, async () => {
    if (await branchExists(g, branch)) return;
    await git(g, ['branch', '--no-track', '--end-of-options', branch, `refs/remotes/${ORIGIN}/${branch}`], `adopting ${branch} from ${ORIGIN}`);
  });
}

/** Push the branch checked out in `worktree` to the remote (a fast-forward, or a failure that says why not). */
export async function pushWorktreeBranch(stateDir: string, clone: string, worktree: string): Promise<void> {
  const g = gitFor(worktree);
  const branch = (await git(g, ['symbolic-ref', '--short', 'HEAD'], `reading the branch of ${worktree}`)).trim();
  await withRepoLock(stateDir, clone, async () => {
    await git(g, ['push', '--quiet', ORIGIN, `refs/heads/${branch}:refs/heads/${branch}`], `pushing ${branch} to ${ORIGIN}`);
  });
}

/** The remote-tracking ref of a branch of the remote (as last fetched). */
export function remoteBranchRef(branch: string): string {
  return `refs/remotes/${ORIGIN}/${branch}`;
}

/**
 * Push `commit` to the remote's `branch`: a fast-forward, or a failure that says why not. The caller holds the
 * clone's lock. The remote-tracking ref follows, so a later read on this host sees the new value.
 */
export async function pushCommit(g: Git, commit: string, branch: string): Promise<void> {
  await git(g, ['push', '--quiet', ORIGIN, `${commit}:refs/heads/${branch}`], `pushing ${branch} to ${ORIGIN}`);
}
