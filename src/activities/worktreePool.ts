/**
 * A pool of ready worktrees per (state directory, repository). A new agent workspace is then a pool entry renamed
 * into place and switched to the agent's branch, which checks out only the difference between the entry's commit
 * and the base, instead of a `git worktree add` that writes every file of the repository under the repository lock.
 *
 * Layout, under the repository's worktree root `${stateDir}/worktrees/<repoKey>`:
 *   .pool/<pid>-<hex>         an entry: a detached worktree; <pid> is the process that created it (or adopted it)
 *   .pool/<pid>-<hex>.ready   {"commit"}: the entry is populated, clean and at that commit; written last
 *   .pool/repo.json           {"repo"}: lets `cadre gc` find a pool whose agent workspaces (and metadata) are gone
 *   .pool/.trash/<name>       discarded entries, unregistered by the next `worktree prune`, deleted outside the lock
 * The leading dot keeps the pool out of everything that handles agent worktrees: removeWorkspace, gc's orphan
 * listing and assertCadreWorktree all skip dot names.
 *
 * An entry's state is read from the files alone:
 *   ready      its marker exists. Only a claim or a refill holding the repository lock takes a marker away.
 *   in flight  no marker, and its creator is another live process, which is populating it.
 *   debris     no marker, and its creator is dead, or is this process (whose refills of one pool run one at a time,
 *              so none of its entries is in flight when a refill looks). Discarded by the next refill.
 *
 * Claim (claimEntry, by createWorkspace under the repository lock): the ready entry at the base commit, else the
 * newest ready one. Its marker goes first, so no other claim or refill can use it whatever happens next; then it is
 * checked (registered, detached at the marker's commit, clean) and a broken entry goes to the trash.
 *
 * Refill (requestRefill, in the background: an activity never waits for it) keeps `size` ready entries at the
 * latest requested commit. Under the lock it only runs `git worktree add --no-checkout --detach` and moves markers
 * and entries (milliseconds). The files are written outside the lock by `git read-tree -u --reset HEAD` inside the
 * new entry: read-tree writes only that worktree's own index (in .git/worktrees/<name>) and files and reads shared
 * objects, never a ref or another worktree's index, so it cannot disturb an operation holding the lock. A stale ready
 * entry is moved to the new commit the same way (`git checkout --detach`, which also writes only that worktree's
 * HEAD, index and files). Refills of one pool run one at a time in this process; failures are logged and dropped,
 * because the pool is a cache and createWorkspace falls back to `git worktree add` when it is empty.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { logger } from '../node/logger';
import { git, gitFor, realOrResolved, type WorktreeEntry } from './git';
import { withRepoLock } from './repoMutex';

const POOL_DIR = '.pool';
const TRASH_DIR = '.trash';
const READY_SUFFIX = '.ready';
const REPO_FILE = 'repo.json';

export interface WorktreePool {
  stateDir: string;
  repoRoot: string;
  /** The repository's worktree root, `${stateDir}/worktrees/<repoKey>`, as a real path. */
  root: string;
  /** Ready entries to keep; 0 turns the pool off. */
  size: number;
}

/** Where a pool is, without its size (gc). */
export type PoolPlace = Omit<WorktreePool, 'size'>;

export interface PoolEntry {
  name: string;
  path: string;
  /** The commit the entry has checked out, detached. */
  commit: string;
}

function poolDir(root: string): string {
  return path.join(root, POOL_DIR);
}

function markerPath(dir: string, name: string): string {
  return path.join(dir, `${name}${READY_SUFFIX}`);
}

/**
 * True for a path inside a pool (an entry, or a discarded one not yet pruned): what counts agent worktrees in
 * `git worktree list` must leave these out.
 */
export function isPoolPath(p: string): boolean {
  const parent = path.basename(path.dirname(p));
  return parent === POOL_DIR || (parent === TRASH_DIR && path.basename(path.dirname(path.dirname(p))) === POOL_DIR);
}

const log = () => logger().child({ component: 'worktree-pool' });

function isMissing(err: unknown): boolean {
  return (err as { code?: string }).code === 'ENOENT';
}

