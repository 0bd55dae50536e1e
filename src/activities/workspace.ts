/**
 * Workspaces: one git worktree and branch per agent, plus one integration worktree per run.
 *
 * Layout (see docs/workspaces.md):
 *   ${stateDir}/worktrees/<repoKey>/<sanitizeRef(agentId)>         agent worktree, branch cadre/<same name>
 *   ${stateDir}/worktrees/<repoKey>/integration@<sanitizeRef(runId)> integration worktree, branch cadre/<same>/integration
 *   ${stateDir}/worktrees/<repoKey>/.meta/<dir name>.json          who owns the worktree (for gc), its base, bootstrap
 *   ${stateDir}/worktrees/<repoKey>/.pool/                         ready detached worktrees for new agents (worktreePool.ts)
 *
 * Every operation here is idempotent on its inputs, because activities are retried: creating an existing workspace
 * returns it, committing twice commits once, merging an already merged branch is a no-op, removing a removed
 * workspace succeeds. Operations that change the shared repository run under withRepoLock.
 *
 * cadre's git settings (fixed identity, no hooks, no auto-gc) are in git.ts; the worktree pool that makes a new
 * agent workspace a rename instead of a checkout is in worktreePool.ts.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TypedFailure } from '../shared/errors';
import { DEFAULT_WORKTREE_POOL } from '../node/config';
import { runCommand, scrubbedEnv } from './commandRunner';
import {
  assertRef, branchExists, git, gitFor, headCommit, listWorktrees, realOrResolved, resolveCommit, resolveRepoRoot,
  type Git, type WorktreeEntry,
} from './git';
import { isWithin, repoKey, resolveInside, sanitizeRef } from './paths';
import { withRepoLock } from './repoMutex';
import { saveRescue, type Rescue } from './rescue';
import { logger } from '../node/logger';
import { claimEntry, drainPool, poolRepo, recycleIntoPool, requestRefill, type WorktreePool } from './worktreePool';
import { withDepCaches, type Caches } from './depCache';

export const AGENT_BRANCH_PREFIX = 'cadre/';
const INTEGRATION_DIR_PREFIX = 'integration@';
const META_DIR = '.meta';

// ---------------------------------------------------------------------------------------------------------------
// layout and metadata

export type WorkspaceKind = 'agent' | 'integration';

/** Stored next to the worktrees, never inside one (it would be committed). */
export interface WorkspaceMeta {
  kind: WorkspaceKind;
  /** Agent id for agent workspaces, run id for integration worktrees: the workflow whose liveness gc checks. */
  ownerId: string;
  repo: string;
  path: string;
  branch: string;
  baseRef: string;
  baseCommit: string;
  createdAt: string;
  /** Paths copied by bootstrap; never committed by commitWorkspace. */
  copied?: string[];
  /** The commit of the pool entry this worktree was claimed from (worktreePool.ts); absent when added from scratch. */
  pooledFrom?: string;
  bootstrapped?: boolean;
}

export function worktreesRoot(stateDir: string, repoRoot: string): string {
  return path.join(realOrResolved(stateDir), 'worktrees', repoKey(repoRoot));
}

/**
 * Refuse to run a state-changing operation (commit, merge) anywhere but in a worktree cadre made under the state
 * directory: a wrong path from a workflow must never `git add -A` or merge in the user's own checkout.
 */
export function assertCadreWorktree(stateDir: string, worktree: string): string {
  const target = realOrResolved(worktree);
  const base = path.join(realOrResolved(stateDir), 'worktrees');
  const rel = path.relative(base, target).split(path.sep);
  if (!isWithin(base, target) || rel.length !== 2 || rel[1].startsWith('.') || rel[0] === '') {
    throw new TypedFailure(ErrorType.WorkspaceError, `${worktree} is not a cadre worktree under ${base}`, false);
  }
  return target;
}

function metaPathFor(worktreePath: string): string {
  return path.join(path.dirname(worktreePath), META_DIR, `${path.basename(worktreePath)}.json`);
}

