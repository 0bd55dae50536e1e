/**
 * The scheduler's decisions as pure functions, without a Temporal server: which task starts next, its budget slice
 * and agent input, which rows a failure blocks and a retry resets, and the run's verdict.
 */
import { describe, expect, it } from 'vitest';
import type { AgentResult } from '../../../src/shared/agent';
import { PlanSchema, type PlanInput } from '../../../src/shared/plan';
import { agentIdFor, agentInputFor, filesOverlap, nextTask, sliceFor } from '../../../src/workflows/run/scheduler';
import * as table from '../../../src/workflows/run/table';

const plan = (p: Partial<PlanInput>) => PlanSchema.parse({ name: 'p', source: { format: 'native', path: '/p' }, tasks: [], ...p });
const task = (id: string, extra: Record<string, unknown> = {}) => ({ id, title: id, prompt: '', ...extra });
const setStatus = (s: table.RunState, id: string, status: table.RunState['rows'][number]['status']) => Object.assign(table.rowOf(s, id)!, { status });

describe('nextTask', () => {
  it('starts by priority, then plan order, only when dependencies are done', () => {
    const p = plan({ tasks: [task('a'), task('b', { priority: 9 }), task('c', { dependsOn: ['a'] })] });
    const s = table.initialRunState('r', p, undefined);
    expect(nextTask(p, s, [])?.id).toBe('b');
    setStatus(s, 'b', 'running');
    expect(nextTask(p, s, ['b'])?.id).toBe('a');
    setStatus(s, 'a', 'running');
    expect(nextTask(p, s, ['b', 'a'])).toBeUndefined();
    setStatus(s, 'a', 'completed');
    setStatus(s, 'b', 'completed');
    expect(nextTask(p, s, [])?.id).toBe('c');
  });

  it('honours the cap, pause, phase limits and overlapping declared files', () => {
    const p = plan({
      maxConcurrency: 2,
      phaseLimits: { one: 1 },
      tasks: [task('a', { phase: 'one' }), task('b', { phase: 'one' }), task('c', { files: ['x.ts'] }), task('d', { files: ['x.ts'] }), task('e')],
    });
    const s = table.initialRunState('r', p, undefined);
    expect(nextTask(p, s, ['a'])?.id).toBe('c'); // b waits for its phase
    expect(nextTask(p, s, ['c'])?.id).toBe('a');
    setStatus(s, 'a', 'running');
    setStatus(s, 'b', 'completed');
    expect(nextTask(p, s, ['c'])?.id).toBe('e'); // d overlaps c
    expect(nextTask(p, s, ['c', 'a'])).toBeUndefined(); // the cap
    s.paused = true;
    expect(nextTask(p, s, [])).toBeUndefined();
  });
});

