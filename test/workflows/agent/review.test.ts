/** Review's pure decisions (src/workflows/agent/review.ts): verdicts, rounds, messages. */
import { describe, expect, it } from 'vitest';
import { recordReview, reviewError, reviewerEnv, reviewerGoal, reviewMessage, reviewRoundsOf, revisions, shouldRevise, verdictOf } from '../../../src/workflows/agent/review';
import { ReviewSchema, TaskSchema } from '../../../src/shared/plan';

describe('review decisions', () => {
  it('a command reviewer approves by exiting 0 and requests changes with its output otherwise', () => {
    expect(verdictOf('command', { status: 'completed', summary: 'command exited 0' })).toEqual({ verdict: 'approve', text: 'command exited 0' });
    expect(verdictOf('command', { status: 'failed', summary: 'command exited 1: add tests', error: 'command exited 1: add tests' })).toEqual({ verdict: 'changes', text: 'command exited 1: add tests' });
    expect(verdictOf('command', { status: 'timed_out', summary: '' })).toEqual({ verdict: 'changes', text: 'timed_out' });
  });

  it('a model reviewer approves with APPROVE, requests changes with CHANGES: or anything else, and gives no verdict when it did not complete', () => {
    expect(verdictOf('scripted', { status: 'completed', summary: 'APPROVE looks good' })).toEqual({ verdict: 'approve', text: 'APPROVE looks good' });
    expect(verdictOf('anthropic', { status: 'completed', summary: 'CHANGES: rename foo' })).toEqual({ verdict: 'changes', text: 'rename foo' });
    expect(verdictOf('anthropic', { status: 'completed', summary: 'not sure' })).toEqual({ verdict: 'changes', text: 'not sure' });
    expect(verdictOf('anthropic', { status: 'completed', summary: 'APPROVED? no: APPROVEX' })).toMatchObject({ verdict: 'changes' });
    expect(verdictOf('scripted', { status: 'max_turns', summary: '', error: 'out of turns' })).toEqual({ error: 'reviewer ended max_turns: out of turns' });
  });

  it('records one verdict per round and revises while rounds are left', () => {
    let r = recordReview([], 1, 'c1', { verdict: 'changes', text: 'x'.repeat(500) });
    expect(r).toEqual([{ round: 1, verdict: 'changes', commit: 'c1', summary: 'x'.repeat(300) }]);
    expect(shouldRevise(r, 2)).toBe(true);
    expect(shouldRevise(r, 1)).toBe(false);
    expect(revisions(r)).toBe(1);
    r = recordReview(r, 2, 'c2', { verdict: 'approve', text: 'ok' });
    expect(shouldRevise(r, 3)).toBe(false);
    expect(revisions(r)).toBe(1);
    expect(revisions(undefined)).toBe(0);
    expect(reviewRoundsOf({ backend: 'command' })).toBe(2);
    expect(reviewRoundsOf({ backend: 'command', rounds: 99 })).toBe(5);
  });

  it('says what to change, and where the change is without the diff', () => {
    const m = reviewMessage({ verdict: 'changes', text: 'add a test' }, 1, 2);
    expect(m).toContain('Review requested changes (round 1 of 2):');
    expect(m).toContain('add a test');
    expect(m).toContain('The next review is the last');
    expect(reviewError({ verdict: 'changes', text: 'add a test' })).toBe('review: changes requested: add a test');
    const g = reviewerGoal({ goal: 'do it' }, 'cadre/a', 'b0', 'c1');
    expect(g).toContain('do it');
    expect(g).toContain('git diff b0 c1');
    expect(reviewerEnv('cadre/a', 'b0', 'c1', 2)).toEqual({ CADRE_REVIEW_BRANCH: 'cadre/a', CADRE_REVIEW_BASE: 'b0', CADRE_REVIEW_COMMIT: 'c1', CADRE_REVIEW_ROUND: '2' });
  });

  it('the plan field: a command reviewer needs a command, a scripted one a script; rounds are 1 to 5', () => {
    expect(ReviewSchema.safeParse({ backend: 'command' }).error?.issues[0]).toMatchObject({ path: ['command'], message: 'a command reviewer needs a command' });
    expect(ReviewSchema.safeParse({ backend: 'scripted' }).error?.issues[0]?.path).toEqual(['script']);
    expect(ReviewSchema.safeParse({ backend: 'anthropic', rounds: 0 }).success).toBe(false);
    expect(TaskSchema.parse({ id: 't', title: 't', prompt: '', review: { backend: 'anthropic', rounds: 3 } }).review).toEqual({ backend: 'anthropic', rounds: 3 });
  });
});
