/**
 * Review, shell side (docs/loops.md "Review"): once the agent's work has passed its verification, a reviewer
 * sub-agent (a child agent workflow, its slice from our budget like any child's) reviews the settled commit in a
 * worktree of its own created from that commit. Requested changes go back to the agent as fix-and-retry's failures
 * do (a message, a session's prompt, a command's CADRE_REVIEW_CHANGES) and it works again; the decisions are
 * review.ts's. The reviewer's branch is never merged.
 *
 * Behind the patch `review-rounds` (asked only by agents that have a reviewer).
 */
import * as wf from '@temporalio/workflow';
import type { AgentInput, AgentResult } from '../../shared/agent';
import { childSlice } from './budget';
import { recordChildEnd } from './children';
import type { AgentContext } from './context';
import { commitAll } from './ending';
import * as ledger from './ledger';
import * as mail from './mailbox';
import { errorMessage } from './messaging';
import { recordReview, REVIEW_ROUNDS, reviewError, reviewerEnv, reviewerGoal, reviewMessage, reviewRoundsOf, shouldRevise, verdictOf } from './review';
import type { ChildRecord } from './state';
import type { agent } from './workflow';
import { patched } from '../patches';

/** Whether this agent is reviewed (asks the patch once it is). */
export function reviewed(ctx: AgentContext): boolean {
  return !!ctx.input.review && !ctx.shared && patched(REVIEW_ROUNDS);
}

/**
 * Review the completed, verified work. True: changes were requested with rounds left, and the agent is to work
 * again (the request is on its way to it). False: the agent goes to its ending, settled, approved or failed.
 */
export async function reviewRound(ctx: AgentContext): Promise<boolean> {
  const { input, s } = ctx;
  const review = input.review;
  if (!review || s.status !== 'completed' || !reviewed(ctx)) return false;
  // A command agent's activity kept the worktree for us: from here on the ending diffs and removes it.
  if (s.ended?.kept) {
    s.settled = { commit: s.ended.commit };
    s.ended = undefined;
  }
  if (s.ended) return false;
  if (!s.settled) {
    await Promise.all([...ctx.childPromises.values()]);
    s.settled = { commit: await commitAll(ctx) };
  }
  const commit = s.settled.commit!;
  const rounds = reviewRoundsOf(review);
  const round = s.reviews.length + 1;
  ctx.setDoing(`review ${round}/${rounds} of ${commit.slice(0, 10)}`);
  const result = await runReviewer(ctx, round, commit);
  const v = 'noVerdict' in result ? { error: result.noVerdict } : verdictOf(review.backend, result);
  if ('error' in v) {
    ctx.setStatus('failed');
    s.error = `review: ${v.error}`;
    return false;
  }
  s.reviews = recordReview(s.reviews, round, commit, v);
  if (v.verdict === 'approve') return false;
  if (!shouldRevise(s.reviews, rounds)) {
    ctx.setStatus('failed');
    s.error = reviewError(v);
    return false;
  }
  const text = reviewMessage(v, round, rounds);
  s.settled = undefined;
  s.attempt++;
  s.summary = '';
  s.fix = text;
  s.reviewChanges = text;
  if (input.backend !== 'command') {
    const id = `${s.agentId}#review-${round}`;
    mail.accept(s.mailbox, { id, from: 'cadre', to: s.agentId, text, priority: 'high', thread: id, sentAt: Date.now() });
  }
  ctx.setStatus('running');
  ctx.setDoing(`revising: ${v.text}`.slice(0, 120));
  return true;
}

/** Start the reviewer child from the commit and wait for its result. */
async function runReviewer(ctx: AgentContext, round: number, commit: string): Promise<Pick<AgentResult, 'status' | 'summary' | 'error'> | { noVerdict: string }> {
  const { input, s } = ctx;
  const review = input.review!;
  const name = `review-${round}`;
  const slice = childSlice(s.book, {});
  if (!ledger.tryGive(s.book, slice)) return { noVerdict: 'no budget left for the reviewer' };
  const agentId = `${s.agentId}/${name}`;
  const branch = s.workspace!.branch;
  const base = s.workspace!.baseCommit;
  const childInput: AgentInput = {
    ...input,
    baseRef: commit,
    goal: reviewerGoal(input, branch, base, commit),
    backend: review.backend,
    model: review.model ?? input.model,
    script: review.backend === 'scripted' ? review.script : undefined,
    command: review.backend === 'command' ? review.command : undefined,
    commandFromModel: undefined,
    budget: slice,
    depth: input.depth + 1,
    parentId: s.agentId,
    host: s.workspace?.host,
    files: [],
    outputs: undefined,
    verify: undefined,
    checks: undefined,
    verifyAttempts: undefined,
    review: undefined,
    env: reviewerEnv(branch, base, commit, round),
  };
  const rec: ChildRecord = { name, agentId, status: 'running', allocated: slice, merged: false };
  s.children.push(rec);
  try {
    const result = await wf.executeChild<typeof agent>('agent', {
      workflowId: agentId,
      args: [childInput],
      parentClosePolicy: 'REQUEST_CANCEL',
      cancellationType: 'WAIT_CANCELLATION_COMPLETED',
      staticSummary: `reviewer, round ${round}`,
    });
    recordChildEnd(s, { childId: agentId, status: result.status, usage: result.usage, costUsd: result.costUsd, returned: result.returned });
    return result;
  } catch (err) {
    rec.status = wf.isCancellation(err) ? 'cancelled' : 'failed';
    if (wf.isCancellation(err)) throw err;
    // A failed root-less child still returns its result; a thrown one (terminated) keeps its slice spent.
    const carried = (err as { cause?: { details?: unknown[] } }).cause?.details?.[0] as AgentResult | undefined;
    if (carried?.status) {
      recordChildEnd(s, { childId: agentId, status: carried.status, usage: carried.usage, costUsd: carried.costUsd, returned: carried.returned });
      return carried;
    }
    return { noVerdict: `reviewer failed: ${errorMessage(err)}` };
  }
}
