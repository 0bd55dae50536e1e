/**
 * The `scripted` backend: replays a script of model turns, for tests, demos and offline runs. Turn N of an agent
 * gets turn N of the script, whatever the conversation says, so a run is fully deterministic.
 *
 * Script format (YAML, or JSON for a `.json` file):
 *
 *   turns:
 *     - text: "Creating the greeting"          # optional text of the reply
 *       tools:                                  # optional tool calls, in order; each is { <tool name>: <input> }
 *         - write_file: { path: hello.txt, content: "hi\n" }
 *     - tools:
 *         - edit_file: { path: hello.txt, old_string: "hi", new_string: "hello" }
 *     - tools:
 *         - finish: { summary: "wrote hello.txt" }
 *       usage: { input: 1200, output: 80 }      # optional: the usage this turn reports
 *
 * Tool names must be cadre tools; their inputs are NOT validated here (the model-turn activity validates them as it
 * does a real model's calls, so a script can exercise the invalid-input path). Tool-use ids are `toolu_s<turn>_<i>`
 * (i from 1). A turn with tools stops with `tool_use`, one without with `end_turn`. Past the end of the script the
 * reply is `end_turn` with the text "(script ended)" and no tools.
 *
 * Usage, unless the turn gives it: input = ceil(characters of system prompt + conversation / 4), output =
 * ceil(characters of the reply / 4) + 10, no cache traffic. The same script and conversation always give the same
 * usage, so budgets behave identically run after run.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import YAML from 'yaml';
import { z } from 'zod';
import { ErrorType } from '../../shared/errors';
import { fileToolSchemas, orchestrationToolSchemas } from '../../shared/tools';
import {
  estimateTokens,
  type AssistantBlock,
  type BackendCallContext,
  type BackendReply,
  type BackendRequest,
  type ModelBackendClient,
} from './backend';

const knownTools = [...Object.keys(fileToolSchemas), ...Object.keys(orchestrationToolSchemas)];

const toolCallSchema = z
  .record(z.string(), z.unknown())
  .refine((o) => Object.keys(o).length === 1, { message: 'a tool call is one { <tool name>: <input> } pair' })
  .refine((o) => Object.keys(o).every((name) => knownTools.includes(name)), {
    message: `unknown tool; known tools: ${knownTools.join(', ')}`,
  });

const count = z.number().int().min(0);

export const scriptTurnSchema = z.object({
  text: z.string().optional(),
  tools: z.array(toolCallSchema).optional(),
  usage: z.object({
    input: count.optional(),
    output: count.optional(),
    cacheWrite: count.optional(),
    cacheRead: count.optional(),
  }).strict().optional(),
}).strict();

export const scriptSchema = z.object({ turns: z.array(scriptTurnSchema) }).strict();

export type ScriptTurn = z.infer<typeof scriptTurnSchema>;
export type Script = z.infer<typeof scriptSchema>;

export const scriptEndedText = '(script ended)';

/** Thrown (as a non-retryable ModelBadRequest failure) for a script that cannot be read or is not valid. */
function scriptFailure(file: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.ModelBadRequest, message: `${file}: ${message}`, nonRetryable: true });
}

/** Parses and validates script text; errors name the file and the turn (1-based). */
export function parseScript(text: string, file: string): Script {
  let raw: unknown;
  try {
    raw = file.toLowerCase().endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw scriptFailure(file, `cannot parse script: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = scriptSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = describePath(issue?.path ?? []);
    throw scriptFailure(file, `${where}${issue?.message ?? 'invalid script'}`);
  }
  return parsed.data;
}

function describePath(p: readonly PropertyKey[]): string {
  if (p[0] === 'turns' && typeof p[1] === 'number') {
    const rest = p.slice(2).map(String).join('.');
    return `turn ${p[1] + 1}${rest ? ` (${rest})` : ''}: `;
  }
  return p.length > 0 ? `${p.map(String).join('.')}: ` : '';
}

export async function loadScript(file: string): Promise<Script> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw scriptFailure(file, `cannot read script: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseScript(text, file);
}

/**
 * Where a script path points: absolute paths as given; relative ones against the agent's workspace (a worktree of
 * the repository, so a repository-relative path works), else against the worker's working directory.
 */
export async function resolveScriptPath(scriptPath: string, workspace: string): Promise<string> {
  if (path.isAbsolute(scriptPath)) return scriptPath;
  const inWorkspace = path.resolve(workspace, scriptPath);
  try {
    await fs.access(inWorkspace);
    return inWorkspace;
  } catch {
    return path.resolve(scriptPath);
  }
}

/** The reply of one script turn (1-based), with deterministic ids and usage. */
export function scriptedReply(script: Script, request: BackendRequest): BackendReply {
  const step = script.turns[request.turn - 1];
  const content: AssistantBlock[] = [];
  if (!step) {
    content.push({ type: 'text', text: scriptEndedText });
  } else {
    if (step.text !== undefined && step.text !== '') content.push({ type: 'text', text: step.text });
    (step.tools ?? []).forEach((call, i) => {
      const [name, input] = Object.entries(call)[0] as [string, unknown];
      content.push({ type: 'tool_use', id: `toolu_s${request.turn}_${i + 1}`, name, input: input ?? {} });
    });
  }
  const hasTools = content.some((b) => b.type === 'tool_use');
  return {
    content,
    stopReason: hasTools ? 'tool_use' : 'end_turn',
    usage: {
      inputTokens: step?.usage?.input ?? estimateTokens(request.system) + estimateTokens(request.messages),
      outputTokens: step?.usage?.output ?? estimateTokens(content) + 10,
      cacheWriteTokens: step?.usage?.cacheWrite ?? 0,
      cacheReadTokens: step?.usage?.cacheRead ?? 0,
    },
    model: request.model,
  };
}

export function createScriptedBackend(): ModelBackendClient {
  return {
    name: 'scripted',
    async call(request: BackendRequest, ctx: BackendCallContext): Promise<BackendReply> {
      if (!request.scriptPath) {
        throw ApplicationFailure.create({
          type: ErrorType.ModelBadRequest,
          message: 'the scripted backend needs a script path',
          nonRetryable: true,
        });
      }
      ctx.heartbeat();
      const script = await loadScript(request.scriptPath);
      return scriptedReply(script, request);
    },
  };
}
