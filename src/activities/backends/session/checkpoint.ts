/**
 * Session checkpoints (docs/hosts.md, "Losing a host"): a Claude Code / Codex session of a run through a remote
 * keeps, in the remote, what another host needs to go on with it when this host is lost —
 *
 * - the worktree's changes, committed as a checkpoint commit on the agent's branch and pushed;
 * - the session's own state: its record (`sessions/<name>.json`: session id, usage, answered call ids) and the
 *   program's transcript of this session only (Claude `.claude/projects/<cwd>/<session id>.jsonl` and the
 *   session's sub-agent directory; Codex `.codex/sessions/…/rollout-…-<thread id>.jsonl`), saved with
 *   remoteState.ts under `refs/cadre/state/sessions/<name>`.
 *
 * Every checkpoint is at most every `CADRE_SESSION_CHECKPOINT_SECONDS` (DEFAULT_CHECKPOINT_SECONDS) from the
 * session's heartbeat loop, and once more when the session ends. Runs without a remote never checkpoint.
 *
 * What is never saved: everything else of the program's HOME — its login and settings (`.credentials.json`,
 * `.claude.json`, `auth.json`, `config.toml`), cadre's MCP config with the attempt's bearer secret
 * (`cadre-mcp.json`), caches, plugins, backups, other sessions — and the saved transcripts are redacted first
 * (`redact`, the worker's secret values), so a key the agent printed into its conversation stays on this host.
 * The filter is an allow-list (sessionStateFilter); a deny-list of credential names is checked on top.
 *
 * The agent's own git work. A checkpoint commit is skipped while the program is in the middle of a git operation
 * of its own in the worktree: the worktree's index is locked (`index.lock`), a merge, rebase, cherry-pick, revert
 * or bisect is in progress, or HEAD is not the agent's branch (detached, another branch checked out). Between that
 * check and cadre's `git add` the program may start one: then one of the two finds `index.lock` taken and fails —
 * cadre's checkpoint is skipped until the next interval, the program sees git's usual "index.lock exists" error.
 * A checkpoint never fails the session: a failure is logged and the next interval tries again.
 *
 * Restore: a session that starts on a host without its record fetches the saved state (restoreSessionState)
 * before resuming; the record's process (pid) is dropped, since it ran on the lost host, and Claude's transcript
 * is put under the new worktree's project directory, where `claude --resume` looks for it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { AgentProgramBackend, SessionCheckpoint } from '../../../shared/session';
import { DEFAULT_CHECKPOINT_SECONDS } from '../../../node/config';
import { redact } from '../../../node/redact';
import { git, gitFor } from '../../git';
import { sanitizeRef } from '../../paths';
import { pushWorktreeBranch } from '../../remote';
import { restoreState, saveState } from '../../remoteState';
import { AGENT_BRANCH_PREFIX, commitWorkspace } from '../../workspace';
import { sessionPaths } from './store';

/** Default seconds between two checkpoints of a running session (CADRE_SESSION_CHECKPOINT_SECONDS; 0: only at the end). */
export { DEFAULT_CHECKPOINT_SECONDS };

/** Names never saved, wherever they are: logins, API keys, cadre's MCP secret, program settings. */
const NEVER = /^(?:\.credentials\.json|credentials\.json|\.claude\.json|auth\.json|config\.toml|cadre-mcp\.json|\.env(?:\..*)?|.*\.(?:pem|key|p12))$/i;

/** Git operations of the agent's own that a checkpoint commit must not cut into (files in the worktree's git dir). */
const IN_PROGRESS = ['index.lock', 'HEAD.lock', 'MERGE_HEAD', 'CHERRY_PICK_HEAD', 'REVERT_HEAD', 'BISECT_LOG', 'rebase-merge', 'rebase-apply'];

/** The remote-state key of an agent's session. */
export function sessionStateKey(agentId: string): string {
  return `sessions/${sanitizeRef(agentId)}`;
}

/**
 * Which files under the state directory's `sessions/` a checkpoint saves (paths relative to it, with `/`): the
 * agent's record and its program's transcript of `sessionId`, nothing else.
 */
