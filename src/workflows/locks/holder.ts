/**
 * The holder side of file locks, for use inside any workflow (the scheduler, an agent): acquire a set of repository
 * paths, hold it while a background loop renews the lease, release it.
 *
 * ```ts
 * const grant = await acquire(repo, ['src/a.ts', 'src/b.ts'], { label: 'task t07' });
 * try { ...work, passing grant.token to fenced writes... } finally { await release(grant); }
 * // or: await withLocks(repo, paths, (grant) => work(grant));
 * // and around a workflow's whole body: return withLockCleanup(() => body());
 * ```
 *
 * Protocol (src/shared/locks.ts): the `requestLocks` activity canonicalizes the paths and signal-with-starts the
 * repository's `fileLocks` workflow; the grant comes back as a signal to this workflow, correlated by request id;
 * renewals and releases are signals sent straight from here to the lock workflow.
 *
 * Semantics and hazards:
 * - All-or-nothing: one request is granted whole or not at all. To hold more paths, release and acquire the union in
 *   one request; acquiring more while holding (hold-and-wait) can deadlock with another holder doing the same in the
 *   opposite order. `timeout` bounds every wait.
 * - Grants belong to the workflow (its workflow id is the holder id), not to a coroutine: two coroutines of one
 *   workflow asking for overlapping paths queue behind each other like strangers.
 * - Cancellation: a cancelled `acquire` withdraws its request (granted or not) in a non-cancellable scope and
 *   rethrows. `release`, `releaseAll` and the renewal loop are non-cancellable, so a holder cleaning up after a
 *   cancel keeps its lease until it lets go.
 * - A lost lease (the holder stopped renewing long enough, e.g. its worker was down) arrives as a signal: `isHeld`
 *   turns false. Writes must not trust this alone: pass the token to the activity-side `assertFence` check, which
 *   asks the lock workflow itself.
 * - If a workflow closes while holding (returns early, fails, is terminated), the lock workflow frees its grants as
 *   soon as it fails to signal it, or when the lease runs out; `withLockCleanup` releases them at once instead.
 * - Continue-as-new: a workflow releases its locks before it continues as new (grants are not carried).
 * - `release` waits until its signal is delivered. Not waiting was tried and measured slower: the holder's next
 *   request (sent by a local activity, inside the workflow task) overtook the release, and a request for the same
 *   path then queued behind the holder's own grant (docs/locks.md).
 */
import type { Duration, RetryPolicy } from '@temporalio/common';
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { ErrorType } from '../../shared/errors';
import {
  DEFAULT_LEASE_MS,
  LockErrorType,
  lockGrantSignal,
  lockLostSignal,
  lockReleaseSignal,
  lockRenewSignal,
  type LockGrant,
  type LockRelease,
} from '../../shared/locks';

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

interface Pending {
  lockWorkflowId?: string;
}

interface HolderState {
  /** Requests sent (or being sent) and not yet answered. */
  pending: Map<string, Pending>;
  held: Map<string, LockGrant>;
  /** Answers that end a request without (or after) a grant: refusals and lost leases, by request id. */
  ended: Map<string, string>;
  /** Every lock workflow this workflow has asked: where `releaseAll` goes. */
  targets: Set<string>;
  renewing: boolean;
}

// Module state is per workflow execution (the SDK gives each execution its own module instances).
let holderState: HolderState | undefined;

function state(): HolderState {
  if (holderState) return holderState;
  const s: HolderState = { pending: new Map(), held: new Map(), ended: new Map(), targets: new Set(), renewing: false };
  holderState = s;
  wf.setHandler(lockGrantSignal, (g) => {
    if (s.held.has(g.requestId)) {
      // A repeated grant (the request was repeated, or redelivered): keep the newer lease end.
      s.held.set(g.requestId, { ...s.held.get(g.requestId)!, expiresAt: Math.max(g.expiresAt, s.held.get(g.requestId)!.expiresAt) });
      return;
    }
    if (s.pending.has(g.requestId) && !s.ended.has(g.requestId)) {
      s.pending.delete(g.requestId);
      s.held.set(g.requestId, g);
      s.targets.add(g.lockWorkflowId);
      startRenewal(s);
      return;
    }
    // Nobody waits for this grant any more (withdrawn after a timeout or cancel, or from before continue-as-new
    // and not adopted): give it back at once instead of letting it sit until its lease runs out.
    void sendRelease(g.lockWorkflowId, { holderId: holderId(), requestIds: [g.requestId] });
  });
  wf.setHandler(lockLostSignal, (l) => {
    if (s.held.has(l.requestId) || s.pending.has(l.requestId)) {
      s.held.delete(l.requestId);
      s.ended.set(l.requestId, l.message);
    }
  });
  return s;
}

