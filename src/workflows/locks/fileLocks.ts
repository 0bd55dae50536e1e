/**
 * The `fileLocks` workflow: the lock manager of one repository (workflow id `locks/<repoKey>`), started on first use
 * by the `requestLocks` activity with signal-with-start and never ending on its own (it continues-as-new instead).
 *
 * It is a thin shell around the pure lock table (./lockTable.ts): signal handlers apply requests, renewals and
 * releases synchronously and queue the effects (grants, lost-lock notices); an acquire Update answers a request in
 * the call when it is granted at once, and a try-acquire Update answers an ifFree request in the call (for holders
 * that are activities, not workflows); a sender delivers the effects by signal to
 * each holder's workflow id, one at a time per holder so a holder never sees "lost" before the "grant" it
 * cancels; a timer armed at the earliest lease end expires leases that were not renewed.
 *
 * Hazards and how they are handled:
 * - A holder that closes without releasing (terminated, or its code forgot): signalling it fails, and everything it
 *   held or waited for is released at once; a holder whose worker died keeps its grants until the lease runs out.
 * - Signals delivered twice: the table is idempotent on request ids (see lockTable.ts).
 * - History growth: after `maxHistoryEvents` events (or when the server suggests it) the workflow stops sending,
 *   waits for signals already sent to settle, and continues-as-new with its table, its unsent effects and its
 *   de-duplication window. Signals that arrive meanwhile are applied to the table and carried over.
 * - Fencing tokens must only grow, also across a restart of the lock workflow after someone terminated it: the
 *   counter starts at the workflow's start time in milliseconds, above any token a previous chain could have
 *   issued unless it averaged more than a thousand grants a second.
 */
import * as wf from '@temporalio/workflow';
import {
  lockAcquireUpdate,
  lockGrantSignal,
  lockLostSignal,
  lockReleaseSignal,
  lockRenewSignal,
  lockRequestSignal,
  lockTryAcquireUpdate,
  locksQuery,
  type LockAcquireAnswer,
  type LockGrant,
  type LocksView,
  type LockTryAnswer,
} from '../../shared/locks';
import * as lt from './lockTable';

export interface FileLocksCarry {
  table: lt.LockTableState;
  /** Effects decided but not yet delivered when the previous run continued-as-new. */
  outbox: lt.LockEffect[];
  /** Runs before this one. */
  generation: number;
}

export interface FileLocksInput {
  repoKey: string;
  /** Absolute path of the repository (for display). */
  repo?: string;
  /** Continue-as-new once the run's history has this many events (default 4000), or when the server suggests it. */
  maxHistoryEvents?: number;
  /** State carried over continue-as-new; absent on the first run. */
  carried?: FileLocksCarry;
}

const DEFAULT_MAX_HISTORY_EVENTS = 4000;

