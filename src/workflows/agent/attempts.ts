/**
 * Fix-and-retry, pure (docs/loops.md): what a failed verification says to the agent, what each attempt records, and
 * whether the agent works again. The shell (retry.ts, commandBackend.ts) runs the checks and the backend; this
 * file decides on plain JSON.
 *
 * An attempt is one piece of work by the agent followed by its verification (outputs, then checks, then the verify
 * command). A failed attempt goes back to the agent while attempts are left (`verifyAttempts`, default 2: the first
 * work and one fix); the last failure fails it with the same error as without retries.
 */
import type { AgentInput, VerifyAttempt } from '../../shared/agent';
import { DEFAULT_VERIFY_ATTEMPTS, MAX_VERIFY_ATTEMPTS } from '../../shared/planLimits';
import type { VerifyFailure } from '../../shared/verification';

export { attemptEnv, checksFailure, fixMessage, outputsFailure, verifyCommandFailure, type VerifyFailure } from '../../shared/verification';

export { DEFAULT_VERIFY_ATTEMPTS } from '../../shared/planLimits';
/** An attempt's summary in status and results. */
const SUMMARY_CHARS = 300;

/** What an agent keeps of its attempts (carried across continue-as-new). */
export interface AttemptState {
  /** The attempt the agent is on, from 1. */
  attempt: number;
  attempts: VerifyAttempt[];
}

/** Whether the agent has anything to verify (then it verifies under fix-and-retry, whatever its backend). */
export function hasVerification(input: Pick<AgentInput, 'outputs' | 'checks' | 'verify'>): boolean {
  return Boolean(input.outputs?.length || input.checks?.length || input.verify?.length);
}

/** The agent's limit: its input's, else the default; always 1 to MAX_VERIFY_ATTEMPTS. */
export function verifyAttemptsOf(input: Pick<AgentInput, 'verifyAttempts'>): number {
  const n = input.verifyAttempts ?? DEFAULT_VERIFY_ATTEMPTS;
  return Number.isInteger(n) ? Math.min(MAX_VERIFY_ATTEMPTS, Math.max(1, n)) : DEFAULT_VERIFY_ATTEMPTS;
}

/** Record the verdict of the current attempt. */
export function recordAttempt(a: AttemptState, failure: VerifyFailure | undefined): VerifyAttempt {
  const entry: VerifyAttempt = failure
    ? { attempt: a.attempt, ok: false, check: failure.check, summary: failure.error.slice(0, SUMMARY_CHARS) }
    : { attempt: a.attempt, ok: true, summary: 'passed' };
  a.attempts = [...a.attempts.filter((x) => x.attempt !== a.attempt), entry];
  return entry;
}

/** After a failed attempt: another one when attempts are left. */
export function shouldRetry(a: AttemptState, max: number): boolean {
  return a.attempt < max;
}

/** The error of an agent that stopped before a fix attempt passed (out of budget, turns or time): why it was retrying. */
export function unfixedError(a: AttemptState, status: string): string | undefined {
  const last = [...a.attempts].reverse().find((x) => !x.ok);
  if (!last || a.attempt === 1 || a.attempts.some((x) => x.attempt === a.attempt)) return undefined;
  return `${last.summary} (attempt ${a.attempt} ended ${status} before it passed)`;
}

/** What `doing` shows during a fix attempt, so status, tree and watch show which attempt it is. */
export function doingOf(a: AttemptState, max: number, what: string): string {
  return a.attempt > 1 && what ? `attempt ${a.attempt}/${max}: ${what}` : what;
}
