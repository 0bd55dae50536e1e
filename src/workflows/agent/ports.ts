/**
 * The agent's port block (docs/workspaces.md, "Ports"): leased before the workspace is made, so bootstrap setup
 * already sees it; carried over continue-as-new and renewed by the next run; released after the ending. Activities
 * get only the numbers (`PortLease`) and turn them into CADRE_PORT, PORT and CADRE_PORT_RANGE for every program.
 *
 * Hosts (docs/hosts.md): the ports are those of the host that owns the workspace, where the programs run. That host
 * is known only once the workspace is made, so the block leased before (from the manager of the host whose worker
 * ran the workflow) is checked then, and leased again from the owner's manager when it is another one
 * (`portsFromOwner`).
 */
import * as wf from '@temporalio/workflow';
import type { ActivityPortLease } from '../../activities/portActivities';
import type { AgentInput } from '../../shared/agent';
import { portEnv, portLockKey, type PortLease, type PortPlan } from '../../shared/ports';
import { keepPorts, leasePorts, portPlan, releasePorts } from '../locks/ports';
import type { AgentContext } from './context';
import { isHostLost } from './placement';
import { patched } from '../patches';

const PORT_LEASE = 'port-lease';
const PORTS_FROM_OWNER = 'ports-from-owner';
const OWNER_LOST_KEEPS_PORTS = 'owner-lost-keeps-ports';
const COMMAND_PORTS_IN_TASK = 'command-ports-in-task';
/** The command backend's program and ending in one activity (commandBackend.ts asks it too). */
export const COMMAND_TASK_IN_ONE_ACTIVITY = 'command-task-in-one-activity';

/**
 * Decides, before the workspace is made, whether the agent's command task leases the block itself
 * (`patched('command-ports-in-task')`): its `runCommandTask` activity holds a block of the host it runs on for as
 * long as it runs (as an inline task's does), so the agent's history has no lease round trips (4 local activities,
 * a grant signal and a renewal timer). Not when a bootstrap setup command needs the ports first, in shared mode, on
 * the older two-activity path, for a block carried over continue-as-new, nor in histories recorded before.
 */
export function portsLeasedByTask(ctx: AgentContext): boolean {
  const { input, s } = ctx;
  // The new patch is asked first: a history recorded without it never asks the older one here (its place is later).
  ctx.portsInTask = input.backend === 'command' && !ctx.shared && !input.bootstrap?.setup?.length && !s.ports && !s.workspace
    && patched(COMMAND_PORTS_IN_TASK) && patched(COMMAND_TASK_IN_ONE_ACTIVITY);
  return ctx.portsInTask;
}

/** The `leasePorts` field of a command task's activity input, when the activity leases (a new request each call). */
export function leasePortsField(ctx: AgentContext): { leasePorts?: ActivityPortLease } {
  if (!ctx.portsInTask) return {};
  const { agentId } = ctx.s;
  return { leasePorts: { holderId: agentId, requestId: `${agentId}#ports-${wf.uuid4()}`, spreadKey: agentId, taskQueue: wf.workflowInfo().taskQueue, label: `ports of ${agentId}`.slice(0, 200) } };
}

/** Holds the agent's port block: the carried one, else (new runs only) a fresh lease. */
export async function holdPorts(ctx: AgentContext): Promise<void> {
  const { s } = ctx;
  if (s.ports) {
    keepPorts(s.ports);
    return;
  }
  if (s.workspace || !patched(PORT_LEASE)) return;
  ctx.setDoing('leasing ports');
  s.ports = await leasePorts(await portPlan(), `ports of ${s.agentId}`.slice(0, 200), s.agentId);
}

/**
 * Starts holding the ports without waiting: the caller awaits the promise before anything runs a program, so the
 * lease's round trip to the port lock manager overlaps the workspace's creation. (Marked handled here; awaiting it
 * still throws.)
 */
export function startHoldingPorts(ctx: AgentContext): Promise<void> {
  const holding = holdPorts(ctx);
  holding.catch(() => undefined);
  return holding;
}

/**
 * Once the workspace is made (or made again on another host, relocate.ts): when it has a host, the block must come
 * from that host's port manager. The owner's port plan (an ordinary activity on its host queue) names it; a block
 * already leased there is kept (one machine: every worker's manager is the same), else it is given back and a block
 * leased from the owner's manager, through ordinary activities on the owner's queue (the bind probe must run there
 * too). Workspaces without a host (no host routing) and histories recorded before `ports-from-owner` keep the block.
 * A bootstrap setup command ran with the block leased before (the owner was not known yet).
 */
export async function portsFromOwner(ctx: AgentContext): Promise<void> {
  const { s } = ctx;
  const owner = s.workspace;
  if (!owner?.host || !s.ports || !patched(PORTS_FROM_OWNER)) return;
  const via = { owner };
  let plan: PortPlan;
  try {
    plan = await portPlan(via);
  } catch (err) {
    // The owner was lost right after making the workspace: keep the block; the agent's next call to that host finds
    // the loss inside `relocating` (relocate.ts), which moves the workspace and asks again for the new host.
    if (isHostLost(err) && patched(OWNER_LOST_KEEPS_PORTS)) return;
    throw err;
  }
  if (s.ports.grant.repoKey === portLockKey(plan.host, wf.workflowInfo().taskQueue)) return;
  ctx.setDoing(`leasing ports on ${owner.host}`);
  const before = s.ports;
  s.ports = undefined;
  await releasePorts(before);
  const label = `ports of ${s.agentId}`.slice(0, 200);
  try {
    s.ports = await leasePorts(plan, label, s.agentId, via);
  } catch (err) {
    // Lost while leasing there: a block as before (this worker's manager) until the move asks the new host.
    if (!(isHostLost(err) && patched(OWNER_LOST_KEEPS_PORTS))) throw err;
    s.ports = await leasePorts(await portPlan(), label, s.agentId);
  }
}

/** Gives the block back once the agent has ended (its verification used it). */
export async function letGoOfPorts(ctx: AgentContext): Promise<void> {
  if (ctx.s.ports) await releasePorts(ctx.s.ports);
}

/** The `ports` field of an activity input: only when the agent holds a block (older histories carry none). */
export function portsField(ctx: AgentContext): { ports?: PortLease } {
  return ctx.s.ports ? { ports: ctx.s.ports.ports } : {};
}

/** Bootstrap setup gets the ports through its environment (no new field for the workspace activity). */
export function bootstrapWithPorts(bootstrap: AgentInput['bootstrap'], ports: PortLease | undefined): (AgentInput['bootstrap'] & { env?: Record<string, string> }) | undefined {
  if (!bootstrap?.setup?.length || !ports) return bootstrap;
  return { ...bootstrap, env: portEnv(ports) };
}
