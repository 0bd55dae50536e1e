/**
 * The contract of one model turn: what the agent workflow sends to the `modelTurn` activity and what comes back.
 * Both sides of it live in history, so they carry ids, counts and short summaries, never file contents or the
 * transcript (which lives in the transcript store, keyed by agent id and turn).
 */
import { z } from 'zod';
import { TextRefSchema } from './blobs';
import { toolNames, type ToolCall } from './tools';
import { portLeaseSchema } from './portLease';

import type { Usage } from './usage';

// Token counts live apart so that workflows can add them up without loading zod.
export * from './usage';

export type ModelBackend = 'anthropic' | 'scripted';
/** Every way an agent thinks: a model loop of cadre's, a command, or an agent program's session. */
export type Backend = ModelBackend | 'command' | 'claude-code' | 'codex';

/** The modelTurn activity's input; the activity parses it with this schema and its type is derived from it. */
export const modelTurnInputSchema = z.object({
  /** Workflow id of the agent; with `turn` it is the idempotency key of the model call. */
  agentId: z.string().min(1),
  /** 1-based turn number. */
  turn: z.number().int().min(1),
  backend: z.enum(['anthropic', 'scripted']),
  model: z.string().min(1),
  maxTokens: z.number().int().min(1),
  /** Absolute path of the agent's worktree: file tools are confined to it. */
  workspace: z.string().min(1).refine((p) => p.startsWith('/'), 'must be an absolute path'),
  /** The task given to the agent; used on turn 1 only (the transcript keeps it afterwards). */
  goal: z.string(),
  /** The whole goal, when `goal` is only its preview (a long task prompt travels by reference: src/shared/blobs.ts). */
  goalRef: TextRefSchema.optional(),
  /** Extra system prompt text (the role, constraints); kept stable across turns so the prompt prefix caches. */
  system: z.string().optional(),
  /** Which tools this agent may use. */
  tools: z.array(z.enum(toolNames)),
  /** Results of the orchestration tool calls of the previous turn, handled by the workflow. */
  toolResults: z.array(z.object({ toolUseId: z.string(), content: z.string(), isError: z.boolean().optional() })).optional(),
  /** Messages delivered to the agent's mailbox since its last turn, already rendered as short text. */
  inbox: z.array(z.string()).optional(),
  /** For the scripted backend: path of the script file. */
  scriptPath: z.string().optional(),
  /**
   * Shared-workspace mode: write_file and edit_file are not run by the turn but returned in `pendingWrites`, so the
   * workflow can lock their paths first and run them with `applyWrites` under the lock's fencing token.
   */
  deferWrites: z.boolean().optional(),
  /** The workspace's leased ports: run_command's programs get them as CADRE_PORT, PORT, CADRE_PORT_RANGE. */
  ports: portLeaseSchema.optional(),
});
export type ModelTurnInput = z.input<typeof modelTurnInputSchema>;

export interface PendingWrite {
  toolUseId: string;
  name: 'write_file' | 'edit_file';
  path: string;
}

export interface ApplyWritesInput {
  agentId: string;
  turn: number;
  workspace: string;
  writes: PendingWrite[];
  /** The lock held on the writes' paths: each write is checked against it just before it happens. */
  fence?: { repo: string; token: number };
}

/** One file-tool call that the activity ran, summarised for history ("write src/x.ts"). */
export interface ToolRun {
  name: string;
  summary: string;
  isError: boolean;
}

export interface ModelTurnOutput {
  /** The provider's stop reason ('end_turn', 'tool_use', 'max_tokens', ...). */
  stopReason: string;
  /** The model's text for this turn, truncated to a few hundred characters. */
  text: string;
  /** Orchestration tool calls for the workflow to handle, inputs already validated. Invalid ones are answered by
   * the activity itself with a tool error and do not appear here. */
  orchestrationCalls: ToolCall[];
  /** File tools the activity ran in the worktree during this turn. */
  toolRuns: ToolRun[];
  usage: Usage;
  model: string;
  /** True when the reply was taken from the transcript store (a retried activity) instead of the model. */
  replayed: boolean;
  /** Estimated input tokens of the next request, for the workflow's worst-case budget reservation. */
  nextInputEstimate: number;
  /** With `deferWrites`: the writes the model asked for, not yet done (their inputs stay in the transcript). */
  pendingWrites?: PendingWrite[];
}
