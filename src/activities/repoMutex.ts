/**
 * One lock per shared repository for git operations that change it as a whole: worktree add/remove/prune, branch
 * creation, merges into shared branches. Git protects itself with its own lock files, but it fails rather than
 * waits when it finds one taken (`index.lock: File exists`, `cannot lock ref`), so eight agents starting together
 * would see spurious failures without this.
 *
 * Two layers, taken in this order:
 *  1. in-process: a promise chain per repository key, so calls inside one worker queue up in arrival order without
 *     polling the file system;
 *  2. across processes: a proper-lockfile lock on `${stateDir}/locks/<repoKey>`, with retries (bounded wait) and
 *     stale detection (a lock whose holder died is taken over after `staleMs`; a live holder keeps refreshing it).
 *
 * A holder killed on this host (the worker got `kill -9` inside a git operation) should not stall every other git
 * operation for `staleMs`: the holder writes its identity (./processIdentity.ts) next to the lock, `<lock>.owner`,
 * and removes it before it releases, so an owner file always names the live holder or one that died holding. A
 * waiter that finds the owner is a dead process of this host and the lock not refreshed for BREAK_AFTER_MS (a live
 * holder refreshes it every second) breaks it at once. A fresh lock is never broken: the only window is a holder
 * stalled for BREAK_AFTER_MS between taking the lock and writing its owner file.
 *
 * Hazard: the lock only orders cadre's own operations. A person running git in the same repository at the same time
 * can still make an operation fail; those failures are reported as retryable.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { ErrorType, TypedFailure } from '../shared/errors';
import { repoKey } from './paths';
import { isDeadLocalProcess, processIdentity } from './processIdentity';

export interface RepoLockOptions {
  /** How long to wait for another process to release the lock before giving up (retryable). Default 120 s. */
  waitMs?: number;
  /** After how long an un-refreshed lock is considered abandoned. Default 30 s (the holder refreshes every 15 s). */
  staleMs?: number;
}

const chains = new Map<string, Promise<void>>();

/** The file locked across processes for `repoPath` (the lock itself is the directory `<this>.lock`). */
export function repoLockPath(stateDir: string, repoPath: string): string {
  return path.join(stateDir, 'locks', `repo-${repoKey(repoPath)}`);
}

/**
 * Run `fn` while holding the repository's lock, in-process and across processes. The in-process turn is released
 * even when `fn` throws. If the cross-process lock is found compromised while `fn` ran (our refreshes failed and
 * someone else may have taken it over), a retryable failure is thrown after `fn` finishes: everything run under this
 * lock is idempotent, so the retry converges.
 */
export async function withRepoLock<T>(
  stateDir: string,
  repoPath: string,
  fn: () => Promise<T>,
  options: RepoLockOptions = {},
): Promise<T> {
  const key = repoKey(repoPath);
  const previous = chains.get(key) ?? Promise.resolve();
  let releaseTurn!: () => void;
  const turn = new Promise<void>((resolve) => {
    releaseTurn = resolve;
  });
  const tail = previous.then(() => turn);
  chains.set(key, tail);
  await previous;
  try {
    return await withFileLock(repoLockPath(stateDir, repoPath), fn, options);
  } finally {
    releaseTurn();
    if (chains.get(key) === tail) chains.delete(key);
  }
}

/** A live holder refreshes the lock's mtime this often; a dead local owner's lock is broken once it is this old × 2. */
const REFRESH_MS = 1_000;
const BREAK_AFTER_MS = 2 * REFRESH_MS;

const ownerFile = (target: string): string => `${target}.owner`;

async function withFileLock<T>(target: string, fn: () => Promise<T>, options: RepoLockOptions): Promise<T> {
  // A dead holder's lock is taken over after 10 s (sooner when it is a dead process of this host, see above).
  const staleMs = options.staleMs ?? 10_000;
  const waitMs = options.waitMs ?? 120_000;
  await fs.mkdir(path.dirname(target), { recursive: true });
  let compromised: Error | undefined;
  const release = await acquire(target, staleMs, waitMs, (err) => {
    compromised = err;
  });
  await writeOwner(target);
  try {
    const result = await fn();
    if (compromised) {
      throw new TypedFailure(ErrorType.WorkspaceError, `repository lock ${target} was lost while held: ${compromised.message}`, true);
    }
    return result;
  } finally {
    if (!compromised) {
      await fs.rm(ownerFile(target), { force: true });
      await release().catch((err: unknown) => {
        // Releasing a lock someone else already took over is harmless; anything else is worth surfacing.
        if ((err as { code?: string }).code !== 'ERELEASED') throw err;
      });
    }
  }
}

/**
 * Poll for the lock until `waitMs` has passed: exponential back-off from 25 ms up to 500 ms, with jitter so that
 * waiting processes do not retry in lockstep. proper-lockfile removes a lock whose mtime is older than `staleMs`
 * (its holder died) and refreshes ours every staleMs/2 while we hold it.
 */
async function acquire(target: string, staleMs: number, waitMs: number, onCompromised: (err: Error) => void): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  let delay = 25;
  for (;;) {
    try {
      return await lockfile.lock(target, { realpath: false, stale: staleMs, update: Math.min(REFRESH_MS, Math.floor(staleMs / 2)), retries: 0, onCompromised });
    } catch (err) {
      if ((err as { code?: string }).code !== 'ELOCKED') throw err;
      if (await brokeDeadOwnersLock(target)) continue;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TypedFailure(ErrorType.WorkspaceError, `repository lock ${target} is held by another process; gave up after ${waitMs} ms`, true);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, delay * (0.5 + Math.random()))));
      delay = Math.min(delay * 1.5, 500);
    }
  }
}

/** The owner file is replaced whole (write, then rename), so a reader never sees half an identity. */
async function writeOwner(target: string): Promise<void> {
  const tmp = `${ownerFile(target)}.${process.pid}.tmp`;
  await fs.writeFile(tmp, processIdentity());
  await fs.rename(tmp, ownerFile(target));
}

/**
 * Break the lock if its owner file names a process of this host that is gone and the lock has not been refreshed
 * for BREAK_AFTER_MS. The owner file is claimed by an atomic rename first, so of several waiters only one breaks it.
 */
async function brokeDeadOwnersLock(target: string): Promise<boolean> {
  const owner = await fs.readFile(ownerFile(target), 'utf8').then((s) => s.trim(), () => undefined);
  if (!owner || !isDeadLocalProcess(owner)) return false;
  const lockDir = `${target}.lock`;
  const stat = await fs.stat(lockDir).catch(() => undefined);
  if (!stat) return true; // released meanwhile: try again now
  if (Date.now() - stat.mtimeMs < BREAK_AFTER_MS) return false;
  const claim = `${ownerFile(target)}.breaking-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await fs.rename(ownerFile(target), claim);
  } catch {
    return false; // another waiter is breaking it
  }
  try {
    if ((await fs.readFile(claim, 'utf8')).trim() !== owner) {
      // A new holder wrote it meanwhile: give it back and leave the lock alone.
      await fs.rename(claim, ownerFile(target)).catch(() => undefined);
      return false;
    }
    await fs.rmdir(lockDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    return true;
  } finally {
    await fs.rm(claim, { force: true });
  }
}
