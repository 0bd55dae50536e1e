/**
 * One interface for every way an agent thinks. A backend gets the whole conversation so far (Anthropic message
 * shape, as kept in the transcript store), the system prompt and the names of the tools the agent may use, and
 * returns one assistant reply: text and tool_use blocks, a stop reason and the usage to bill.
 *
 * Backends are stateless between calls: the transcript store, not the backend, remembers the conversation, so a
 * retried turn can be answered from the store without calling the backend again.
 */
import type { Usage } from '../../shared/model';
import type { ToolName } from '../../shared/tools';

export interface TextBlock {
  type: 'text';
  text: string;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string;
  is_error?: boolean;
}

export type AssistantBlock = TextBlock | ToolUseBlock;
export type UserBlock = TextBlock | ToolResultBlock;

export type ConversationMessage =
  | { role: 'user'; content: UserBlock[] }
  | { role: 'assistant'; content: AssistantBlock[] };

export interface BackendRequest {
  agentId: string;
  turn: number;
  model: string;
  maxTokens: number;
  system: string;
  /** Tools the agent may use, in canonical order (so the prompt prefix stays stable and caches). */
  tools: ToolName[];
  /** The conversation so far; the last message is the user message of this turn. */
  messages: ConversationMessage[];
  /** Scripted backend only: absolute path of the script file. */
  scriptPath?: string;
}

export interface BackendReply {
  content: AssistantBlock[];
  stopReason: string;
  usage: Usage;
  /** The model that answered (the provider may report a dated id). */
  model: string;
}

export interface BackendCallContext {
  /** Called while waiting and as stream events arrive, so the activity's heartbeat timeout stays short. */
  heartbeat: () => void;
  /** Aborts the call when the activity is cancelled. */
  signal?: AbortSignal;
}

export interface ModelBackendClient {
  readonly name: string;
  call(request: BackendRequest, ctx: BackendCallContext): Promise<BackendReply>;
}

/** A rough, deterministic token estimate (4 characters a token) of any JSON-able value. */
export function estimateTokens(value: unknown): number {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? '');
  return Math.ceil(text.length / 4);
}
