/**
 * Review, pure (docs/loops.md "Review"): after the agent's work passed its verification, a reviewer sub-agent reads
 * the task's branch in a worktree of its own (created from the reviewed commit) and approves or requests changes.
 * Requested changes go back to the agent as fix-and-retry's failures do; after `rounds` rounds without approval the
 * agent fails with "review: changes requested: …". The shell is reviewer.ts.
 *
 * Verdicts: a `command` reviewer approves by exiting 0; any other end requests changes, with the end of its output.
 * A model or session reviewer approves when its final summary starts with `APPROVE`; `CHANGES: <text>` (or any
 * other summary) requests changes with that text; a model reviewer that ends without completing gives no verdict
 * and fails the agent.
 */
import type { AgentInput, AgentResult, ReviewRecord } from '../../shared/agent';
import { DEFAULT_REVIEW_ROUNDS, MAX_REVIEW_ROUNDS } from '../../shared/planLimits';

export const REVIEW_ROUNDS = 'review-rounds';
/** A verdict's summary in status and results; the request the agent is shown may be longer. */
const SUMMARY_CHARS = 300;
const REQUEST_CHARS = 2048;

export interface Verdict {
  verdict: ReviewRecord['verdict'];
  /** The request for changes (or the approval's text). */
  text: string;
}

/** The agent's round limit: its review's, else the default; always 1 to MAX_REVIEW_ROUNDS. */
export function reviewRoundsOf(review: NonNullable<AgentInput['review']>): number {
  const n = review.rounds ?? DEFAULT_REVIEW_ROUNDS;
  return Number.isInteger(n) ? Math.min(MAX_REVIEW_ROUNDS, Math.max(1, n)) : DEFAULT_REVIEW_ROUNDS;
}

/** The reviewer's verdict from its result; an error text when it ended without one. */
export function verdictOf(backend: string, r: Pick<AgentResult, 'status' | 'summary' | 'error'>): Verdict | { error: string } {
  if (backend === 'command') {
    return r.status === 'completed' ? { verdict: 'approve', text: r.summary || 'approved' } : { verdict: 'changes', text: r.error || r.summary || r.status };
  }
  if (r.status !== 'completed') return { error: `reviewer ended ${r.status}${r.error ? `: ${r.error}` : ''}` };
  const summary = r.summary.trim();
  if (/^APPROVE\b/i.test(summary)) return { verdict: 'approve', text: summary };
  return { verdict: 'changes', text: summary.replace(/^CHANGES:\s*/i, '') || 'changes requested (no text)' };
}

/** Record a round's verdict. */
export function recordReview(reviews: ReviewRecord[], round: number, commit: string, v: Verdict): ReviewRecord[] {
  const entry: ReviewRecord = { round, verdict: v.verdict, commit, summary: v.text.slice(0, SUMMARY_CHARS) };
  return [...reviews.filter((x) => x.round !== round), entry];
}

/** Requested changes with rounds left go back to the agent; otherwise the review is over. */
export function shouldRevise(reviews: ReviewRecord[], rounds: number): boolean {
  const last = reviews[reviews.length - 1];
  return last?.verdict === 'changes' && reviews.length < rounds;
}

/** The rounds that sent the agent back to work: each is one more attempt at the verification too. */
export function revisions(reviews: ReviewRecord[] | undefined): number {
  return (reviews ?? []).filter((r) => r.verdict === 'changes').length;
}

/** The error after the last round without approval. */
export function reviewError(v: Verdict): string {
  return `review: changes requested: ${v.text}`.slice(0, 1000);
}

/** What the agent is told (the model's message, a session's prompt, a command's CADRE_REVIEW_CHANGES). */
export function reviewMessage(v: Verdict, round: number, rounds: number): string {
  const left = rounds - round;
  return [
    `Review requested changes (round ${round} of ${rounds}):`,
    v.text.slice(-REQUEST_CHARS),
    `Make these changes in the same worktree, then finish again. ${left === 1 ? 'The next review is the last' : `${left} reviews are left`}; your budget is the same one as before.`,
  ].join('\n\n');
}

/** The reviewer's goal: the task's goal and where the change is (never the diff itself). */
export function reviewerGoal(input: Pick<AgentInput, 'goal' | 'review'>, branch: string, base: string, commit: string): string {
  return [
    input.review?.prompt ?? 'Review the change below against its goal.',
    `The goal of the change:\n${input.goal}`.slice(0, 4000),
    `The change is commit ${commit} on branch ${branch}; it was made on top of ${base}. Your worktree is checked out at ${commit}: read it with \`git diff ${base} ${commit}\`.`,
    'Finish with a summary that starts with `APPROVE` when the change is good, or with `CHANGES: ` followed by what to change.',
  ].join('\n\n');
}

/** A command reviewer's environment: where the change is. */
export function reviewerEnv(branch: string, base: string, commit: string, round: number): Record<string, string> {
  return { CADRE_REVIEW_BRANCH: branch, CADRE_REVIEW_BASE: base, CADRE_REVIEW_COMMIT: commit, CADRE_REVIEW_ROUND: String(round) };
}
