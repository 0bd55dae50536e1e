/**
 * Port leases: every workspace gets a block of ports of its own, leased from the host's port lock manager (a
 * `fileLocks` workflow with id `locks/ports@<host>/<taskQueue>` whose lock keys are `port-block/<n>`), so two agents' dev
 * servers and test servers never meet on one port (one manager per host and task queue). Programs see the block as `CADRE_PORT` and `PORT` (its first
 * port) and `CADRE_PORT_RANGE` (`first-last`). Pure and deterministic: used by workflows and activities alike.
 * docs/workspaces.md, "Ports".
 */
/** The worker's port configuration (CADRE_PORT_BASE, CADRE_PORT_BLOCK, CADRE_PORT_BLOCKS). */
export interface PortConfig {
  /** First port of block 0. */
  base: number;
  /** Ports per block (per workspace). */
  block: number;
  /** How many blocks there are; 0 turns port leases off. */
  blocks: number;
}

export const DEFAULT_PORT_CONFIG: PortConfig = Object.freeze({ base: 20000, block: 10, blocks: 100 });

/** What the agent workflow learns from the worker: the configuration and which host's ports it leases. */
export interface PortPlan extends PortConfig {
  /** Names the lock manager (`locks/ports@<host>/<taskQueue>`): ports are a resource of one host. */
  host: string;
  /** Lease of a block's grant; default the lock default (3 minutes). Tests shorten it. */
  leaseMs?: number;
}

/**
 * The ports a workspace holds: the only thing about a lease that activities are given (it lives in history).
 * Activities check it with `portLeaseSchema` (./portLease.ts, apart so that workflows load no zod).
 */
export interface PortLease {
  first: number;
  count: number;
}

/** Why `c` cannot be used, or undefined. Names the variable, as configuration errors do. */
export function portConfigProblem(c: PortConfig): string | undefined {
  if (!Number.isInteger(c.base) || c.base < 1 || c.base > 65535) return `CADRE_PORT_BASE: expected a port 1..65535, got ${c.base}`;
  if (!Number.isInteger(c.block) || c.block < 1 || c.block > 1000) return `CADRE_PORT_BLOCK: expected a whole number 1..1000, got ${c.block}`;
  if (!Number.isInteger(c.blocks) || c.blocks < 0 || c.blocks > 10000) return `CADRE_PORT_BLOCKS: expected a whole number 0..10000 (0 turns port leases off), got ${c.blocks}`;
  const last = c.base + c.block * c.blocks - 1;
  if (last > 65535) {
    return `CADRE_PORT_BLOCKS: ${c.blocks} blocks of ${c.block} ports from ${c.base} end at port ${last}, above 65535`;
  }
  return undefined;
}

/** The lock key of block `n` in the port lock manager. */
export function portBlockKey(n: number): string {
  return `port-block/${n}`;
}

/**
 * The repoKey of a host's port lock manager, `ports@<host>/<taskQueue>` (anything unusual replaced). The task queue
 * is part of it because the manager runs on the queue of whoever started it: a manager shared by workers of
 * several queues would hang every agent once the starting queue's workers are gone.
 */
export function portLockKey(host: string, taskQueue: string): string {
  const clean = (v: string, fallback: string) => v.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200) || fallback;
  return `ports@${clean(host, 'localhost')}/${clean(taskQueue, 'default')}`;
}

/** The ports of block `n`. */
export function portBlock(c: PortConfig, n: number): PortLease {
  return { first: c.base + n * c.block, count: c.block };
}

/** `first-last`, as CADRE_PORT_RANGE shows it. */
export function portRange(p: PortLease): string {
  return `${p.first}-${p.first + p.count - 1}`;
}

/** The variables a program gets for its workspace's ports; none without a lease. */
export function portEnv(p: PortLease | undefined): Record<string, string> {
  if (!p) return {};
  return { CADRE_PORT: String(p.first), PORT: String(p.first), CADRE_PORT_RANGE: portRange(p) };
}

/** FNV-1a, 32 bits: a stable, deterministic spread of holder ids over the blocks (not a security property). */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The block a holder with this key tries first (out of `blocks`). */
export function firstPortBlock(spreadKey: string, blocks: number): number {
  return hashOf(spreadKey) % blocks;
}

/** Why no block could be leased: every one is leased to a workspace, or in use by a program outside cadre. */
export function portsExhaustedMessage(plan: PortPlan, boundSkipped: number): string {
  const last = portBlock(plan, plan.blocks - 1);
  return (
    `no free port block on ${plan.host}: all ${plan.blocks} blocks of ${plan.block} ports (${plan.base}-${last.first + last.count - 1}) ` +
    `are leased to other workspaces${boundSkipped ? ` or in use by other programs (${boundSkipped})` : ''}; raise CADRE_PORT_BLOCKS or run fewer agents at once`
  );
}