export function sessionStateFilter(agentId: string, backend: AgentProgramBackend, sessionId: string | undefined): (rel: string) => boolean {
  const name = sanitizeRef(agentId);
  const home = `${name}.home/`;
  return (rel) => {
    if (rel.split('/').some((part) => NEVER.test(part))) return false;
    if (rel === `${name}.json`) return true;
    if (!sessionId || !rel.startsWith(home)) return false;
    const parts = rel.slice(home.length).split('/');
    if (backend === 'claude-code') {
      // .claude/projects/<cwd>/<id>.jsonl, and .claude/projects/<cwd>/<id>/… (its sub-agents' transcripts)
      return parts[0] === '.claude' && parts[1] === 'projects' && parts.length >= 4 && (parts[3] === `${sessionId}.jsonl` || (parts[3] === sessionId && parts.length > 4));
    }
    return parts[0] === '.codex' && parts[1] === 'sessions' && /^rollout-.*\.jsonl$/.test(parts[parts.length - 1]!) && parts[parts.length - 1]!.endsWith(`${sessionId}.jsonl`);
  };
}

export type WorktreeCheckpoint = { commit: string; committed: boolean } | { skipped: string };

/** Commits the worktree's changes (unless the agent is mid git operation) and pushes the agent's branch. */
export async function checkpointWorktree(stateDir: string, clone: string, workspace: string, agentId: string): Promise<WorktreeCheckpoint> {
  const g = gitFor(workspace);
  const gitDir = path.resolve(workspace, (await git(g, ['rev-parse', '--git-dir'], `finding the git directory of ${workspace}`)).trim());
  const busy = IN_PROGRESS.find((f) => fs.existsSync(path.join(gitDir, f)));
  if (busy) return { skipped: `a git operation of the agent is in progress (${busy})` };
  const branch = await g.raw(['symbolic-ref', '--quiet', '--short', 'HEAD']).then((b) => b.trim(), () => undefined);
  const own = `${AGENT_BRANCH_PREFIX}${sanitizeRef(agentId)}`;
  if (branch !== own) return { skipped: branch ? `${branch} is checked out, not ${own}` : 'HEAD is detached' };
  const done = await commitWorkspace({ path: workspace, message: `cadre: ${agentId}: checkpoint` });
  await pushWorktreeBranch(stateDir, clone, workspace);
  return { commit: done.commit, committed: done.committed };
}

/**
 * Saves the session's record and transcript to the remote: the files the filter keeps are copied (redacted) into a
 * private directory first, so the save reads no file the program may be rewriting and no secret leaves the host.
 */
export async function saveSessionState(o: { stateDir: string; remote: string; agentId: string; backend: AgentProgramBackend; sessionId?: string; secretsEnv: NodeJS.ProcessEnv }): Promise<string> {
  const { dir } = sessionPaths(o.stateDir, o.agentId);
  const keep = sessionStateFilter(o.agentId, o.backend, o.sessionId);
  const stage = await fs.promises.mkdtemp(path.join(path.resolve(o.stateDir), 'tmp-session-state-'));
  try {
    for (const rel of listFiles(dir, sanitizeRef(o.agentId)).filter(keep)) {
      const to = path.join(stage, rel);
      await fs.promises.mkdir(path.dirname(to), { recursive: true });
      await fs.promises.writeFile(to, redact(await fs.promises.readFile(path.join(dir, rel), 'utf8'), o.secretsEnv), { mode: 0o600 });
    }
    return await saveState(o.stateDir, o.remote, sessionStateKey(o.agentId), stage);
  } finally {
    await fs.promises.rm(stage, { recursive: true, force: true });
  }
}

/**
 * Restores the session's saved state into this host's `sessions/` (record and transcript) and resolves to the
 * commit restored, or undefined when the remote has none. The record's process belonged to the lost host: it is
 * dropped, so no process of this host is taken for it. Claude's transcript is copied under `workspace`'s project
 * directory (the worktree's path differs from host to host).
 */
