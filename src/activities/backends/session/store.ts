/**
 * What a session leaves under the state directory, per agent (`<name>` is the agent id made safe, as for
 * worktrees: `sanitizeRef`):
 *
 * - `sessions/<name>.json`: the session record (SessionProgress plus the workflow run it belongs to), rewritten
 *   atomically whenever something changes. A retry reads it to find the session to resume and the orphan to kill;
 *   the live view reads it for "what it does now" (`readSessionProgress`).
 * - `sessions/<name>.jsonl`: the program's event stream, one redacted JSON event per line, appended as it comes
 *   (`cadre logs` shows it). Attempts append to the same file, each opened by a `cadre.attempt` line.
 * - `sessions/<name>.home/`: the program's HOME (its own config, session files and caches), so no personal login
 *   or configuration is ever used, and `claude --resume` / `codex exec resume` find the session again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SessionProgress } from '../../../shared/session';
import { sanitizeRef } from '../../paths';
import { redact } from '../../../node/redact';

export interface SessionRecord extends SessionProgress {
  agentId: string;
  /** The workflow run the session belongs to: a new run of the same agent id starts a new session. */
  runId?: string;
  /** Usage and cost of the attempts before the current one (added to what a per-process report says). */
  priorUsage?: SessionProgress['usage'];
  priorCostUsd?: number;
  /** Fix-and-retry: the agent's attempt this record belongs to (absent: the first). */
  fixAttempt?: number;
}

export function sessionPaths(stateDir: string, agentId: string) {
  const dir = path.join(path.resolve(stateDir), 'sessions');
  const name = sanitizeRef(agentId);
  return {
    dir,
    record: path.join(dir, `${name}.json`),
    transcript: path.join(dir, `${name}.jsonl`),
    transcriptRef: `sessions/${name}.jsonl`,
    home: path.join(dir, `${name}.home`),
  };
}

export function readSessionRecord(stateDir: string, agentId: string): SessionRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(sessionPaths(stateDir, agentId).record, 'utf8')) as SessionRecord;
  } catch {
    return undefined; // none yet (or torn by a crash mid-rename, which rename makes impossible)
  }
}

export function writeSessionRecord(stateDir: string, record: SessionRecord): void {
  const file = sessionPaths(stateDir, record.agentId).record;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(record));
  fs.renameSync(tmp, file);
}

/** The latest progress of an agent's session, for the live view and `cadre logs`; undefined when it has none. */
export function readSessionProgress(stateDir: string, agentId: string): SessionProgress | undefined {
  const r = readSessionRecord(stateDir, agentId);
  if (!r) return undefined;
  const { agentId: _a, runId: _r, priorUsage: _p, priorCostUsd: _c, ...progress } = r;
  return progress;
}

/** Appends redacted lines to the session's event log. Synchronous appends: lines are small and must not reorder. */
export class SessionLog {
  private fd: number | undefined;
  /** `env`: whose secret-looking values are scrubbed (the worker's environment plus the injected provider settings). */
  constructor(private readonly file: string, private readonly env: NodeJS.ProcessEnv = process.env) {}
  open(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    this.fd = fs.openSync(this.file, 'a', 0o600);
  }
  write(line: string): void {
    if (this.fd === undefined) return;
    try {
      fs.writeSync(this.fd, redact(line.endsWith('\n') ? line : `${line}\n`, this.env));
    } catch {
      // A full disk loses log lines, never the session: the result is still settled from the stream.
    }
  }
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The session's event log as parsed lines (torn or non-JSON lines skipped). */
export function readSessionLog(stateDir: string, agentId: string): unknown[] {
  let text: string;
  try {
    text = fs.readFileSync(sessionPaths(stateDir, agentId).transcript, 'utf8');
  } catch {
    return [];
  }
  const out: unknown[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // torn last line of a crashed writer
    }
  }
  return out;
}
