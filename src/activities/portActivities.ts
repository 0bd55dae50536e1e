/**
 * The activity side of port leases (docs/workspaces.md, "Ports"): the worker's port plan (its configuration and
 * host), delivering a request for port blocks to the host's port lock manager (`locks/ports@<host>/<taskQueue>`, a `fileLocks`
 * workflow whose lock keys are `port-block/<n>`, so no path canonicalization), and a bind probe that finds ports
 * something outside cadre already listens on.
 */
import * as net from 'node:net';
import * as os from 'node:os';
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  isGrpcServiceError,
  ServiceError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import pLimit from 'p-limit';
import { z } from 'zod';
import { ErrorType } from '../shared/errors';
import {
  DEFAULT_LEASE_MS,
  lockReleaseSignal,
  lockRenewSignal,
  lockRequestSignal,
  lockTryAcquireUpdate,
  lockWorkflowId,
  MAX_LEASE_MS,
  MIN_LEASE_MS,
  type LockRequest,
  type LockTryAnswer,
} from '../shared/locks';
import { portLeaseSchema } from '../shared/portLease';
import { DEFAULT_PORT_CONFIG, firstPortBlock, portBlock, portBlockKey, portConfigProblem, portLockKey, portsExhaustedMessage, type PortConfig, type PortLease, type PortPlan } from '../shared/ports';
import type { fileLocks } from '../workflows/locks/fileLocks';
import { defineActivity } from './boundary';
import { askLockManager, updateBudget, type LockManagerStart } from './updateBudget';

export interface PortActivityDeps {
  /** CADRE_PORT_BASE / _BLOCK / _BLOCKS; default 20000, 10, 100. */
  ports?: PortConfig;
  /** Names the lock manager; default os.hostname(). Tests give each run a host of its own. */
  host?: string;
  /** Lease of a block's grant (default 3 minutes; renewed every third of it). */
  leaseMs?: number;
  client?: () => Client;
}

export const portActivityInputs = {
  portPlan: z.object({}).strict(),
  requestPortLocks: z.object({
    host: z.string().min(1).max(300),
    holderId: z.string().min(1).max(1000),
    requestId: z.string().min(1).max(1000),
    paths: z.array(z.string().regex(/^port-block\/\d{1,5}$/, 'expected port-block/<n>')).min(1).max(10),
    leaseMs: z.number().int().min(MIN_LEASE_MS).max(MAX_LEASE_MS),
    taskQueue: z.string().min(1),
    label: z.string().max(200).optional(),
    ifFree: z.boolean().optional(),
  }).strict(),
  boundPorts: portLeaseSchema,
};

/**
 * A port block for a holder that is an activity, not a workflow (an inline command task, src/activities/commandTask.ts):
 * `holderId` names no workflow (the task's agent id), so a lost notice finds nobody and the lock manager frees the
 * block; `requestId` is the workflow's, the same for every attempt, so a retried activity gets back the block its
 * earlier attempt held (the lock manager answers a granted request again).
 */
export const activityPortLeaseSchema = z.object({
  holderId: z.string().min(1).max(1000),
  requestId: z.string().min(1).max(900),
  /** Start the scan where this key hashes to (spreads concurrent holders over the blocks). */
  spreadKey: z.string().max(1000).optional(),
  /** The queue the lock manager runs on if this lease starts it. */
  taskQueue: z.string().min(1),
  label: z.string().max(200).optional(),
}).strict();
export type ActivityPortLease = z.infer<typeof activityPortLeaseSchema>;

/** A block held by an activity while it runs: renewed every third of its lease until `release`. */
export interface HeldPorts {
  /** Undefined when port leases are off (CADRE_PORT_BLOCKS=0). */
  ports?: PortLease;
  /** Stops renewing and gives the block back (harmless to repeat; a failed release leaves the lease to expire). */
  release(): Promise<void>;
}

export type PortBlockHolder = (input: ActivityPortLease) => Promise<HeldPorts>;