describe('budget slices', () => {
  it('shares the pool among the tasks still waiting; with a plan budget every slice comes from the pool', () => {
    const p = plan({ budget: { tokens: 9000 }, tasks: [task('a'), task('b'), task('c', { budget: { tokens: 50 } })] });
    const s = table.initialRunState('r', p, undefined);
    const a = sliceFor(p, s, p.tasks[0]!);
    expect(a).toEqual({ slice: { tokens: 4500, usd: undefined }, fromPool: true });
    expect(s.pool!.tokens).toBe(4500);
    // A task's own budget is taken out of the plan's too (the plan budget is a ceiling for the whole run).
    expect(sliceFor(p, s, p.tasks[2]!)).toEqual({ slice: { tokens: 50, usd: undefined }, fromPool: true });
    expect(s.pool!.tokens).toBe(4450);
    const result = { costUsd: 0.1, usage: { inputTokens: 100, outputTokens: 100, cacheReadTokens: 0, cacheWriteTokens: 0 }, returned: { tokens: 4300 }, summary: 's' } as AgentResult;
    table.recordAgentResult(s, table.rowOf(s, 'a')!, result, { tokens: 4500 });
    expect(s.pool!.tokens).toBe(8750);
    // What comes back is capped at the slice: c reports 4300 unused of its 50.
    table.recordAgentResult(s, table.rowOf(s, 'c')!, result, { tokens: 50 });
    expect(s.pool!.tokens).toBe(8800);
    expect(s.tokens).toBe(400);
  });

  it('never hands out more than the plan budget: own budgets are capped by what is left, a spent pool gives 0, an overspend is charged', () => {
    const p = plan({ budget: { tokens: 40_000 }, tasks: [task('a', { budget: { tokens: 30_000 } }), task('b', { budget: { tokens: 30_000 } }), task('c')] });
    const s = table.initialRunState('r', p, undefined);
    expect(sliceFor(p, s, p.tasks[0]!).slice.tokens).toBe(30_000);
    expect(sliceFor(p, s, p.tasks[1]!).slice.tokens).toBe(10_000);
    expect(sliceFor(p, s, p.tasks[2]!).slice.tokens).toBe(0);
    expect(s.pool!.tokens).toBe(0);
    // a spent 5,000 more than its slice (returned -5,000): the pool is charged, and the next slice is 0, not negative.
    const over = { costUsd: 0, usage: { inputTokens: 35_000, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }, returned: { tokens: -5_000 }, summary: '' } as AgentResult;
    table.recordAgentResult(s, table.rowOf(s, 'a')!, over, { tokens: 30_000 });
    expect(s.pool!.tokens).toBe(-5_000);
    table.rowOf(s, 'c')!.status = 'pending';
    expect(sliceFor(p, s, p.tasks[2]!).slice.tokens).toBe(0);
    // Without a plan budget a task's own budget is its own.
    const q = plan({ tasks: [task('x', { budget: { tokens: 7 } })] });
    expect(sliceFor(q, table.initialRunState('q', q, undefined), q.tasks[0]!)).toEqual({ slice: { tokens: 7 }, fromPool: false });
  });

  it('builds the agent input from the task, the plan defaults and the run', () => {
    const p = plan({ defaults: { backend: 'command', maxTurns: 7 }, tasks: [task('a', { command: ['true'] })] });
    const s = table.initialRunState('r', p, undefined);
    s.integration = { path: '/i', branch: 'cadre/r/integration' };
    const a = agentInputFor({ runId: 'r', plan: p, repo: '/repo' }, s, p.tasks[0]!, {});
    expect(a).toMatchObject({ backend: 'command', maxTurns: 7, baseRef: 'cadre/r/integration', taskId: 'a', runId: 'r', depth: 0 });
    expect(a).not.toHaveProperty('stallAfterSeconds');
    // Stalls (docs/loops.md): the task's settings over the plan's defaults.
    const q = plan({ defaults: { stallAfterSeconds: 60, onStall: 'restart' }, tasks: [task('a'), task('b', { stallAfterSeconds: 5, onStall: 'end' })] });
    const qs = table.initialRunState('q', q, undefined);
    qs.integration = s.integration;
    expect(agentInputFor({ runId: 'q', plan: q, repo: '/repo' }, qs, q.tasks[0]!, {})).toMatchObject({ stallAfterSeconds: 60, onStall: 'restart' });
    // The wait for the operator's budget answer: the task's, else the plan's, else absent (refused at once).
    expect(agentInputFor({ runId: 'q', plan: { ...q, defaults: { ...q.defaults, budgetWaitSeconds: 60 } }, repo: '/repo' }, qs, q.tasks[0]!, {})).toMatchObject({ budgetWaitSeconds: 60 });
    expect(agentInputFor({ runId: 'q', plan: q, repo: '/repo' }, qs, q.tasks[0]!, {})).not.toHaveProperty('budgetWaitSeconds');
    expect(agentInputFor({ runId: 'q', plan: q, repo: '/repo' }, qs, q.tasks[1]!, {})).toMatchObject({ stallAfterSeconds: 5, onStall: 'end' });
    expect(agentIdFor('r', 'a', 1)).toBe('r/a');
    expect(agentIdFor('r', 'a', 3)).toBe('r/a~3');
  });
});