// ---------------------------------------------------------------------------------------------------------------
// reading the pool

interface Scan {
  /** Newest first. */
  ready: (PoolEntry & { mtimeMs: number })[];
  inFlight: string[];
  debris: string[];
}

/** A fresh entry name owned by this process. */
function newName(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

function creator(name: string): number | undefined {
  const pid = Number(name.split('-')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function ownedHere(name: string): boolean {
  return creator(name) === process.pid;
}

/** Whether another live process created this entry (and so may be populating it right now). */
function busyElsewhere(name: string): boolean {
  const pid = creator(name);
  if (pid === undefined || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

async function readMarker(dir: string, name: string): Promise<{ commit: string; mtimeMs: number } | undefined> {
  const file = markerPath(dir, name);
  try {
    const [text, stat] = await Promise.all([fs.promises.readFile(file, 'utf8'), fs.promises.stat(file)]);
    const commit = (JSON.parse(text) as { commit?: unknown }).commit;
    return typeof commit === 'string' ? { commit, mtimeMs: stat.mtimeMs } : undefined;
  } catch (err) {
    if (isMissing(err) || err instanceof SyntaxError) return undefined; // not ready, or a marker torn by a crash
    throw err;
  }
}

async function scan(dir: string): Promise<Scan> {
  const result: Scan = { ready: [], inFlight: [], debris: [] };
  let dirents: fs.Dirent[];
  try {
    dirents = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return result;
    throw err;
  }
  for (const d of dirents) {
    if (!d.isDirectory() || d.name.startsWith('.')) continue;
    const marker = await readMarker(dir, d.name);
    if (marker) result.ready.push({ name: d.name, path: path.join(dir, d.name), ...marker });
    else if (busyElsewhere(d.name)) result.inFlight.push(d.name);
    else result.debris.push(d.name);
  }
  result.ready.sort((a, b) => b.mtimeMs - a.mtimeMs);
  return result;
}

/** The repository a pool belongs to, for `cadre gc` (undefined when there is no pool). */
export async function poolRepo(root: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await fs.promises.readFile(path.join(poolDir(root), REPO_FILE), 'utf8')) as { repo?: string }).repo;
  } catch (err) {
    if (isMissing(err) || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// claim

/**
 * Take a usable ready entry out of the pool, or undefined when there is none. The caller holds the repository lock
 * and passes the registered worktrees it listed under it (after `worktree prune`, so a deleted entry is not there).
 * Entries that fail the check are moved to the trash, never returned.
 */
export async function claimEntry(root: string, registered: WorktreeEntry[], baseCommit: string): Promise<PoolEntry | undefined> {
  const dir = poolDir(root);
  const { ready } = await scan(dir);
  const ordered = [...ready.filter((e) => e.commit === baseCommit), ...ready.filter((e) => e.commit !== baseCommit)];
  for (const entry of ordered) {
    await fs.promises.rm(markerPath(dir, entry.name), { force: true });
    const problem = await whyUnusable(entry, registered);
    if (!problem) return { name: entry.name, path: entry.path, commit: entry.commit };
    log().warn({ entry: entry.path }, `discarding pool entry ${entry.path}: ${problem}`);
    await trash(dir, entry.name);
  }
  return undefined;
}

async function whyUnusable(entry: PoolEntry, registered: WorktreeEntry[]): Promise<string | undefined> {
  const w = registered.find((r) => realOrResolved(r.path) === entry.path);
  if (!w || !fs.existsSync(entry.path)) return 'not a registered worktree';
  if (!w.detached || w.head !== entry.commit) return `HEAD is ${w.branch ?? w.head ?? 'unknown'}, expected a detached ${entry.commit}`;
  try {
    const status = await git(gitFor(entry.path), ['status', '--porcelain', '--untracked-files=normal'], 'checking the entry');
    return status.trim() ? `it has changes: ${status.trim().split('\n').slice(0, 3).join('; ')}` : undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Out of the pool for good: marker first, then the directory into the trash (its registration is pruned later). */
async function trash(dir: string, name: string): Promise<void> {
  await fs.promises.rm(markerPath(dir, name), { force: true });
  const bin = path.join(dir, TRASH_DIR);
  await fs.promises.mkdir(bin, { recursive: true });
  await fs.promises.rename(path.join(dir, name), path.join(bin, name)).catch((err: unknown) => {
    if (!isMissing(err)) throw err;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// refill

/**
 * The repository lock, for one step of a background refill or gc. Refused once the worktree root is gone (a deleted
 * state directory): taking the lock would create `${stateDir}/locks` again.
 */
async function underLock<T>(pool: PoolPlace, fn: () => Promise<T>): Promise<T> {
  if (!fs.existsSync(pool.root)) throw new Error(`${pool.root} no longer exists`);
  return withRepoLock(pool.stateDir, pool.repoRoot, fn);
}

interface Refill {
  pool: WorktreePool;
  /** The latest requested commit; new and advanced entries go there. */
  target: string;
  /** Set by a request that arrives during a pass: run another pass (with the newest target) after it. */
  again: boolean;
  done: Promise<void>;
}

const refills = new Map<string, Refill>();

/**
 * Bring the pool to `pool.size` ready entries at `commit`, in the background. Never throws and never rejects: a
 * failed pass is logged and dropped. A request during a pass makes one more pass at the newest commit.
 */
export function requestRefill(pool: WorktreePool, commit: string): void {
  if (pool.size <= 0) return;
  const key = poolDir(pool.root);
  const running = refills.get(key);
  if (running) {
    Object.assign(running, { pool, target: commit, again: true });
    return;
  }
  const refill: Refill = { pool, target: commit, again: true, done: Promise.resolve() };
  refills.set(key, refill);
  refill.done = runRefills(key, refill);
}

/** Resolves when no refill of the pool under `root` is running in this process (tests, the benchmark, gc). */
export function poolSettled(root: string): Promise<void> {
  return refills.get(poolDir(root))?.done ?? Promise.resolve();
}

async function runRefills(key: string, refill: Refill): Promise<void> {
  while (refill.again) {
    refill.again = false;
    try {
      await refillOnce(refill);
    } catch (err) {
      report(refill.pool, err);
    }
  }
  // In the same synchronous step as the last check of `again`: a later request starts a new run.
  refills.delete(key);
}

function report(pool: WorktreePool, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  // A state directory or repository deleted under the pool (a test's temporary directory) is not worth a warning.
  const gone = !fs.existsSync(pool.root) || !fs.existsSync(pool.repoRoot);
  log()[gone ? 'debug' : 'warn']({ repo: pool.repoRoot }, `worktree pool refill failed: ${message}`);
}

async function refillOnce(refill: Refill): Promise<void> {
  const { pool, target } = refill;
  // Nothing to keep warm once the state directory is gone, and the steps below must not create it again.
  if (!fs.existsSync(pool.root)) return;
  const dir = poolDir(pool.root);
  const { ready, inFlight, debris } = await scan(dir);
  const places = Math.max(0, pool.size - inFlight.length);
  const keep = [...ready.filter((e) => e.commit === target), ...ready.filter((e) => e.commit !== target)].slice(0, places);
  const drop = ready.filter((e) => !keep.includes(e));
  await clearOut(pool, debris, drop);
  let count = inFlight.length;
  for (const entry of keep) {
    if (refill.again) return;
    if (entry.commit === target || (await advance(pool, entry, target))) count++;
  }
  while (count < pool.size && !refill.again) {
    await addEntry(pool, target);
    count++;
  }
}

/**
 * Trash debris and surplus entries, forget the registrations of everything in the trash (`worktree prune`, under
 * the lock), then delete the trash outside the lock: removing a checkout of a large repository takes seconds.
 */
async function clearOut(pool: PoolPlace, debris: string[], surplus: PoolEntry[]): Promise<void> {
  const dir = poolDir(pool.root);
  const bin = path.join(dir, TRASH_DIR);
  const binned = await fs.promises.readdir(bin).catch(() => [] as string[]);
  if (debris.length === 0 && surplus.length === 0 && binned.length === 0) return;
  await underLock(pool, async () => {
    // An entry that got its marker since the scan (a recycled worktree) is ready, not debris.
    for (const name of debris) if (!fs.existsSync(markerPath(dir, name))) await trash(dir, name);
    // A surplus entry whose marker is gone was claimed meanwhile: not ours to throw away.
    for (const e of surplus) if (fs.existsSync(markerPath(dir, e.name))) await trash(dir, e.name);
    await git(gitFor(pool.repoRoot), ['worktree', 'prune'], 'pruning discarded pool entries');
  });
  for (const name of await fs.promises.readdir(bin).catch(() => [] as string[])) {
    await fs.promises.rm(path.join(bin, name), { recursive: true, force: true, maxRetries: 2 });
  }
}

/**
 * Move a ready entry at an older commit to `target`: only the difference is checked out. Under the lock its marker
 * is taken (false when a claim took it first) and an entry made by another (dead) process is renamed to one of
 * ours, so no other process takes it for debris while it is being worked on.
 */
async function advance(pool: WorktreePool, entry: PoolEntry, target: string): Promise<boolean> {
  const dir = poolDir(pool.root);
  const taken = await underLock(pool, async () => {
    if (!fs.existsSync(markerPath(dir, entry.name))) return undefined;
    await fs.promises.rm(markerPath(dir, entry.name), { force: true });
    if (ownedHere(entry.name)) return entry.path;
    const adopted = path.join(dir, newName());
    await git(gitFor(pool.repoRoot), ['worktree', 'move', entry.path, adopted], `adopting pool entry ${entry.path}`);
    return adopted;
  });
  if (!taken) return false;
  await git(gitFor(taken), ['checkout', '-q', '--detach', target], `moving pool entry ${taken} to ${target}`);
  await markReady(pool, taken, target);
  return true;
}

/** A new entry: registered under the lock without files, populated outside it, marked ready last. */
async function addEntry(pool: WorktreePool, target: string): Promise<void> {
  const entry = path.join(poolDir(pool.root), newName());
  await underLock(pool, async () => {
    await ensurePoolDir(pool);
    await git(gitFor(pool.repoRoot), ['worktree', 'add', '--no-checkout', '--detach', entry, target], `adding pool entry ${entry}`);
  });
  await git(gitFor(entry), ['read-tree', '-u', '--reset', 'HEAD'], `populating pool entry ${entry}`);
  await markReady(pool, entry, target);
}

/**
 * Create `.pool` (never the worktree root above it: a state directory deleted meanwhile must stay deleted) and
 * record which repository it belongs to.
 */
async function ensurePoolDir(pool: WorktreePool): Promise<void> {
  const dir = poolDir(pool.root);
  await fs.promises.mkdir(dir).catch((err: unknown) => {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
  });
  const file = path.join(dir, REPO_FILE);
  if (!fs.existsSync(file)) await writeAtomically(file, { repo: pool.repoRoot });
}

/**
 * Check the entry is clean, then write its marker. Git takes a file written in the same second as the index for
 * "racily clean" and reads it again on every status; so the check waits for the next second, and the index it
 * writes then records every file as clean for good: the claim's own check only has to stat them.
 */
async function markReady(pool: PoolPlace, entry: string, commit: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1020 - (Date.now() % 1000)));
  const status = await git(gitFor(entry), ['status', '--porcelain', '--untracked-files=normal'], `checking pool entry ${entry}`);
  if (status.trim()) throw new Error(`pool entry ${entry} is not clean after its checkout: ${status.trim().split('\n')[0]}`);
  await writeAtomically(markerPath(poolDir(pool.root), path.basename(entry)), { commit });
}

async function writeAtomically(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.promises.writeFile(tmp, `${JSON.stringify(value)}\n`);
  await fs.promises.rename(tmp, file);
}

// ---------------------------------------------------------------------------------------------------------------
// recycle

/**
 * What a worktree's own git directory (`.git/worktrees/<name>`) may hold for the worktree to be recycled. Anything
 * else (per-worktree config, sparse-checkout, an unfinished rebase or bisect, per-worktree refs) was left by the
 * agent's programs and could change how git behaves for the next agent: such a worktree is removed instead.
 */
const RECYCLABLE_GITDIR = new Set(['HEAD', 'ORIG_HEAD', 'FETCH_HEAD', 'AUTO_MERGE', 'COMMIT_EDITMSG', 'commondir', 'gitdir', 'index', 'logs']);

/**
 * Put a finished agent's worktree back into the pool instead of removing it: reset (`reset --hard`, then
 * `clean -ffdx`, which also deletes ignored files such as copies and dependency directories), detach at its HEAD,
 * check clean, move under `.pool` and mark ready. The caller holds the repository lock and has saved the worktree's
 * unsaved work (rescue.ts). Returns false, leaving the worktree untouched or merely reset, when the pool is full or
 * the worktree is not fit to hand to another agent (its own git directory holds extra state, or index entries are
 * flagged assume-unchanged or skip-worktree, which would hide changes from the claim's check): the caller then
 * removes it. A crash half way leaves either the worktree in place (removed again by the retry) or an entry without
 * a marker in the pool (debris, discarded by the next refill).
 */
export async function recycleIntoPool(pool: WorktreePool, worktree: string): Promise<boolean> {
  if (pool.size <= 0) return false;
  const dir = poolDir(pool.root);
  const { ready, inFlight } = await scan(dir);
  if (ready.length + inFlight.length >= pool.size) return false;
  const g = gitFor(worktree);
  const gitDir = path.resolve(worktree, (await git(g, ['rev-parse', '--git-dir'], 'finding the worktree git directory')).trim());
  const extra = (await fs.promises.readdir(gitDir)).filter((n) => !RECYCLABLE_GITDIR.has(n));
  if (extra.length > 0) {
    log().info({ worktree, extra }, `not recycling ${worktree}: its git directory holds ${extra.join(', ')}`);
    return false;
  }
  await git(g, ['reset', '-q', '--hard'], 'resetting a worktree for the pool');
  await git(g, ['clean', '-ffdxq'], 'cleaning a worktree for the pool');
  const flagged = (await git(g, ['ls-files', '-v'], 'checking index flags')).split('\n').filter((l) => /^([a-z]|S) /.test(l));
  if (flagged.length > 0) {
    log().info({ worktree }, `not recycling ${worktree}: index entries flagged assume-unchanged or skip-worktree`);
    return false;
  }
  await git(g, ['checkout', '-q', '--detach'], 'detaching a worktree for the pool');
  const commit = (await git(g, ['rev-parse', 'HEAD'], 'reading the recycled commit')).trim();
  const status = await git(g, ['status', '--porcelain', '--untracked-files=normal', '--ignored'], 'checking a recycled worktree');
  if (status.trim()) return false;
  await ensurePoolDir(pool);
  const entry = path.join(dir, newName());
  await git(gitFor(pool.repoRoot), ['worktree', 'move', worktree, entry], `moving ${worktree} into the pool`);
  await writeAtomically(markerPath(dir, path.basename(entry)), { commit });
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// gc

/**
 * `cadre gc`: remove every pool entry except those another live process is populating, and the pool directory once
 * nothing is left in it. Entries are disposable: they hold no one's work. Returns the entries' paths.
 */
export async function drainPool(pool: PoolPlace, options: { dryRun?: boolean } = {}): Promise<string[]> {
  await poolSettled(pool.root);
  const dir = poolDir(pool.root);
  const { ready, debris } = await scan(dir);
  const paths = [...ready.map((e) => e.path), ...debris.map((name) => path.join(dir, name))];
  if (options.dryRun || !fs.existsSync(dir)) return paths;
  await clearOut(pool, debris, ready);
  await underLock(pool, async () => {
    const left = await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => [] as fs.Dirent[]);
    if (!left.some((d) => d.isDirectory() && d.name !== TRASH_DIR)) await fs.promises.rm(dir, { recursive: true, force: true });
  });
  return paths;
}
