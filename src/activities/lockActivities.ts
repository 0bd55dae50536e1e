/**
 * The activity side of file locks: canonical lock paths, starting (or signalling) a repository's lock workflow, and
 * the fence check a write must pass.
 *
 * Canonical paths make two spellings of one file one lock: `./a/../b.ts`, `b.ts` and `/repo/b.ts` all become
 * `b.ts`; a path through a symlink inside the repository becomes the path it points to; anything that resolves
 * outside the repository is refused (PathOutsideWorkspace, not retried). Case-insensitive file systems are not
 * folded: `B.ts` and `b.ts` are two locks there.
 *
 * Fencing: a grant's token is only good while that grant holds the path. `assertFence` asks the lock workflow (by
 * query) who holds each path now and refuses (LockLost, not retried) unless it is the grant with this token and its
 * lease has not run out by this process's clock, which also covers a lease whose expiry the lock workflow has not
 * processed yet. Hazard: the check and the write are two steps, so a lease that ends between them is not caught;
 * keep the write right after the check and leases long compared to a write.
 *
 * The Temporal client is the worker's own (`Context.current().client`, Temporal TS SDK ≥ 1.11) unless deps give one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import {
  LockErrorType,
  MAX_LEASE_MS,
  MAX_PATHS_PER_REQUEST,
  MIN_LEASE_MS,
  lockAcquireUpdate,
  lockReleaseSignal,
  lockRequestSignal,
  lockWorkflowId,
  locksQuery,
  type LockAcquireAnswer,
  type LockGrant,
  type LockRelease,
  type LockRequest,
  type LocksView,
} from '../shared/locks';
import type { fileLocks } from '../workflows/locks/fileLocks';
import { ErrorType, TypedFailure } from '../shared/errors';
import { defineActivity } from './boundary';
import { askLockManager, updateBudget, type LockManagerStart } from './updateBudget';
import { isWithin, PathOutsideWorkspaceError, repoKey } from './paths';

export interface LockActivityDeps {
  /** The client used to reach lock workflows; default: the worker's own client from the activity context. */
  client?: () => Client;
}

export const lockActivityInputs = {
  requestLocks: z
    .object({
      repo: z.string().min(1),
      holderId: z.string().min(1).max(1000),
      requestId: z.string().min(1).max(1000),
      paths: z.array(z.string()).min(1).max(MAX_PATHS_PER_REQUEST),
      leaseMs: z.number().int().min(MIN_LEASE_MS).max(MAX_LEASE_MS),
      taskQueue: z.string().min(1),
      label: z.string().max(200).optional(),
      /** Ask with the acquire Update first, so a free lock comes back in the result (see `inCallRequests`). */
      inCall: z.boolean().optional(),
    })
    .strict(),
  releaseLocks: z
    .object({
      lockWorkflowId: z.string().startsWith('locks/').max(1000),
      holderId: z.string().min(1).max(1000),
      requestIds: z.array(z.string().min(1).max(1000)).max(1000).optional(),
      all: z.boolean().optional(),
    })
    .strict(),
  assertFence: z
    .object({
      repo: z.string().min(1),
      paths: z.array(z.string()).min(1).max(MAX_PATHS_PER_REQUEST),
      token: z.number().int(),
    })
    .strict(),
};

export type RequestLocksInput = z.input<typeof lockActivityInputs.requestLocks>;
export type AssertFenceInput = z.input<typeof lockActivityInputs.assertFence>;
export type ReleaseLocksInput = z.input<typeof lockActivityInputs.releaseLocks>;

export interface RequestLocksResult {
  lockWorkflowId: string;
  repoKey: string;
  /** The canonical paths the request was sent with. */
  paths: string[];
  /** Asked in the call and granted at once: the grant (no grant signal follows). */
  grant?: LockGrant;
  /** Asked in the call and refused: why (no signal follows). */
  refused?: string;
}

/**
 * How long a holder waits for an in-call answer before it sends its request by signal instead. The Update needs a
 * workflow task of the lock workflow; a holder that asks from a local activity keeps its own workflow task open
 * meanwhile, so with every workflow task slot of a worker held that way the Update would wait for a slot that none of
 * them gives back. The signal needs none. A request sent both ways is one request (same id): if the Update applies
 * it first, the signal is a repeat and the lock workflow answers it with the grant, by signal.
 */
