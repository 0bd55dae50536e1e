/**
 * Fix-and-retry, shell side (docs/loops.md): after the backend completed, the work is settled as the ending would
 * settle it (children waited for and merged, everything committed) and verified. A failure with attempts left goes
 * back to the agent, which works again in the same worktree: a model-loop agent reads it as a message at the start
 * of its next turn, a session resumes with it as its prompt, a command runs again with it in its environment. The
 * decisions are attempts.ts's; a command agent in a worktree of its own verifies inside its one activity instead
 * (commandBackend.ts).
 *
 * Behind the patch `verify-retry`: histories recorded before it verify in the ending, once.
 */
import { fixMessage, recordAttempt, hasVerification, shouldRetry, verifyAttemptsOf, type VerifyFailure } from './attempts';
import type { AgentContext } from './context';
import { checkWork, commitAll, failWith } from './ending';
import * as mail from './mailbox';
import { revisions } from './review';
import { patched } from '../patches';

export const VERIFY_RETRY = 'verify-retry';

/**
 * Settle and verify a completed attempt. True: it failed with attempts left, and the agent is to work again (the
 * failure is already on its way to it). False: the agent goes to its ending, settled (`s.settled`) or not.
 */
export async function settleAttempt(ctx: AgentContext): Promise<boolean> {
  const { input, s } = ctx;
  if (s.status !== 'completed' || s.ended || !hasVerification(input) || !patched(VERIFY_RETRY)) return false;
  ctx.setDoing('verifying');
  await Promise.all([...ctx.childPromises.values()]);
  const commit = ctx.shared ? undefined : await commitAll(ctx);
  const failure = await checkWork(ctx);
  recordAttempt(s, failure);
  // A round of requested changes is one more attempt (review.ts): its verification may fail and be fixed too.
  const max = verifyAttemptsOf(input) + revisions(s.reviews);
  if (failure && shouldRetry(s, max)) {
    retryWith(ctx, failure, max);
    return true;
  }
  s.settled = { commit };
  if (failure) failWith(ctx, failure);
  return false;
}

/** The next attempt: the failure goes to the agent, its summary starts afresh, it runs again. */
export function retryWith(ctx: AgentContext, failure: VerifyFailure, max: number): void {
  const { s } = ctx;
  const text = fixMessage(failure, s.attempt, max);
  s.attempt++;
  s.summary = '';
  s.fix = text;
  if (ctx.input.backend !== 'command') {
    const id = `${s.agentId}#verify-${s.attempt - 1}`;
    mail.accept(s.mailbox, { id, from: 'cadre', to: s.agentId, text, priority: 'high', thread: id, sentAt: Date.now() });
  }
  ctx.setStatus('running');
  ctx.setDoing(`fixing: ${failure.error}`.slice(0, 120));
}
