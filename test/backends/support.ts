/** Helpers for the agent-program session tests: an activity context that records heartbeats, and a workspace. */
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SessionProgress } from '../../src/shared/session';
import { findAgentProgram } from '../../src/activities/backends/session/program';

export interface RecordingContext<T> {
  result: Promise<T>;
  beats: SessionProgress[];
  abort: (reason: unknown) => void;
}

/** Runs `fn` as an activity of workflow `workflowId`/`runId`, attempt `attempt`, recording heartbeat details. */
export function runInContext<T>(fn: () => Promise<T>, info: { attempt?: number; heartbeatDetails?: unknown; runId?: string } = {}): RecordingContext<T> {
  const controller = new AbortController();
  const beats: SessionProgress[] = [];
  const cancelled = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason)));
  cancelled.catch(() => undefined);
  const full = {
    activityType: 'runAgentSession',
    attempt: info.attempt ?? 1,
    heartbeatDetails: info.heartbeatDetails,
    workflowExecution: { workflowId: 'wf-test', runId: info.runId ?? 'run-1' },
  } as Partial<Info>;
  const ctx = new Context(full as never, cancelled, controller.signal, (d?: unknown) => {
    if (d) beats.push(JSON.parse(JSON.stringify(d)) as SessionProgress);
  }, undefined, console as never, undefined as never, undefined as never);
  return { result: asyncLocalStorage.run(ctx, fn), beats, abort: (reason) => controller.abort(reason) };
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cadre-${prefix}-`));
}

/** The real CLIs (CADRE_*_BIN, PATH or .tools/agents); tests that need them skip with a reason when absent. */
export const claudeBin = ((): string | undefined => {
  const f = findAgentProgram('claude-code');
  return f.ok ? f.path : undefined;
})();
export const codexBin = ((): string | undefined => {
  const f = findAgentProgram('codex');
  return f.ok ? f.path : undefined;
})();

export async function waitFor(check: () => boolean, ms = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The environment of a worker whose claude-code agents talk to the Messages API stub at `stubUrl`, with a test key. */
export function claudeStubEnv(stubUrl: string) {
  return { PATH: process.env.PATH, CADRE_CLAUDE_BIN: claudeBin, ANTHROPIC_BASE_URL: stubUrl, ANTHROPIC_API_KEY: 'sk-ant-test-key-000000000' };
}
