/**
 * The lock table of one repository: pure, deterministic, plain JSON (so it crosses continue-as-new unchanged).
 * The `fileLocks` workflow feeds it signals and the clock and carries out the effects it returns.
 *
 * Rules:
 * - A request names a set of canonical paths and is granted all of them at once or none (never a part), so a
 *   holder never waits while holding part of what it asked for. Within a request the paths are taken in sorted
 *   order; all-or-nothing makes that order the only one there is, which is what rules out deadlock between requests.
 * - Two paths conflict when they are equal or one is a directory above the other (`src` and `src/a.ts`).
 * - First come, first served: waiters are considered in arrival order, and a waiter is granted only when none of
 *   its paths conflicts with a holder or with a waiter that arrived before it and is still waiting. A later request
 *   that does not conflict with anyone ahead may go first; one that does can never overtake, so nobody starves.
 * - Each grant gets a fencing token from a counter that only grows, and a lease: it expires unless renewed.
 * - Request ids make everything idempotent: a repeated request is ignored (or, if granted, answered again), a
 *   request whose id was already released or withdrawn is ignored, releasing an unknown id is a no-op that leaves a
 *   tombstone so the request, if it arrives late, is ignored too.
 * - A request marked `ifFree` is granted at once or answered `busy` and forgotten; it never waits (nor makes anyone
 *   behind it wait).
 */
import {
  MAX_LEASE_MS,
  MAX_PATHS_PER_REQUEST,
  MIN_LEASE_MS,
  type LockHolderView,
  type LockLostReason,
  type LockRequest,
  type LockStats,
  type LockWaiterView,
  type LocksView,
} from '../../shared/locks';

export interface Waiter {
  requestId: string;
  holderId: string;
  paths: string[];
  leaseMs: number;
  label?: string;
  requestedAt: number;
}

export interface Holder extends Waiter {
  token: number;
  grantedAt: number;
  renewedAt: number;
  expiresAt: number;
}

export interface LockTableState {
  nextToken: number;
  /** In grant order. */
  holders: Holder[];
  /** In arrival order: the order of service. */
  waiters: Waiter[];
  /** Ids of requests that ended (released, withdrawn, expired, refused), oldest first, at most FINISHED_CAP. */
  finished: string[];
  stats: LockStats;
}

export type LockEffect =
  | { kind: 'grant'; holder: Holder }
  | { kind: 'lost'; holderId: string; requestId: string; reason: LockLostReason; message: string };

/**
 * How many ended request ids are remembered. Repeats of a signal arrive within seconds of the original (a retried
 * activity, a redelivered signal), so a window of the last few thousand ids is plenty and keeps the state small.
 */
export const FINISHED_CAP = 4096;

export function newLockTable(firstToken = 1): LockTableState {
  return { nextToken: firstToken, holders: [], waiters: [], finished: [], stats: { granted: 0, released: 0, expired: 0, refused: 0 } };
}

/** True when a lock on `a` and a lock on `b` cannot be held at once: same path, or one is a directory above the other. */
export function pathsConflict(a: string, b: string): boolean {
  if (a === b) return true;
  return a.length < b.length ? b.startsWith(`${a}/`) : a.startsWith(`${b}/`);
}

export function setsConflict(a: readonly string[], b: readonly string[]): boolean {
  return a.some((x) => b.some((y) => pathsConflict(x, y)));
}

/** Why `path` is not a canonical lock path, or undefined when it is. The activity canonicalizes; this double-checks. */
export function nonCanonicalReason(path: string): string | undefined {
  if (typeof path !== 'string' || path.length === 0) return 'empty path';
  if (path.includes('\0')) return 'path contains a NUL byte';
  if (path.startsWith('/')) return `${path} is absolute`;
  if (path.includes('\\')) return `${path} contains a backslash`;
  const parts = path.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return `${path} is not normalized`;
  return undefined;
}

