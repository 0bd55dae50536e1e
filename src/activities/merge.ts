/**
 * Merging a branch into a worktree's branch: a completed task into the run's integration branch, a finished child
 * into its parent's branch. Serialised per repository (repoMutex); a conflict is a result naming the files, never a
 * half-merged worktree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TypedFailure } from '../shared/errors';
import { assertRef, git, gitFailure, gitFor, headCommit, resolveCommit, resolveRepoRoot, type Git } from './git';
import { withRepoLock } from './repoMutex';
import { assertCadreWorktree } from './workspace';

export interface MergeOptions {
  stateDir: string;
  repo: string;
  /** The worktree whose checked-out branch receives the merge (an integration or parent worktree). */
  worktree: string;
  /** The branch merged in. */
  branch: string;
  message: string;
}

export type MergeResult = { ok: true; commit: string } | { ok: false; conflicts: string[] };

/**
 * Merge `branch` into the branch checked out in `worktree` with a merge commit (--no-ff). On conflict: list the
 * conflicted files, abort, and leave the worktree as it was. Idempotent: merging an already merged branch is a
 * no-op returning HEAD. A merge left half-done by a crash is aborted before trying again. Serialised per repository.
 */
export async function mergeInto(options: MergeOptions): Promise<MergeResult> {
  assertRef(options.branch, 'branch');
  assertCadreWorktree(options.stateDir, options.worktree);
  const repoRoot = await resolveRepoRoot(options.repo);
  return withRepoLock(options.stateDir, repoRoot, async () => {
    const g = gitFor(options.worktree);
    await resolveCommit(g, options.branch);
    if (await mergeInProgress(g, options.worktree)) await git(g, ['merge', '--abort'], 'aborting an earlier merge');
    const dirty = await git(g, ['status', '--porcelain', '--untracked-files=no'], 'checking the worktree');
    if (dirty.trim().length > 0) {
      throw new TypedFailure(ErrorType.WorkspaceError, `cannot merge into ${options.worktree}: it has uncommitted changes`, false);
    }
    try {
      await g.raw(['merge', '--no-ff', '--no-edit', '-m', options.message, '--end-of-options', options.branch]);
    } catch (err) {
      const conflicts = (await git(g, ['diff', '--name-only', '--diff-filter=U', '-z'], 'listing conflicts'))
        .split('\0').filter((f) => f.length > 0);
      if (await mergeInProgress(g, options.worktree)) await git(g, ['merge', '--abort'], 'aborting the merge');
      if (conflicts.length > 0) return { ok: false, conflicts };
      throw gitFailure(err, `merging ${options.branch}`);
    }
    return { ok: true, commit: await headCommit(g) };
  });
}

async function mergeInProgress(g: Git, worktree: string): Promise<boolean> {
  // --git-path answers relative to the working directory (the worktree) or absolute; resolve handles both.
  const file = (await git(g, ['rev-parse', '--git-path', 'MERGE_HEAD'], 'locating MERGE_HEAD')).trim();
  return fs.existsSync(path.resolve(worktree, file));
}
