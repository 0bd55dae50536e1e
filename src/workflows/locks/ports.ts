/**
 * Port leases, holder side (docs/workspaces.md, "Ports"): a workflow leases one block of ports from its host's port
 * lock manager (`locks/ports@<host>/<taskQueue>`, the `fileLocks` workflow with keys `port-block/<n>`), holds it with lease
 * renewal like any lock, and gives it back with `release` (or `releaseAll`).
 *
 * Blocks are tried in order from where the holder's id hashes to (wrapping around), each with a request that is
 * granted at once or answered busy, so the first free block from there is taken and nobody queues. A granted block in which something outside cadre already listens is given back and
 * the next one tried. When no block is free the lease fails at once with `PortsExhausted`: waiting would mean
 * polling every block again and again (a pass costs history events per block), and with the default 100 blocks,
 * running out means too many agents or leaked leases, which expire within a lease (3 minutes) anyway.
 */
import type { Duration, RetryPolicy } from '@temporalio/common';
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { ErrorType } from '../../shared/errors';
import { firstPortBlock, portBlock, portBlockKey, portRange, portsExhaustedMessage, type PortLease, type PortPlan } from '../../shared/ports';
import { onHost, type Owner } from '../presets';
import { adopt, release, tryAcquireVia, type LockGrant } from './holder';
import { patched } from '../patches';

/** A leased block: what programs get (`ports`) and the grant that holds it (renewed, released, carried). */
export interface PortHold {
  ports: PortLease;
  block: number;
  grant: LockGrant;
}

const portOpOptions: { startToCloseTimeout: Duration; retry: RetryPolicy } = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 20, nonRetryableErrorTypes: [ErrorType.InvalidToolInput] },
};

const portOp = wf.proxyLocalActivities<Activities>(portOpOptions);

/**
 * How a lease talks to the host: local activities (one agent, one lease at a time: cheapest), or ordinary activities
 * on the owner's host queue (`{ owner }`) for a workflow that leases for several tasks at once. Concurrent local
 * activities are not replay-safe: live, a lease's result can be delivered in the same activation as another lease's
 * grant signal, on replay in an activation of its own, so the coroutines resume in another order and schedule
 * their next commands with other sequence numbers ("Activity id of scheduled event … does not match").
 * Activity results are history events, ordered alike live and on replay.
 */
export type PortVia = 'local' | { owner?: Owner };

export { firstPortBlock } from '../../shared/ports';

const SPREAD_PORT_SCAN = 'port-scan-from-hash';

type PortOps = Pick<typeof portOp, 'portPlan' | 'requestPortLocks' | 'boundPorts'>;

function portOps(via: PortVia): PortOps {
  if (via === 'local') return portOp;
  return wf.proxyActivities<Activities>({ ...portOpOptions, ...(via.owner?.host ? onHost(via.owner) : {}) });
}

/** The port plan of the worker that serves `via`: configuration and host. */
export function portPlan(via: PortVia = 'local'): Promise<PortPlan> {
  return portOps(via).portPlan.executeWithOptions({ summary: 'port plan' }, [{}]);
}

/**
 * Leases the first free block of `plan`, skipping blocks in which a port is already bound on the host. Undefined when
 * the plan has no blocks (port leases off); throws `PortsExhausted` (not retryable) when every block is taken.
 */
export async function leasePorts(plan: PortPlan, label: string, spreadKey?: string, via: PortVia = 'local'): Promise<PortHold | undefined> {
  if (plan.blocks <= 0) return undefined;
  const op = portOps(via);
  let boundSkipped = 0;
  // Every agent starting its scan at block 0 made the n-th of n concurrent agents ask n times (a lock-manager round
  // trip and a workflow task each: 50 at concurrency 100). Starting where the holder's key hashes to makes the first
  // try free almost always while few of the blocks are leased; the scan still covers every block. Recorded histories
  // started at 0.
  const start = spreadKey !== undefined && patched(SPREAD_PORT_SCAN) ? firstPortBlock(spreadKey, plan.blocks) : 0;
  for (let i = 0; i < plan.blocks; i++) {
    const block = (start + i) % plan.blocks;
    const grant = await tryAcquireVia([portBlockKey(block)], { label, ...(plan.leaseMs ? { leaseMs: plan.leaseMs } : {}) }, (request, summary) =>
      op.requestPortLocks.executeWithOptions({ summary: summary.replace(/^lock /, 'lease ') }, [{ host: plan.host, ...request }]),
    );
    if (!grant) continue;
    const ports = portBlock(plan, block);
    const { bound } = await op.boundPorts.executeWithOptions({ summary: `probe ports ${portRange(ports)}` }, [ports]);
    if (bound.length === 0) return { ports, block, grant };
    boundSkipped++;
    await release(grant);
  }
  throw wf.ApplicationFailure.create({ type: ErrorType.PortsExhausted, message: portsExhaustedMessage(plan, boundSkipped), nonRetryable: true });
}

/** Holds a block carried over continue-as-new (same workflow id, so the same holder): renewals resume. */
export function keepPorts(hold: PortHold): void {
  adopt(hold.grant);
}

/** Gives the block back (non-cancellable, harmless to repeat). */
export function releasePorts(hold: PortHold): Promise<void> {
  return release(hold.grant);
}
