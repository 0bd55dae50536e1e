/** `cadre watch` shows a fix attempt (docs/loops.md): a line when a task's agent starts another attempt. Pure. */
import { describe, expect, it } from 'vitest';
import { diffViews, eventLine, type AgentLive, type RunView } from '../../src/client/watch';
import type { RunProgress } from '../../src/shared/messages';

const progress = { runId: 'r', name: 'p', status: 'running', tasks: [], counts: { pending: 0, ready: 0, running: 1, waiting: 0, completed: 0, failed: 0, blocked: 0, cancelled: 0, skipped: 0 }, costUsd: 0, tokens: 0 } as unknown as RunProgress;

function view(agent: Partial<AgentLive>, at: number): RunView {
  const a: AgentLive = { agentId: 'r/gen', name: 'gen', taskId: 'gen', depth: 0, status: 'running', doing: 'model turn 1', tokens: 0, costUsd: 0, allocated: {}, alerts: [], ...agent };
  return { runId: 'r', progress, agents: [a], spentUsd: 0, spentTokens: 0, at };
}

describe('watch and fix-and-retry', () => {
  it('prints a line when a task agent goes on to another attempt, once, with why the last one failed', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const first = view({ attempt: 1, verifyAttempts: 2 }, t0);
    const second = view({ attempt: 2, verifyAttempts: 2, doing: 'attempt 2/2: model turn 3', lastFailure: 'missing outputs: out.txt' }, t0 + 5000);
    const lines = (prev: RunView | undefined, next: RunView) => diffViews(prev, next).filter((e) => e.event === 'agent').map((e) => eventLine(e, t0)).filter(Boolean);
    expect(lines(undefined, first)).toEqual([]);
    expect(lines(first, second)).toEqual(['[+5s] gen verification failed: missing outputs: out.txt — attempt 2 of 2']);
    expect(lines(second, view({ attempt: 2, verifyAttempts: 2, doing: 'attempt 2/2: model turn 4', lastFailure: 'missing outputs: out.txt' }, t0 + 6000))).toEqual([]);
    // First seen already on a fix attempt (the first failed between two polls): still told.
    expect(lines(undefined, second)).toEqual(['[+5s] gen verification failed: missing outputs: out.txt — attempt 2 of 2']);
  });
});
