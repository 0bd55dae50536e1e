/**
 * The `modelTurn` activity: one turn of an agent's loop. It builds the turn's user message, gets the model's reply,
 * runs the file tools the reply asked for in the agent's worktree, and hands orchestration tool calls back to the
 * agent workflow. Everything large (messages, file contents, tool output) goes to the transcript store; the result
 * that enters workflow history is ids, counts and short summaries.
 *
 * Idempotency key: (agentId, turn). This is the crash-recovery story; every step is ordered so that a retry of the
 * activity (worker crash, heartbeat timeout, a transient error) neither pays for a reply twice nor loses one:
 *   1. The user message of turn N is stored once. A retry uses the stored one, so the request it would send is the
 *      same as the first attempt's.
 *   2. If the reply of turn N is stored, it is reused (`replayed: true`) and the model is not called. Otherwise the
 *      model is called and its reply is stored (fsync) BEFORE any tool runs, so a crash while tools run never
 *      loses a paid-for reply. The usage reported on a replay is the stored usage; the workflow settles a turn's
 *      usage once, keyed by turn, so reporting it again cannot bill it twice.
 *   3. Each file tool's result is stored right after it runs; a retry skips tools whose result is stored. A crash
 *      between a tool's side effect and the fsync of its result re-runs that one tool (at-least-once for that
 *      window): file writes are naturally idempotent; an edit that already applied reports "not found" to the model.
 *   4. Invalid tool calls are answered with an error result (stored) and never reach the workflow. Valid
 *      orchestration calls are returned, parsed, for the workflow to handle; their results come back as
 *      `toolResults` of turn N+1 and are written into that turn's user message.
 *   5. Through a remote only: the turn's changes are committed and pushed and the transcript saved to the remote
 *      before the activity returns (checkpoint.ts), so a turn that completed survives the loss of its host.
 *
 * Cancellation: the activity's cancellation signal aborts the model request and is passed to tools; the
 * cancellation is re-thrown, never turned into a tool error.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ErrorType } from '../../shared/errors';
import { modelTurnInputSchema, type ApplyWritesInput, type ModelBackend, type ModelTurnInput, type ModelTurnOutput, type PendingWrite, type ToolRun } from '../../shared/model';
import {
  isFileTool,
  isOrchestrationTool,
  type FileToolName,
  type ToolCall,
  type ToolName,
  type ToolResult,
} from '../../shared/tools';
import { defaultCommandPolicy, type CommandPolicy } from '../commandRunner';
import { executeFileTool, type FileToolContext } from '../fileTools';
import { withPortEnv } from '../commandRunner';
import { defineActivity, toFailure } from '../boundary';
import { PathOutsideWorkspaceError, resolveInside } from '../paths';
import { redact } from '../../node/redact';
import { createAnthropicBackend } from './anthropic';
import {
  estimateTokens,
  type AssistantBlock,
  type ConversationMessage,
  type ModelBackendClient,
  type ToolResultBlock,
  type ToolUseBlock,
  type UserBlock,
} from './backend';
import { createBlobStore, type BlobStore } from '../blobs';
import { checkpointTurn, restoreTranscript, transcriptStateRef } from './checkpoint';
import { worktreeRemote } from '../remote';
import { continueText, goalBlock, inboxBlock, systemPrompt } from './prompt';
import { priorReads, rereadNote } from './rereads';
import { resolveScriptPath, createScriptedBackend } from './scripted';
import { scrubSecrets } from './secrets';
import { canonicalTools, toolDefinitions, toolSchema } from './toolDefs';
import {
  indexTranscript,
  resultKey,
  TranscriptWriter,
  withTranscriptLock,
  type AssistantRecord,
  type ToolResultRecord,
  type TranscriptIndex,
} from './transcript';

export interface FileToolOutcome {
  content: string;
  isError: boolean;
  summary: string;
  touched?: string;
}

export type FileToolExecutor = (ctx: FileToolContext, name: FileToolName, rawInput: unknown) => Promise<FileToolOutcome>;

export interface ModelActivityDeps {
  /** Root of cadre's state; transcripts live in `${stateDir}/transcripts`. */
  stateDir: string;
  /** Defaults to process.env.ANTHROPIC_API_KEY, read when the anthropic backend is first needed. */
  apiKey?: string;
  anthropicBaseURL?: string;
  executeFileTool?: FileToolExecutor;
  policy?: CommandPolicy;
  clock?: () => number;
  /** How often to heartbeat while waiting for the model (default 5 s; the preset's heartbeat timeout is 15 s). */
  heartbeatIntervalMs?: number;
  /** Replaces a backend (tests, alternative providers). */
  backends?: Partial<Record<ModelBackend, ModelBackendClient>>;
  /** Shared-workspace writes: confirms a fencing token still holds a path; resolves to a refusal reason if not. */
  fenceCheck?: (input: { repo: string; paths: string[]; token: number }) => Promise<string | undefined>;
  /** Where a goal passed by reference (`goalRef`) is read from; default a store of its own. */
  blobs?: BlobStore;
}

