/**
 * Claude Code, headless: `claude -p <prompt> --output-format stream-json --verbose`, in the agent's worktree.
 *
 * - Fresh session: `--session-id <uuid>` chosen by cadre, so the id is known (and recorded) before the first event.
 *   Resumed session: `--resume <id>` with a short "continue" prompt; Claude Code reloads the conversation from its
 *   session file under the program's HOME (`~/.claude/projects/…`), which is why HOME is kept per agent.
 * - Permissions: `--permission-mode` (default `acceptEdits`) and `--allowedTools` (default
 *   `defaultClaudeAllowedTools` plus the cadre MCP tools); in `-p` mode anything not allowed is denied, not asked.
 * - Budget: `--max-budget-usd` = what is left of the slice (the slice minus what earlier attempts spent).
 * - MCP: `--mcp-config <file> --strict-mcp-config`: only cadre's server, none from the user's or the repository's
 *   configuration. The file (mode 0600, in the session's HOME) holds the per-attempt bearer secret, so it is not
 *   on the command line.
 * - Usage: every `assistant` event carries its message's usage (the same message id repeats per content block:
 *   the last one counts); the `result` event has the process's totals (`modelUsage`) and `total_cost_usd`. Both
 *   cover this process only, so earlier attempts' usage is added by the session (usageScope 'process').
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Usage } from '../../../shared/model';
import { costUsd, hasPrice, type PriceTable } from '../../../shared/pricing';
import { defaultClaudeAllowedTools } from '../../../shared/session';
import { MCP_SERVER_NAME } from '../../mcp/server';
import type { AgentProgramBackendImpl, LaunchContext, SessionEvent, StreamParser } from '../session/backend';
import { pick } from '../session/env';

/** Provider settings Claude Code may get from the worker: an API key or Bedrock/Vertex settings, never a login. */
export const CLAUDE_PROVIDER_ENV = [
  'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'ANTHROPIC_MODEL', 'ANTHROPIC_SMALL_FAST_MODEL', 'ANTHROPIC_DEFAULT_HAIKU_MODEL',
  'CLAUDE_CODE_USE_BEDROCK', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_BEARER_TOKEN_BEDROCK', 'ANTHROPIC_BEDROCK_BASE_URL',
  'CLAUDE_CODE_USE_VERTEX', 'CLOUD_ML_REGION', 'ANTHROPIC_VERTEX_PROJECT_ID', 'GOOGLE_APPLICATION_CREDENTIALS', 'ANTHROPIC_VERTEX_BASE_URL',
] as const;

export const mcpToolName = (tool: string): string => `mcp__${MCP_SERVER_NAME}__${tool}`;

function toUsage(u: Record<string, unknown> | undefined): Usage {
  const n = (k: string): number => (typeof u?.[k] === 'number' ? (u[k] as number) : 0);
  return { inputTokens: n('input_tokens'), outputTokens: n('output_tokens'), cacheWriteTokens: n('cache_creation_input_tokens'), cacheReadTokens: n('cache_read_input_tokens') };
}

function sum(list: Iterable<Usage>): Usage {
  const t: Usage = { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };
  for (const u of list) {
    t.inputTokens += u.inputTokens;
    t.outputTokens += u.outputTokens;
    t.cacheWriteTokens += u.cacheWriteTokens;
    t.cacheReadTokens += u.cacheReadTokens;
  }
  return t;
}

/**
 * The process's totals from the result's `modelUsage` (per model, camelCase), summed over models. Preferred to the
 * result's `usage`, which is not always the total: a session stopped by `--max-budget-usd` reports the first
 * response's usage there while `modelUsage` and `total_cost_usd` count every response (seen with 2.1.332).
 */
function modelUsageTotal(raw: unknown): Usage | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const models = Object.values(raw as Record<string, Record<string, unknown>>).filter((m) => m && typeof m === 'object');
  if (!models.length) return undefined;
  const n = (m: Record<string, unknown>, k: string): number => (typeof m[k] === 'number' ? (m[k] as number) : 0);
  return sum(models.map((m) => ({ inputTokens: n(m, 'inputTokens'), outputTokens: n(m, 'outputTokens'), cacheWriteTokens: n(m, 'cacheCreationInputTokens'), cacheReadTokens: n(m, 'cacheReadInputTokens') })));
}

function short(value: unknown, max = 120): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function toolSummary(name: string, input: Record<string, unknown>): { summary: string; file?: string } {
  const file = typeof input.file_path === 'string' ? input.file_path : typeof input.notebook_path === 'string' ? input.notebook_path : undefined;
  if (file) return { summary: `${name} ${file}`, file: ['Write', 'Edit', 'MultiEdit', 'NotebookEdit'].includes(name) ? file : undefined };
  if (typeof input.command === 'string') return { summary: `${name} ${short(input.command, 100)}` };
  if (typeof input.pattern === 'string') return { summary: `${name} ${short(input.pattern, 100)}` };
  return { summary: `${name} ${short(input, 100)}` };
}

class ClaudeStreamParser implements StreamParser {
  private readonly perMessage = new Map<string, Usage>();
  constructor(private readonly prices: PriceTable, private readonly model: string) {}

