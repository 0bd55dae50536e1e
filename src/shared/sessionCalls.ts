/**
 * The parts of the session contract (./session.ts) that the agent workflow uses: the agent-program backends and the
 * Update through which a session's orchestration tool calls reach the workflow. Apart from ./session.ts (its zod
 * schemas) because workflow code loads no zod when it starts (test/lint/workflowImports.test.ts).
 */
import { defineUpdate } from '@temporalio/workflow';
import type { OrchestrationToolName } from './tools';

export const agentProgramBackends = ['claude-code', 'codex'] as const;
export type AgentProgramBackend = (typeof agentProgramBackends)[number];

export function isAgentProgramBackend(name: string): name is AgentProgramBackend {
  return (agentProgramBackends as readonly string[]).includes(name);
}

/** An orchestration tool call of a session, as the workflow receives it. `callId` is its idempotency key. */
export interface OrchestrationCall {
  callId: string;
  name: OrchestrationToolName;
  input: unknown;
}

/** What the workflow answers to a call: small text only, it lives in history. */
export interface ToolResultLike {
  content: string;
  isError?: boolean;
}

/**
 * Sent by the session activity (with its Temporal client) to the agent workflow for every orchestration tool call
 * of the session. The workflow must handle it idempotently on `callId`: a resumed session repeats the calls whose
 * answer it did not see, with the same id, and must get the first answer again, not a second child or charge.
 */
export const orchestrationCallUpdate = defineUpdate<ToolResultLike, [OrchestrationCall]>('cadre.orchestrationCall');