async function readMeta(worktreePath: string): Promise<WorkspaceMeta | undefined> {
  try {
    return JSON.parse(await fs.promises.readFile(metaPathFor(worktreePath), 'utf8')) as WorkspaceMeta;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    if (err instanceof SyntaxError) return undefined; // torn write from a crash; rewritten by the next create
    throw err;
  }
}

async function writeMeta(meta: WorkspaceMeta): Promise<void> {
  const file = metaPathFor(meta.path);
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.promises.writeFile(tmp, `${JSON.stringify(meta, null, 2)}\n`);
  await fs.promises.rename(tmp, file);
}

/**
 * `cadre/<run>/integration`. Agent branches never contain a second slash (sanitizeRef flattens ids), so the two
 * families cannot collide in git's ref namespace unless an agent's id were exactly a run's id.
 */
export function integrationBranch(runId: string): string {
  return `${AGENT_BRANCH_PREFIX}${sanitizeRef(runId)}/integration`;
}

// ---------------------------------------------------------------------------------------------------------------
// create

export interface Bootstrap {
  /** Paths relative to the main checkout (files or directories, typically untracked ones such as `.env`). */
  copy?: string[];
  /** One argv run in the new worktree after copying, e.g. ['npm', 'ci']. */
  setup?: string[];
  setupTimeoutMs?: number;
  /** Extra environment for the setup command (on top of the scrubbed base). */
  env?: Record<string, string>;
  /** Directories restored from (and saved to) the dependency cache instead of set up each time (depCache.ts). */
  caches?: Caches;
  /** Run the setup even when every cache was restored. */
  setupAlways?: boolean;
}

export interface WorkspaceInfo {
  path: string;
  branch: string;
  /** The commit the branch started from. */
  baseCommit: string;
  /** False when an existing worktree was reused (a retry, or a second call). */
  created: boolean;
}

export interface CreateWorkspaceOptions {
  stateDir: string;
  repo: string;
  agentId: string;
  baseRef: string;
  bootstrap?: Bootstrap;
  /** Ready worktrees to keep for this repository (worktreePool.ts); 0 turns the pool off. Default 2. */
  worktreePool?: number;
  heartbeat?: () => void;
  signal?: AbortSignal;
}

/**
 * Create (or find) the agent's worktree. Idempotency key: (repository, agentId). Worktree registered → reused as is;
 * branch exists without a worktree (the worktree was removed, or a crash came between the two steps) → the worktree is
 * re-added on the branch, keeping its commits; otherwise the branch is created at baseRef, in a worktree claimed from
 * the pool when one is ready (a rename and a checkout of the difference) or added from scratch when none is. Either
 * way the pool is then refilled in the background. Bootstrap runs until it has once completed (recorded in the
 * metadata), so a retry after a crash mid-setup runs it again.
 */
export async function createWorkspace(options: CreateWorkspaceOptions): Promise<WorkspaceInfo> {
  const name = sanitizeRef(options.agentId);
  return ensureWorktree({
    ...options,
    dirName: name,
    branch: `${AGENT_BRANCH_PREFIX}${name}`,
    kind: 'agent',
    ownerId: options.agentId,
  });
}

export interface EnsureIntegrationOptions {
  stateDir: string;
  repo: string;
  runId: string;
  baseRef: string;
  /** The repository's worktree pool size; it is warmed at the integration branch's head. Default 2. */
  worktreePool?: number;
}

/**
 * The run's integration branch `cadre/<runId>/integration`, checked out in a worktree of its own, created from
 * baseRef on first use. Finished tasks are merged into it with mergeInto; the user's checkout is never touched.
 * Agents branch from it, so the worktree pool is warmed at its head as the run starts.
 */
export async function ensureIntegrationWorktree(options: EnsureIntegrationOptions): Promise<WorkspaceInfo> {
  const name = sanitizeRef(options.runId);
  return ensureWorktree({
    ...options,
    dirName: `${INTEGRATION_DIR_PREFIX}${name}`,
    branch: integrationBranch(options.runId),
    kind: 'integration',
    ownerId: options.runId,
  });
}

