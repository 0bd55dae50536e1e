/**
 * The agent's port block (docs/workspaces.md, "Ports"): leased before the workspace is made, so bootstrap setup
 * already sees it; carried over continue-as-new and renewed by the next run; released after the ending. Activities
 * get only the numbers (`PortLease`) and turn them into CADRE_PORT, PORT and CADRE_PORT_RANGE for every program.
 */
import * as wf from '@temporalio/workflow';
import type { AgentInput } from '../../shared/agent';
import { portEnv, type PortLease } from '../../shared/ports';
import { keepPorts, leasePorts, portPlan, releasePorts } from '../locks/ports';
import type { AgentContext } from './context';

const PORT_LEASE = 'port-lease';

/** Holds the agent's port block: the carried one, else (new runs only) a fresh lease. */
export async function holdPorts(ctx: AgentContext): Promise<void> {
  const { s } = ctx;
  if (s.ports) {
    keepPorts(s.ports);
    return;
  }
  if (s.workspace || !wf.patched(PORT_LEASE)) return;
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
