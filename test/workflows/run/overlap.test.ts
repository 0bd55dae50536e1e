/** The live overlap check's pure rules: which running tasks' changes overlap a task's declared files, and re-checks. */
import { describe, expect, it } from 'vitest';
import { LIVE_RECHECK_MS, liveOverlap, overlapText, releaseHolds, runningKey, type Hold } from '../../../src/workflows/run/overlap';
import { nextTask } from '../../../src/workflows/run/scheduler';
import { initialRunState } from '../../../src/workflows/run/table';
import { plan, task } from '../../support/plans';

describe('liveOverlap', () => {
  it('finds equal paths and paths inside a declared directory (and the reverse), per running task', () => {
    const live = [
      { taskId: 't1', paths: ['README.md', 'src/a.ts'] },
      { taskId: 't2', paths: ['src/lib/deep/x.ts', 'docs/y.md'] },
      { taskId: 't3', paths: ['src'] },
      { taskId: 't4', paths: ['srcs/a.ts', 'src.ts'] },
    ];
    expect(liveOverlap(['src/a.ts'], live)).toEqual([{ task: 't1', paths: ['src/a.ts'] }, { task: 't3', paths: ['src'] }]);
    expect(liveOverlap(['./src/lib/'], live)).toEqual([{ task: 't2', paths: ['src/lib/deep/x.ts'] }, { task: 't3', paths: ['src'] }]);
  });

  it('holds nothing back for a task without declared files, or when nothing overlaps', () => {
    expect(liveOverlap([], [{ taskId: 't1', paths: ['a'] }])).toEqual([]);
    expect(liveOverlap(['b'], [{ taskId: 't1', paths: ['a', 'bb', 'b.txt'] }, { taskId: 't2', paths: [] }])).toEqual([]);
  });

  it('keeps the overlapping paths and the row text short', () => {
    const many = Array.from({ length: 50 }, (_, i) => `src/f${i}.ts`);
    const [o] = liveOverlap(['src'], [{ taskId: 't3', paths: many }]);
    expect(o!.paths).toHaveLength(5);
    expect(overlapText([{ task: 't3', paths: ['src/a.ts'] }])).toBe('overlaps live changes of t3 in src/a.ts');
    expect(overlapText([o!])).toBe('overlaps live changes of t3 in src/f0.ts, src/f1.ts, src/f2.ts, …');
    const lots = Array.from({ length: 10 }, (_, i) => ({ task: `task-${i}`, paths: many }));
    expect(overlapText(lots).length).toBeLessThanOrEqual(200);
  });
});

describe('releaseHolds', () => {
  it('releases a hold when the running tasks changed or the check is old, keeps it otherwise', () => {
    const key = runningKey(['t2', 't1']);
    expect(key).toBe(runningKey(['t1', 't2']));
    const holds = new Map<string, Hold>([
      ['a', { running: key, at: 1000 }],
      ['b', { running: runningKey(['t1']), at: 1000 }],
    ]);
    expect(releaseHolds(holds, key, 1000 + LIVE_RECHECK_MS - 1)).toEqual(['b']);
    expect([...holds.keys()]).toEqual(['a']);
    expect(releaseHolds(holds, key, 1000 + LIVE_RECHECK_MS)).toEqual(['a']);
    expect(holds.size).toBe(0);
  });
});

describe('nextTask with held tasks', () => {
  it('passes over a held task and picks the next ready one', () => {
    const p = plan([task('a'), task('b', { files: ['src/shared.ts'] }), task('c')]);
    const s = initialRunState('r', p, 3);
    expect(nextTask(p, s, [], new Set(['a']))?.id).toBe('b');
    expect(nextTask(p, s, [], new Set(['a', 'b']))?.id).toBe('c');
    expect(nextTask(p, s, [], new Set(['a', 'b', 'c']))).toBeUndefined();
  });
});
