/**
 * A failed verification (outputs, checks, verify command) in the words both the agent workflow and the command-task
 * activity use: the agent's error (the same as without fix-and-retry) and the detail the agent is shown when it
 * gets another attempt (docs/loops.md).
 */
import type { VerifyCheck } from './agent';
import { checksFailedError, missingOutputsError, verifyFailedError } from './commandTask';

/** The most of a verify command's output that goes back to the agent. */
export const FAILURE_TAIL_BYTES = 2048;

/** A failed verification: which part, the agent's error (as without retries), and the detail the agent is shown. */
export interface VerifyFailure {
  check: VerifyCheck;
  error: string;
  /** What failed in full, for the agent: the missing paths, every failing check, the command's output tail. */
  detail: string;
}

export function outputsFailure(missing: string[]): VerifyFailure {
  return { check: 'outputs', error: missingOutputsError(missing), detail: `These declared outputs do not exist in the worktree: ${missing.join(', ')}` };
}

export function checksFailure(failures: string[]): VerifyFailure {
  return { check: 'checks', error: checksFailedError(failures), detail: `These checks failed:\n${failures.map((f) => `- ${f}`).join('\n')}` };
}

export function verifyCommandFailure(argv: readonly string[], exitCode: number | null, tail: string, timedOut = false): VerifyFailure {
  const how = timedOut ? 'timed out' : `exited ${exitCode ?? 'by a signal'}`;
  return { check: 'verify', error: verifyFailedError(exitCode, tail), detail: `The verify command \`${argv.join(' ')}\` ${how}. The end of its output:\n${tailBytes(tail, FAILURE_TAIL_BYTES)}` };
}

/** The last `max` bytes of a text (UTF-8), cut at a character boundary. */
export function tailBytes(text: string, max: number): string {
  const chars = Array.from(text);
  let bytes = 0;
  let i = chars.length;
  for (; i > 0; i--) {
    const c = chars[i - 1]!.codePointAt(0)!;
    const len = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (bytes + len > max) break;
    bytes += len;
  }
  return chars.slice(i).join('');
}


/**
 * The message the agent gets after a failed attempt (a user message in its next model turn, the prompt of its
 * resumed session, or CADRE_VERIFY_FAILURE for a command): at most a few KB.
 */
export function fixMessage(failure: VerifyFailure, failedAttempt: number, max: number): string {
  const left = max - failedAttempt;
  return [
    `Verification failed after your work (attempt ${failedAttempt} of ${max}): ${failure.check} check.`,
    failure.detail.slice(0, FAILURE_TAIL_BYTES + 600),
    `Fix this in the same worktree, then finish again. ${left === 1 ? 'This is your last attempt' : `${left} attempts are left`}; your budget is the same one as before.`,
  ].join('\n\n');
}

/** A command's environment on a fix attempt (docs/loops.md): which attempt, of how many, and why the last failed. */
export function attemptEnv(attempt: number, max: number, failure: string): Record<string, string> {
  return { CADRE_ATTEMPT: String(attempt), CADRE_VERIFY_ATTEMPTS: String(max), CADRE_VERIFY_FAILURE: failure };
}
