/**
 * The holder side of file locks, for use inside any workflow (the scheduler, an agent): acquire a set of repository
 * paths, hold it while a background loop renews the lease, release it. Usage, rules and hazards: docs/locks.md.
 *
 * - All-or-nothing per request; never acquire more while holding (hold-and-wait can deadlock): release and acquire
 *   the union in one request. Grants belong to the workflow (its id is the holder id), not to a coroutine.
 * - A cancelled `acquire` withdraws its request; `release`, `releaseAll` and renewal are non-cancellable.
 * - A lost lease arrives as a signal (`isHeld` turns false); writes still go through the activity-side `assertFence`.
 * - A workflow that closes while holding is freed when the lock manager fails to signal it, or when the lease ends;
 *   `withLockCleanup` releases at once. Grants are released before continue-as-new, or carried and `adopt`ed.
 * - `release` waits until the lock workflow has its release (a local activity, ./holderState.ts): not waiting was
 *   measured slower (docs/locks.md).
 * - `tryAcquireVia` asks any lock manager (e.g. a host's port leases, ./ports.ts) for keys that are free now.
 */
import type { Duration, RetryPolicy } from '@temporalio/common';
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { ErrorType } from '../../shared/errors';
import { DEFAULT_LEASE_MS, LockErrorType, type LockGrant } from '../../shared/locks';
import { existingState, holderId, holdsForSeveral, sendRelease, startRenewal, state, takeGrant, type HolderState, type Pending } from './holderState';
import { patched } from '../patches';

export type { LockGrant } from '../../shared/locks';

export interface AcquireOptions {
  /** Lease of the grant in ms (default 3 minutes). The grant is renewed every third of it while held. */
  leaseMs?: number;
  /** Give up waiting after this long: the request is withdrawn and a `LockTimeout` failure thrown. Default: wait forever. */
  timeout?: Duration;
  /** Shown by `cadre locks` next to the holder ("task t07"). */
  label?: string;
  /** Task queue the lock workflow runs on if this request starts it (default: this workflow's task queue). */
  lockTaskQueue?: string;
}

/** Calls to the lock manager are short client calls: retried while the server is unreachable, never for bad input. */
const lockRetry: RetryPolicy = {
  initialInterval: '500ms',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  maximumAttempts: 20,
  nonRetryableErrorTypes: [ErrorType.PathOutsideWorkspace, ErrorType.InvalidToolInput, ErrorType.WorkspaceError],
};

const lockOp = wf.proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: lockRetry,
});

/**
 * The same call as a local activity: it runs inside this workflow's task, so a request costs no activity round trip
 * through the server (one marker event instead of three). Runs recorded before it replay with `lockOp`.
 */
const localLockOp = wf.proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: lockRetry,
});
const LOCAL_LOCK_REQUEST = 'lock-request-as-local-activity';
/**
 * The request goes by the lock workflow's acquire Update, so a free lock is granted in the activity's result: no
 * grant signal, and no workflow task of this workflow to take it. Histories recorded before wait for the signal.
 */
const ACQUIRE_IN_CALL = 'lock-acquire-in-call';

function describePaths(paths: readonly string[]): string {
  const first = paths.slice(0, 2).join(', ');
  return paths.length > 2 ? `${first} +${paths.length - 2}` : first;
}

/**
 * Waits until `paths` of `repo` are granted to this workflow, all together, and returns the grant (with its fencing
 * token). Paths may be relative to the repository or absolute inside it; paths outside it are refused
 * (`PathOutsideWorkspace`). Throws `LockTimeout` after `opts.timeout`, `LockRefused` for a malformed request.
 */
export async function acquire(repo: string, paths: string[], opts: AcquireOptions = {}): Promise<LockGrant> {
  const grant = await acquireVia(paths, opts, false, (request, summary) => {
    const input = { repo, ...request, ...(patched(ACQUIRE_IN_CALL) ? { inCall: true } : {}) };
    return !holdsForSeveral() && patched(LOCAL_LOCK_REQUEST)
      ? localLockOp.requestLocks.executeWithOptions({ summary }, [input])
      : lockOp.requestLocks.executeWithOptions({ summary }, [input]);
  });
  return grant!;
}

/** A request as the holder builds it; the sender adds where it goes (a repository, a host's ports). */
export interface HolderRequest {
  holderId: string;
  requestId: string;
  paths: string[];
  leaseMs: number;
  taskQueue: string;
  label?: string;
  ifFree?: boolean;
}

/**
 * Delivers a request to its lock manager (an activity) and says which one that is and the paths as sent, and, for a
 * request answered in the call, its grant or why it was refused.
 */
export type RequestSender = (request: HolderRequest, summary: string) => Promise<{ lockWorkflowId: string; paths: string[]; grant?: LockGrant; refused?: string }>;

/**
 * Asks for `paths` through `send` without waiting behind anyone: the grant if they are free now, else undefined
 * (the lock manager has already forgotten the request). Used for port blocks (src/workflows/locks/ports.ts).
 */
export function tryAcquireVia(paths: string[], opts: AcquireOptions, send: RequestSender): Promise<LockGrant | undefined> {
  return acquireVia(paths, opts, true, send);
}

