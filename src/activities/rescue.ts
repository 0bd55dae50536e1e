/**
 * Rescue refs: nothing an agent wrote is deleted unsaved. Before a worktree is removed (by an agent's end, a run's
 * end or `cadre gc`), its uncommitted work (tracked changes and untracked, not ignored, files; bootstrap copies
 * excepted) and any commits reachable from no other branch, tag or remote are saved as one commit under
 * `refs/cadre/rescue/<dir>/<timestamp>` in the shared repository. The snapshot is built with a temporary index, so
 * the worktree's own index and files are never touched; the ref is written before anything is deleted, so a process
 * killed between the two leaves the work saved (a second removal then saves it again under a new timestamp only if
 * it is still not reachable from a rescue ref).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { git, gitFor } from './git';
import { sanitizeRef } from './paths';

export const RESCUE_PREFIX = 'refs/cadre/rescue/';

export interface Rescue {
  ref: string;
  commit: string;
  /** The branch the worktree had checked out, or undefined when detached. */
  branch?: string;
  when: string;
  /** Why it was saved: uncommitted changes, commits on no other ref, or both. */
  reason: string;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[:.]/g, '-');
}

/**
 * Save `worktree`'s unsaved work into `repoRoot` under a rescue ref; undefined when there is nothing to save (clean,
 * and every commit on HEAD is on another ref). `exclude` are paths relative to the worktree left out of the snapshot.
 */
export async function saveRescue(repoRoot: string, worktree: string, exclude: string[] = []): Promise<Rescue | undefined> {
  if (!fs.existsSync(worktree)) return undefined;
  const g = gitFor(worktree);
  let head: string;
  let headTree: string;
  try {
    [head, headTree] = (await g.raw(['rev-parse', 'HEAD', 'HEAD^{tree}'])).trim().split('\n');
  } catch {
    return undefined; // not a worktree (any more), or no commit at all: nothing of git's to save
  }
  const branchRef = (await g.raw(['symbolic-ref', '-q', 'HEAD']).catch(() => '')).trim();
  const branch = branchRef.startsWith('refs/heads/') ? branchRef.slice('refs/heads/'.length) : undefined;

  const tmpIndex = path.join(os.tmpdir(), `cadre-rescue-${process.pid}-${randomBytes(4).toString('hex')}.index`);
  try {
    const gi = gitFor(worktree, { GIT_INDEX_FILE: tmpIndex });
    await git(gi, ['read-tree', 'HEAD'], 'reading HEAD into a rescue index');
    await git(gi, ['add', '-A', '--', '.'], 'staging unsaved work for a rescue');
    const copied = exclude.map((p) => `:(literal)${p}`);
    if (copied.length) await git(gi, ['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', ...copied], 'leaving bootstrap copies out');
    const tree = (await git(gi, ['write-tree'], 'writing the rescue tree')).trim();
    const dirty = tree !== headTree;
    const unique = (await git(g, ['rev-list', '--max-count=1', head, '--not',
      ...(branchRef ? [`--exclude=${branchRef}`] : []), '--branches', '--tags', '--remotes', `--glob=${RESCUE_PREFIX}*`], 'listing unsaved commits')).trim();
    if (!dirty && unique === '') return undefined;
    const reason = [dirty ? 'uncommitted changes' : '', unique ? 'commits on no other branch' : ''].filter(Boolean).join(' and ');
    // Always a commit of its own (on top of HEAD), so its message records the branch and the reason.
    const commit = (await git(g, ['commit-tree', tree, '-p', head, '-m', `cadre rescue of ${worktree} (${branch ?? 'detached'}): ${reason}`], 'committing the rescue')).trim();
    const when = new Date();
    const dir = path.basename(worktree);
    const ref = `${RESCUE_PREFIX}${/^[A-Za-z0-9_@-][A-Za-z0-9._@-]*$/.test(dir) && !dir.includes('..') && !dir.endsWith('.lock') ? dir : sanitizeRef(dir)}/${stamp(when)}`;
    await git(gitFor(repoRoot), ['update-ref', '-m', `cadre rescue: ${reason}`, ref, commit, ''], `writing ${ref}`);
    return { ref, commit, branch, when: when.toISOString(), reason };
  } finally {
    await fs.promises.rm(tmpIndex, { force: true });
  }
}

/** Every rescue ref of the repository, oldest first. */
export async function listRescues(repoRoot: string): Promise<Rescue[]> {
  const out = await git(gitFor(repoRoot), ['for-each-ref', '--sort=creatordate',
    '--format=%(refname)%00%(objectname)%00%(creatordate:iso-strict)%00%(contents:subject)', RESCUE_PREFIX], 'listing rescue refs');
  return out.split('\n').filter((l) => l.length > 0).map((line) => {
    const [ref, commit, when, subject] = line.split('\0');
    const m = /\(([^()]*)\): ([^]*)$/.exec(subject ?? '');
    const branch = m && m[1] !== 'detached' ? m[1] : undefined;
    return { ref, commit, branch, when, reason: m?.[2] ?? 'commits on no other branch' };
  });
}
