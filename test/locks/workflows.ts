/**
 * The workflow bundle of the lock tests: every cadre workflow plus small holder workflows that use the holder API
 * the way the scheduler and agents do.
 */
import * as wf from '@temporalio/workflow';
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { acquire, isHeld, release, withLockCleanup, withLocks, type AcquireOptions, type LockGrant } from '../../src/workflows/locks/holder';
import { lockRequestSignal } from '../../src/shared/locks';
import type { Probes } from './probes';

export * from '../../src/workflows';

const probe = wf.proxyActivities<Probes>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['LockLost'] } });

export const goSignal = wf.defineSignal('test.go');

export interface CyclesInput {
  repo: string;
  /** One hold per entry, in order. */
  rounds: string[][];
  holdMs?: number;
  /** Record the timeline and bump counters in this directory while holding. */
  counterDir?: string;
  lock?: AcquireOptions;
}

export interface CyclesResult {
  tokens: number[];
}

/** Acquires, holds and releases each round's paths in turn. */
export async function lockCycles(input: CyclesInput): Promise<CyclesResult> {
  const holder = wf.workflowInfo().workflowId;
  const tokens: number[] = [];
  await withLockCleanup(async () => {
    for (const [round, paths] of input.rounds.entries()) {
      await withLocks(
        input.repo,
        paths,
        async (g) => {
          tokens.push(g.token);
          if (input.counterDir) {
            await probe.markHold({ holder, round, paths: g.paths, token: g.token, phase: 'acquired' });
            await probe.bumpCounters({ dir: input.counterDir, paths: g.paths, delayMs: 20 });
          }
          if (input.holdMs) await wf.sleep(input.holdMs);
          if (input.counterDir) await probe.markHold({ holder, round, paths: g.paths, token: g.token, phase: 'releasing' });
        },
        input.lock,
      );
    }
  });
  return { tokens };
}

export interface HolderInput {
  repo: string;
  paths: string[];
  lock?: AcquireOptions;
  /** How the holder ends once signalled `test.go` (or at once when `waitForGo` is false). */
  ending: 'return' | 'throw-in-withLocks' | 'throw-in-cleanup' | 'wait-forever';
  waitForGo?: boolean;
}

/** Takes a lock, waits for `test.go`, then ends as told: the release paths of a holder that fails or is cancelled. */
export async function holdUntilGo(input: HolderInput): Promise<number> {
  let go = false;
  wf.setHandler(goSignal, () => {
    go = true;
  });
  const waitGo = () => (input.waitForGo === false ? Promise.resolve() : wf.condition(() => go));
  if (input.ending === 'throw-in-withLocks') {
    return withLocks(input.repo, input.paths, async () => {
      await waitGo();
      throw ApplicationFailure.nonRetryable('holder failed on purpose', 'TestFailure');
    }, input.lock);
  }
  return withLockCleanup(async () => {
    const g = await acquire(input.repo, input.paths, input.lock);
    await waitGo();
    if (input.ending === 'throw-in-cleanup') throw ApplicationFailure.nonRetryable('holder failed on purpose', 'TestFailure');
    if (input.ending === 'wait-forever') await wf.condition(() => false);
    await release(g);
    return g.token;
  });
}

export interface WriterInput {
  repo: string;
  path: string;
  text: string;
  lock?: AcquireOptions;
  /** Wait for `test.go` between acquiring and writing. */
  waitForGo: boolean;
}

export interface WriterResult {
  token: number;
  grantedAt: number;
  write: 'written' | 'refused';
  refusal?: string;
  heldAtWrite: boolean;
}

/**
 * Acquires one path, optionally waits, then writes it through the fence check, whatever it believes about its
 * lease (a holder that does not know it lost its lock is exactly what fencing is for).
 */
export async function fencedWriter(input: WriterInput): Promise<WriterResult> {
  let go = false;
  wf.setHandler(goSignal, () => {
    go = true;
  });
  return withLockCleanup(async () => {
    const g: LockGrant = await acquire(input.repo, [input.path], input.lock);
    if (input.waitForGo) await wf.condition(() => go);
    const heldAtWrite = isHeld(g);
    try {
      const write = await probe.fencedWrite({ repo: input.repo, path: g.paths[0]!, token: g.token, text: input.text });
      await release(g);
      return { token: g.token, grantedAt: g.grantedAt, write, heldAtWrite };
    } catch (err) {
      if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'LockLost') {
        return { token: g.token, grantedAt: g.grantedAt, write: 'refused', refusal: err.cause.message, heldAtWrite };
      }
      throw err;
    }
  });
}

/** One acquire; returns the grant, or the failure type when it is refused. */
export async function acquireOnce(input: { repo: string; paths: string[]; lock?: AcquireOptions }): Promise<{ grant?: LockGrant; error?: string; message?: string }> {
  try {
    const grant = await acquire(input.repo, input.paths, input.lock);
    await release(grant);
    return { grant };
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure) return { error: cause.type ?? 'ApplicationFailure', message: cause.message };
    throw err;
  }
}

export const standInRequestsQuery = wf.defineQuery<string[]>('test.standInRequests');

/**
 * Stands in for a lock workflow on older code: it takes request signals (and records their ids) but has no acquire
 * Update, so an in-call request must fall back to the signal.
 */
export async function signalOnlyLockManager(): Promise<void> {
  const requests: string[] = [];
  wf.setHandler(lockRequestSignal, (r) => void requests.push(r.requestId));
  wf.setHandler(standInRequestsQuery, () => requests);
  await wf.condition(() => false);
}
