/**
 * One interface for the agent programs: a backend folder (claudeCode/, codex/) says how to start or resume its CLI
 * and how to read its stream; the session activity (./runSession.ts) does everything else — process group,
 * heartbeats, record, budget stop, MCP server, log — the same way for both.
 */
import type { Usage } from '../../../shared/model';
import type { PriceTable } from '../../../shared/pricing';
import type { AgentProgramBackend, SessionPermissions } from '../../../shared/session';

export interface LaunchContext {
  program: string;
  workspace: string;
  /** The program's own HOME under the state directory. */
  home: string;
  model: string;
  goal: string;
  system?: string;
  budgetUsd: number;
  maxTurns?: number;
  permissions: SessionPermissions;
  /** Set when resuming: the session to continue and the prompt to continue with. */
  resume?: { sessionId: string; prompt: string };
  /** A fresh session's id, when the program lets cadre choose it (Claude `--session-id`). */
  newSessionId: string;
  mcp: { url: string; token: string; tools: string[] };
  /** Where the worker's provider settings are read from (process.env unless injected). */
  sourceEnv: NodeJS.ProcessEnv;
}

export interface Launch {
  argv: string[];
  /** Provider and program settings; the session adds the base (PATH, HOME, locale). */
  env: Record<string, string>;
}

/** What one stream event means to cadre. */
export type SessionEvent =
  | { kind: 'session'; sessionId: string }
  | { kind: 'usage'; usage: Usage; costUsd?: number; turns?: number }
  | { kind: 'turn' }
  | { kind: 'tool'; summary: string; file?: string }
  | { kind: 'text'; text: string }
  | {
      kind: 'result';
      ok: boolean;
      summary: string;
      turns?: number;
      costUsd?: number;
      usage?: Usage;
      error?: string;
      budgetExceeded?: boolean;
    };

export interface StreamParser {
  feed(event: unknown): SessionEvent[];
}

export interface AgentProgramBackendImpl {
  backend: AgentProgramBackend;
  /**
   * 'process': the program's usage reports cover the current process only (Claude Code), so earlier attempts'
   * usage is added; 'session': they cover the whole session, resumed parts included (Codex).
   */
  usageScope: 'process' | 'session';
  /** Whether the program enforces `budgetUsd` itself (it is also enforced by cadre from the usage it reports). */
  enforcesBudget: boolean;
  prepare(ctx: LaunchContext): Promise<Launch>;
  parser(ctx: { prices: PriceTable; model: string }): StreamParser;
  /** Progressive usage the stream does not carry (Codex: its rollout file); polled while the program runs. */
  pollUsage?(ctx: { home: string; sessionId: string; prices: PriceTable; model: string }): SessionEvent[];
}