export async function fileLocks(input: FileLocksInput): Promise<void> {
  const lockWorkflowId = wf.workflowInfo().workflowId;
  const table = input.carried?.table ?? lt.newLockTable(Math.max(1, Math.floor(Date.now())));
  const outbox: lt.LockEffect[] = [...(input.carried?.outbox ?? [])];
  const generation = (input.carried?.generation ?? 0) + 1;
  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  /** Per holder, the tail of its delivery chain: a holder's messages arrive in the order they were decided. */
  const chains = new Map<string, Promise<void>>();
  let inFlight = 0;
  let draining = false;

  const apply = (effects: lt.LockEffect[]): void => {
    if (effects.length) outbox.push(...effects);
  };

  wf.setHandler(lockRequestSignal, (req) => apply(lt.request(table, req, Date.now())));
  wf.setHandler(lockRenewSignal, (r) => apply(lt.renew(table, r.holderId, Array.isArray(r.requestIds) ? r.requestIds : [], Date.now())));
  wf.setHandler(lockReleaseSignal, (r) =>
    apply(lt.release(table, r.holderId, r.all ? undefined : Array.isArray(r.requestIds) ? r.requestIds : [], Date.now())),
  );
  wf.setHandler(locksQuery, (): LocksView => lt.locksView(table, { repoKey: input.repoKey, repo: input.repo, lockWorkflowId, generation }, Date.now()));

  const grantMessage = (h: lt.Holder): LockGrant => ({
    requestId: h.requestId,
    lockWorkflowId,
    repoKey: input.repoKey,
    paths: h.paths,
    token: h.token,
    leaseMs: h.leaseMs,
    grantedAt: h.grantedAt,
    expiresAt: h.expiresAt,
  });

  // Try-acquire answered in the call (src/shared/locks.ts): the request's own answer is returned, not signalled; any
  // other effect (none today: an ifFree request makes nobody else's) is delivered as usual. Registered once
  // grantMessage exists: an Update that came with the workflow's start runs as soon as its handler is set.
  wf.setHandler(lockTryAcquireUpdate, (req): LockTryAnswer => {
    let answer: LockTryAnswer = { busy: true };
    for (const e of lt.request(table, { ...req, ifFree: true }, Date.now())) {
      if (e.kind === 'grant' && e.holder.requestId === req.requestId) answer = { grant: grantMessage(e.holder) };
      else if (e.kind === 'lost' && e.requestId === req.requestId) answer = e.reason === 'busy' ? { busy: true } : { refused: e.message };
      else apply([e]);
    }
    return answer;
  });

  // Acquire answered in the call: a grant of the request itself is returned, a request that has to wait stays
  // queued (its grant goes out by signal when it comes); every other effect is delivered as usual.
  wf.setHandler(lockAcquireUpdate, (req): LockAcquireAnswer => {
    let answer: LockAcquireAnswer | undefined;
    for (const e of lt.request(table, { ...req, ifFree: false }, Date.now())) {
      if (e.kind === 'grant' && e.holder.requestId === req.requestId) answer = { grant: grantMessage(e.holder) };
      else if (e.kind === 'lost' && e.requestId === req.requestId) answer = { refused: e.message };
      else apply([e]);
    }
    if (answer) return answer;
    // Waiting, or a repeat of a request that ended already (released, withdrawn, refused): nothing will come for it.
    return lt.isWaiting(table, req.requestId) ? { queued: true } : { refused: `lock request ${String(req.requestId)} has ended already` };
  });

  async function deliver(e: lt.LockEffect): Promise<void> {
    const holderId = e.kind === 'grant' ? e.holder.holderId : e.holderId;
    try {
      const handle = wf.getExternalWorkflowHandle(holderId);
      if (e.kind === 'grant') await handle.signal(lockGrantSignal, grantMessage(e.holder));
      else await handle.signal(lockLostSignal, { requestId: e.requestId, lockWorkflowId, reason: e.reason, message: e.message });
    } catch (err) {
      // The holder's workflow is closed or never existed: nobody can use or release what it holds, so free it now.
      wf.log.warn('lock holder unreachable; releasing everything it held', { holderId, error: err instanceof Error ? err.message : String(err) });
      apply(lt.release(table, holderId, undefined, Date.now()));
    }
  }

  function send(e: lt.LockEffect): void {
    const holderId = e.kind === 'grant' ? e.holder.holderId : e.holderId;
    inFlight++;
    const next = (chains.get(holderId) ?? Promise.resolve()).then(() => deliver(e));
    chains.set(holderId, next);
    void next.finally(() => {
      inFlight--;
      if (chains.get(holderId) === next) chains.delete(holderId);
    });
  }

  // The sender: wakes when there is something to deliver. No timer, so an idle lock manager adds no history.
  void (async () => {
    for (;;) {
      await wf.condition(() => outbox.length > 0 && !draining);
      for (const e of outbox.splice(0)) send(e);
    }
  })();

  const shouldRotate = (): boolean => {
    const info = wf.workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= maxEvents;
  };

  // The lease clock. One timer, armed at the earliest lease end; re-armed only when that end moves earlier than the
  // armed one (renewals move ends later, so they cost no timer events until the armed timer fires).
  for (;;) {
    const armed = lt.nextDeadline(table);
    const wake = (): boolean => {
      if (shouldRotate()) return true;
      const next = lt.nextDeadline(table);
      return next !== undefined && (armed === undefined || next < armed);
    };
    if (armed === undefined) await wf.condition(wake);
    else await wf.condition(wake, Math.max(1, armed - Date.now()));
    if (shouldRotate()) break;
    apply(lt.expire(table, Date.now()));
  }

  // Continue-as-new: stop sending, let what was sent settle (a failed grant changes the table), carry the rest.
  draining = true;
  await wf.condition(() => inFlight === 0 && wf.allHandlersFinished());
  const carried: FileLocksCarry = { table, outbox: outbox.splice(0), generation };
  await wf.continueAsNew<typeof fileLocks>({ ...input, carried });
}
