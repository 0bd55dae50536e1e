/** Merge conflicts, the pure part (src/workflows/run/resolution.ts): which resolver a task has, what it is told. */
import { describe, expect, it } from 'vitest';
import type { AgentInput } from '../../../src/shared/agent';
import { conflictError, resolverEnv, resolverGoal, resolverInput, resolverOf, resolvingText, withResolution, type ConflictRefs } from '../../../src/workflows/run/resolution';
import { plan, task } from '../../support/plans';

const refs: ConflictRefs = { branch: 'cadre/r.t.resolve-1', integration: 'cadre/r/integration', ours: 'a'.repeat(40), theirs: 'b'.repeat(40), base: 'c'.repeat(40), files: ['src/a.ts', 'b.md'] };

describe('resolution', () => {
  it('a resolver defaults to the task\'s backend; a command or scripted task needs its own resolve command or script', () => {
    expect(resolverOf(plan([]), task('m', { backend: 'anthropic', model: 'x' }))).toEqual({ backend: 'anthropic', attempts: 1 });
    expect(resolverOf(plan([], { defaults: { backend: 'claude-code', resolve: { attempts: 3, prompt: 'Keep both.' } } }), task('s'))).toEqual({ backend: 'claude-code', prompt: 'Keep both.', attempts: 3 });
    expect(resolverOf(plan([]), task('c', { backend: 'command', command: ['make'] }))).toBeUndefined();
    expect(resolverOf(plan([]), task('s'))).toBeUndefined(); // scripted, the default backend
    expect(resolverOf(plan([]), task('c', { backend: 'command', command: ['make'], resolve: { command: ['./fix.sh'] } }))).toEqual({ backend: 'command', command: ['./fix.sh'], attempts: 1 });
    // The task's own field wins over the defaults.
    expect(resolverOf(plan([], { defaults: { resolve: { backend: 'codex' } } }), task('t', { resolve: { backend: 'scripted', script: '/s.json' } }))).toEqual({ backend: 'scripted', script: '/s.json', attempts: 1 });
  });

  it('the goal names both goals, the files and the refs of both diffs, never their contents', () => {
    const goal = resolverGoal({ backend: 'anthropic', attempts: 1 }, { id: 't', title: 'Add b', goal: 'Add b to a.ts' }, [{ id: 'o', title: 'Add c', goal: 'Put c into a.ts' }], refs);
    expect(goal).toContain('conflicts in: src/a.ts, b.md');
    expect(goal).toContain('The goal of task t (ours): Add b\nAdd b to a.ts');
    expect(goal).toContain('- o: Add c — Put c into a.ts');
    expect(goal).toContain(`git diff ${refs.base} ${refs.ours} -- <file>`);
    expect(goal).toContain(`git diff ${refs.base} ${refs.theirs} -- <file>`);
    expect(resolverEnv(refs, 't', 2)).toMatchObject({ CADRE_RESOLVE_FILES: 'src/a.ts\nb.md', CADRE_RESOLVE_TASK: 't', CADRE_RESOLVE_ROUND: '2', CADRE_RESOLVE_OURS: refs.ours });
  });

  it('the resolver\'s input has no checks, review or declared files of its own and starts from the task\'s head', () => {
    const base = { repo: '/r', baseRef: 'cadre/r/integration', goal: 'g', backend: 'command', command: ['make'], model: 'm', taskId: 't', files: ['a.ts'], outputs: ['x'], verify: ['true'], verifyAttempts: 2, review: { backend: 'anthropic' } } as unknown as AgentInput;
    const input = resolverInput(base, { backend: 'command', command: ['./fix.sh'], attempts: 1 }, 'resolve it', resolverEnv(refs, 't', 1));
    expect(input).toMatchObject({ baseRef: refs.ours, goal: 'resolve it', backend: 'command', command: ['./fix.sh'], model: 'm', files: [], role: 'resolver' });
    for (const k of ['taskId', 'outputs', 'verify', 'verifyAttempts', 'review', 'checks']) expect(input).not.toHaveProperty(k);
  });

  it('texts: the row while resolving, the error with every file, a round recorded once', () => {
    expect(resolvingText(['a', 'b', 'c', 'd'])).toBe('resolving conflict in a, b, c and 1 more');
    expect(conflictError(['a', 'b', 'c', 'd'], 'conflict markers\nleft in a')).toBe('merge conflict in a, b, c, d (resolver: conflict markers left in a)');
    const one = withResolution(undefined, { round: 1, files: ['a'], outcome: 'failed', why: 'x' });
    expect(withResolution(withResolution(one, { round: 2, files: ['a'], outcome: 'resolved' }), { round: 2, files: ['a'], outcome: 'resolved' }).map((x) => x.round)).toEqual([1, 2]);
  });
});
