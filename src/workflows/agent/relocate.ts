/**
 * Losing a host (docs/hosts.md, "Losing a host"): the agent's workspace was on a host whose worker is gone, so a
 * call to its queue timed out before any worker took it (schedule-to-start, presets.ts `onHost`). The agent makes
 * its workspace again on another host — through the placement queue, never the lost host — from its branch as the
 * remote has it (the last checkpoint its commits pushed), and runs its backend again from there.
 *
 * Only for runs through a remote (without one the branch lived only on the lost host) and at most MAX_MOVES times.
 * A command agent runs its program again on the new host; a model agent goes on from its last completed turn: each
 * turn through a remote ends with a checkpoint (activities/model/checkpoint.ts), the turn in flight is done again
 * (modelLoop.ts `undoTurn`) and its activity restores the transcript on the new host.
 */
import { HOST_ROUTING, isRemoteRepo } from '../../shared/hosts';
import type { AgentContext } from './context';
import { createAgentWorkspace, isHostLost } from './placement';
import { bootstrapWithPorts, portsFromOwner } from './ports';
import { patched } from '../patches';

const MAX_MOVES = 3;

/** Runs `body`; when the workspace's host is lost, moves the workspace and runs it again. */
export async function relocating(ctx: AgentContext, body: () => Promise<void>): Promise<void> {
  const { input, s } = ctx;
  for (let moves = 0; ; moves++) {
    try {
      return await body();
    } catch (err) {
      const lost = s.workspace?.host;
      if (!lost || ctx.shared || !isHostLost(err) || !isRemoteRepo(input.repo) || moves >= MAX_MOVES || !patched(HOST_ROUTING)) throw err;
      ctx.setDoing(`host ${lost} lost: moving the workspace`);
      s.lostHosts = [...(s.lostHosts ?? []), lost];
      s.ended = undefined;
      s.workspace = await createAgentWorkspace(
        { ...input, host: undefined },
        { repo: input.repo, agentId: s.agentId, baseRef: input.baseRef, bootstrap: bootstrapWithPorts(input.bootstrap, s.ports?.ports) },
      );
      await portsFromOwner(ctx);
    }
  }
}

/** Where the run and the model loop look it up (defined with the placement it comes from). */
export { isHostLost };