export async function restoreSessionState(stateDir: string, remote: string, agentId: string, backend: AgentProgramBackend, workspace: string): Promise<string | undefined> {
  const paths = sessionPaths(stateDir, agentId);
  const stage = await fs.promises.mkdtemp(path.join(path.resolve(stateDir), 'tmp-session-state-'));
  try {
    const commit = await restoreState(stateDir, remote, sessionStateKey(agentId), stage);
    if (!commit) return undefined;
    const record = savedRecord(agentId, await fs.promises.readFile(path.join(stage, path.basename(paths.record)), 'utf8').catch(() => ''));
    // Not a record of this agent's session (the ref was written by something else): nothing restored, a new session.
    if (!record) return undefined;
    const keep = sessionStateFilter(agentId, backend, typeof record.sessionId === 'string' ? record.sessionId : undefined);
    for (const rel of listFiles(stage, sanitizeRef(agentId)).filter(keep)) {
      if (rel === path.basename(paths.record)) continue;
      let to = path.join(paths.dir, rel);
      if (backend === 'claude-code') {
        const parts = rel.split('/');
        parts[3] = claudeProjectDir(workspace);
        to = path.join(paths.dir, ...parts);
      }
      await fs.promises.mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
      await fs.promises.copyFile(path.join(stage, rel), to);
    }
    const { pid: _pid, ...rest } = record;
    await fs.promises.mkdir(paths.dir, { recursive: true });
    await fs.promises.writeFile(paths.record, JSON.stringify({ ...rest, restoredFrom: commit }));
    return commit;
  } finally {
    await fs.promises.rm(stage, { recursive: true, force: true });
  }
}

/**
 * The saved record, checked: the remote is a trust boundary (whoever can push there could have written the ref), and
 * its session id becomes an argument of the program (`--resume <id>`).
 */
function savedRecord(agentId: string, text: string): Record<string, unknown> | undefined {
  const schema = z.looseObject({
    agentId: z.literal(agentId),
    sessionId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/).optional(),
    costUsd: z.number().nonnegative(),
    starts: z.number().int().nonnegative(),
  });
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Claude Code's directory for a working directory under `.claude/projects/`: the real path with every character
 * other than a letter or digit replaced by `-` (as 2.x names it).
 */
export function claudeProjectDir(workspace: string): string {
  let real = workspace;
  try {
    real = fs.realpathSync(workspace);
  } catch {
    // not made yet: the path as given
  }
  return real.replace(/[^A-Za-z0-9]/g, '-');
}

/** Files under `dir` belonging to agent `name` (its record and its HOME), relative with `/`; links left out. */
function listFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && e.name !== `${name}.json` && e.name !== `${name}.home`) continue;
      if (e.isDirectory()) walk(child);
      else if (e.isFile()) out.push(child);
    }
  };
  walk('');
  return out.sort();
}

export interface CheckpointLoop {
  /** From the heartbeat loop: starts a checkpoint when the interval has passed and none is running. */
  tick(): void;
  /** At the session's end: waits for a running checkpoint, then makes the last one. */
  final(): Promise<void>;
}

/**
 * The checkpoints of one running session. `onCheckpoint` gets each one as it is made (the session puts it in its
 * record and heartbeat); failures go to `warn` and never reach the session.
 */
export function checkpointLoop(o: {
  stateDir: string;
  remote: string;
  clone: string;
  workspace: string;
  agentId: string;
  backend: AgentProgramBackend;
  intervalMs: number;
  secretsEnv: NodeJS.ProcessEnv;
  sessionId: () => string | undefined;
  onCheckpoint: (c: SessionCheckpoint) => void;
  warn: (message: string) => void;
}): CheckpointLoop {
  let last = Date.now();
  let running: Promise<void> | undefined;
  const once = async (): Promise<void> => {
    last = Date.now();
    const at = Date.now();
    let c: SessionCheckpoint = { at };
    try {
      const wt = await checkpointWorktree(o.stateDir, o.clone, o.workspace, o.agentId);
      c = 'skipped' in wt ? { at, skipped: wt.skipped } : { at, commit: wt.commit };
    } catch (err) {
      c = { at, skipped: `the checkpoint commit failed: ${String(err)}`.slice(0, 300) };
      o.warn(`session checkpoint of ${o.agentId}: ${c.skipped}`);
    }
    // The record the state holds names the branch commit just pushed.
    o.onCheckpoint(c);
    try {
      const state = await saveSessionState({ stateDir: o.stateDir, remote: o.remote, agentId: o.agentId, backend: o.backend, sessionId: o.sessionId(), secretsEnv: o.secretsEnv });
      o.onCheckpoint({ ...c, state });
    } catch (err) {
      o.warn(`session checkpoint of ${o.agentId}: saving its state to the remote failed: ${String(err)}`);
    }
  };
  return {
    tick() {
      if (o.intervalMs <= 0 || running || Date.now() - last < o.intervalMs) return;
      running = once().finally(() => {
        running = undefined;
      });
    },
    async final() {
      await running;
      await once();
    },
  };
}