describe('the task table', () => {
  const p = plan({ tasks: [task('a'), task('b', { dependsOn: ['a'] }), task('c', { dependsOn: ['b'] }), task('d')] });

  it('blocks the transitive dependents of a failure and retries them with it', () => {
    const s = table.initialRunState('r', p, undefined);
    setStatus(s, 'a', 'failed');
    expect(table.rowsToBlock(p, s, 'a').map((r) => r.id)).toEqual(['b', 'c']);
    setStatus(s, 'b', 'blocked');
    setStatus(s, 'c', 'blocked');
    expect(table.retrySet(p, s, 'a').map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(table.retryProblem(s, 'd')).toMatch(/is pending; only failed/);
    expect(table.retryProblem(s, 'zz')).toBe('no task "zz" in this run');
  });

  it('calls a run failed when any task did not make it, cancelled when stopped', () => {
    const s = table.initialRunState('r', p, undefined);
    for (const id of ['a', 'b', 'c', 'd']) setStatus(s, id, 'completed');
    expect(table.finalStatus(s)).toBe('completed');
    setStatus(s, 'd', 'failed');
    expect(table.finalStatus(s)).toBe('failed');
    table.cancelWaiting(s, 'stop');
    expect(table.finalStatus(s)).toBe('cancelled');
  });

  it('carries only rows that changed, and restores them in plan order', () => {
    const s = table.initialRunState('r', p, undefined);
    s.integration = { path: '/i', branch: 'b' };
    Object.assign(table.rowOf(s, 'c')!, { status: 'failed', attempts: 1, error: 'e'.repeat(500) });
    const carry = table.carryOf(s);
    expect(carry.rows).toEqual([{ id: 'c', status: 'failed', attempts: 1, error: 'e'.repeat(300) }]);
    const next = table.initialRunState('r', p, undefined, carry);
    expect(next.rows.map((r) => `${r.id}:${r.status}`)).toEqual(['a:pending', 'b:pending', 'c:failed', 'd:pending']);
    expect(next.generation).toBe(1);
  });
});

describe('issue 17: the run as people meet it', () => {
  it('a task done in the source does not open its phase barrier before its own dependencies are done', () => {
    // spec-kit: phase 2 is p2a -> p2b, the barrier to phase 3 is p2b (the sink); p2b was done in the source.
    const p = plan({
      tasks: [task('p1'), task('p2a', { dependsOn: ['p1'] }), task('p2b', { dependsOn: ['p2a'], done: true }), task('p3', { dependsOn: ['p2b'] })],
    });
    const s = table.initialRunState('r', p, undefined);
    expect(table.rowOf(s, 'p2b')!.status).toBe('skipped');
    expect(nextTask(p, s, [])?.id).toBe('p1');
    setStatus(s, 'p1', 'running');
    expect(nextTask(p, s, ['p1'])).toBeUndefined(); // p3 must not start beside p1
    setStatus(s, 'p1', 'completed');
    expect(nextTask(p, s, [])?.id).toBe('p2a');
    setStatus(s, 'p2a', 'completed');
    expect(nextTask(p, s, [])?.id).toBe('p3');
  });

  it('a directory and a file inside it overlap, as for the lock manager; ./ and a trailing / do not matter', () => {
    const p = plan({ tasks: [task('dir', { files: ['src/'] }), task('file', { files: ['./src/a.ts'] }), task('other', { files: ['srcx/a.ts'] })] });
    const s = table.initialRunState('r', p, undefined);
    expect(filesOverlap(p.tasks[0]!, p.tasks[1]!)).toBe(true);
    expect(filesOverlap(p.tasks[0]!, p.tasks[2]!)).toBe(false);
    setStatus(s, 'dir', 'running');
    expect(nextTask(p, s, ['dir'])?.id).toBe('other');
  });

  it('a task waiting (for a lock or a person) holds no concurrency or phase slot, but still keeps overlapping work apart', () => {
    const p = plan({
      maxConcurrency: 1,
      phaseLimits: { one: 1 },
      tasks: [task('a', { phase: 'one', files: ['x.ts'] }), task('b', { phase: 'one' }), task('c', { files: ['x.ts'] })],
    });
    const s = table.initialRunState('r', p, undefined);
    setStatus(s, 'a', 'running');
    expect(nextTask(p, s, ['a'])).toBeUndefined();
    setStatus(s, 'a', 'waiting');
    expect(nextTask(p, s, ['a'])?.id).toBe('b');
    setStatus(s, 'b', 'completed');
    expect(nextTask(p, s, ['a'])).toBeUndefined(); // c overlaps a
  });

  it('retrying a blocked task whose blocker is still failed is refused, naming the blocker', () => {
    const p = plan({ tasks: [task('a'), task('b', { dependsOn: ['a'] }), task('c', { dependsOn: ['b'] })] });
    const s = table.initialRunState('r', p, undefined);
    setStatus(s, 'a', 'failed');
    for (const r of table.rowsToBlock(p, s, 'a')) Object.assign(r, { status: 'blocked', blockedBy: ['a'] });
    expect(table.retryProblem(s, 'b')).toMatch(/task "b" is blocked by "a", which is still failed: retry a instead/);
    expect(table.retryProblem(s, 'a')).toBeUndefined();
  });

  it('a retry leaves out a dependent that another, unretried failure still blocks', () => {
    const p = plan({ tasks: [task('a'), task('x'), task('b', { dependsOn: ['a', 'x'] }), task('c', { dependsOn: ['a'] })] });
    const s = table.initialRunState('r', p, undefined);
    setStatus(s, 'a', 'failed');
    setStatus(s, 'x', 'failed');
    Object.assign(table.rowOf(s, 'b')!, { status: 'blocked', blockedBy: ['a', 'x'] });
    Object.assign(table.rowOf(s, 'c')!, { status: 'blocked', blockedBy: ['a'] });
    expect(table.retrySet(p, s, 'a').map((r) => r.id)).toEqual(['a', 'c']);
    expect(table.retrySet(p, s, ['a', 'x']).map((r) => r.id)).toEqual(['a', 'x', 'b', 'c']);
  });

  it('a run ends with no row pending: the stranded ones are blocked, and the counts add up to the tasks', () => {
    const p = plan({ tasks: [task('a'), task('b', { dependsOn: ['a'] }), task('d')] });
    const s = table.initialRunState('r', p, undefined);
    setStatus(s, 'a', 'failed');
    setStatus(s, 'd', 'completed');
    table.blockStranded(p, s);
    expect(table.rowOf(s, 'b')).toMatchObject({ status: 'blocked', blockedBy: ['a'] });
    const c = table.counts(s);
    expect(Object.values(c).reduce((x, y) => x + y, 0)).toBe(3);
    expect(c.pending).toBe(0);
  });

  it('finishing an ended run: failed tasks and their dependents go back to pending, completed ones stay with their commits', () => {
    const p = plan({ tasks: [task('a'), task('b', { dependsOn: ['a'] }), task('c'), task('d')] });
    const s = table.initialRunState('r', p, undefined, {
      rows: [
        { id: 'a', status: 'failed', attempts: 1, error: 'boom' },
        { id: 'b', status: 'blocked', attempts: 0, blockedBy: ['a'] },
        { id: 'c', status: 'completed', attempts: 1, commit: 'abc' },
        { id: 'd', status: 'cancelled', attempts: 1 },
      ],
      maxConcurrency: 2, paused: false, costUsd: 1, tokens: 10, deadLetters: [], toOperator: [], generation: 0,
    });
    expect(table.applyRetry(p, s, ['a']).map((r) => r.id)).toEqual(['a', 'b']);
    expect(s.rows.map((r) => `${r.id}:${r.status}:${r.attempts}`)).toEqual(['a:pending:1', 'b:pending:0', 'c:completed:1', 'd:cancelled:1']);
    expect(table.rowOf(s, 'c')!.commit).toBe('abc');
    expect(table.applyRetry(p, s, 'all').map((r) => r.id)).toEqual(['d']);
    expect(agentIdFor('r', 'a', table.rowOf(s, 'a')!.attempts + 1)).toBe('r/a~2');
  });

  it('a gate answer is accepted only while the task waits for approval', () => {
    const p = plan({ tasks: [task('g', { gate: { kind: 'approval', prompt: 'Check it' } }), task('n')] });
    const s = table.initialRunState('r', p, undefined);
    expect(table.gateProblem(p, s, 'g')).toBe('task "g" is pending, not waiting for approval');
    expect(table.gateProblem(p, s, 'n')).toBe('task "n" has no approval gate');
    Object.assign(table.rowOf(s, 'g')!, { status: 'waiting', waiting: table.approvalWaiting('Check it') });
    expect(table.gateProblem(p, s, 'g')).toBeUndefined();
    expect(table.describe(s, ['g'])).toContain('g is waiting for approval (cadre approve|reject r g): Check it');
    s.gateAnswers.g = { approved: true };
    expect(table.gateProblem(p, s, 'g')).toMatch(/answered already/);
  });
});
