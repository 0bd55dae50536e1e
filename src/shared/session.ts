/**
 * The contract of one agent-program session (Claude Code, Codex): what the agent workflow sends to the
 * `runAgentSession` activity, what comes back, what the activity heartbeats, and the Update through which the
 * session's orchestration tool calls (MCP) reach the workflow. All of it lives in history: ids, counts, short text,
 * never the transcript (that stays in `<stateDir>/sessions/`, referenced by `transcriptRef`).
 */
import { z } from 'zod';
import { TextRefSchema } from './blobs';
import type { Usage } from './model';
import { priceTableSchema } from './priceTable';
import { orchestrationToolSchemas, type OrchestrationToolName } from './tools';
import { portLeaseSchema } from './portLease';
import { agentProgramBackends, type AgentProgramBackend } from './sessionCalls';

// What workflows use of sessions lives apart (./sessionCalls.ts) so that they load no zod when they start.
export * from './sessionCalls';

const orchestrationToolNames = Object.keys(orchestrationToolSchemas) as [OrchestrationToolName, ...OrchestrationToolName[]];

/**
 * What the program may do on its own. Defaults are the safe ones: Claude Code `acceptEdits` with
 * `defaultClaudeAllowedTools`; Codex `workspace-write` (writes inside the worktree only, no network).
 */
export const sessionPermissionsSchema = z.object({
  /** Claude Code `--permission-mode`. `bypassPermissions` is refused by Claude Code itself when run as root. */
  claudePermissionMode: z.enum(['acceptEdits', 'default', 'plan', 'bypassPermissions', 'dontAsk']).optional(),
  /** Claude Code `--allowedTools` (the cadre MCP tools are always added). */
  allowedTools: z.array(z.string().min(1)).optional(),
  /** Claude Code `--disallowedTools`. */
  disallowedTools: z.array(z.string().min(1)).optional(),
  /** Codex `--sandbox`. */
  codexSandbox: z.enum(['read-only', 'workspace-write', 'danger-full-access']).optional(),
}).strict();
export type SessionPermissions = z.infer<typeof sessionPermissionsSchema>;

export const defaultClaudeAllowedTools = ['Read', 'Write', 'Edit', 'MultiEdit', 'Glob', 'Grep', 'LS', 'TodoWrite'] as const;

export const sessionInputSchema = z.object({
  /** Workflow id of the agent: names the session record, the transcript and the MCP call ids' scope. */
  agentId: z.string().min(1),
  backend: z.enum(agentProgramBackends),
  model: z.string().min(1),
  /** Absolute path of the agent's worktree; the program runs there. */
  workspace: z.string().min(1),
  goal: z.string().min(1),
  /** The whole goal, when `goal` is only its preview (a long task prompt travels by reference: src/shared/blobs.ts). */
  goalRef: TextRefSchema.optional(),
  /** Appended to the program's system prompt (Claude `--append-system-prompt`; Codex: prefixed to the goal). */
  system: z.string().optional(),
  /** The slice this session may spend, USD. Claude gets it as `--max-budget-usd`; Codex is stopped by cadre. */
  budgetUsd: z.number().positive(),
  /** Orchestration tools served to the session over MCP; default all six. */
  tools: z.array(z.enum(orchestrationToolNames)).optional(),
  permissions: sessionPermissionsSchema.optional(),
  /** Claude Code `--max-turns`. */
  maxTurns: z.number().int().positive().optional(),
  /** Prices (USD per million tokens) replacing or extending the built-in table, as CADRE_PRICES. */
  prices: priceTableSchema.optional(),
  /** Prompt sent when an interrupted session is resumed. */
  continuePrompt: z.string().min(1).optional(),
  /**
   * Fix-and-retry (docs/loops.md): this call is the agent's attempt `attempt` (2, 3, …) after a failed verification.
   * It resumes the session of the attempt before with `prompt` (the failure); usage, cost and turns stay the
   * session's totals over all attempts, and `budgetUsd` is the cap on that total.
   */
  fix: z.object({ attempt: z.number().int().min(2), prompt: z.string().min(1) }).strict().optional(),
  /** The workspace's leased ports: the program gets CADRE_PORT, PORT, CADRE_PORT_RANGE. */
  ports: portLeaseSchema.optional(),
}).strict();
export type SessionInput = z.input<typeof sessionInputSchema>;

export type SessionStatus = 'completed' | 'failed' | 'budget_exhausted';

export interface SessionResult {
  status: SessionStatus;
  /** Claude Code session id / Codex thread id. */
  sessionId?: string;
  /** Everything the session used over all its attempts (a resumed session includes what the dead one used). */
  usage: Usage;
  costUsd: number;
  /** The program's final text, cut to a few hundred characters. */
  summary: string;
  /** Model round trips the program reported (Claude `num_turns`; Codex: model responses seen). */
  turns: number;
  /** True when this attempt resumed an earlier attempt's session. */
  resumed: boolean;
  error?: string;
  /** Where the redacted event stream is: `sessions/<name>.jsonl` relative to the state directory. */
  transcriptRef: string;
  /** Files the program said it wrote (capped). What is committed is decided by cadre from git, not from this. */
  filesTouched: string[];
}

/** What the activity heartbeats (and records in `<stateDir>/sessions/<name>.json`): enough to resume and to show. */
export interface SessionProgress {
  backend: AgentProgramBackend;
  sessionId?: string;
  /** Host and process group of the program: a retry on this host kills the group if it outlived its worker. */
  host: string;
  pid?: number;
  usage: Usage;
  costUsd: number;
  turns: number;
  /** "what it does now": the last tool call, short. */
  lastTool?: string;
  filesTouched: string[];
  /** Attempts that started the program (1 = a fresh session; more = resumed). */
  starts: number;
  updatedAt: number;
  /**
   * Runs through a remote (docs/hosts.md, "Losing a host"): the session's last checkpoint — the branch commit pushed
   * (or why the commit was skipped) and the commit of its saved state under `refs/cadre/state/sessions/<name>`.
   */
  checkpoint?: SessionCheckpoint;
  /** The saved state this host's record was restored from (the session moved here from a lost host). */
  restoredFrom?: string;
}

export interface SessionCheckpoint {
  at: number;
  /** The agent's branch as pushed (HEAD after the checkpoint commit, if one was needed). */
  commit?: string;
  /** Why no commit was made this time (the agent was in a git operation of its own). */
  skipped?: string;
  /** The remote-state commit holding the record and transcript. */
  state?: string;
}