interface EnsureWorktreeArgs {
  stateDir: string;
  repo: string;
  baseRef: string;
  dirName: string;
  branch: string;
  kind: WorkspaceKind;
  ownerId: string;
  bootstrap?: Bootstrap;
  worktreePool?: number;
  heartbeat?: () => void;
  signal?: AbortSignal;
}

interface Ensured {
  info: WorkspaceInfo;
  meta: WorkspaceMeta;
  /** Refill the pool afterwards: a new agent branch was started (from the pool or not), or a run is starting. */
  refill: boolean;
}

async function ensureWorktree(args: EnsureWorktreeArgs): Promise<WorkspaceInfo> {
  assertRef(args.baseRef, 'base ref');
  const repoRoot = await resolveRepoRoot(args.repo);
  const root = worktreesRoot(args.stateDir, repoRoot);
  await fs.promises.mkdir(root, { recursive: true });
  const pool: WorktreePool = { stateDir: args.stateDir, repoRoot, root: realOrResolved(root), size: args.worktreePool ?? DEFAULT_WORKTREE_POOL };
  const dir = path.join(pool.root, args.dirName);

  const { info, meta, refill } = await withRepoLock(args.stateDir, repoRoot, async (): Promise<Ensured> => {
    const g = gitFor(repoRoot);
    // Forget registrations whose directory vanished (deleted by hand), or `worktree add` would refuse the path.
    await git(g, ['worktree', 'prune'], 'pruning worktrees');
    const registered = await listWorktrees(repoRoot);
    const existing = registered.find((w) => realOrResolved(w.path) === dir);
    const previous = await readMeta(dir);
    if (existing) return reuseWorktree(args, g, existing, previous, repoRoot, dir);
    return addWorktree(args, g, registered, previous, repoRoot, dir, pool);
  });

  if (refill && pool.size > 0) {
    // An agent starts at its base; a run's agents start at the head of its integration branch.
    requestRefill(pool, args.kind === 'integration' ? await headCommit(gitFor(dir)) : info.baseCommit);
  }
  if (args.bootstrap && !meta.bootstrapped) await runBootstrap(args, repoRoot, meta);
  return info;
}

/** The worktree is registered already: a retry, or a second call. */
async function reuseWorktree(
  args: EnsureWorktreeArgs, g: Git, existing: WorktreeEntry, previous: WorkspaceMeta | undefined, repoRoot: string, dir: string,
): Promise<Ensured> {
  if (existing.branch !== args.branch) {
    if (previous && isUnfinishedClaim(existing, previous)) {
      await finishClaim(dir, previous, await branchExists(g, args.branch));
      return { info: { path: dir, branch: args.branch, baseCommit: previous.baseCommit, created: true }, meta: previous, refill: true };
    }
    throw new TypedFailure(ErrorType.WorkspaceError,
      `worktree ${dir} has ${existing.branch ?? 'a detached HEAD'} checked out, expected ${args.branch}`, false);
  }
  const baseCommit = previous?.baseCommit ?? (await mergeBase(g, args.branch, args.baseRef));
  const meta = previous ?? newMeta(args, repoRoot, dir, baseCommit);
  if (!previous) await writeMeta(meta);
  return { info: { path: dir, branch: args.branch, baseCommit, created: false }, meta, refill: args.kind === 'integration' };
}

/**
 * A pool entry moved into place by an attempt that died before it switched to the agent's branch: detached, at the
 * entry's commit or already at the base, with metadata saying it was claimed. The agent gets its workspace only once
 * the switch is done, so nobody has worked here yet.
 */
function isUnfinishedClaim(existing: WorktreeEntry, meta: WorkspaceMeta): boolean {
  return existing.detached && meta.kind === 'agent' && meta.pooledFrom !== undefined
    && (existing.head === meta.pooledFrom || existing.head === meta.baseCommit);
}

