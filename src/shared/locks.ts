/**
 * The file-lock protocol between holder workflows and the `fileLocks` workflow of a repository.
 *
 * A holder asks by signal (`lockRequestSignal`, sent with signal-with-start by the `requestLocks` activity, so the
 * lock workflow exists on first use) and is answered by signal (`lockGrantSignal` or `lockLostSignal`) sent to its
 * own workflow id. Renewals and releases are signals too. Every message carries the request id, and every handler
 * on both sides ignores repeats, because a signal may be delivered twice. Wire names are stable strings: they live
 * in history, so renaming one breaks replay.
 *
 * Paths on the wire are canonical: relative to the repository root, forward slashes, no `.`/`..` segments, sorted
 * and without duplicates (see canonicalLockPath in src/activities/lockActivities.ts).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { ErrorType } from './errors';

/** Lease of a grant unless the request asks otherwise; the holder renews every third of it. */
export const DEFAULT_LEASE_MS = 3 * 60_000;
export const MIN_LEASE_MS = 1_000;
export const MAX_LEASE_MS = 24 * 60 * 60_000;
/** At most this many paths in one request: requests and grants live in history. */
export const MAX_PATHS_PER_REQUEST = 500;

/** The lock workflow of a repository, from its repoKey (src/activities/paths.ts). */
export function lockWorkflowId(repoKey: string): string {
  return `locks/${repoKey}`;
}

/** Failure types of the lock protocol (stable strings, like the rest of ErrorType). */
export const LockErrorType = {
  /** The holder does not (or no longer) hold the lock it acted under: its lease expired, or it was released. */
  LockLost: ErrorType.LockLost,
  /** `acquire` gave up waiting after its timeout; the request was withdrawn. */
  LockTimeout: ErrorType.LockTimeout,
  /** The lock workflow refused the request (malformed: no paths, too many paths, bad lease). */
  LockRefused: ErrorType.LockRefused,
} as const;

// ---- holder → lock workflow -------------------------------------------------------------------------------------

export interface LockRequest {
  /** Unique per request, never reused; the idempotency key of the whole exchange. */
  requestId: string;
  /** Workflow id the grant is signalled to. */
  holderId: string;
  /** Canonical, sorted, unique. Granted all together or not at all. */
  paths: string[];
  leaseMs: number;
  /** What the lock is for, shown by `cadre locks` ("task t07", "write src/a.ts"). */
  label?: string;
  /**
   * Grant it now or not at all: a request that would have to wait is answered `lost` with reason `busy` and
   * forgotten (port leases try blocks one after another this way).
   */
  ifFree?: boolean;
}
export const lockRequestSignal = defineSignal<[LockRequest]>('cadre.locks.request');

/**
 * The answer to `lockTryAcquireUpdate`: the grant, or why not — `busy` (taken now; the request is forgotten) or
 * `refused` (malformed). Exactly one of the three.
 */
export interface LockTryAnswer {
  grant?: LockGrant;
  busy?: true;
  refused?: string;
}

/**
 * An `ifFree` request answered in the same call (a Temporal Update) instead of by a grant signal: for a holder that
 * is not a workflow and cannot take signals — an inline command task's activity leasing its port block
 * (src/activities/portActivities.ts). Renewals and releases go by signal as usual; a lost notice is signalled to the
 * holder id, which then names no workflow, so the lock manager frees what it held.
 */
export const lockTryAcquireUpdate = defineUpdate<LockTryAnswer, [LockRequest]>('cadre.locks.tryAcquire');

/**
 * The answer to `lockAcquireUpdate`: the grant when the paths were free, else `queued` (the request waits in the
 * lock table and its grant comes by `lockGrantSignal`, as for a signalled request), or `refused` (malformed, or
 * a request that ended already). Exactly one of the three.
 */
export interface LockAcquireAnswer {
  grant?: LockGrant;
  queued?: true;
  refused?: string;
}

/**
 * A request applied in the call (a Temporal Update) so that a free lock is granted in the answer: the holder learns of
 * its grant when the call returns instead of one signal and one workflow task of its own later. A request that has
 * to wait stays queued and is answered by signal. Same request ids and idempotency as `lockRequestSignal`: a request
 * sent both ways is one request.
 */
export const lockAcquireUpdate = defineUpdate<LockAcquireAnswer, [LockRequest]>('cadre.locks.acquire');

export interface LockRenewal {
  holderId: string;
  /** Grants to extend by their lease from now. An unknown or expired one is answered with `lockLostSignal`. */
  requestIds: string[];
}
export const lockRenewSignal = defineSignal<[LockRenewal]>('cadre.locks.renew');

export interface LockRelease {
  holderId: string;
  /** Grants to release or waiting requests to withdraw. Unknown ids are remembered so a late request is ignored. */
  requestIds?: string[];
  /** Release everything this holder holds or waits for (sent when the holder closes). */
  all?: boolean;
}
export const lockReleaseSignal = defineSignal<[LockRelease]>('cadre.locks.release');

// ---- lock workflow → holder -------------------------------------------------------------------------------------

export interface LockGrant {
  requestId: string;
  /** The lock workflow that granted it: where renewals and the release go. */
  lockWorkflowId: string;
  repoKey: string;
  paths: string[];
  /** Fencing token: larger than every token granted before it for this repository. */
  token: number;
  leaseMs: number;
  grantedAt: number;
  expiresAt: number;
}
export const lockGrantSignal = defineSignal<[LockGrant]>('cadre.locks.grant');

export type LockLostReason = 'expired' | 'refused' | 'unknown' | 'released' | 'busy';

export interface LockLost {
  requestId: string;
  lockWorkflowId: string;
  reason: LockLostReason;
  message: string;
}
export const lockLostSignal = defineSignal<[LockLost]>('cadre.locks.lost');

// ---- query --------------------------------------------------------------------------------------------------------

export interface LockHolderView {
  requestId: string;
  holderId: string;
  label?: string;
  paths: string[];
  token: number;
  leaseMs: number;
  grantedAt: number;
  renewedAt: number;
  expiresAt: number;
  /** Ages relative to `LocksView.now` (the lock workflow's clock at its last event). */
  heldMs: number;
  expiresInMs: number;
}

export interface LockWaiterView {
  requestId: string;
  holderId: string;
  label?: string;
  paths: string[];
  requestedAt: number;
  waitingMs: number;
  /** Request ids it waits for: conflicting holders, and conflicting requests that came first. */
  blockedBy: string[];
}

export interface LockStats {
  granted: number;
  released: number;
  expired: number;
  refused: number;
}

export interface LocksView {
  repoKey: string;
  repo?: string;
  lockWorkflowId: string;
  /** The lock workflow's clock when the query was answered (time of its last workflow task). */
  now: number;
  /** The token the next grant will get. */
  nextToken: number;
  /** How many runs of the lock workflow (continue-as-new) this state has been through, this one included. */
  generation: number;
  holders: LockHolderView[];
  waiters: LockWaiterView[];
  stats: LockStats;
}
export const locksQuery = defineQuery<LocksView>('cadre.locks.list');
