/**
 * Codex, headless: `codex exec --json` in the agent's worktree, resumed with `codex exec resume <thread id>`.
 *
 * - Provider: always cadre's own model provider `cadre` (`-c model_providers.cadre={…}`): the Responses API at
 *   OPENAI_BASE_URL (default https://api.openai.com/v1) with the key from OPENAI_API_KEY. So no personal login
 *   (`~/.codex/auth.json`) is ever used; CODEX_HOME is the session's own directory.
 * - Permissions: `--sandbox workspace-write` by default (writes inside the worktree only; Codex's Linux sandbox
 *   works in this container), `approval_policy="never"` (headless: nothing can be asked).
 * - MCP: `mcp_servers.cadre.url` with the bearer secret in an environment variable (`CADRE_MCP_TOKEN`), so it is not
 *   on the command line.
 * - Budget: Codex has no spending limit, so cadre enforces the slice: the usage Codex records after every model
 *   response in its rollout file (`$CODEX_HOME/sessions/…/rollout-…-<thread id>.jsonl`, `token_count` events) is
 *   priced with cadre's table and the process group is stopped once it reaches the slice. The stream itself
 *   reports usage only at the end of the turn. Hazard: the stop comes after the response that crossed the line, so a
 *   session can overshoot by at most one model response.
 * - Usage: Codex reports the thread's totals, resumed parts included (usageScope 'session'); OpenAI's input tokens
 *   include the cached ones, which cadre counts as cache reads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Usage } from '../../../shared/model';
import { costUsd, type PriceTable } from '../../../shared/pricing';
import { MCP_SERVER_NAME } from '../../mcp/server';
import type { AgentProgramBackendImpl, LaunchContext, SessionEvent, StreamParser } from '../session/backend';
import { pick } from '../session/env';

export const CODEX_PROVIDER_ENV = ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'OPENAI_ORGANIZATION', 'OPENAI_PROJECT'] as const;
const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

function toUsage(u: Record<string, unknown> | undefined): Usage {
  const n = (k: string): number => (typeof u?.[k] === 'number' ? (u[k] as number) : 0);
  const cached = n('cached_input_tokens');
  return { inputTokens: Math.max(0, n('input_tokens') - cached), outputTokens: n('output_tokens'), cacheWriteTokens: n('cache_write_input_tokens'), cacheReadTokens: cached };
}

function short(value: unknown, max = 100): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** TOML string literal (JSON's escaping is valid TOML for basic strings). */
const toml = (s: string): string => JSON.stringify(s);

class CodexStreamParser implements StreamParser {
  constructor(private readonly prices: PriceTable, private readonly model: string) {}

  feed(raw: unknown): SessionEvent[] {
    const e = raw as Record<string, unknown>;
    const out: SessionEvent[] = [];
    if (e.type === 'thread.started' && typeof e.thread_id === 'string') out.push({ kind: 'session', sessionId: e.thread_id });
    const item = (e.item ?? {}) as Record<string, unknown>;
    if (e.type === 'item.started' || e.type === 'item.completed') {
      if (item.type === 'command_execution' && e.type === 'item.started') out.push({ kind: 'tool', summary: `exec ${short(item.command)}` });
      if (item.type === 'mcp_tool_call' && e.type === 'item.started') out.push({ kind: 'tool', summary: `${String(item.server ?? MCP_SERVER_NAME)}.${String(item.tool ?? '?')}` });
      if (item.type === 'file_change' && e.type === 'item.completed') {
        for (const c of (item.changes ?? []) as { path?: string; kind?: string }[]) {
          if (c.path) out.push({ kind: 'tool', summary: `${c.kind ?? 'change'} ${c.path}`, file: c.path });
        }
      }
      if (item.type === 'agent_message' && e.type === 'item.completed' && typeof item.text === 'string') out.push({ kind: 'text', text: item.text });
    }
    if (e.type === 'turn.completed') {
      const usage = toUsage(e.usage as Record<string, unknown>);
      out.push({ kind: 'usage', usage, costUsd: costUsd(usage, this.model, this.prices) });
      out.push({ kind: 'result', ok: true, summary: '', usage, costUsd: costUsd(usage, this.model, this.prices) });
    }
    if (e.type === 'turn.failed' || e.type === 'error') {
      const err = (e.error ?? e) as { message?: unknown };
      out.push({ kind: 'result', ok: false, summary: '', error: `codex: ${short(err.message ?? e, 300)}` });
    }
    return out;
  }
}

/** Where Codex keeps a thread's rollout; found once, then read incrementally. */
function findRollout(codexHome: string, threadId: string): string | undefined {
  const root = path.join(codexHome, 'sessions');
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop() as string;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const d of entries) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) stack.push(p);
      else if (d.name.endsWith(`${threadId}.jsonl`)) return p;
    }
  }
  return undefined;
}

