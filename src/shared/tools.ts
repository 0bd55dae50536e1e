/**
 * The tools a model may call. Each has a zod schema (validated at the trust boundary: every tool call a model makes)
 * and a description; the JSON Schema sent to the model is derived from the zod schema, so the two never drift.
 *
 * File tools and run_command run inside the model-turn activity, on the host that owns the worktree. Orchestration
 * tools (spawn_agent, wait_for_agents, send_message, read_messages, request_budget, finish) are handed back to the
 * agent workflow, which handles them deterministically.
 */
import { z } from 'zod';

const relPath = z.string().min(1).describe('Path relative to the workspace root');

export const fileToolSchemas = {
  read_file: z.object({
    path: relPath,
    offset: z.number().int().min(0).optional().describe('First line to return, 0-based'),
    limit: z.number().int().min(1).max(5000).optional().describe('How many lines to return'),
  }).strict(),
  write_file: z.object({ path: relPath, content: z.string() }).strict(),
  edit_file: z.object({
    path: relPath,
    old_string: z.string().min(1).describe('Exact text to replace; must occur exactly once unless replace_all'),
    new_string: z.string(),
    replace_all: z.boolean().optional(),
  }).strict(),
  list_files: z.object({ path: z.string().optional().describe('Directory relative to the workspace root; default the root') }).strict(),
  search_text: z.object({
    pattern: z.string().min(1).describe('A JavaScript regular expression'),
    path: z.string().optional(),
    max_results: z.number().int().min(1).max(500).optional(),
  }).strict(),
  run_command: z.object({
    argv: z.array(z.string()).min(1).describe('Program and arguments; no shell is involved'),
    timeout_seconds: z.number().int().min(1).max(3600).optional(),
  }).strict(),
} as const;

export const orchestrationToolSchemas = {
  spawn_agent: z.object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes, at most 40').describe('Short name, unique among your children'),
    goal: z.string().min(1),
    budget_tokens: z.number().int().min(1).optional().describe('Token slice given to the child from your budget'),
    budget_usd: z.number().positive().optional(),
    backend: z.enum(['anthropic', 'scripted', 'command', 'claude-code', 'codex']).optional().describe('How the child thinks; default your own backend'),
    model: z.string().min(1).max(100).optional().describe('The child\'s model; default your own'),
    script: z.string().optional().describe('For the scripted backend: script file path'),
    command: z.array(z.string()).optional().describe('For the command backend: argv'),
    files: z.array(z.string()).optional().describe('Paths the child is expected to touch'),
  }).strict(),
  wait_for_agents: z.object({ names: z.array(z.string()).optional().describe('Children to wait for; default all') }).strict(),
  send_message: z.object({
    to: z.string().min(1).describe('"parent", a child name, "children" (all of them), an agent id, or "operator"'),
    text: z.string().min(1).max(8000),
    priority: z.enum(['high', 'normal', 'low']).optional(),
    reply_to: z.string().optional(),
  }).strict(),
  read_messages: z.object({ wait_seconds: z.number().int().min(0).max(3600).optional().describe('Wait up to this long for a message when none is waiting') }).strict(),
  request_budget: z.object({ tokens: z.number().int().min(1).optional(), usd: z.number().positive().optional(), reason: z.string().optional() }).strict(),
  finish: z.object({ summary: z.string().min(1).max(4000) }).strict(),
} as const;

export type FileToolName = keyof typeof fileToolSchemas;
export type OrchestrationToolName = keyof typeof orchestrationToolSchemas;
export type ToolName = FileToolName | OrchestrationToolName;
/** Every tool name, file tools first. */
export const toolNames = [...Object.keys(fileToolSchemas), ...Object.keys(orchestrationToolSchemas)] as [ToolName, ...ToolName[]];

export const toolDescriptions: Record<ToolName, string> = {
  read_file: 'Read a text file from your workspace. Reading it again while it is unchanged returns a short note instead of the content you already have.',
  write_file: 'Create or overwrite a file in your workspace.',
  edit_file: 'Replace an exact string in a file of your workspace.',
  list_files: 'List files under a directory of your workspace (git-ignored files excluded).',
  search_text: 'Search the files of your workspace for a regular expression; returns path:line: text.',
  run_command: 'Run a program in your workspace (argv, no shell), subject to the command policy.',
  spawn_agent: 'Start a sub-agent with its own worktree branched from your current work and a slice of your budget.',
  wait_for_agents: 'Wait until the named sub-agents (default: all) have ended; their work is merged into yours.',
  send_message: 'Send a message to your parent, a child, another agent by id, or the operator.',
  read_messages: 'Read the messages waiting in your mailbox.',
  request_budget: 'Ask your parent for more budget.',
  finish: 'End your work with a summary. Your changes are committed for you.',
};

export function isFileTool(name: string): name is FileToolName {
  return Object.prototype.hasOwnProperty.call(fileToolSchemas, name);
}

export function isOrchestrationTool(name: string): name is OrchestrationToolName {
  return Object.prototype.hasOwnProperty.call(orchestrationToolSchemas, name);
}

/** A tool call as the model made it; `input` is untrusted until parsed with the tool's schema. */
export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
}

/** What the workflow sends back for an orchestration tool call; small text only (it lives in history). */
export interface ToolResult {
  toolUseId: string;
  content: string;
  isError?: boolean;
}
