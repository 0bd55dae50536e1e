/**
 * Merge conflicts, activity side (docs/loops.md "Merge conflicts"). When a task's branch conflicts with the run's
 * integration branch, the run brings the integration head into a branch of its own started from the task's branch
 * (`cadre/<task agent>/resolve-<n>`, a worktree like any agent's), so the integration worktree is never left half
 * merged and a failed resolution never touches the task's branch:
 *
 * - prepareResolution: create (or find) that worktree and merge the integration head into it; a clean merge is
 *   committed, a conflict is left in place (markers in the files, MERGE_HEAD set) for the resolver agent.
 * - checkResolution: once the resolver has ended, the worktree must hold a committed merge of that integration head
 *   with no unmerged paths and no conflict markers in the conflicted files; then the task's own checks (outputs,
 *   machine checks, verify command) run in it.
 * - advanceBranch: move the task's branch to the checked resolution (a fast-forward, guarded by its old value), so
 *   what the run merges into the integration branch is the task's branch, as for any task.
 *
 * Every step is idempotent on its inputs (retries): a merge already started or committed is found and reported as is,
 * a branch already advanced is left alone. Results are small: paths, commits, task ids, one-line problems.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { ErrorType, TypedFailure } from '../shared/errors';
import { isRemoteRepo } from '../shared/hosts';
import { CheckSchema } from '../shared/plan';
import { checksFailure, outputsFailure, verifyCommandFailure } from '../shared/verification';
import { defineActivity } from './boundary';
import { assertRef, git, gitFailure, gitFor, headCommit, resolveCommit, resolveRepoRoot, type Git } from './git';
import { resolveInside } from './paths';
import { fetchRemote, localRepo, pushCommit, remoteBranchRef, remoteRef } from './remote';
import { withRepoLock } from './repoMutex';
import { assertCadreWorktree } from './workspace';
import type { WorkspaceActivities } from './workspaceActivities';

const MAX_FILES = 200;
const MAX_TASKS = 50;
const VERIFY_TIMEOUT_MS = 10 * 60_000;
/** A line that opens or closes a conflict hunk, as git writes them (`<<<<<<< ours`, `>>>>>>> theirs`). */
const MARKER = /^(<{7}|>{7})(\s|$)/m;
/** The subject of the run's merge commits (scheduler.ts mergeMessage): which task a merge brought in. */
const MERGE_SUBJECT = /^cadre: merge task ([^:\s]+):/;

/** Heartbeats for the whole call: a dead worker's step is retried within its preset's heartbeat timeout. */
const BEAT = { heartbeatEveryMs: 2_000 };
const ref = z.string().min(1).max(256).refine((s) => !s.startsWith('-'), 'must not start with "-"');

export const resolveActivityInputs = {
  prepareResolution: z.strictObject({
    repo: z.string().min(1),
    /** The resolver's agent id: its worktree and branch are the ones its agent workflow will find. */
    agentId: z.string().min(1).max(512),
    /** The task's branch: where the resolver's branch starts. */
    branch: ref,
    /** The run's integration branch, merged in. */
    integration: ref,
    message: z.string().min(1),
  }),
  checkResolution: z.strictObject({
    path: z.string().min(1),
    /** The files that conflicted: none may keep a conflict marker. */
    files: z.array(z.string().min(1)).max(MAX_FILES),
    /** The integration head merged in: the resolution must contain it. */
    theirs: ref,
    outputs: z.array(z.string().min(1)).optional(),
    checks: z.array(CheckSchema).optional(),
    verify: z.array(z.string()).min(1).optional(),
    logName: z.string().min(1).optional(),
  }),
  advanceBranch: z.strictObject({ repo: z.string().min(1), branch: ref, from: ref, to: ref }),
} as const;

export type Prepared = {
  path: string;
  branch: string;
  /** The task's head (ours), the integration head (theirs) and their merge base. */
  ours: string;
  theirs: string;
  base: string;
  /** Tasks whose merges since the base touched the conflicting files (from the merge commits' subjects). */
  mergedTasks: string[];
} & ({ clean: true; commit: string; conflicts: [] } | { clean: false; conflicts: string[] });