/** True when nothing listens on `port` (a listen on all IPv4 addresses succeeds). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** This worker's port plan: its configuration, the host whose ports its programs use, and the lease of a grant. */
function planOf(deps: PortActivityDeps): PortPlan {
  return { ...(deps.ports ?? DEFAULT_PORT_CONFIG), host: deps.host ?? os.hostname(), ...(deps.leaseMs ? { leaseMs: deps.leaseMs } : {}) };
}

/** How the port lock manager of `host` is started by whichever call finds none: its id, queue, input and summary. */
function managerStart(host: string, taskQueue: string): LockManagerStart {
  const repoKey = portLockKey(host, taskQueue);
  return { workflowId: lockWorkflowId(repoKey), taskQueue, args: [{ repoKey }], staticSummary: `port leases of ${host}`.slice(0, 200) };
}

/**
 * Leases a block for an activity: each block from where the spread key hashes to is asked with the lock manager's
 * try-acquire Update (started if need be) until one is granted in which nothing already listens (a block in use is
 * given back). No free block fails with `PortsExhausted`, not retried.
 */
export function portBlockHolder(deps: PortActivityDeps = {}): PortBlockHolder {
  const updates = pLimit(UPDATES_AT_ONCE);
  const plan = planOf(deps);
  // This machine's processes share its port lock manager's Updates (./updateBudget.ts); an activity holder has no
  // signal to fall back to, so it waits for its turn, and always has at least one.
  const budget = updateBudget(() => deps.client?.() ?? Context.current().client, { host: os.hostname() });
  let asking = 0;
  const withinShare = async <T>(taskQueue: string, ask: () => Promise<T>): Promise<T> => {
    for (let pause = 10; ; pause = Math.min(200, pause * 2)) {
      // The share first: `asking` must be read after the await, in the same turn as the increment.
      const share = Math.max(1, await budget(taskQueue));
      if (asking < share) break;
      await new Promise((r) => setTimeout(r, pause / 2 + Math.random() * pause));
    }
    asking++;
    try {
      return await ask();
    } finally {
      asking--;
    }
  };
  return async (input) => {
    if (plan.blocks <= 0) return { release: async () => undefined };
    const client = deps.client?.() ?? Context.current().client;
    const start = managerStart(plan.host, input.taskQueue);
    const { workflowId } = start;
    const leaseMs = plan.leaseMs ?? DEFAULT_LEASE_MS;
    // The server takes at most a few Updates per workflow at once (`history.maxInFlightUpdates`, 10 by default) and
    // aborts those in flight when the lock manager continues-as-new: both are asked again after a pause, heartbeating
    // (the task's activity has a heartbeat timeout), for up to UPDATE_RETRY_MS. Repeats are harmless: same request id.
    const tryAcquire = async (request: LockRequest): Promise<LockTryAnswer> => {
      const until = Date.now() + UPDATE_RETRY_MS;
      for (let pause = 25; ; pause = Math.min(1000, pause * 2)) {
        try {
          return await updates(() => withinShare(input.taskQueue, () => askLockManager(client, start, lockTryAcquireUpdate, request)));
        } catch (err) {
          if (!updateShedOrAborted(err) || Date.now() > until) throw err;
        }
        Context.current().heartbeat();
        await new Promise((r) => setTimeout(r, pause / 2 + Math.random() * pause));
      }
    };
    const signalRelease = (requestId: string) =>
      client.workflow.getHandle(workflowId).signal(lockReleaseSignal, { holderId: input.holderId, requestIds: [requestId] });
    const first = input.spreadKey !== undefined ? firstPortBlock(input.spreadKey, plan.blocks) : 0;
    let boundSkipped = 0;
    for (let i = 0; i < plan.blocks; i++) {
      const block = (first + i) % plan.blocks;
      const requestId = `${input.requestId}/${block}`;
      const answer = await tryAcquire({ requestId, holderId: input.holderId, paths: [portBlockKey(block)], leaseMs, ...(input.label ? { label: input.label } : {}), ifFree: true });
      if (answer.refused) throw ApplicationFailure.create({ type: ErrorType.LockRefused, message: answer.refused, nonRetryable: true });
      if (!answer.grant) continue;
      const ports = portBlock(plan, block);
      if ((await boundIn(ports)).length > 0) {
        boundSkipped++;
        await signalRelease(requestId);
        continue;
      }
      const renew = setInterval(() => {
        client.workflow.getHandle(workflowId).signal(lockRenewSignal, { holderId: input.holderId, requestIds: [requestId] }).catch(() => undefined);
      }, Math.max(200, Math.floor(leaseMs / 3)));
      let released = false;
      return {
        ports,
        release: async () => {
          clearInterval(renew);
          if (released) return;
          released = true;
          await signalRelease(requestId).catch(() => undefined);
        },
      };
    }
    throw ApplicationFailure.create({ type: ErrorType.PortsExhausted, message: portsExhaustedMessage(plan, boundSkipped), nonRetryable: true });
  };
}

