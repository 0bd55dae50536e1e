/**
 * The activity side of port leases (docs/workspaces.md, "Ports"): the worker's port plan (its configuration and
 * host), delivering a request for port blocks to the host's port lock manager (`locks/ports@<host>/<taskQueue>`, a `fileLocks`
 * workflow whose lock keys are `port-block/<n>`, so no path canonicalization), and a bind probe that finds ports
 * something outside cadre already listens on.
 */
import * as net from 'node:net';
import * as os from 'node:os';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { lockRequestSignal, lockWorkflowId, MAX_LEASE_MS, MIN_LEASE_MS, type LockRequest } from '../shared/locks';
import { portLeaseSchema } from '../shared/portLease';
import { DEFAULT_PORT_CONFIG, portConfigProblem, portLockKey, type PortConfig, type PortPlan } from '../shared/ports';
import type { fileLocks } from '../workflows/locks/fileLocks';
import { defineActivity } from './boundary';

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

/** True when nothing listens on `port` (a listen on all IPv4 addresses succeeds). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function createPortActivities(deps: PortActivityDeps = {}) {
  const config = deps.ports ?? DEFAULT_PORT_CONFIG;
  const problem = portConfigProblem(config);
  if (problem) throw new Error(`bad configuration: ${problem}`);
  const host = deps.host ?? os.hostname();
  const clientOf = (): Client => deps.client?.() ?? Context.current().client;

  return {
    /** The configuration and the host whose ports this worker's programs use. */
    portPlan: defineActivity('portPlan', portActivityInputs.portPlan, async (): Promise<PortPlan> => ({ ...config, host, ...(deps.leaseMs ? { leaseMs: deps.leaseMs } : {}) })),

    /** Signal-with-start of the host's port lock manager with one request (idempotent on the request id). */
    requestPortLocks: defineActivity('requestPortLocks', portActivityInputs.requestPortLocks, async (input) => {
      const key = portLockKey(input.host, input.taskQueue);
      const workflowId = lockWorkflowId(key);
      const request: LockRequest = {
        requestId: input.requestId,
        holderId: input.holderId,
        paths: input.paths,
        leaseMs: input.leaseMs,
        ...(input.label ? { label: input.label } : {}),
        ...(input.ifFree ? { ifFree: true } : {}),
      };
      await clientOf().workflow.signalWithStart<typeof fileLocks, [LockRequest]>('fileLocks', {
        workflowId,
        taskQueue: input.taskQueue,
        args: [{ repoKey: key }],
        signal: lockRequestSignal,
        signalArgs: [request],
        staticSummary: `port leases of ${input.host}`.slice(0, 200),
      });
      return { lockWorkflowId: workflowId, paths: input.paths };
    }),

    /** The ports of the range that something already listens on (the agent skips such a block). */
    boundPorts: defineActivity('boundPorts', portActivityInputs.boundPorts, async (input) => {
      const bound: number[] = [];
      for (let p = input.first; p < input.first + input.count; p++) if (!(await portFree(p))) bound.push(p);
      return { bound };
    }),
  };
}

export type PortActivities = ReturnType<typeof createPortActivities>;
