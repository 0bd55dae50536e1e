/**
 * The one configuration loader. cadre's own settings use the CADRE_ prefix; the Temporal connection uses the
 * standard TEMPORAL_* names so a hosted cluster's usual environment works unchanged. Secrets (TEMPORAL_API_KEY,
 * ANTHROPIC_API_KEY) are read here and never printed: `describeConfig` masks them.
 */
import { homedir, hostname } from 'node:os';
import { statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { CadreError } from '../shared/errors';
import { HOST_PATTERN, hostNameOf, isRemoteRepo } from '../shared/hosts';
import { DEFAULT_PORT_CONFIG, portConfigProblem, type PortConfig } from '../shared/ports';

const port = z.coerce.number().int().min(1).max(65535);
/** Ready worktrees kept per repository (src/activities/worktreePool.ts); 0 turns the pool off. */
export const DEFAULT_WORKTREE_POOL = 2;
/** Seconds between two checkpoints of a running session of a run through a remote (src/activities/backends/session/checkpoint.ts). */
export const DEFAULT_CHECKPOINT_SECONDS = 60;

function wholeNumber(expected: string) {
  return z.string().trim().regex(/^\d+$/, `expected ${expected}`).transform(Number);
}

const bool = z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((v) => ['1', 'true', 'yes'].includes(v));

const schema = z.object({
  CADRE_STATE_DIR: z.string().min(1).optional(),
  CADRE_TASK_QUEUE: z.string().regex(/^[A-Za-z0-9._-]+$/).default('cadre'),
  /** This worker's host identity (docs/hosts.md): names its host queue `<CADRE_TASK_QUEUE>@<host>`. */
  CADRE_HOST: z.string().regex(HOST_PATTERN, 'expected letters, digits, ".", "_" or "-" (at most 128, starting with a letter or digit)').optional(),
  /** Agents this host runs at once (docs/hosts.md, "Placement"); unset: no cap of its own. */
  CADRE_MAX_AGENTS: wholeNumber('a whole number ≥ 1').refine((n) => n >= 1, 'expected a whole number ≥ 1').optional(),
  /** The run's remote (docs/hosts.md, "The remote"): a URL, an scp-like address or a bare repository ending in .git. */
  CADRE_REMOTE: z.string().min(1).refine(isRemoteRepo, 'expected a URL, an scp-like address (git@host:path) or a path ending in .git').optional(),
  CADRE_DEV_PORT: port.default(7233),
  CADRE_UI_PORT: port.default(8233),
  CADRE_TEMPORAL_BIN: z.string().min(1).optional(),
  CADRE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  CADRE_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(5),
  CADRE_MODEL: z.string().min(1).default('claude-sonnet-4-6'),
  /** The backend of tasks that name none (imported plans, mostly): docs/backends.md. */
  CADRE_BACKEND: z.enum(['claude-code', 'codex', 'anthropic', 'scripted', 'command']).default('claude-code'),
  CADRE_ANTHROPIC_BASE_URL: z.url().optional(),
  CADRE_COMMAND_ALLOW: z.string().optional(),
  CADRE_UI_URL: z.url().optional(),
  CADRE_PRICES: z.string().min(1).optional(),
  CADRE_WORKTREE_POOL: z.string().trim().regex(/^\d+$/, 'expected a whole number ≥ 0 (0 turns the pool off)').transform(Number).default(DEFAULT_WORKTREE_POOL),
  /** Runs through a remote: seconds between two checkpoints of a Claude Code / Codex session (docs/hosts.md); 0: at its end only. */
  CADRE_SESSION_CHECKPOINT_SECONDS: wholeNumber('a whole number of seconds ≥ 0 (0: only at the session\'s end)').default(DEFAULT_CHECKPOINT_SECONDS),
  /** Port leases of workspaces (docs/workspaces.md, "Ports"): block n is BASE + n·BLOCK … + BLOCK − 1. */
  CADRE_PORT_BASE: wholeNumber('a port 1..65535').default(DEFAULT_PORT_CONFIG.base),
  CADRE_PORT_BLOCK: wholeNumber('a whole number 1..1000 (ports per workspace)').default(DEFAULT_PORT_CONFIG.block),
  CADRE_PORT_BLOCKS: wholeNumber('a whole number ≥ 0 (0 turns port leases off)').default(DEFAULT_PORT_CONFIG.blocks),
  /** Read by src/client/view (pollerStaleMs); validated here with the rest. */
  /** Where notifications go (docs/notifications.md): an http(s) URL or a program's path; checked by `notifyTarget`. */
  CADRE_NOTIFY: z.string().trim().optional(),
  CADRE_POLLER_STALE_SECONDS: z.coerce.number().positive().max(3600).optional(),
  TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port').optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TLS: bool.optional(),
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  /** A private CA's certificate (PEM file) for a self-hosted cluster, and the name its certificate is issued to. */
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
});

export interface Config {
  stateDir: string;
  taskQueue: string;
  /** CADRE_HOST, else this machine's host name made fit for a task queue name. */
  host: string;
  /** CADRE_MAX_AGENTS: agents this host runs at once; undefined: no cap of its own. */
  maxAgents?: number;
  /** CADRE_REMOTE: the remote a run started here goes through (docs/hosts.md). */
  remote?: string;
  /** True when no TEMPORAL_ADDRESS was given: cadre runs (or reuses) the embedded dev server. */
  embedded: boolean;
  address: string;
  namespace: string;
  devPort: number;
  uiPort: number;
  uiUrl: string;
  temporalBin?: string;
  tls?: { certPath?: string; keyPath?: string; caPath?: string; serverName?: string };
  temporalApiKey?: string;
  anthropicApiKey?: string;
  anthropicBaseURL?: string;
  logLevel: string;
  maxConcurrency: number;
  model: string;
  /** CADRE_BACKEND: the backend of tasks that name none. */
  backend: 'claude-code' | 'codex' | 'anthropic' | 'scripted' | 'command';
  commandAllow?: string[];
  /** Path of a price table file (see src/client/prices.ts). */
  pricesFile?: string;
  /** Ready worktrees kept per repository for new agent workspaces; 0 turns the pool off. */
  worktreePool: number;
  /** CADRE_SESSION_CHECKPOINT_SECONDS: seconds between two session checkpoints of a run through a remote (docs/hosts.md). */
  sessionCheckpointSeconds: number;
  /** The ports leased to workspaces (CADRE_PORT_BASE, CADRE_PORT_BLOCK, CADRE_PORT_BLOCKS). */
  ports: PortConfig;
  /** CADRE_NOTIFY: the receiver of notifications (docs/notifications.md); unset, none are sent. */
  notify?: NotifyTarget;
}

/** A webhook (POSTed the event as JSON) or a program (given it on stdin), from CADRE_NOTIFY. */
export type NotifyTarget = { kind: 'webhook'; url: string } | { kind: 'program'; path: string };

/**
 * CADRE_NOTIFY read: an `http://` or `https://` URL, or the path of an executable file (resolved against the
 * working directory; no arguments, no shell). Anything else is a configuration error naming what is wrong.
 */
export function notifyTarget(value: string | undefined, cwd = process.cwd()): NotifyTarget | undefined {
  if (!value) return undefined;
  const bad = (why: string) => new CadreError(`bad configuration: CADRE_NOTIFY: ${why} (expected an http(s) URL or the path of an executable program)`, 78);
  if (/^[a-z][a-z0-9+.-]*:/i.test(value) && !isAbsolute(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw bad(`"${maskUrl(value)}" is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`${url.protocol} URLs are not supported`);
    return { kind: 'webhook', url: url.toString() };
  }
  const path = resolve(cwd, value);
  let st;
  try {
    st = statSync(path);
  } catch {
    throw bad(`no program at ${path}`);
  }
  if (!st.isFile()) throw bad(`${path} is not a file`);
  if (!(st.mode & 0o111)) throw bad(`${path} is not executable (chmod +x it)`);
  return { kind: 'program', path };
}

/** A webhook URL as it may be shown: its origin only (a path or query often holds a token). */
export function maskUrl(value: string): string {
  try {
    return `${new URL(value).origin}/…`;
  } catch {
    return '(unparsable URL)';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new CadreError(`bad configuration: ${name}: ${issue.message}`, 78);
  }
  const e = parsed.data;
  const ports: PortConfig = { base: e.CADRE_PORT_BASE, block: e.CADRE_PORT_BLOCK, blocks: e.CADRE_PORT_BLOCKS };
  const portProblem = portConfigProblem(ports);
  if (portProblem) throw new CadreError(`bad configuration: ${portProblem}`, 78);
  const embedded = !e.TEMPORAL_ADDRESS;
  const address = e.TEMPORAL_ADDRESS ?? `127.0.0.1:${e.CADRE_DEV_PORT}`;
  if (Boolean(e.TEMPORAL_TLS_CERT) !== Boolean(e.TEMPORAL_TLS_KEY)) {
    throw new CadreError(`bad configuration: ${e.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT'}: a client certificate needs both (docs/cluster.md)`, 78);
  }
  const useTls = e.TEMPORAL_TLS ?? Boolean(e.TEMPORAL_TLS_CERT || e.TEMPORAL_API_KEY || e.TEMPORAL_TLS_CA);
  return {
    stateDir: resolve(e.CADRE_STATE_DIR ?? join(homedir(), '.cadre')),
    taskQueue: e.CADRE_TASK_QUEUE,
    host: e.CADRE_HOST ?? hostNameOf(hostname()),
    maxAgents: e.CADRE_MAX_AGENTS,
    remote: e.CADRE_REMOTE,
    embedded,
    address,
    namespace: e.TEMPORAL_NAMESPACE,
    devPort: e.CADRE_DEV_PORT,
    uiPort: e.CADRE_UI_PORT,
    uiUrl: e.CADRE_UI_URL ?? (embedded ? `http://localhost:${e.CADRE_UI_PORT}` : 'https://cloud.temporal.io'),
    temporalBin: e.CADRE_TEMPORAL_BIN,
    tls: useTls ? { certPath: e.TEMPORAL_TLS_CERT, keyPath: e.TEMPORAL_TLS_KEY, caPath: e.TEMPORAL_TLS_CA, serverName: e.TEMPORAL_TLS_SERVER_NAME } : undefined,
    temporalApiKey: e.TEMPORAL_API_KEY,
    anthropicApiKey: e.ANTHROPIC_API_KEY,
    anthropicBaseURL: e.CADRE_ANTHROPIC_BASE_URL,
    logLevel: e.CADRE_LOG_LEVEL,
    maxConcurrency: e.CADRE_MAX_CONCURRENCY,
    model: e.CADRE_MODEL,
    backend: e.CADRE_BACKEND,
    commandAllow: e.CADRE_COMMAND_ALLOW?.split(',').map((s) => s.trim()).filter(Boolean),
    pricesFile: e.CADRE_PRICES,
    worktreePool: e.CADRE_WORKTREE_POOL,
    sessionCheckpointSeconds: e.CADRE_SESSION_CHECKPOINT_SECONDS,
    ports,
    notify: notifyTarget(e.CADRE_NOTIFY),
  };
}

/** The Web UI page of one workflow. */
export function workflowUrl(config: Config, workflowId: string): string {
  return `${config.uiUrl}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