/** Sorted, without duplicates: the one order every request takes its paths in. */
export function sortedUnique(paths: readonly string[]): string[] {
  return [...new Set(paths)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function rememberFinished(t: LockTableState, requestId: string): void {
  if (t.finished.includes(requestId)) return;
  t.finished.push(requestId);
  if (t.finished.length > FINISHED_CAP) t.finished.splice(0, t.finished.length - FINISHED_CAP);
}

function refusal(req: LockRequest): string | undefined {
  if (!req || typeof req.requestId !== 'string' || !req.requestId) return 'request without a request id';
  if (typeof req.holderId !== 'string' || !req.holderId) return 'request without a holder id';
  if (!Array.isArray(req.paths) || req.paths.length === 0) return 'request names no paths';
  if (req.paths.length > MAX_PATHS_PER_REQUEST) return `request names ${req.paths.length} paths (at most ${MAX_PATHS_PER_REQUEST})`;
  for (const p of req.paths) {
    const why = nonCanonicalReason(p);
    if (why) return why;
  }
  if (!Number.isFinite(req.leaseMs) || req.leaseMs < MIN_LEASE_MS || req.leaseMs > MAX_LEASE_MS) {
    return `lease ${req.leaseMs} ms is outside ${MIN_LEASE_MS}..${MAX_LEASE_MS} ms`;
  }
  return undefined;
}

/** Grants every waiter that can be granted now, in arrival order (see the rules above). */
function grantReady(t: LockTableState, now: number): LockEffect[] {
  const effects: LockEffect[] = [];
  const taken: string[][] = t.holders.map((h) => h.paths);
  const still: Waiter[] = [];
  for (const w of t.waiters) {
    if (taken.some((paths) => setsConflict(w.paths, paths))) {
      still.push(w);
    } else {
      const holder: Holder = { ...w, token: t.nextToken++, grantedAt: now, renewedAt: now, expiresAt: now + w.leaseMs };
      t.holders.push(holder);
      t.stats.granted++;
      effects.push({ kind: 'grant', holder });
    }
    // Granted or not, nobody behind it may take these paths: a waiter keeps its place in line.
    taken.push(w.paths);
  }
  t.waiters = still;
  return effects;
}

/** A holder asks for a set of paths. */
export function request(t: LockTableState, req: LockRequest, now: number): LockEffect[] {
  const held = t.holders.find((h) => h.requestId === req.requestId);
  // A repeat of a granted request: answer again, in case the first answer is what went missing.
  if (held) return held.holderId === req.holderId ? [{ kind: 'grant', holder: held }] : [];
  if (t.waiters.some((w) => w.requestId === req.requestId) || t.finished.includes(req.requestId)) return [];
  const why = refusal(req);
  if (why) {
    t.stats.refused++;
    if (typeof req?.requestId === 'string' && req.requestId) rememberFinished(t, req.requestId);
    if (typeof req?.holderId !== 'string' || !req.holderId || typeof req.requestId !== 'string' || !req.requestId) return [];
    return [{ kind: 'lost', holderId: req.holderId, requestId: req.requestId, reason: 'refused', message: `lock request refused: ${why}` }];
  }
  t.waiters.push({
    requestId: req.requestId,
    holderId: req.holderId,
    paths: sortedUnique(req.paths),
    leaseMs: req.leaseMs,
    ...(req.label ? { label: String(req.label).slice(0, 200) } : {}),
    requestedAt: now,
  });
  const effects = grantReady(t, now);
  if (req.ifFree === true && t.waiters.some((w) => w.requestId === req.requestId)) {
    // Not free now, and the holder will not wait: forget the request (a repeat of it is ignored) and say so.
    t.waiters = t.waiters.filter((w) => w.requestId !== req.requestId);
    rememberFinished(t, req.requestId);
    effects.push({ kind: 'lost', holderId: req.holderId, requestId: req.requestId, reason: 'busy', message: `${sortedUnique(req.paths).join(', ')} is taken` });
  }
  return effects;
}

/** True while `requestId` waits in the queue (asked, neither granted nor ended). */
export function isWaiting(t: LockTableState, requestId: string): boolean {
  return t.waiters.some((w) => w.requestId === requestId);
}

/**
 * A holder releases grants or withdraws waiting requests: the ids given, or with `requestIds` undefined everything
 * it has here. Only the holder that asked can release; ids of other holders are left alone.
 */
export function release(t: LockTableState, holderId: string, requestIds: readonly string[] | undefined, now: number): LockEffect[] {
  const mine = (x: Waiter) => x.holderId === holderId && (requestIds === undefined || requestIds.includes(x.requestId));
  const ended = [...t.holders.filter(mine), ...t.waiters.filter(mine)];
  if (ended.length === 0 && requestIds === undefined) return [];
  t.holders = t.holders.filter((h) => !mine(h));
  t.waiters = t.waiters.filter((w) => !mine(w));
  t.stats.released += ended.length;
  for (const e of ended) rememberFinished(t, e.requestId);
  // Tombstones for ids we never saw, so the request is ignored if it arrives after its release.
  for (const id of requestIds ?? []) {
    const other = t.holders.some((h) => h.requestId === id) || t.waiters.some((w) => w.requestId === id);
    if (!other) rememberFinished(t, id);
  }
  return ended.length ? grantReady(t, now) : [];
}

/** A holder extends its grants by their lease from now. Ids it does not hold are answered `lost`. */
export function renew(t: LockTableState, holderId: string, requestIds: readonly string[], now: number): LockEffect[] {
  const effects: LockEffect[] = [];
  for (const id of requestIds) {
    const h = t.holders.find((x) => x.requestId === id && x.holderId === holderId);
    if (h) {
      h.renewedAt = now;
      h.expiresAt = Math.max(h.expiresAt, now + h.leaseMs);
    } else if (!t.waiters.some((w) => w.requestId === id && w.holderId === holderId)) {
      effects.push({ kind: 'lost', holderId, requestId: id, reason: 'unknown', message: `lock ${id} is not held (its lease expired or it was released)` });
    }
  }
  return effects;
}

/** Ends every lease that is due at `now` and grants what that frees. */
export function expire(t: LockTableState, now: number): LockEffect[] {
  const due = t.holders.filter((h) => h.expiresAt <= now);
  if (due.length === 0) return [];
  t.holders = t.holders.filter((h) => h.expiresAt > now);
  const effects: LockEffect[] = [];
  for (const h of due) {
    t.stats.expired++;
    rememberFinished(t, h.requestId);
    effects.push({
      kind: 'lost',
      holderId: h.holderId,
      requestId: h.requestId,
      reason: 'expired',
      message: `lease on ${h.paths.join(', ')} expired (not renewed for ${h.leaseMs} ms); token ${h.token} is no longer valid`,
    });
  }
  return [...effects, ...grantReady(t, now)];
}

/** The earliest lease end, or undefined when nothing is held. */
export function nextDeadline(t: LockTableState): number | undefined {
  let min: number | undefined;
  for (const h of t.holders) if (min === undefined || h.expiresAt < min) min = h.expiresAt;
  return min;
}

export function holderViews(t: LockTableState, now: number): LockHolderView[] {
  return t.holders.map((h) => ({
    requestId: h.requestId,
    holderId: h.holderId,
    ...(h.label ? { label: h.label } : {}),
    paths: h.paths,
    token: h.token,
    leaseMs: h.leaseMs,
    grantedAt: h.grantedAt,
    renewedAt: h.renewedAt,
    expiresAt: h.expiresAt,
    heldMs: Math.max(0, now - h.grantedAt),
    expiresInMs: h.expiresAt - now,
  }));
}

export function waiterViews(t: LockTableState, now: number): LockWaiterView[] {
  return t.waiters.map((w, i) => ({
    requestId: w.requestId,
    holderId: w.holderId,
    ...(w.label ? { label: w.label } : {}),
    paths: w.paths,
    requestedAt: w.requestedAt,
    waitingMs: Math.max(0, now - w.requestedAt),
    blockedBy: [
      ...t.holders.filter((h) => setsConflict(h.paths, w.paths)).map((h) => h.requestId),
      ...t.waiters.slice(0, i).filter((o) => setsConflict(o.paths, w.paths)).map((o) => o.requestId),
    ],
  }));
}

/** What `cadre locks` shows: the table at `now`, with where it lives (the query, and the CLI's read of history). */
export function locksView(t: LockTableState, where: { repoKey: string; repo?: string; lockWorkflowId: string; generation: number }, now: number): LocksView {
  return {
    repoKey: where.repoKey,
    ...(where.repo ? { repo: where.repo } : {}),
    lockWorkflowId: where.lockWorkflowId,
    now,
    nextToken: t.nextToken,
    generation: where.generation,
    holders: holderViews(t, now),
    waiters: waiterViews(t, now),
    stats: { ...t.stats },
  };
}
