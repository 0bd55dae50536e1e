/** An `agent` workflow input for the command backend running `true`: the cheapest real agent there is. */
import { defaultLimits, type AgentInput } from '../../src/shared/agent';

export function commandAgentInput(repo: string, goal: string): AgentInput {
  return {
    repo,
    baseRef: 'main',
    goal,
    backend: 'command',
    command: ['true'],
    model: 'claude-sonnet-4-6',
    maxTokens: 8192,
    maxTurns: 1,
    budget: {},
    depth: 0,
    limits: defaultLimits,
  };
}