const IN_CALL_WAIT_MS = 2_000;

/**
 * Asks lock workflows with their acquire Update, with at most this process's share of the server's Updates in
 * flight (./updateBudget.ts: 4 when one or two worker processes poll the queue, fewer with more, none with ten or
 * more). Answers undefined when it cannot answer: no share left, no answer within IN_CALL_WAIT_MS, refused by the
 * server (too many in flight, the run continuing-as-new), or no handler (a lock workflow on older code). The caller
 * then signals. A call given up on keeps its share until it settles, so the count is what the server sees.
 */
function inCallRequests(clientOf: () => Client) {
  let inFlight = 0;
  const budget = updateBudget(clientOf);
  return async (start: LockManagerStart, request: LockRequest): Promise<LockAcquireAnswer | undefined> => {
    // The share first: `inFlight` must be read after the await, in the same turn as the increment below.
    const share = await budget(start.taskQueue);
    if (inFlight >= share) return undefined;
    inFlight++;
    const call = askLockManager(clientOf(), start, lockAcquireUpdate, request).catch(() => undefined);
    void call.finally(() => inFlight--);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), IN_CALL_WAIT_MS)));
    try {
      return await Promise.race([call, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

function realOrResolved(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** The real path of `abs`: its longest existing prefix resolved through symlinks, the rest appended as given. */
function realPrefix(abs: string): string {
  const root = path.parse(abs).root;
  const parts = path.relative(root, abs).split(path.sep).filter(Boolean);
  for (let i = parts.length; i >= 0; i--) {
    let real: string;
    try {
      real = fs.realpathSync(path.join(root, ...parts.slice(0, i)));
    } catch {
      continue;
    }
    return path.join(real, ...parts.slice(i));
  }
  return abs;
}

/**
 * The canonical lock path of `p` in the repository at `repo`: relative to the repository's real root, forward
 * slashes, normalized, symlinks inside the repository followed. Throws PathOutsideWorkspaceError for anything
 * outside the repository (or the root itself).
 */
export function canonicalLockPath(repo: string, p: string): string {
  if (typeof p !== 'string' || p.trim() === '') throw new PathOutsideWorkspaceError('empty lock path');
  if (p.includes('\0')) throw new PathOutsideWorkspaceError('lock path contains a NUL byte');
  const given = path.resolve(repo);
  const realRoot = realOrResolved(given);
  // An absolute path may be spelled through the root as given or through its real path (/tmp vs /private/tmp).
  let abs = path.resolve(given, p);
  if (!isWithin(given, abs) && isWithin(realRoot, abs)) abs = path.join(given, path.relative(realRoot, abs));
  if (!isWithin(given, abs)) throw new PathOutsideWorkspaceError(`${p} is outside the repository ${given}`);
  const real = realPrefix(path.join(realRoot, path.relative(given, abs)));
  if (!isWithin(realRoot, real)) throw new PathOutsideWorkspaceError(`${p} goes through a symlink that leads outside the repository`);
  const rel = path.relative(realRoot, real);
  if (rel === '') throw new PathOutsideWorkspaceError(`${p} names the repository root itself; lock files or directories inside it`);
  return rel.split(path.sep).join('/');
}

/** Canonical, sorted and without duplicates: the form every lock request and fence check uses. */
export function canonicalLockPaths(repo: string, paths: readonly string[]): string[] {
  return [...new Set(paths.map((p) => canonicalLockPath(repo, p)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The lock workflow id of the repository at `repo`. */
export function lockWorkflowIdFor(repo: string): string {
  return lockWorkflowId(repoKey(repo));
}

function covers(held: string, p: string): boolean {
  return held === p || p.startsWith(`${held}/`);
}

/**
 * Refuses (ApplicationFailure `LockLost`, non-retryable) unless every path is held right now by the grant with
 * `token`, with its lease not yet run out by this process's clock. Paths are canonicalized like a request's.
 */
export async function assertFence(client: Client, input: AssertFenceInput, now: number = Date.now()): Promise<void> {
  const { repo, paths, token } = lockActivityInputs.assertFence.parse(input);
  const canonical = canonicalLockPaths(repo, paths);
  const id = lockWorkflowIdFor(repo);
  let view: LocksView;
  try {
    view = await client.workflow.getHandle(id).query(locksQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw lockLost(`no lock manager for ${repo}: token ${token} holds nothing`);
    throw err;
  }
  for (const p of canonical) {
    const holder = view.holders.find((h) => h.paths.some((held) => covers(held, p)));
    if (!holder) throw lockLost(`write to ${p} refused: token ${token} does not hold it (nobody does)`);
    if (holder.token !== token) {
      throw lockLost(`write to ${p} refused: it is held by token ${holder.token} (${holder.holderId}), not token ${token}`);
    }
    if (holder.expiresAt <= now) throw lockLost(`write to ${p} refused: the lease of token ${token} ran out ${now - holder.expiresAt} ms ago`);
  }
}

function lockLost(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: LockErrorType.LockLost, message, nonRetryable: true });
}

export function createLockActivities(deps: LockActivityDeps = {}) {
  const clientOf = (): Client => deps.client?.() ?? Context.current().client;
  const askInCall = inCallRequests(clientOf);

  return {
    /**
     * Canonicalizes the paths and delivers the request to the repository's lock workflow, starting it if it is not
     * running (signal-with-start, on `taskQueue`). With `inCall` it asks with the acquire Update first and returns
     * the grant when the paths were free (a request that waits is answered by signal as usual). Idempotent: a retry
     * re-sends the same request id, which the lock workflow ignores (or answers with the same grant).
     */
    requestLocks: defineActivity('requestLocks', lockActivityInputs.requestLocks, async (input): Promise<RequestLocksResult> => {
      if (!fs.existsSync(input.repo)) throw new TypedFailure(ErrorType.WorkspaceError, `repository ${input.repo} does not exist`);
      const paths = canonicalLockPaths(input.repo, input.paths);
      const key = repoKey(input.repo);
      const workflowId = lockWorkflowId(key);
      const request: LockRequest = {
        requestId: input.requestId,
        holderId: input.holderId,
        paths,
        leaseMs: input.leaseMs,
        ...(input.label ? { label: input.label } : {}),
      };
      const start: LockManagerStart = {
        workflowId,
        taskQueue: input.taskQueue,
        args: [{ repoKey: key, repo: realOrResolved(input.repo) }],
        staticSummary: `file locks of ${realOrResolved(input.repo)}`.slice(0, 200),
      };
      const sent = { lockWorkflowId: workflowId, repoKey: key, paths };
      const answer = input.inCall ? await askInCall(start, request) : undefined;
      if (answer?.grant) return { ...sent, grant: answer.grant };
      if (answer?.refused) return { ...sent, refused: answer.refused };
      if (answer?.queued) return sent;
      await clientOf().workflow.signalWithStart<typeof fileLocks, [LockRequest]>('fileLocks', { ...start, signal: lockRequestSignal, signalArgs: [request] });
      return sent;
    }),

    /**
     * Delivers a holder's release to its lock workflow (src/workflows/locks/holderState.ts runs it as a local
     * activity): returns once the server has taken the signal, so the holder's next step comes after it in the lock
     * workflow's history. Idempotent: a repeat (a local activity runs again when its workflow task is retried after
     * a crash) releases nothing more, since the lock workflow ignores ids it has already ended. A lock workflow
     * that is gone holds nothing: `delivered: false`.
     */
    releaseLocks: defineActivity('releaseLocks', lockActivityInputs.releaseLocks, async (input): Promise<{ delivered: boolean }> => {
      const { lockWorkflowId: id, ...release } = input;
      try {
        await clientOf().workflow.getHandle(id).signal<[LockRelease]>(lockReleaseSignal, release);
        return { delivered: true };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { delivered: false };
        throw err;
      }
    }),

    /** The fence check as an activity: see `assertFence`. */
    assertFence: defineActivity('assertFence', lockActivityInputs.assertFence, (input) => assertFence(clientOf(), input)),
  };
}

export type LockActivities = ReturnType<typeof createLockActivities>;
