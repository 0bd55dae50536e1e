/**
 * The command backend's verdicts, shared by the agent workflow and the one-activity command task
 * (src/activities/commandTask.ts), so both paths name an outcome in the same words.
 */
import type { AgentResult, AgentStatus, Amount } from './agent';
import { zeroUsage } from './usage';
import type { PortLease } from './ports';
import type { VerifyFailure } from './verification';

export type CommandOutcome =
  | { ok: true; exitCode: 0; tail: string }
  | { ok: false; exitCode: number | null; tail: string; timedOut: boolean };

export interface Verdict {
  status: Extract<AgentStatus, 'completed' | 'failed' | 'timed_out'>;
  summary: string;
  error?: string;
}

export function commandVerdict(outcome: CommandOutcome, timeoutSeconds: number): Verdict {
  if (outcome.ok) return { status: 'completed', summary: 'command exited 0' };
  const summary = outcome.timedOut
    ? `timed out after ${timeoutSeconds} s`
    : `command exited ${outcome.exitCode ?? 'by a signal'}: ${outcome.tail.slice(-300)}`;
  return { status: outcome.timedOut ? 'timed_out' : 'failed', summary, error: summary };
}

export function missingOutputsError(missing: string[]): string {
  return `missing outputs: ${missing.join(', ')}`;
}

/** A failed `checks` verdict: every failing check, one line each, joined (src/activities/checks.ts). */
export function checksFailedError(failures: string[]): string {
  return `checks failed: ${failures.join('; ')}`.slice(0, 1000);
}

export function verifyFailedError(exitCode: number | null, tail: string): string {
  return `verify failed (exit ${exitCode}): ${tail.slice(-300)}`;
}

/** The message of the commit the system makes at an agent's end. */
export function endCommitMessage(agentId: string, summaryOrStatus: string): string {
  return `cadre: ${agentId}: ${summaryOrStatus.slice(0, 200)}`;
}

/** What the one-activity command task returns: all the agent's ending needs, nothing large. */
export interface CommandTaskResult {
  outcome: CommandOutcome;
  /** Set when the command succeeded but a declared output is missing or the verify command failed. */
  verifyError?: string;
  commit: string;
  files: string[];
  /** Fix-and-retry: the failed part and what the agent is told (set on agents' attempts; docs/loops.md). */
  failure?: VerifyFailure;
  /** The worktree was kept for another attempt: no diff was taken and nothing removed. */
  kept?: boolean;
  /** The port block the activity leased for itself (`leasePorts`) and gave the program and verification. */
  ports?: PortLease;
}

/** The verdict on a whole command task: the program's, unless its outputs or its verification failed after it. */
export function taskVerdict(result: CommandTaskResult, timeoutSeconds: number): Verdict {
  const v = commandVerdict(result.outcome, timeoutSeconds);
  return result.verifyError ? { ...v, status: 'failed', error: result.verifyError } : v;
}

/**
 * A command task's result in the agent's words, for a task that ran without an agent workflow (inline): the same
 * verdict, no model usage, the whole budget handed back.
 */
export function commandAgentResult(a: { agentId: string; branch: string; baseCommit: string; task: CommandTaskResult; timeoutSeconds: number; returned: Amount }): AgentResult {
  const v = taskVerdict(a.task, a.timeoutSeconds);
  return {
    agentId: a.agentId,
    status: v.status,
    summary: v.summary,
    branch: a.branch,
    baseCommit: a.baseCommit,
    commit: a.task.commit,
    filesChanged: a.task.files,
    usage: zeroUsage(),
    costUsd: 0,
    turns: 0,
    error: v.error,
    returned: a.returned,
    children: [],
  };
}