export interface ModelActivities {
  modelTurn(input: ModelTurnInput): Promise<ModelTurnOutput>;
  applyWrites(input: ApplyWritesInput): Promise<{ toolRuns: ToolRun[] }>;
}

/** How much of the reply's text goes into the activity result (history); the full text is in the transcript. */
export const outputTextLimit = 300;
/** A tool result larger than this is cut before it is stored and sent to the model. */
export const toolResultLimit = 200_000;
const summaryLimit = 200;
/** Rough allowance for an orchestration tool's result in the next request (the workflow writes it later). */
const orchestrationResultEstimate = 200;

/** Failure type for a transcript that lacks the earlier turns a turn needs (state directory lost or replaced). */
export const transcriptMissingType = 'TranscriptMissing';

export function createModelActivities(deps: ModelActivityDeps): ModelActivities {
  const clock = deps.clock ?? Date.now;
  const blobs = deps.blobs ?? createBlobStore();
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? 5_000;
  const runFileTool = deps.executeFileTool ?? executeFileTool;
  const policy = deps.policy ?? defaultCommandPolicy;
  const apiKey = (): string | undefined => deps.apiKey ?? process.env.ANTHROPIC_API_KEY;
  const clean = (text: string): string => scrubSecrets(redact(text), [apiKey()]);

  let anthropic: { key: string; client: ModelBackendClient } | undefined;
  let scripted: ModelBackendClient | undefined;
  const backendFor = (name: ModelBackend): ModelBackendClient => {
    const injected = deps.backends?.[name];
    if (injected) return injected;
    if (name === 'scripted') return (scripted ??= createScriptedBackend());
    const key = apiKey();
    if (!key) {
      throw ApplicationFailure.create({
        type: ErrorType.ModelAuth,
        message: 'ANTHROPIC_API_KEY is not set: the anthropic backend needs an API key',
        nonRetryable: true,
      });
    }
    if (!anthropic || anthropic.key !== key) {
      anthropic = { key, client: createAnthropicBackend({ apiKey: key, baseURL: deps.anthropicBaseURL, clock }) };
    }
    return anthropic.client;
  };

  /** A tool's result as stored: capped, scrubbed of secrets, keyed by (turn, tool_use id). */
  function resultRecord(
    turn: number,
    toolUseId: string,
    name: string,
    outcome: { content: string; isError: boolean; summary: string; touched?: string },
  ): ToolResultRecord {
    return {
      v: 1,
      kind: 'tool_result',
      turn,
      toolUseId,
      name,
      content: clean(capText(outcome.content, toolResultLimit)),
      isError: outcome.isError,
      summary: clean(capText(outcome.summary, summaryLimit)),
      ...(outcome.touched ? { touched: outcome.touched } : {}),
      at: clock(),
    };
  }

  const modelTurn = defineActivity(
    'modelTurn',
    modelTurnInputSchema,
    async (input): Promise<ModelTurnOutput> => {
      // A long goal travels by reference; the turn reads it here (cached per worker), never from history.
      const full = input.goalRef ? { ...input, goal: await blobs.text(input.goalRef) } : input;
      return withTranscriptLock(deps.stateDir, input.agentId, () => runTurn(full));
    },
    { invalidInputType: ErrorType.ModelBadRequest },
  );

  async function runTurn(input: ModelTurnInput): Promise<ModelTurnOutput> {
    const activity = Context.current();
    // `progressAt` (the last stream event or tool start) is what the agent's stall watch reads (activities/progress.ts).
    let progressAt: number | undefined;
    const heartbeat = (): void => activity.heartbeat({ turn: input.turn, beatAt: Date.now(), ...(progressAt === undefined ? {} : { progressAt }) });
    const progressed = (): void => {
      progressAt = Date.now();
      heartbeat();
    };
    const signal = activity.cancellationSignal;
    const tools = canonicalTools(input.tools);
    const system = systemPrompt(tools, input.system);
    const N = input.turn;

    let transcript = await TranscriptWriter.open(deps.stateDir, input.agentId);
    let index = indexTranscript(transcript.records);
    // Through a remote (checkpoint.ts), the turn ends with a checkpoint; a host that lacks the earlier turns (the
    // agent's first host was lost) first restores the transcript as the last completed turn saved it.
    const target = input.deferWrites ? undefined : await worktreeRemote(deps.stateDir, input.workspace);
    if (target && lacksTurnsBefore(index, N)) {
      const restored = await withHeartbeats(heartbeat, heartbeatIntervalMs, () => restoreTranscript(deps.stateDir, target, input.agentId));
      if (!restored) throw transcriptMissing(input.agentId, N, `it is not on this host and no saved state of it was found on the remote ${target.remote} (${transcriptStateRef(input.agentId)})`);
      transcript = await TranscriptWriter.open(deps.stateDir, input.agentId);
      index = indexTranscript(transcript.records);
    }

    // 1. The user message of turn N (stored once; a retry reuses it).
    if (!index.users.has(N)) {
      const content = N === 1 ? firstUserContent(input) : nextUserContent(input, index, tools);
      await transcript.append({ v: 1, kind: 'user', turn: N, content: content.map((b) => cleanBlock(b, clean)), at: clock() });
      index = indexTranscript(transcript.records);
    }
    const messages = conversation(index, N, input.agentId);

    // 2. The reply of turn N: from the store after a crash, else from the model, stored before any tool runs.
    let reply = index.replies.get(N);
    const replayed = reply !== undefined;
    if (!reply) {
      const backend = backendFor(input.backend);
      const scriptPath = input.scriptPath ? await resolveScriptPath(input.scriptPath, input.workspace) : undefined;
      // Heartbeat on every stream event, and on a timer too: the first event can take a while on a long prompt.
      const answer = await withHeartbeats(heartbeat, heartbeatIntervalMs, () => backend.call(
        {
          agentId: input.agentId,
          turn: N,
          model: input.model,
          maxTokens: input.maxTokens,
          system,
          tools,
          messages,
          ...(scriptPath ? { scriptPath } : {}),
        },
        { heartbeat: progressed, signal },
      ));
      reply = {
        v: 1,
        kind: 'assistant',
        turn: N,
        content: answer.content.map((b) => cleanAssistantBlock(b, clean)),
        stopReason: answer.stopReason,
        usage: answer.usage,
        model: answer.model,
        at: clock(),
      };
      await transcript.append(reply);
    }

    // 3. The tool calls of reply N, in order.
    const toolRuns: ToolRun[] = [];
    const pendingWrites: PendingWrite[] = [];
    const orchestrationCalls: ToolCall[] = [];
    const resultBlocks: ToolResultBlock[] = [];
    const reads = priorReads(index, N);
    for (const block of reply.content) {
      if (block.type !== 'tool_use') continue;
      heartbeat();
      const stored = index.results.get(resultKey(N, block.id));
      if (stored) {
        toolRuns.push({ name: stored.name, summary: stored.summary, isError: stored.isError });
        resultBlocks.push(toResultBlock(stored));
        continue;
      }
      progressed();
      const outcome = await answerToolCall(block, tools, input, { heartbeat, signal });
      if (outcome.kind === 'orchestration') {
        orchestrationCalls.push({ id: block.id, name: block.name, input: outcome.input });
        continue;
      }
      if (outcome.kind === 'deferred') {
        pendingWrites.push({ toolUseId: block.id, name: block.name as PendingWrite['name'], path: outcome.path });
        continue;
      }
      const record = resultRecord(N, block.id, block.name, outcome);
      const note = block.name === 'read_file' && !record.isError ? rereadNote(reads, block.input, record.content) : undefined;
      if (note) Object.assign(record, { content: note, summary: `${record.summary} (unchanged, not sent again)` });
      await transcript.append(record);
      toolRuns.push({ name: record.name, summary: record.summary, isError: record.isError });
      resultBlocks.push(toResultBlock(record));
    }
    heartbeat();
    if (target) await withHeartbeats(heartbeat, heartbeatIntervalMs, () => checkpointTurn(deps.stateDir, target, input.agentId, N, input.workspace));

    const nextMessages: ConversationMessage[] = [
      ...messages,
      { role: 'assistant', content: reply.content },
      { role: 'user', content: resultBlocks },
    ];
    const nextInputEstimate =
      estimateTokens(system) +
      estimateTokens(toolDefinitions(tools)) +
      estimateTokens(nextMessages) +
      orchestrationCalls.length * orchestrationResultEstimate;

    return {
      stopReason: reply.stopReason,
      text: capText(replyText(reply), outputTextLimit),
      orchestrationCalls,
      toolRuns,
      usage: { ...reply.usage },
      model: reply.model,
      replayed,
      nextInputEstimate,
      ...(pendingWrites.length ? { pendingWrites } : {}),
    };
  }

  /**
   * Shared-workspace mode: run the writes a turn deferred, after the workflow locked their paths. Each write is
   * fenced: just before it, the lock manager must confirm that the token still holds the path, else the write is
   * refused and the model is told so. Idempotent per tool_use id: a write whose result is stored is not run again.
   */
  async function applyWrites(input: ApplyWritesInput): Promise<{ toolRuns: ToolRun[] }> {
    return withTranscriptLock(deps.stateDir, input.agentId, async () => {
      const activity = Context.current();
      const transcript = await TranscriptWriter.open(deps.stateDir, input.agentId);
      const index = indexTranscript(transcript.records);
      const reply = index.replies.get(input.turn);
      if (!reply) throw transcriptMissing(input.agentId, input.turn, `the reply of turn ${input.turn} is not stored`);
      const toolRuns: ToolRun[] = [];
      for (const w of input.writes) {
        activity.heartbeat({ turn: input.turn, write: w.toolUseId });
        const stored = index.results.get(resultKey(input.turn, w.toolUseId));
        if (stored) {
          toolRuns.push({ name: stored.name, summary: stored.summary, isError: stored.isError });
          continue;
        }
        const block = reply.content.find((b): b is ToolUseBlock => b.type === 'tool_use' && b.id === w.toolUseId);
        if (!block) continue;
        let outcome: { content: string; isError: boolean; summary: string; touched?: string };
        const refusal = input.fence ? await deps.fenceCheck?.({ repo: input.fence.repo, paths: [w.path], token: input.fence.token }) : undefined;
        if (refusal) outcome = { content: `Write refused: ${refusal}`, isError: true, summary: `${w.name} ${w.path}: refused (lock lost)` };
        else {
          try {
            outcome = await runFileTool({ root: input.workspace, policy, heartbeat: () => activity.heartbeat() }, w.name, block.input);
          } catch (err) {
            if (activity.cancellationSignal.aborted) throw err;
            // One bad path (say a symlink swapped in since the turn) is a tool error; the other writes still apply.
            if (!(err instanceof PathOutsideWorkspaceError)) throw toFailure(err);
            outcome = { content: `Write refused: ${err.message}`, isError: true, summary: `${w.name} ${w.path}: refused` };
          }
        }
        const record = resultRecord(input.turn, w.toolUseId, w.name, outcome);
        await transcript.append(record);
        toolRuns.push({ name: record.name, summary: record.summary, isError: record.isError });
      }
      return { toolRuns };
    });
  }

  type ToolOutcome =
    | { kind: 'orchestration'; input: unknown }
    | { kind: 'deferred'; path: string }
    | { kind: 'answered'; content: string; isError: boolean; summary: string; touched?: string };

  /** Answers one tool call of the model: runs a file tool, refuses an invalid call, or passes an orchestration call on. */
  async function answerToolCall(
    block: ToolUseBlock,
    tools: readonly ToolName[],
    input: ModelTurnInput,
    run: { heartbeat: () => void; signal: AbortSignal | undefined },
  ): Promise<ToolOutcome> {
    const name = block.name;
    if (!isFileTool(name) && !isOrchestrationTool(name)) {
      return refused(name, `Unknown tool "${name}". Available tools: ${tools.join(', ')}.`, 'unknown tool');
    }
    if (!tools.includes(name)) {
      return refused(name, `The tool "${name}" is not available to you. Available tools: ${tools.join(', ')}.`, 'tool not available');
    }
    const checked = toolSchema(name).safeParse(block.input);
    if (!checked.success) {
      const issues = formatIssues(checked.error);
      return refused(name, `Invalid input for ${name} (${ErrorType.InvalidToolInput}): ${issues}`, `invalid input: ${issues}`);
    }
    if (isOrchestrationTool(name)) return { kind: 'orchestration', input: checked.data };
    if (input.deferWrites && name === 'run_command') {
      // Shared mode: a program could write any file of the user's checkout without the lock a write takes.
      return refused(name, 'run_command is not available in shared-workspace mode: a program could write files without their lock. Use write_file or edit_file.', 'refused in shared mode');
    }
    if (input.deferWrites && (name === 'write_file' || name === 'edit_file')) {
      // A bad path is the model's mistake: answered now, so it is neither locked nor allowed to fail the turn.
      const p = (checked.data as { path: string }).path;
      const bad = pathProblem(input.workspace, p);
      if (bad) return refused(name, `Write refused: ${bad}`, `${p}: ${bad}`);
      return { kind: 'deferred', path: p };
    }

    try {
      const result = await runFileTool(
        { root: input.workspace, policy: withPortEnv(policy, input.ports), heartbeat: run.heartbeat, ...(run.signal ? { signal: run.signal } : {}) },
        name,
        block.input,
      );
      return { kind: 'answered', ...result };
    } catch (err) {
      // The executor answers the model's own mistakes as error results; what it throws is a system fault (the
      // workspace is gone, an I/O error) or cancellation, and fails the attempt. The results stored so far stay,
      // so the retry resumes at this tool.
      if (run.signal?.aborted) throw err;
      throw toFailure(err);
    }
  }

  return { modelTurn, applyWrites };
}

