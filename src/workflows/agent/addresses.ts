/**
 * Who an agent may write to, pure: the operator, and agents of its own run (ids under `<run id>/`), or, for a
 * standalone agent, of its own tree (ids under its root's id). An agent of another run, or a standalone agent, is
 * out of reach: `send_message` refuses the address as a tool error and sends nothing.
 */
import type { AgentInput } from '../../shared/agent';

/** The id of the top of this agent's tree: its own id less one segment per level of depth (children are `<parent>/<name>`). */
export function rootIdOf(agentId: string, depth: number): string {
  const parts = agentId.split('/');
  return parts.slice(0, Math.max(1, parts.length - depth)).join('/');
}

/** Why `target` (an agent id) is out of this agent's reach, or undefined when it may be written to. */
export function addressProblem(input: Pick<AgentInput, 'runId' | 'depth' | 'parentId'>, agentId: string, target: string): string | undefined {
  if (target === input.parentId) return undefined;
  if (input.runId) {
    if (target.startsWith(`${input.runId}/`)) return undefined;
    return `${target} is not an agent of your run (${input.runId}); you can write to agents of your run and to "operator"`;
  }
  const root = rootIdOf(agentId, input.depth);
  if (target === root || target.startsWith(`${root}/`)) return undefined;
  return `${target} is not an agent of your team (${root}); you can write to your parent, your sub-agents, agents under ${root} and "operator"`;
}