const holderId = (): string => wf.workflowInfo().workflowId;

function describePaths(paths: readonly string[]): string {
  const first = paths.slice(0, 2).join(', ');
  return paths.length > 2 ? `${first} +${paths.length - 2}` : first;
}

async function sendRelease(lockWorkflowId: string, release: LockRelease): Promise<void> {
  try {
    await wf.getExternalWorkflowHandle(lockWorkflowId).signal(lockReleaseSignal, release);
  } catch (err) {
    // The lock workflow is gone (terminated): there is nothing left to release there.
    wf.log.warn('could not signal the lock workflow to release', { lockWorkflowId, error: err instanceof Error ? err.message : String(err) });
  }
}

/** Renews every held grant every third of the shortest lease, while anything is held. */
function startRenewal(s: HolderState): void {
  if (s.renewing) return;
  s.renewing = true;
  void wf.CancellationScope.nonCancellable(async () => {
    try {
      while (s.held.size > 0) {
        const interval = Math.max(200, Math.floor(Math.min(...[...s.held.values()].map((g) => g.leaseMs)) / 3));
        if (await wf.condition(() => s.held.size === 0, interval)) break;
        const byTarget = new Map<string, string[]>();
        for (const g of s.held.values()) byTarget.set(g.lockWorkflowId, [...(byTarget.get(g.lockWorkflowId) ?? []), g.requestId]);
        await Promise.all(
          [...byTarget].map(async ([target, requestIds]) => {
            try {
              await wf.getExternalWorkflowHandle(target).signal(lockRenewSignal, { holderId: holderId(), requestIds });
            } catch (err) {
              // No lock workflow to renew with: these grants are gone.
              for (const id of requestIds) {
                s.held.delete(id);
                s.ended.set(id, `lock manager ${target} is unreachable: ${err instanceof Error ? err.message : String(err)}`);
              }
            }
          }),
        );
      }
    } finally {
      s.renewing = false;
      // A grant that arrived while the loop was on its way out still needs renewing.
      if (s.held.size > 0) startRenewal(s);
    }
  });
}

/**
 * Waits until `paths` of `repo` are granted to this workflow, all together, and returns the grant (with its fencing
 * token). Paths may be relative to the repository or absolute inside it; paths outside it are refused
 * (`PathOutsideWorkspace`). Throws `LockTimeout` after `opts.timeout`, `LockRefused` for a malformed request.
 */
export async function acquire(repo: string, paths: string[], opts: AcquireOptions = {}): Promise<LockGrant> {
  const s = state();
  if (paths.length === 0) throw wf.ApplicationFailure.create({ type: LockErrorType.LockRefused, message: 'acquire needs at least one path', nonRetryable: true });
  const info = wf.workflowInfo();
  const requestId = `${info.workflowId}#lock-${wf.uuid4()}`;
  const pending: Pending = {};
  s.pending.set(requestId, pending);
  let granted = false;
  try {
    const request = {
      repo,
      holderId: info.workflowId,
      requestId,
      paths,
      leaseMs: opts.leaseMs ?? DEFAULT_LEASE_MS,
      taskQueue: opts.lockTaskQueue ?? info.taskQueue,
      ...(opts.label ? { label: opts.label } : {}),
    };
    const summary = `lock ${describePaths(paths)}`;
    const ack = wf.patched(LOCAL_LOCK_REQUEST)
      ? await localLockOp.requestLocks.executeWithOptions({ summary }, [request])
      : await lockOp.requestLocks.executeWithOptions({ summary }, [request]);
    pending.lockWorkflowId = ack.lockWorkflowId;
    s.targets.add(ack.lockWorkflowId);
    const answered = () => s.held.has(requestId) || s.ended.has(requestId);
    if (opts.timeout === undefined) await wf.condition(answered);
    else await wf.condition(answered, opts.timeout);
    const grant = s.held.get(requestId);
    if (grant) {
      granted = true;
      return { ...grant };
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
  const s = holderState;
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
  return holderState?.held.has(grant.requestId) ?? false;
}