/** No worktree at `dir`: re-add it on the existing branch, or start the branch in a pool entry or a new worktree. */
async function addWorktree(
  args: EnsureWorktreeArgs, g: Git, registered: WorktreeEntry[], previous: WorkspaceMeta | undefined, repoRoot: string, dir: string,
  pool: WorktreePool,
): Promise<Ensured> {
  // A directory that git does not know is a leftover of a crash inside `worktree add`; it is ours, clear it.
  await fs.promises.rm(dir, { recursive: true, force: true });
  const hasBranch = await branchExists(g, args.branch);
  const baseCommit = hasBranch
    ? previous?.baseCommit ?? (await mergeBase(g, args.branch, args.baseRef))
    : await resolveCommit(g, args.baseRef);
  const fromPool = !hasBranch && args.kind === 'agent' && pool.size > 0;
  const entry = fromPool ? await claimEntry(pool.root, registered, baseCommit) : undefined;
  // Metadata first: a registered worktree always has a recorded owner, so gc can judge it, and a retry after a crash
  // inside the claim knows the worktree came from the pool.
  const meta: WorkspaceMeta = { ...newMeta(args, repoRoot, dir, baseCommit), bootstrapped: false, pooledFrom: entry?.commit };
  await writeMeta(meta);
  if (hasBranch) await git(g, ['worktree', 'add', dir, args.branch], `re-adding worktree for ${args.branch}`);
  else if (entry) {
    await git(g, ['worktree', 'move', entry.path, dir], `moving pool entry ${entry.path} to ${dir}`);
    await startAgentBranch(dir, meta, entry.commit);
  } else await git(g, ['worktree', 'add', '-b', args.branch, dir, baseCommit], `adding worktree for ${args.branch}`);
  return { info: { path: dir, branch: args.branch, baseCommit, created: true }, meta, refill: fromPool || args.kind === 'integration' };
}

/**
 * Put a claimed pool entry, detached at `head`, on the agent's new branch at meta.baseCommit. The claim's `git status`
 * has just refreshed the entry's index, so a two-way `read-tree` checks out only the difference between the two
 * commits without stat-ing every file again (as `git switch` would); at the same commit nothing is checked out.
 * The branch is created with an empty old value, so an existing branch is never moved.
 */
async function startAgentBranch(dir: string, meta: WorkspaceMeta, head: string): Promise<void> {
  const g = gitFor(dir);
  if (head !== meta.baseCommit) {
    await git(g, ['read-tree', '-m', '-u', 'HEAD', meta.baseCommit], `checking out ${meta.baseCommit} in ${dir}`);
  }
  await git(g, ['update-ref', '-m', 'cadre: new agent branch', `refs/heads/${meta.branch}`, meta.baseCommit, ''], `creating ${meta.branch}`);
  await git(g, ['symbolic-ref', '-m', `cadre: switch to ${meta.branch}`, 'HEAD', `refs/heads/${meta.branch}`], `switching ${dir} to ${meta.branch}`);
}

/**
 * Finish a claim whose attempt died inside startAgentBranch. Before the branch exists, files may be half way between
 * the two commits: `--discard-changes` is safe, since the entry was clean when claimed and the agent gets its
 * workspace only after this step. Once the branch exists (the crash came before HEAD moved) it is switched to, never
 * reset, and only while it is still at the base.
 */
async function finishClaim(dir: string, meta: WorkspaceMeta, branchExisted: boolean): Promise<void> {
  const g = gitFor(dir);
  if (!branchExisted) {
    await git(g, ['switch', '-q', '--discard-changes', '-c', meta.branch, meta.baseCommit], `switching ${dir} to a new branch ${meta.branch}`);
    return;
  }
  const tip = (await git(g, ['rev-parse', `refs/heads/${meta.branch}`], `reading ${meta.branch}`)).trim();
  if (tip !== meta.baseCommit) {
    throw new TypedFailure(ErrorType.WorkspaceError,
      `worktree ${dir} has a detached HEAD and ${meta.branch} has moved past its base ${meta.baseCommit}; leaving both as they are`, false);
  }
  await git(g, ['switch', '-q', meta.branch], `switching ${dir} to ${meta.branch}`);
}