export function createResolveActivities(stateDir: string, w: WorkspaceActivities) {
  return {
    /** Idempotent on (repo, agentId): a merge in progress is reported with its conflicts, a committed one as clean. */
    prepareResolution: defineActivity('prepareResolution', resolveActivityInputs.prepareResolution, async (input): Promise<Prepared> => {
      assertRef(input.branch, 'branch');
      assertRef(input.integration, 'integration branch');
      const ws = await w.createWorkspace({ repo: input.repo, agentId: input.agentId, baseRef: input.branch });
      assertCadreWorktree(stateDir, ws.path);
      const g = gitFor(ws.path);
      // The worktree's repository: for a run through a remote this host's clone, where the task's branch is current
      // only as the remote has it (its agent may have worked on another host; docs/hosts.md).
      const repoRoot = await resolveRepoRoot(ws.path);
      const ours = await resolveCommit(g, isRemoteRepo(input.repo) ? await remoteRef(repoRoot, input.branch) : input.branch);
      const theirs = await resolveCommit(g, input.integration);
      const base = (await git(g, ['merge-base', ours, theirs], 'finding the merge base')).trim();
      const done = { path: ws.path, branch: ws.branch, ours, theirs, base };
      const conflicts = await withRepoLock(stateDir, repoRoot, async (): Promise<string[] | undefined> => {
        if (await mergeInProgress(g, ws.path)) return unmerged(g);
        if (await isAncestor(g, theirs, 'HEAD')) return undefined;
        try {
          await g.raw(['merge', '--no-ff', '--no-edit', '-m', input.message, '--end-of-options', theirs]);
          return undefined;
        } catch (err) {
          const files = await unmerged(g);
          if (files.length) return files;
          throw gitFailure(err, `merging ${input.integration} into ${ws.branch}`);
        }
      });
      if (!conflicts) return { ...done, clean: true, commit: await headCommit(g), conflicts: [], mergedTasks: [] };
      return { ...done, clean: false, conflicts: conflicts.slice(0, MAX_FILES), mergedTasks: await mergedTasks(g, base, theirs, conflicts) };
    }, BEAT),

    /** The resolution's verdict: `problem` is one line when it is not mergeable, absent when it passed every check. */
    checkResolution: defineActivity('checkResolution', resolveActivityInputs.checkResolution, async (input): Promise<{ commit: string; problem?: string }> => {
      assertCadreWorktree(stateDir, input.path);
      const g = gitFor(input.path);
      const commit = await headCommit(g);
      const left = await unmerged(g);
      if (left.length) return { commit, problem: `unmerged paths left: ${left.slice(0, 5).join(', ')}` };
      if (await mergeInProgress(g, input.path)) return { commit, problem: 'the merge was not committed' };
      if (!(await isAncestor(g, input.theirs, commit))) return { commit, problem: `the resolution does not contain the integration head ${input.theirs.slice(0, 10)} (was the merge aborted?)` };
      const marked = input.files.filter((f) => hasMarkers(input.path, f));
      if (marked.length) return { commit, problem: `conflict markers left in ${marked.join(', ')}` };
      const dirty = await git(g, ['status', '--porcelain', '--untracked-files=no'], 'checking the worktree');
      if (dirty.trim()) return { commit, problem: 'the resolution left uncommitted changes' };
      if (input.outputs?.length) {
        const r = await w.verifyOutputs({ path: input.path, outputs: input.outputs });
        if (r.missing.length) return { commit, problem: outputsFailure(r.missing).error };
      }
      if (input.checks?.length) {
        const r = await w.verifyChecks({ path: input.path, checks: input.checks });
        if (r.failures.length) return { commit, problem: checksFailure(r.failures).error };
      }
      if (input.verify) {
        const r = await w.runVerify({ path: input.path, argv: input.verify, timeoutMs: VERIFY_TIMEOUT_MS, logName: input.logName });
        if (r.exitCode !== 0) return { commit, problem: verifyCommandFailure(input.verify, r.exitCode, r.tail, r.timedOut).error };
      }
      return { commit };
    }, BEAT),

    /**
     * Fast-forward `branch` from `from` to `to`; already at `to` is done; anywhere else is refused (not retried).
     * Through a remote the remote's branch is the one moved (a push of `to`, after a fetch): the run's merge reads the
     * task's branch from there.
     */
    advanceBranch: defineActivity('advanceBranch', resolveActivityInputs.advanceBranch, async (input) => {
      const remote = isRemoteRepo(input.repo);
      const repoRoot = remote ? await localRepo(stateDir, input.repo) : await resolveRepoRoot(input.repo);
      if (remote) await fetchRemote(stateDir, repoRoot);
      return withRepoLock(stateDir, repoRoot, async () => {
        const g = gitFor(repoRoot);
        const now = await resolveCommit(g, remote ? remoteBranchRef(input.branch) : `refs/heads/${input.branch}`);
        const to = await resolveCommit(g, input.to);
        if (now === to) return { commit: to };
        if (now !== (await resolveCommit(g, input.from))) {
          throw new TypedFailure(ErrorType.WorkspaceError, `branch ${input.branch} moved to ${now} while its conflict was resolved`, false);
        }
        if (!(await isAncestor(g, now, to))) throw new TypedFailure(ErrorType.WorkspaceError, `${input.to} does not descend from ${input.branch}`, false);
        if (remote) await pushCommit(g, to, input.branch);
        else await git(g, ['update-ref', '-m', 'cadre: merge conflict resolved', `refs/heads/${input.branch}`, to, now], `advancing ${input.branch}`);
        return { commit: to };
      });
    }, BEAT),
  };
}

async function unmerged(g: Git): Promise<string[]> {
  const out = await git(g, ['diff', '--name-only', '--diff-filter=U', '-z'], 'listing conflicts');
  return [...new Set(out.split('\0').filter((f) => f.length > 0))];
}

async function mergeInProgress(g: Git, worktree: string): Promise<boolean> {
  const file = (await git(g, ['rev-parse', '--git-path', 'MERGE_HEAD'], 'locating MERGE_HEAD')).trim();
  return fs.existsSync(path.resolve(worktree, file));
}

async function isAncestor(g: Git, a: string, b: string): Promise<boolean> {
  try {
    await g.raw(['merge-base', '--is-ancestor', a, b]);
    return true;
  } catch {
    return false;
  }
}

/** The tasks whose merges into the integration branch since `base` changed any of `files` (first-parent merges). */
async function mergedTasks(g: Git, base: string, theirs: string, files: string[]): Promise<string[]> {
  const out = await git(g, ['log', '--first-parent', '--merges', '--format=%s', `${base}..${theirs}`, '--', ...files.map((f) => `:(literal)${f}`)], 'listing merged tasks');
  const ids = out.split('\n').map((l) => MERGE_SUBJECT.exec(l)?.[1]).filter((id): id is string => !!id);
  return [...new Set(ids)].slice(0, MAX_TASKS);
}

/** Whether a file in the worktree still has a conflict hunk; a deleted file has none. */
function hasMarkers(root: string, file: string): boolean {
  const abs = resolveInside(root, file, 'read');
  try {
    return MARKER.test(fs.readFileSync(abs, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export type ResolveActivities = ReturnType<typeof createResolveActivities>;