async function acquireVia(paths: string[], opts: AcquireOptions, ifFree: boolean, send: RequestSender): Promise<LockGrant | undefined> {
  const s = state();
  if (paths.length === 0) throw wf.ApplicationFailure.create({ type: LockErrorType.LockRefused, message: 'acquire needs at least one path', nonRetryable: true });
  const info = wf.workflowInfo();
  const requestId = `${info.workflowId}#lock-${wf.uuid4()}`;
  const pending: Pending = {};
  s.pending.set(requestId, pending);
  let granted = false;
  try {
    const request: HolderRequest = {
      holderId: info.workflowId,
      requestId,
      paths,
      leaseMs: opts.leaseMs ?? DEFAULT_LEASE_MS,
      taskQueue: opts.lockTaskQueue ?? info.taskQueue,
      ...(opts.label ? { label: opts.label } : {}),
      ...(ifFree ? { ifFree: true } : {}),
    };
    // A request answered in the call carries its grant only in that answer: it is awaited even when this acquire is
    // cancelled meanwhile, so that the grant is known and handed back (by `withdraw`), not left to its lease.
    const sending = () => send(request, `lock ${describePaths(paths)}`);
    const ack = !ifFree && patched(ACQUIRE_IN_CALL) ? await wf.CancellationScope.nonCancellable(sending) : await sending();
    pending.lockWorkflowId = ack.lockWorkflowId;
    s.targets.add(ack.lockWorkflowId);
    if (ack.grant) takeGrant(s, ack.grant);
    else if (ack.refused !== undefined && !s.held.has(requestId)) s.ended.set(requestId, ack.refused);
    const answered = () => s.held.has(requestId) || s.ended.has(requestId);
    if (opts.timeout === undefined) await wf.condition(answered);
    else await wf.condition(answered, opts.timeout);
    const grant = s.held.get(requestId);
    if (grant) {
      granted = true;
      return { ...grant };
    }
    if (s.busy.delete(requestId)) {
      // Answered busy: the lock manager forgot the request already, there is nothing to withdraw.
      s.pending.delete(requestId);
      s.ended.delete(requestId);
      granted = true;
      return undefined;
    }
    const why = s.ended.get(requestId);
    if (why !== undefined) throw wf.ApplicationFailure.create({ type: LockErrorType.LockRefused, message: why, nonRetryable: true });
    throw wf.ApplicationFailure.create({
      type: LockErrorType.LockTimeout,
      message: `gave up waiting for the lock on ${describePaths(ack.paths)} after ${String(opts.timeout)}`,
      nonRetryable: true,
    });
  } finally {
    if (!granted) await withdraw(s, requestId, pending);
  }
}

/**
 * Takes over a grant this workflow holds from before continue-as-new (same workflow id, so the same holder to the
 * lock manager) and renews it at once and from then on. A grant that ended meanwhile is answered `lost` at the
 * first renewal.
 */
export function adopt(grant: LockGrant): void {
  const s = state();
  if (s.held.has(grant.requestId)) return;
  s.held.set(grant.requestId, { ...grant });
  s.targets.add(grant.lockWorkflowId);
  startRenewal(s, true);
}

/** Takes back a request that nobody will use: released if granted meanwhile, withdrawn from the queue if not. */
async function withdraw(s: HolderState, requestId: string, pending: Pending): Promise<void> {
  await wf.CancellationScope.nonCancellable(async () => {
    const grant = s.held.get(requestId);
    s.pending.delete(requestId);
    s.held.delete(requestId);
    const target = grant?.lockWorkflowId ?? pending.lockWorkflowId;
    // Without a target the request never reached the lock workflow, or its answer will: a grant nobody waits for
    // is handed back by the grant handler.
    if (target) await sendRelease(target, { holderId: holderId(), requestIds: [requestId] });
  });
}

/** Gives a grant back. Non-cancellable; releasing twice, or a lost grant, is harmless. */
export async function release(grant: LockGrant): Promise<void> {
  const s = state();
  await wf.CancellationScope.nonCancellable(async () => {
    s.held.delete(grant.requestId);
    s.pending.delete(grant.requestId);
    await sendRelease(grant.lockWorkflowId, { holderId: holderId(), requestIds: [grant.requestId] });
  });
}

/**
 * Releases everything this workflow holds or waits for, at every lock manager it has used. Non-cancellable: call it
 * from a `finally` on the way out, however the workflow ends.
 */
export async function releaseAll(): Promise<void> {
  const s = existingState();
  if (!s) return;
  await wf.CancellationScope.nonCancellable(async () => {
    s.held.clear();
    for (const p of s.pending.values()) if (p.lockWorkflowId) s.targets.add(p.lockWorkflowId);
    s.pending.clear();
    await Promise.all([...s.targets].map((t) => sendRelease(t, { holderId: holderId(), all: true })));
  });
}

/** Runs `fn` holding `paths`; the grant is released however `fn` ends. */
export async function withLocks<T>(repo: string, paths: string[], fn: (grant: LockGrant) => Promise<T>, opts: AcquireOptions = {}): Promise<T> {
  const grant = await acquire(repo, paths, opts);
  try {
    return await fn(grant);
  } finally {
    await release(grant);
  }
}

/** Runs a workflow's body and releases every lock it still holds when the body returns, throws or is cancelled. */
export async function withLockCleanup<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await releaseAll();
  }
}

/** True while `grant` is held: granted, not released, its lease not reported lost. */
export function isHeld(grant: LockGrant): boolean {
  return existingState()?.held.has(grant.requestId) ?? false;
}