/** Runs `fn`, heartbeating now and every `everyMs` until it settles. */
async function withHeartbeats<T>(heartbeat: () => void, everyMs: number, fn: () => Promise<T>): Promise<T> {
  heartbeat();
  const timer = setInterval(heartbeat, everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** Why a shared-mode write to `p` is refused (outside the workspace, into .git), or undefined. */
function pathProblem(workspace: string, p: string): string | undefined {
  try {
    resolveInside(workspace, p, 'write');
    return undefined;
  } catch (err) {
    if (err instanceof PathOutsideWorkspaceError) return err.message;
    throw err;
  }
}

function refused(name: string, content: string, summary: string): { kind: 'answered'; content: string; isError: true; summary: string } {
  return { kind: 'answered', content, isError: true, summary: `${name}: ${summary}` };
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

function firstUserContent(input: ModelTurnInput): UserBlock[] {
  return [goalBlock(input.goal), ...inboxBlock(input.inbox)];
}

/**
 * The user message of turn N > 1: one tool_result for every tool_use of reply N-1, in the reply's order (the API
 * requires them all, first), then the inbox. Results come from the store (file tools and refused calls, written by
 * the activity itself) or from the workflow (`toolResults`, orchestration tools). A call with neither (the workflow
 * skipped it) gets an error result, so the conversation stays valid.
 */
function nextUserContent(input: ModelTurnInput, index: TranscriptIndex, tools: readonly ToolName[]): UserBlock[] {
  const previous = index.replies.get(input.turn - 1);
  if (!previous) throw transcriptMissing(input.agentId, input.turn, `the reply of turn ${input.turn - 1} is not stored`);
  const fromWorkflow = new Map<string, ToolResult>();
  for (const r of input.toolResults ?? []) if (!fromWorkflow.has(r.toolUseId)) fromWorkflow.set(r.toolUseId, r);

  const blocks: UserBlock[] = [];
  for (const block of previous.content) {
    if (block.type !== 'tool_use') continue;
    const stored = index.results.get(resultKey(input.turn - 1, block.id));
    const given = fromWorkflow.get(block.id);
    if (stored) blocks.push(toResultBlock(stored));
    else if (given) {
      blocks.push({
        type: 'tool_result',
        tool_use_id: block.id,
        content: given.content === '' ? '(no output)' : capText(given.content, toolResultLimit),
        ...(given.isError ? { is_error: true } : {}),
      });
    } else {
      blocks.push({ type: 'tool_result', tool_use_id: block.id, content: 'No result: this tool call was not carried out.', is_error: true });
    }
  }
  blocks.push(...inboxBlock(input.inbox));
  if (blocks.length === 0) blocks.push({ type: 'text', text: continueText(tools) });
  return blocks;
}

/** Whether any user message or reply of the turns before N is missing (N needs them all). */
function lacksTurnsBefore(index: TranscriptIndex, N: number): boolean {
  for (let k = 1; k < N; k++) if (!index.users.has(k) || !index.replies.has(k)) return true;
  return false;
}

/** Turns 1..N as API messages: user 1, assistant 1, ..., user N. */
function conversation(index: TranscriptIndex, N: number, agentId: string): ConversationMessage[] {
  const messages: ConversationMessage[] = [];
  for (let k = 1; k <= N; k++) {
    const user = index.users.get(k);
    if (!user) throw transcriptMissing(agentId, N, `the user message of turn ${k} is not stored`);
    messages.push({ role: 'user', content: user.content });
    if (k === N) break;
    const reply = index.replies.get(k);
    if (!reply) throw transcriptMissing(agentId, N, `the reply of turn ${k} is not stored`);
    // The API refuses an empty assistant message (a reply cut off before any block).
    messages.push({ role: 'assistant', content: reply.content.length > 0 ? reply.content : [{ type: 'text', text: '(no reply)' }] });
  }
  return messages;
}

function transcriptMissing(agentId: string, turn: number, why: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: transcriptMissingType,
    message: `transcript of agent ${agentId} cannot continue at turn ${turn}: ${why}`,
    nonRetryable: true,
  });
}

function toResultBlock(r: ToolResultRecord): ToolResultBlock {
  return {
    type: 'tool_result',
    tool_use_id: r.toolUseId,
    content: r.content === '' ? '(no output)' : r.content,
    ...(r.isError ? { is_error: true } : {}),
  };
}

function cleanBlock(b: UserBlock, clean: (s: string) => string): UserBlock {
  return b.type === 'text' ? { ...b, text: clean(b.text) } : { ...b, content: clean(b.content) };
}

function cleanAssistantBlock(b: AssistantBlock, clean: (s: string) => string): AssistantBlock {
  return b.type === 'text' ? { ...b, text: clean(b.text) } : b;
}

function replyText(reply: AssistantRecord): string {
  return reply.content
    .filter((b): b is Extract<AssistantBlock, { type: 'text' }> => b.type === 'text')
    .map((b) => b.text)
    .join('\n');
}

function capText(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

