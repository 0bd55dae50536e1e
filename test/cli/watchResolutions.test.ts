/** `cadre watch`, `status` and `logs` show a merge-conflict resolution (docs/loops.md "Merge conflicts"). Pure. */
import { describe, expect, it } from 'vitest';
import { resolutionLines } from '../../src/client/commands/inspect';
import { diffViews, eventLine, taskTable, type RunView } from '../../src/client/watch';
import type { RunProgress, TaskRow } from '../../src/shared/messages';

const counts = { pending: 0, ready: 0, running: 1, waiting: 0, completed: 0, failed: 0, blocked: 0, cancelled: 0, skipped: 0 };
const t0 = Date.parse('2026-01-01T00:00:00Z');
const base: TaskRow = { id: 'right', title: 'Say right', priority: 5, status: 'running', attempts: 1, agentId: 'r/right', startedAt: t0 };

function view(row: Partial<TaskRow>, at: number): RunView {
  const progress = { runId: 'r', name: 'p', status: 'running', maxConcurrency: 2, tasks: [{ ...base, ...row }], counts, costUsd: 0, tokens: 0 } as RunProgress;
  return { runId: 'r', progress, agents: [], spentUsd: 0, spentTokens: 0, at };
}

describe('watch and merge conflicts', () => {
  it('a line when the run starts resolving, one per new round, and the completed line says it was resolved', () => {
    const lines = (prev: RunView | undefined, next: RunView) => diffViews(prev, next).filter((e) => e.event === 'task').map((e) => eventLine(e, t0));
    const running = view({}, t0 + 1000);
    const resolving = view({ waiting: 'resolving conflict in shared.txt' }, t0 + 2000);
    expect(lines(running, resolving)).toEqual(['[+0s] right running — resolving conflict in shared.txt']);
    const again = view({ waiting: 'resolving conflict in shared.txt', resolutions: [{ round: 1, files: ['shared.txt'], outcome: 'failed', why: 'conflict markers left in shared.txt' }] }, t0 + 3000);
    expect(lines(resolving, again)).toEqual(['[+0s] right running — resolving conflict in shared.txt (round 2)']);
    const done = view({ status: 'completed', endedAt: t0 + 9000, summary: 'wrote right', resolutions: [{ round: 1, files: ['shared.txt'], outcome: 'resolved', agentId: 'r/right/resolve-1' }] }, t0 + 9000);
    expect(lines(again, done)).toEqual(['[+9s] right completed (0/1 done, merge conflict resolved)']);
    expect(taskTable(resolving.progress, t0 + 2000)).toMatch(/right\s+running.*resolving conflict in shared\.txt/);
    expect(taskTable(done.progress)).toMatch(/right\s+completed.*merge conflict resolved; wrote right/);
  });

  it('one line per round for status and logs', () => {
    expect(resolutionLines([
      { round: 1, files: ['a.ts', 'b.ts', 'c.ts', 'd.ts'], outcome: 'failed', agentId: 'r/t/resolve-1', why: 'verify failed (exit 1): no', costUsd: 0.25 },
      { round: 2, files: ['a.ts'], outcome: 'resolved', agentId: 'r/t/resolve-2' },
      { round: 3, files: ['a.ts'], outcome: 'clean' },
    ])).toEqual([
      '  resolution 1 of a.ts, b.ts, c.ts and 1 more: failed (r/t/resolve-1): verify failed (exit 1): no ($0.25)',
      '  resolution 2 of a.ts: resolved by r/t/resolve-2',
      '  resolution 3 of a.ts: the integration branch merged in cleanly',
    ]);
    expect(resolutionLines(undefined)).toEqual([]);
  });
});