  private priced(u: Usage, model: string): number | undefined {
    const m = hasPrice(model, this.prices) ? model : hasPrice(this.model, this.prices) ? this.model : undefined;
    return m ? costUsd(u, m, this.prices) : undefined;
  }

  feed(raw: unknown): SessionEvent[] {
    const e = raw as Record<string, unknown>;
    const out: SessionEvent[] = [];
    if (typeof e.session_id === 'string' && e.type === 'system') out.push({ kind: 'session', sessionId: e.session_id });
    if (e.type === 'assistant' && e.message && typeof e.message === 'object') {
      const m = e.message as { id?: string; model?: string; usage?: Record<string, unknown>; content?: { type: string; name?: string; input?: unknown; text?: string }[] };
      const isNew = m.id !== undefined && !this.perMessage.has(m.id);
      if (m.id && m.usage) this.perMessage.set(m.id, toUsage(m.usage));
      if (isNew) out.push({ kind: 'turn' });
      for (const b of m.content ?? []) {
        if (b.type === 'tool_use' && b.name) out.push({ kind: 'tool', ...toolSummary(b.name, (b.input ?? {}) as Record<string, unknown>) });
        if (b.type === 'text' && b.text) out.push({ kind: 'text', text: b.text });
      }
      const total = sum(this.perMessage.values());
      out.push({ kind: 'usage', usage: total, costUsd: this.priced(total, m.model ?? this.model) });
    }
    if (e.type === 'result') {
      const usage = modelUsageTotal(e.modelUsage) ?? (e.usage ? toUsage(e.usage as Record<string, unknown>) : undefined);
      const subtype = String(e.subtype ?? '');
      const isError = e.is_error === true || subtype !== 'success';
      const errors = Array.isArray(e.errors) ? (e.errors as unknown[]).map((x) => short(x, 300)).join('; ') : '';
      out.push({
        kind: 'result',
        ok: !isError,
        summary: typeof e.result === 'string' ? e.result : '',
        turns: typeof e.num_turns === 'number' ? e.num_turns : undefined,
        costUsd: typeof e.total_cost_usd === 'number' ? e.total_cost_usd : undefined,
        usage,
        budgetExceeded: subtype === 'error_max_budget_usd',
        error: isError ? `claude ended with ${subtype || 'an error'}${errors ? `: ${errors}` : typeof e.result === 'string' && e.result ? `: ${short(e.result, 300)}` : ''}` : undefined,
      });
    }
    return out;
  }
}

export const claudeCodeBackend: AgentProgramBackendImpl = {
  backend: 'claude-code',
  usageScope: 'process',
  enforcesBudget: true,

  async prepare(ctx: LaunchContext) {
    const configDir = path.join(ctx.home, '.claude');
    fs.mkdirSync(configDir, { recursive: true });
    const mcpFile = path.join(ctx.home, 'cadre-mcp.json');
    const mcpConfig = { mcpServers: { [MCP_SERVER_NAME]: { type: 'http', url: ctx.mcp.url, headers: { Authorization: `Bearer ${ctx.mcp.token}` } } } };
    fs.writeFileSync(mcpFile, JSON.stringify(mcpConfig), { mode: 0o600 });

    const allowed = [...(ctx.permissions.allowedTools ?? defaultClaudeAllowedTools), ...ctx.mcp.tools.map(mcpToolName)];
    const prompt = ctx.resume ? ctx.resume.prompt : ctx.goal;
    const argv = [
      ctx.program,
      // A prompt that starts with '-' would be read as an option.
      '-p', prompt.startsWith('-') ? ` ${prompt}` : prompt,
      '--output-format', 'stream-json', '--verbose',
      '--model', ctx.model,
      '--permission-mode', ctx.permissions.claudePermissionMode ?? 'acceptEdits',
      `--allowedTools=${allowed.join(',')}`,
      ...(ctx.permissions.disallowedTools?.length ? [`--disallowedTools=${ctx.permissions.disallowedTools.join(',')}`] : []),
      '--mcp-config', mcpFile, '--strict-mcp-config',
      '--max-budget-usd', String(Math.max(ctx.budgetUsd, 0.000001)),
      ...(ctx.maxTurns ? ['--max-turns', String(ctx.maxTurns)] : []),
      ...(ctx.system ? ['--append-system-prompt', ctx.system] : []),
      ...(ctx.resume ? ['--resume', ctx.resume.sessionId] : ['--session-id', ctx.newSessionId]),
    ];
    const env = {
      ...pick(ctx.sourceEnv, CLAUDE_PROVIDER_ENV),
      CLAUDE_CONFIG_DIR: configDir,
      // No telemetry, error reports, update checks or other traffic besides the model endpoint.
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      DISABLE_AUTOUPDATER: '1',
      // wait_for_agents may block for hours; the activity heartbeats meanwhile.
      MCP_TOOL_TIMEOUT: String(24 * 3600 * 1000),
      MCP_TIMEOUT: '30000',
    };
    return { argv, env };
  },

  parser: ({ prices, model }) => new ClaudeStreamParser(prices, model),
};
