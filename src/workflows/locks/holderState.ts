/**
 * The holder's state in a workflow: what it has asked for, holds and was told, the signal handlers that fill it in
 * (registered on first use), and the background loop that renews held leases. The API on top is ./holder.ts.
 * Module state is per workflow execution (the SDK gives each execution its own module instances).
 */
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { lockGrantSignal, lockLostSignal, lockReleaseSignal, lockRenewSignal, type LockGrant, type LockRelease } from '../../shared/locks';
import { patched } from '../patches';

export interface Pending {
  lockWorkflowId?: string;
}

export interface HolderState {
  /** Requests sent (or being sent) and not yet answered. */
  pending: Map<string, Pending>;
  held: Map<string, LockGrant>;
  /** Answers that end a request without (or after) a grant: refusals and lost leases, by request id. */
  ended: Map<string, string>;
  /** Every lock workflow this workflow has asked: where `releaseAll` goes. */
  targets: Set<string>;
  /** Requests marked ifFree that were answered busy (not granted, not waiting). */
  busy: Set<string>;
  renewing: boolean;
}

let holderState: HolderState | undefined;

/**
 * Whether this workflow asks and releases for several coroutines at once (the scheduler: many tasks' file locks and
 * port blocks). Such a workflow must not use local activities for them: live, a local activity's result can be
 * delivered in the same activation as another coroutine's activity result or grant signal, on replay in one of its
 * own, so the coroutines resume in another order and schedule their next commands with other sequence numbers
 * (seen as "Activity type of scheduled event 'runInlineCommandTask' does not match … 'portPlan'" when a run with
 * inline tasks was cancelled). Ordinary activities' results are history events, ordered alike live and on replay.
 */
let concurrentHolder = false;

/** Marks this workflow as one that holds for several coroutines at once (see `concurrentHolder`). */
export function holdForSeveral(): void {
  concurrentHolder = true;
}

/** True when lock calls must go through ordinary activities (set by `holdForSeveral`). */
export function holdsForSeveral(): boolean {
  return concurrentHolder;
}

/** The state if this workflow has used locks at all; unlike `state()`, registers nothing. */
export function existingState(): HolderState | undefined {
  return holderState;
}

export function state(): HolderState {
  if (holderState) return holderState;
  const s: HolderState = { pending: new Map(), held: new Map(), ended: new Map(), targets: new Set(), busy: new Set(), renewing: false };
  holderState = s;
  wf.setHandler(lockGrantSignal, (g) => {
    if (s.held.has(g.requestId)) {
      // A repeated grant (the request was repeated, or redelivered): keep the newer lease end.
      s.held.set(g.requestId, { ...s.held.get(g.requestId)!, expiresAt: Math.max(g.expiresAt, s.held.get(g.requestId)!.expiresAt) });
      return;
    }
    if (s.pending.has(g.requestId) && !s.ended.has(g.requestId)) {
      takeGrant(s, g);
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
      if (l.reason === 'busy') s.busy.add(l.requestId);
    }
  });
  return s;
}

/** A grant for a request this workflow waits for (by signal, or in the answer of the request itself) is held from now. */
export function takeGrant(s: HolderState, g: LockGrant): void {
  if (s.held.has(g.requestId)) return;
  s.pending.delete(g.requestId);
  s.held.set(g.requestId, g);
  s.targets.add(g.lockWorkflowId);
  startRenewal(s);
}

export const holderId = (): string => wf.workflowInfo().workflowId;

/**
 * Releases go out as a local activity (`releaseLocks`, a client signal from inside this workflow task) rather than
 * as a signal command: the workflow learns that the lock workflow has the release when the activity returns, in the
 * same workflow task, instead of one workflow task later when the server reports the signal delivered. That later
 * task was the last step of every agent that leased ports (one more workflow task per agent), and half of every
 * lock cycle's release (docs/benchmarks.md). Order is kept: the next request of this holder is sent after the
 * release has been taken. A local activity runs again when its workflow task is retried after a crash: the lock
 * workflow ignores a release it has already applied. Histories recorded before replay the signal command.
 */
const RELEASE_AS_LOCAL_ACTIVITY = 'lock-release-as-local-activity';

const releaseOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 20 },
} as const;
const releaseOp = wf.proxyLocalActivities<Activities>(releaseOptions);
const releaseActivity = wf.proxyActivities<Activities>(releaseOptions);

export async function sendRelease(lockWorkflowId: string, release: LockRelease): Promise<void> {
  try {
    if (patched(RELEASE_AS_LOCAL_ACTIVITY)) {
      await (concurrentHolder ? releaseActivity : releaseOp).releaseLocks.executeWithOptions({ summary: release.all ? 'release all locks' : 'release lock' }, [{ lockWorkflowId, ...release }]);
    } else {
      await wf.getExternalWorkflowHandle(lockWorkflowId).signal(lockReleaseSignal, release);
    }
  } catch (err) {
    // The lock workflow is gone (terminated), or the server was unreachable for every retry: there is nothing left
    // to release there, or the lease runs out on its own.
    wf.log.warn('could not signal the lock workflow to release', { lockWorkflowId, error: err instanceof Error ? err.message : String(err) });
  }
}

/**
 * Renews every held grant every third of the shortest lease, while anything is held. `now`: renew once at once
 * first (an adopted grant: its last renewal was in the previous run).
 */
export function startRenewal(s: HolderState, now = false): void {
  if (s.renewing) return;
  s.renewing = true;
  void wf.CancellationScope.nonCancellable(async () => {
    try {
      if (now) await renewHeld(s);
      while (s.held.size > 0) {
        const interval = Math.max(200, Math.floor(Math.min(...[...s.held.values()].map((g) => g.leaseMs)) / 3));
        if (await wf.condition(() => s.held.size === 0, interval)) break;
        await renewHeld(s);
      }
    } finally {
      s.renewing = false;
      // A grant that arrived while the loop was on its way out still needs renewing.
      if (s.held.size > 0) startRenewal(s);
    }
  });
}

async function renewHeld(s: HolderState): Promise<void> {
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