const UPDATE_RETRY_MS = 5 * 60_000;
/**
 * Try-acquire Updates one worker process has in flight at once, at most (fewer when more processes of this machine
 * poll the queue: ./updateBudget.ts). The server takes 10 per workflow and sheds the rest; under 100 inline tasks
 * at once the lock manager's speculative workflow tasks were then dropped and retried without end (the run did not
 * finish in 3 minutes), so a process waits its turn here instead. Four, not two: with
 * command agents leasing in their activity, 4 ran more no-op tasks a second than 2 in each of 5 interleaved pairs
 * (concurrency 5, bench stubs), and 100 inline tasks at once still finish (test/workflows/inlinePorts.test.ts).
 */
const UPDATES_AT_ONCE = 4;

const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;

/** An Update the server refused for now (too many in flight) or aborted (the workflow's run closed under it). */
function updateShedOrAborted(err: unknown): boolean {
  if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  const cause = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(cause) && (cause.code === GRPC_RESOURCE_EXHAUSTED || cause.code === GRPC_UNAVAILABLE);
}

/** The ports of `p` that something already listens on. */
async function boundIn(p: PortLease): Promise<number[]> {
  const bound: number[] = [];
  for (let port = p.first; port < p.first + p.count; port++) if (!(await portFree(port))) bound.push(port);
  return bound;
}

export function createPortActivities(deps: PortActivityDeps = {}) {
  const plan = planOf(deps);
  const problem = portConfigProblem(plan);
  if (problem) throw new Error(`bad configuration: ${problem}`);
  const clientOf = (): Client => deps.client?.() ?? Context.current().client;

  return {
    /** The configuration and the host whose ports this worker's programs use. */
    portPlan: defineActivity('portPlan', portActivityInputs.portPlan, async (): Promise<PortPlan> => ({ ...plan })),

    /** Signal-with-start of the host's port lock manager with one request (idempotent on the request id). */
    requestPortLocks: defineActivity('requestPortLocks', portActivityInputs.requestPortLocks, async (input) => {
      const start = managerStart(input.host, input.taskQueue);
      const request: LockRequest = {
        requestId: input.requestId,
        holderId: input.holderId,
        paths: input.paths,
        leaseMs: input.leaseMs,
        ...(input.label ? { label: input.label } : {}),
        ...(input.ifFree ? { ifFree: true } : {}),
      };
      await clientOf().workflow.signalWithStart<typeof fileLocks, [LockRequest]>('fileLocks', { ...start, signal: lockRequestSignal, signalArgs: [request] });
      return { lockWorkflowId: start.workflowId, paths: input.paths };
    }),

    /** The ports of the range that something already listens on (the agent skips such a block). */
    boundPorts: defineActivity('boundPorts', portActivityInputs.boundPorts, async (input) => ({ bound: await boundIn(input) })),
  };
}

export type PortActivities = ReturnType<typeof createPortActivities>;
