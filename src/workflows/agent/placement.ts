/**
 * Where an agent's workspace is made (docs/hosts.md, "Placement"). The host that creates the workspace owns it: its
 * name comes back in the result, is kept in the workspace record (`s.workspace.host`, carried across
 * continue-as-new) and every later worktree activity goes to that host's queue.
 *
 * Which host: an agent whose input names one (a sub-agent: its parent's host; a retried task: its previous host)
 * asks that host first, with a schedule-to-start timeout, so a host that is gone (no worker polls its queue) costs
 * HOST_ALIVE_WAIT and not the run; then, or without a preference, a run through a remote asks the placement queue,
 * which only hosts with room for another agent poll, and a local run asks its own task queue as it always did.
 * Histories from before host routing create the workspace on the workflow's queue and record no host.
 */
import * as wf from '@temporalio/workflow';
import type { AgentInput } from '../../shared/agent';
import { HOST_ROUTING, isRemoteRepo, placementQueue } from '../../shared/hosts';
import { gitOp, gitOpWith, onHost, workspaceSetupOp } from '../presets';
import type { Workspace } from './state';
import { patched } from '../patches';

/** How long a preferred host may leave the creation unstarted before another host is asked. */
const HOST_ALIVE_WAIT = '20s';
const DEFAULT_SETUP_TIMEOUT_MS = 15 * 60_000;

type CreateArgs = { repo: string; agentId: string; baseRef: string; bootstrap?: AgentInput['bootstrap'] & { env?: Record<string, string> } };

export async function createAgentWorkspace(input: AgentInput, args: CreateArgs): Promise<Workspace> {
  const summary = input.bootstrap?.setup ? 'create and set up workspace' : 'create workspace';
  if (!patched(HOST_ROUTING)) return await workspaceOp(input).createWorkspace.executeWithOptions({ summary }, [args]);
  if (input.host) {
    try {
      return movable(input, await workspaceOp(input, { ...onHost({ host: input.host }), scheduleToStartTimeout: HOST_ALIVE_WAIT })
        .createWorkspace.executeWithOptions({ summary: `${summary} on ${input.host}` }, [args]));
    } catch (err) {
      if (!isScheduleToStartTimeout(err)) throw err;
    }
  }
  const queue = isRemoteRepo(input.repo) ? { taskQueue: placementQueue(wf.workflowInfo().taskQueue) } : {};
  return movable(input, await workspaceOp(input, queue).createWorkspace.executeWithOptions({ summary }, [args]));
}

/** A workspace of a run through a remote can move to another host if its host is lost (relocate.ts). */
function movable(input: AgentInput, ws: Workspace): Workspace {
  return ws.host && isRemoteRepo(input.repo) ? { ...ws, movable: true } : ws;
}

/** A workspace with a setup command gets the setup's timeout (15 minutes unless the plan says otherwise). */
function workspaceOp(input: AgentInput, extra?: Partial<wf.ActivityOptions>) {
  if (input.bootstrap?.setup?.length) return workspaceSetupOp(input.bootstrap.setupTimeoutMs ?? DEFAULT_SETUP_TIMEOUT_MS, extra);
  return extra ? gitOpWith(extra) : gitOp;
}

/** No worker of that host took the call in time: the host is gone (or overloaded); another host is asked. */
export function isScheduleToStartTimeout(err: unknown): boolean {
  return err instanceof wf.ActivityFailure && err.cause instanceof wf.TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';
}

/** The failure of a call that no worker of its host took in time, however deep it is wrapped. */
export function isHostLost(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (isScheduleToStartTimeout(e)) return true;
  }
  return false;
}