function newMeta(args: EnsureWorktreeArgs, repoRoot: string, dir: string, baseCommit: string): WorkspaceMeta {
  return {
    kind: args.kind,
    ownerId: args.ownerId,
    repo: repoRoot,
    path: dir,
    branch: args.branch,
    baseRef: args.baseRef,
    baseCommit,
    createdAt: new Date().toISOString(),
    bootstrapped: args.bootstrap ? false : undefined,
  };
}

async function mergeBase(g: Git, branch: string, baseRef: string): Promise<string> {
  try {
    const base = await resolveCommit(g, baseRef);
    return (await g.raw(['merge-base', branch, base])).trim();
  } catch {
    // The base ref may be gone by now; the branch's own tip is the best answer left.
    return (await git(g, ['rev-parse', `refs/heads/${branch}`], 'reading branch')).trim();
  }
}

async function runBootstrap(args: EnsureWorktreeArgs, repoRoot: string, meta: WorkspaceMeta): Promise<void> {
  const bootstrap = args.bootstrap as Bootstrap;
  const copied: string[] = [];
  for (const rel of bootstrap.copy ?? []) {
    const source = resolveInside(repoRoot, rel, 'read');
    if (!fs.existsSync(source)) continue; // e.g. no .env on this machine: nothing to copy
    const target = resolveInside(meta.path, rel, 'write');
    await fs.promises.cp(source, target, { recursive: true, force: true, dereference: true });
    copied.push(rel.split(path.sep).join('/').replace(/^\.\//, ''));
  }
  meta.copied = copied;
  await writeMeta(meta);
  const setup = bootstrap.setup;
  const logFile = path.join(realOrResolved(args.stateDir), 'logs', `${path.basename(meta.path)}.setup.log`);
  const runSetup = async (argv: string[]): Promise<void> => {
    const result = await runCommand({
      argv,
      cwd: meta.path,
      env: scrubbedEnv(bootstrap.env ?? {}),
      timeoutMs: bootstrap.setupTimeoutMs ?? 15 * 60_000,
      logFile,
      heartbeat: args.heartbeat,
      signal: args.signal,
      guardRepo: meta.path,
    });
    if (result.cancelled) throw args.signal?.reason ?? new Error('bootstrap cancelled');
    if (result.exitCode !== 0) {
      const why = result.timedOut ? 'timed out' : `exit ${result.exitCode ?? result.signal}`;
      throw new TypedFailure(ErrorType.CommandFailed,
        `bootstrap setup ${argv.join(' ')} failed (${why}); log ${logFile}\n${result.output.slice(-2000)}`, result.timedOut);
    }
  };
  if (setup && setup.length > 0 && bootstrap.caches) {
    await withDepCaches({
      stateDir: args.stateDir, repoRoot, worktree: meta.path, caches: bootstrap.caches, setupAlways: bootstrap.setupAlways,
      logFile, heartbeat: args.heartbeat, signal: args.signal,
    }, () => runSetup(setup));
  } else if (setup && setup.length > 0) await runSetup(setup);
  meta.bootstrapped = true;
  await writeMeta(meta);
}

// ---------------------------------------------------------------------------------------------------------------
// commit

export interface CommitOptions {
  path: string;
  message: string;
  author?: { name: string; email: string };
}

export interface CommitResult {
  commit: string;
  filesChanged: string[];
  committed: boolean;
}

/**
 * Stage everything (`git add -A`, minus files copied by bootstrap) and commit if anything changed. Idempotent: a
 * second call finds nothing staged and returns HEAD with `committed: false`. The committer is always cadre; the
 * author is cadre unless given. No repository lock: a commit only moves this worktree's own branch.
 */
export async function commitWorkspace(options: CommitOptions): Promise<CommitResult> {
  const g = gitFor(options.path);
  const meta = await readMeta(realOrResolved(options.path));
  // Files copied by bootstrap are unstaged after `add`, not excluded from it: git refuses an exclude pathspec that
  // names an ignored file (a copied `.env` usually is), and a reset of a path that matches nothing is a no-op.
  const copied = (meta?.copied ?? []).map((p) => `:(literal)${p}`);
  await git(g, ['add', '-A', '--', '.'], 'staging changes');
  if (copied.length) await git(g, ['reset', '-q', '--', ...copied], 'leaving bootstrap copies out of the commit');
  const staged = await git(g, ['diff', '--cached', '--name-only', '-z'], 'listing staged changes');
  const filesChanged = staged.split('\0').filter((f) => f.length > 0);
  if (filesChanged.length === 0) return { commit: await headCommit(g), filesChanged: [], committed: false };
  const args = ['commit', '--no-verify', '--quiet', '-m', options.message];
  if (options.author) {
    const { name, email } = options.author;
    if (/[<>\n\0]/.test(name + email)) throw new TypedFailure(ErrorType.WorkspaceError, 'invalid author', false);
    args.push(`--author=${name} <${email}>`);
  }
  await git(g, args, 'committing');
  return { commit: await headCommit(g), filesChanged, committed: true };
}

// ---------------------------------------------------------------------------------------------------------------
// remove, diff

export interface RemoveOptions {
  stateDir: string;
  repo: string;
  path: string;
  /**
   * The repository's worktree pool size: an agent worktree goes back to the pool after a clean reset when the pool
   * has room (worktreePool.ts, recycleIntoPool) instead of being deleted. Default 0: always delete (gc).
   */
  worktreePool?: number;
}

/**
 * Remove a worktree and keep its branch. Uncommitted work and commits on no other ref are first saved to a rescue
 * ref (rescue.ts), so nothing is lost. An agent worktree then goes back to the pool after a clean reset when
 * `worktreePool` allows and the pool has room (recycleIntoPool), else it is deleted. Idempotent: a path that is
 * already gone is fine. Refuses any path that is not a worktree directory under `${stateDir}/worktrees`.
 */
export async function removeWorkspace(options: RemoveOptions): Promise<{ removed: boolean; recycled?: boolean; rescue?: Rescue }> {
  const repoRoot = await resolveRepoRoot(options.repo);
  const target = realOrResolved(options.path);
  const root = worktreesRoot(options.stateDir, repoRoot);
  if (!isWithin(root, target) || path.dirname(target) !== root || path.basename(target).startsWith('.')) {
    throw new TypedFailure(ErrorType.WorkspaceError, `refusing to remove ${options.path}: not a cadre worktree of ${repoRoot}`, false);
  }
  return withRepoLock(options.stateDir, repoRoot, async () => {
    const g = gitFor(repoRoot);
    const registered = (await listWorktrees(repoRoot)).some((w) => realOrResolved(w.path) === target);
    const existed = fs.existsSync(target);
    // Save before delete: a process killed after this line leaves the work on a rescue ref.
    const meta = registered ? await readMeta(target) : undefined;
    const rescue = registered ? await saveRescue(repoRoot, target, meta?.copied ?? []) : undefined;
    if (rescue) {
      logger().child({ component: 'workspace' }).warn({ worktree: target, ref: rescue.ref, commit: rescue.commit, reason: rescue.reason },
        `saved unsaved work of ${target} to ${rescue.ref} before removing it`);
    }
    const pool = { stateDir: options.stateDir, repoRoot, root: realOrResolved(root), size: options.worktreePool ?? 0 };
    // Recycling only saves the next agent a checkout: when it fails, the worktree is removed as usual.
    const recycled = meta?.kind === 'agent' && (await recycleIntoPool(pool, target).catch((err: unknown) => {
      logger().child({ component: 'workspace' }).warn({ worktree: target, err: (err as Error).message }, `could not recycle ${target}; removing it`);
      return false;
    }));
    if (registered && !recycled && fs.existsSync(target)) await git(g, ['worktree', 'remove', '--force', '--force', target], 'removing worktree');
    await fs.promises.rm(target, { recursive: true, force: true });
    await git(g, ['worktree', 'prune'], 'pruning worktrees');
    await fs.promises.rm(metaPathFor(target), { force: true });
    return { removed: registered || existed, ...(recycled ? { recycled } : {}), ...(rescue ? { rescue } : {}) };
  });
}

export interface DiffOptions {
  repo: string;
  branch: string;
  /** Compared from the merge base of base and branch (`base...branch`), so later changes on base do not show. */
  base: string;
}

export async function diffStat(options: DiffOptions): Promise<string> {
  assertRef(options.branch, 'branch');
  assertRef(options.base, 'base');
  const g = gitFor(await resolveRepoRoot(options.repo));
  return git(g, ['diff', '--stat=120', '--end-of-options', `${options.base}...${options.branch}`], 'diffing');
}

export async function changedFiles(options: DiffOptions): Promise<string[]> {
  assertRef(options.branch, 'branch');
  assertRef(options.base, 'base');
  const g = gitFor(await resolveRepoRoot(options.repo));
  const out = await git(g, ['diff', '--name-only', '-z', '--end-of-options', `${options.base}...${options.branch}`], 'diffing');
  return out.split('\0').filter((f) => f.length > 0);
}

export interface LiveChanges {
  paths: string[];
  /** More paths changed than `paths` holds. */
  truncated: boolean;
}

/**
 * What an agent's workspace has changed so far, as the scheduler's live overlap check sees it: paths differing
 * between the branch's base commit and the working tree (committed on the branch, staged or not) plus untracked,
 * not ignored files, without the files bootstrap copied in. Read-only and without optional locks, so it never
 * gets in the way of the agent's own git commands. No workspace (not created yet, or already removed): nothing.
 */
export async function liveChangedPaths(stateDir: string, repo: string, agentId: string, cap: number): Promise<LiveChanges> {
  const repoRoot = await resolveRepoRoot(repo);
  const dir = path.join(worktreesRoot(stateDir, repoRoot), sanitizeRef(agentId));
  const meta = await readMeta(dir);
  if (!meta || meta.ownerId !== agentId || !fs.existsSync(dir)) return { paths: [], truncated: false };
  const g = gitFor(dir, { GIT_OPTIONAL_LOCKS: '0' });
  const [tracked, untracked] = await Promise.all([
    git(g, ['diff', '--name-only', '--no-renames', '-z', meta.baseCommit, '--'], 'diffing a workspace'),
    git(g, ['ls-files', '--others', '--exclude-standard', '-z'], 'listing untracked files'),
  ]);
  const copied = new Set(meta.copied ?? []);
  const all = [...new Set([...tracked.split('\0'), ...untracked.split('\0')])].filter((f) => f.length > 0 && !copied.has(f)).sort();
  return { paths: all.slice(0, cap), truncated: all.length > cap };
}

// ---------------------------------------------------------------------------------------------------------------
// listing for the file tools

/**
 * Files under `sub` (relative to `dir`) as git sees them: tracked plus untracked-but-not-ignored, relative to `dir`.
 * Undefined when `dir` is not inside a git work tree. Tracked files deleted from disk are left out.
 */
export async function gitListFiles(dir: string, sub = '.'): Promise<string[] | undefined> {
  let out: string;
  try {
    out = await gitFor(dir).raw(['ls-files', '--cached', '--others', '--exclude-standard', '-z', '--', sub]);
  } catch {
    return undefined;
  }
  const files = [...new Set(out.split('\0').filter((f) => f.length > 0))];
  return files.filter((f) => fs.existsSync(path.join(dir, f))).sort();
}

// ---------------------------------------------------------------------------------------------------------------
// gc

export interface OrphanWorktree {
  path: string;
  /** Set by gcWorktrees when the worktree's unsaved work was saved before removal. */
  rescue?: Rescue;
  kind?: WorkspaceKind;
  ownerId?: string;
  branch?: string;
}

/** Liveness of the workflow owning a worktree: an agent id, or a run id for integration worktrees. */
export type IsLive = (ownerId: string, kind: WorkspaceKind) => Promise<boolean>;

/**
 * Worktree directories under the state directory whose owning workflow is not running. A directory without metadata
 * has no known owner and counts as an orphan (metadata is written before every `worktree add`).
 */
export async function findOrphanWorktrees(stateDir: string, repo: string, isLive: IsLive): Promise<OrphanWorktree[]> {
  const repoRoot = await resolveRepoRoot(repo);
  const root = worktreesRoot(stateDir, repoRoot);
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(root, { withFileTypes: true });
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return [];
    throw err;
  }
  const orphans: OrphanWorktree[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = path.join(realOrResolved(root), entry.name);
    const meta = await readMeta(dir);
    if (meta && (await isLive(meta.ownerId, meta.kind))) continue;
    orphans.push({ path: dir, kind: meta?.kind, ownerId: meta?.ownerId, branch: meta?.branch });
  }
  return orphans;
}

export interface GcResult {
  removed: OrphanWorktree[];
  /** Pool entries removed (with dryRun: that would be). They are disposable checkouts, see worktreePool.ts. */
  pool: string[];
  /** Metadata files whose worktree directory no longer exists, deleted. */
  staleMeta: number;
}

/**
 * `cadre gc` for one repository: remove orphan worktrees (keeping their branches) and the worktree pool (entries
 * another live process is still populating excepted), then `git worktree prune`.
 */
export async function gcWorktrees(stateDir: string, repo: string, isLive: IsLive, options: { dryRun?: boolean } = {}): Promise<GcResult> {
  const repoRoot = await resolveRepoRoot(repo);
  const orphans = await findOrphanWorktrees(stateDir, repoRoot, isLive);
  const pool = await drainPool({ stateDir, repoRoot, root: realOrResolved(worktreesRoot(stateDir, repoRoot)) }, options);
  let staleMeta = 0;
  if (!options.dryRun) {
    for (const orphan of orphans) {
      const r = await removeWorkspace({ stateDir, repo: repoRoot, path: orphan.path });
      if (r.rescue) orphan.rescue = r.rescue;
    }
    const metaDir = path.join(worktreesRoot(stateDir, repoRoot), META_DIR);
    const metas = await fs.promises.readdir(metaDir).catch(() => [] as string[]);
    for (const file of metas) {
      if (file.endsWith('.json') && !fs.existsSync(path.join(path.dirname(metaDir), file.slice(0, -'.json'.length)))) {
        await fs.promises.rm(path.join(metaDir, file), { force: true });
        staleMeta++;
      }
    }
    await withRepoLock(stateDir, repoRoot, async () => {
      await git(gitFor(repoRoot), ['worktree', 'prune'], 'pruning worktrees');
    });
  }
  return { removed: orphans, pool, staleMeta };
}

/** Repositories that have (or had) cadre worktrees in this state directory, from their metadata and pools. */
export async function knownRepos(stateDir: string): Promise<string[]> {
  const base = path.join(realOrResolved(stateDir), 'worktrees');
  const repos = new Set<string>();
  const keys = await fs.promises.readdir(base).catch(() => [] as string[]);
  for (const key of keys) {
    const pooled = await poolRepo(path.join(base, key));
    if (pooled) repos.add(pooled);
    const metas = await fs.promises.readdir(path.join(base, key, META_DIR)).catch(() => [] as string[]);
    for (const file of metas.filter((f) => f.endsWith('.json'))) {
      try {
        const meta = JSON.parse(await fs.promises.readFile(path.join(base, key, META_DIR, file), 'utf8')) as WorkspaceMeta;
        repos.add(meta.repo);
      } catch (err) {
        if (!(err instanceof SyntaxError) && (err as { code?: string }).code !== 'ENOENT') throw err;
      }
    }
  }
  return [...repos].sort();
}
