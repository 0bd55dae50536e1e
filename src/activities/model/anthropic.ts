/**
 * The `anthropic` backend: one streamed Messages API call per turn through the official SDK.
 *
 * Retries: the SDK's own retries are off (`maxRetries: 0`). Temporal's activity retry policy is the only retry
 * layer, so a turn's attempts are visible in history and a retry never double-bills silently. Every API error is
 * mapped at this boundary to an ApplicationFailure of a stable type (src/shared/errors.ts) that says whether to
 * retry, and how long to wait when the API said so (`retry-after`).
 *
 * Caching: the request is laid out so the prefix (tools, system prompt, conversation so far) is identical turn after
 * turn, with cache breakpoints at its stable points (see `buildRequest`). Usage reports cache writes and reads
 * separately; they are priced separately (src/shared/pricing.ts).
 *
 * Secrets: the key is read from ANTHROPIC_API_KEY (or injected) and handed only to the SDK, which sends it as a
 * header. Error messages are built from the status and the response body's error type and message, scrubbed of the
 * key; the SDK error itself (which holds response headers) is never attached as a cause.
 */
import Anthropic, { APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../shared/errors';
import type { Usage } from '../../shared/model';
import type { ToolName } from '../../shared/tools';
import type {
  AssistantBlock,
  BackendCallContext,
  BackendReply,
  BackendRequest,
  ConversationMessage,
  ModelBackendClient,
} from './backend';
import { scrubSecrets } from './secrets';
import { toolDefinitions, type ToolDefinition } from './toolDefs';

export interface CacheControl {
  type: 'ephemeral';
}

type Cached<T> = T & { cache_control?: CacheControl };

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  system: Cached<{ type: 'text'; text: string }>[];
  tools: Cached<ToolDefinition>[];
  messages: { role: 'user' | 'assistant'; content: Cached<ConversationMessage['content'][number]>[] }[];
}

/** The API allows at most four cache breakpoints per request. */
export const maxCacheBreakpoints = 4;

/**
 * The Messages API request for one turn. Pure: the same inputs give the same request, byte for byte, which is what
 * makes the prompt cache hit.
 *
 * Cache breakpoints (at most four), in prefix order:
 *   1. the last tool definition: the tool block never changes during an agent's life;
 *   2. the system block: stable too (it depends on the agent's tools and role only);
 *   3. the last block of the previous user message (when there is one): written to the cache by the previous
 *      turn's request, so this turn reads the whole earlier conversation from the cache even when the newest
 *      message has more blocks than the API's look-back window;
 *   4. the last block of the latest message: writes the conversation so far, for the next turn to read.
 * The stored conversation is never mutated: blocks that get a breakpoint are copied.
 */
export function buildRequest(args: {
  model: string;
  maxTokens: number;
  system: string;
  tools: readonly ToolName[];
  messages: readonly ConversationMessage[];
}): AnthropicRequest {
  const ephemeral: CacheControl = { type: 'ephemeral' };
  const tools: Cached<ToolDefinition>[] = toolDefinitions(args.tools).map((t) => ({ ...t }));
  const last = tools[tools.length - 1];
  if (last) last.cache_control = ephemeral;

  const messages: AnthropicRequest['messages'] = args.messages.map((m) => ({
    role: m.role,
    content: m.content.map((b) => ({ ...b })),
  }));
  const markLastBlock = (index: number): void => {
    const content = messages[index]?.content;
    const block = content?.[content.length - 1];
    if (block) block.cache_control = ephemeral;
  };
  const lastIndex = messages.length - 1;
  // The message before the latest is the assistant reply; the one before that is the previous user message.
  if (lastIndex >= 2) markLastBlock(lastIndex - 2);
  markLastBlock(lastIndex);

  return {
    model: args.model,
    max_tokens: args.maxTokens,
    system: [{ type: 'text', text: args.system, cache_control: ephemeral }],
    tools,
    messages,
  };
}

/**
 * How long the API asked us to wait, in milliseconds: `retry-after-ms`, else `retry-after` as seconds or as an
 * HTTP date (relative to `now`). Undefined when absent or unusable, leaving the delay to the retry policy.
 */
export function retryDelayMs(headers: Headers | undefined, now: number): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms) {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return Math.round(n);
  }
  const after = headers?.get('retry-after');
  if (!after) return undefined;
  const trimmed = after.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const spendLimitPattern = /spend(ing)? limit|credit balance|billing|usage limit|insufficient (credit|funds)/i;

function isSpendLimit(err: APIError): boolean {
  if (err.type === 'billing_error') return true;
  if (err.errorCode && /spend_limit|billing|credit/i.test(err.errorCode)) return true;
  return spendLimitPattern.test(err.apiMessage ?? '');
}

/**
 * Maps anything the SDK throws to a Temporal failure. Cancellation (the activity's signal aborted) is re-thrown as
 * the signal's reason, so Temporal sees a cancelled activity rather than a failed one.
 *
 * | condition                                   | type             | retry                             |
 * |---------------------------------------------|------------------|-----------------------------------|
 * | 429 whose message names a spend/credit limit | ModelSpendLimit  | no                                |
 * | 429 rate_limit_error                        | ModelRateLimited | yes, after `retry-after` if given |
 * | 529 / overloaded_error                      | ModelOverloaded  | yes                               |
 * | 500, 502, 503, 504, other 5xx, 408, 409     | ModelServerError | yes                               |
 * | connection error, timeout                   | ModelServerError | yes                               |
 * | 402, billing_error, 400 "credit balance"    | ModelSpendLimit  | no                                |
 * | 401, 403                                    | ModelAuth        | no                                |
 * | 400, 404 (unknown model), 413, 422, other 4xx | ModelBadRequest | no                                |
 */