const rolloutCursor = new Map<string, { file: string; offset: number; turns: number; seen: Set<string>; last?: Usage }>();

export const codexBackend: AgentProgramBackendImpl = {
  backend: 'codex',
  usageScope: 'session',
  enforcesBudget: false,

  async prepare(ctx: LaunchContext) {
    const codexHome = path.join(ctx.home, '.codex');
    fs.mkdirSync(codexHome, { recursive: true });
    const baseUrl = ctx.sourceEnv.OPENAI_BASE_URL || DEFAULT_BASE_URL;
    const sandbox = ctx.permissions.codexSandbox ?? 'workspace-write';
    const config = [
      `model_provider=${toml('cadre')}`,
      `model_providers.cadre={name=${toml('cadre')},base_url=${toml(baseUrl)},env_key=${toml('OPENAI_API_KEY')},wire_api=${toml('responses')}}`,
      `approval_policy=${toml('never')}`,
      `sandbox_mode=${toml(sandbox)}`,
      `mcp_servers.${MCP_SERVER_NAME}.url=${toml(ctx.mcp.url)}`,
      `mcp_servers.${MCP_SERVER_NAME}.bearer_token_env_var=${toml('CADRE_MCP_TOKEN')}`,
      `mcp_servers.${MCP_SERVER_NAME}.tool_timeout_sec=${24 * 3600}`,
      `mcp_servers.${MCP_SERVER_NAME}.startup_timeout_sec=30`,
      // cadre's own tools need no approval (headless Codex refuses an MCP call that would need one).
      `mcp_servers.${MCP_SERVER_NAME}.default_tools_approval_mode=${toml('approve')}`,
    ].flatMap((c) => ['-c', c]);
    const goal = ctx.system ? `${ctx.system}\n\n${ctx.goal}` : ctx.goal;
    const common = ['--json', '--skip-git-repo-check', '-m', ctx.model, ...config];
    const argv = ctx.resume
      ? [ctx.program, 'exec', 'resume', ...common, ctx.resume.sessionId, ctx.resume.prompt]
      : [ctx.program, 'exec', ...common, '--sandbox', sandbox, '--', goal];
    const env = { ...pick(ctx.sourceEnv, CODEX_PROVIDER_ENV), CODEX_HOME: codexHome, CADRE_MCP_TOKEN: ctx.mcp.token };
    return { argv, env };
  },

  parser: ({ prices, model }) => new CodexStreamParser(prices, model),

  pollUsage({ home, sessionId, prices, model }) {
    const key = `${home}\0${sessionId}`;
    let cur = rolloutCursor.get(key);
    if (!cur) {
      const file = findRollout(path.join(home, '.codex'), sessionId);
      if (!file) return [];
      cur = { file, offset: 0, turns: 0, seen: new Set() };
      rolloutCursor.set(key, cur);
    }
    let text: string;
    try {
      const fd = fs.openSync(cur.file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        if (size <= cur.offset) return [];
        const buf = Buffer.alloc(size - cur.offset);
        fs.readSync(fd, buf, 0, buf.length, cur.offset);
        text = buf.toString('utf8');
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return [];
    }
    const lastNl = text.lastIndexOf('\n');
    if (lastNl < 0) return [];
    cur.offset += Buffer.byteLength(text.slice(0, lastNl + 1));
    // One token_usage_record per model response, written as soon as the response is in (before its tools run);
    // a resumed thread appends to the same file, so the sum over the file is the session's total.
    for (const line of text.slice(0, lastNl).split('\n')) {
      if (!line.includes('"token_usage_record"')) continue;
      try {
        const r = JSON.parse(line) as { type?: string; payload?: { response_id?: string; usage?: Record<string, unknown> } };
        if (r.type !== 'token_usage_record' || !r.payload?.usage) continue;
        const id = r.payload.response_id ?? `#${cur.turns}`;
        if (cur.seen.has(id)) continue;
        cur.seen.add(id);
        const u = toUsage(r.payload.usage);
        const t = cur.last ?? { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };
        cur.last = { inputTokens: t.inputTokens + u.inputTokens, outputTokens: t.outputTokens + u.outputTokens, cacheWriteTokens: t.cacheWriteTokens + u.cacheWriteTokens, cacheReadTokens: t.cacheReadTokens + u.cacheReadTokens };
        cur.turns++;
      } catch {
        // a line still being written
      }
    }
    return cur.last ? [{ kind: 'usage', usage: cur.last, costUsd: costUsd(cur.last, model, prices), turns: cur.turns }] : [];
  },
};