export function toModelFailure(err: unknown, opts: { secrets: readonly (string | undefined)[]; now: number; signal?: AbortSignal }): Error {
  if (opts.signal?.aborted) {
    const reason: unknown = opts.signal.reason;
    return reason instanceof Error ? reason : new Error('model call cancelled');
  }
  const clean = (s: string): string => scrubSecrets(s, opts.secrets);
  if (!(err instanceof APIError) || err instanceof APIUserAbortError) {
    const message = err instanceof Error ? err.message : String(err);
    return ApplicationFailure.create({
      type: ErrorType.ModelServerError,
      message: clean(`Anthropic API call failed: ${message}`),
      nonRetryable: false,
    });
  }

  const status = err.status;
  const kind = err.type ?? 'unknown_error';
  const what = err.apiMessage ?? (status === undefined ? err.message : 'no message');
  const message = clean(`Anthropic API ${status ?? 'stream'} ${kind}: ${what}`);
  const details = [{ status: status ?? null, errorType: kind, requestId: err.requestID ?? null }];
  const fail = (type: ErrorType, nonRetryable: boolean, nextRetryDelay?: number): ApplicationFailure =>
    ApplicationFailure.create({
      type,
      message,
      nonRetryable,
      details,
      ...(nextRetryDelay !== undefined ? { nextRetryDelay } : {}),
    });

  if (status === undefined) {
    // No HTTP status: the connection failed, or the API sent an `error` event in the middle of a stream.
    if (kind === 'overloaded_error') return fail(ErrorType.ModelOverloaded, false);
    if (kind === 'rate_limit_error') return fail(ErrorType.ModelRateLimited, false);
    return fail(ErrorType.ModelServerError, false);
  }
  if (status === 429) {
    if (isSpendLimit(err)) return fail(ErrorType.ModelSpendLimit, true);
    return fail(ErrorType.ModelRateLimited, false, retryDelayMs(err.headers, opts.now));
  }
  if (status === 529 || kind === 'overloaded_error') {
    return fail(ErrorType.ModelOverloaded, false, retryDelayMs(err.headers, opts.now));
  }
  if (status >= 500 || status === 408 || status === 409) {
    return fail(ErrorType.ModelServerError, false, retryDelayMs(err.headers, opts.now));
  }
  if (status === 402 || isSpendLimit(err)) return fail(ErrorType.ModelSpendLimit, true);
  if (status === 401 || status === 403) return fail(ErrorType.ModelAuth, true);
  return fail(ErrorType.ModelBadRequest, true);
}

export interface AnthropicBackendOptions {
  apiKey: string;
  /** Defaults to the SDK's (ANTHROPIC_BASE_URL or the public API); tests point it at a local stub. */
  baseURL?: string;
  /** Per-request timeout; the activity's start-to-close timeout should be a little longer. */
  timeoutMs?: number;
  clock?: () => number;
}

export function createAnthropicBackend(options: AnthropicBackendOptions): ModelBackendClient {
  const client = new Anthropic({
    apiKey: options.apiKey,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    maxRetries: 0,
    timeout: options.timeoutMs ?? 10 * 60 * 1000,
    logLevel: 'warn',
  });
  const clock = options.clock ?? Date.now;

  return {
    name: 'anthropic',
    async call(request: BackendRequest, ctx: BackendCallContext): Promise<BackendReply> {
      const body = buildRequest(request);
      ctx.heartbeat();
      try {
        const stream = client.messages.stream(body as unknown as Anthropic.MessageStreamParams, {
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
        stream.on('streamEvent', () => ctx.heartbeat());
        const message = await stream.finalMessage();
        return {
          content: toAssistantBlocks(message.content),
          stopReason: message.stop_reason ?? 'end_turn',
          usage: toUsage(message.usage),
          model: message.model,
        };
      } catch (err) {
        throw toModelFailure(err, { secrets: [options.apiKey], now: clock(), signal: ctx.signal });
      }
    },
  };
}

/** Keeps the blocks cadre can send back verbatim (text, tool_use); drops empty text. */
function toAssistantBlocks(content: readonly Anthropic.ContentBlock[]): AssistantBlock[] {
  const out: AssistantBlock[] = [];
  for (const block of content) {
    if (block.type === 'text' && block.text !== '') out.push({ type: 'text', text: block.text });
    else if (block.type === 'tool_use') out.push({ type: 'tool_use', id: block.id, name: block.name, input: block.input });
  }
  return out;
}

function toUsage(u: Anthropic.Usage): Usage {
  return {
    inputTokens: u.input_tokens ?? 0,
    outputTokens: u.output_tokens ?? 0,
    cacheWriteTokens: u.cache_creation_input_tokens ?? 0,
    cacheReadTokens: u.cache_read_input_tokens ?? 0,
  };
}
