/** `cadre inbox` items (src/client/inbox): what a run's progress and an agent's snapshot say waits for a person. */
import { describe, expect, it } from 'vitest';
import { agentItems, fmtAge, messageItems, renderInbox, runItems, shellWord, sortItems } from '../../src/client/inbox';
import type { AgentSnapshot, RunProgress, TaskRow } from '../../src/shared/messages';

const usage = { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };
const row = (r: Partial<TaskRow> & { id: string }): TaskRow => ({ title: r.id, priority: 0, status: 'pending', attempts: 0, ...r });
const progress = (tasks: TaskRow[], extra: Partial<RunProgress> = {}): RunProgress =>
  ({ runId: 'plan-abc123', name: 'plan', status: 'running', maxConcurrency: 2, tasks, counts: {} as RunProgress['counts'], costUsd: 0, tokens: 0, ...extra });
const snap = (s: Partial<AgentSnapshot>): AgentSnapshot =>
  ({ agentId: 'a1', depth: 0, status: 'running', backend: 'command', turn: 0, doing: 'run ./x.sh', usage, costUsd: 0, ledger: {} as AgentSnapshot['ledger'], children: [], ...s });

describe('inbox items', () => {
  it('a task waiting at its gate is a gate item with approve (and reject); a task waiting for a lock is not', () => {
    const items = runItems(progress([
      row({ id: 'verify', title: 'Verify by hand', status: 'waiting', waiting: 'approval: Open b.txt\nand check it', startedAt: 1000, agentId: 'plan-abc123/verify' }),
      row({ id: 'locked', status: 'waiting', waiting: 'lock on src/a.ts', startedAt: 500 }),
      row({ id: 'done', status: 'completed' }),
    ]));
    expect(items).toEqual([
      {
        kind: 'gate', runId: 'plan-abc123', taskId: 'verify', agentId: 'plan-abc123/verify', since: 1000,
        summary: 'Verify by hand: Open b.txt and check it',
        command: 'cadre approve plan-abc123 verify',
        also: ["cadre reject plan-abc123 verify --reason '…'"],
      },
    ]);
  });

  it('a task failed by an unresolved merge conflict is a conflict item answered by retry; other failures are not', () => {
    const items = runItems(progress([
      row({ id: 'right', title: 'Say right', status: 'failed', endedAt: 3000, agentId: 'plan-abc123/right', error: 'merge conflict in shared.txt (resolver: conflict markers left in shared.txt)' }),
      row({ id: 'plain', status: 'failed', endedAt: 2000, error: 'merge conflict in a.ts, b.ts' }),
      row({ id: 'broken', status: 'failed', error: 'verify failed (exit 1): no' }),
      row({ id: 'busy', status: 'running', waiting: 'resolving conflict in c.ts' }),
    ]));
    expect(items).toEqual([
      {
        kind: 'conflict', runId: 'plan-abc123', taskId: 'right', agentId: 'plan-abc123/right', since: 3000,
        summary: 'Say right: merge conflict in shared.txt (resolver: conflict markers left in shared.txt)',
        command: 'cadre retry plan-abc123 right',
      },
      { kind: 'conflict', runId: 'plan-abc123', taskId: 'plain', agentId: undefined, since: 2000, summary: 'plain: merge conflict in a.ts, b.ts', command: 'cadre retry plan-abc123 plain' },
    ]);
    expect(renderInbox(items, 5000)).toContain('conflict    plan-abc123/right  2s  Say right: merge conflict in shared.txt');
  });

  it('dead letters and messages to the operator answer with send --reply-to', () => {
    const msg = { id: 'r/t#1', from: 'r/t', to: 'operator', text: 'which database?', priority: 'normal' as const, sentAt: 5 };
    const items = runItems(progress([], { toOperator: [msg], deadLetters: [{ message: { ...msg, id: 'r/t#2', to: 'r/gone' }, reason: 'recipient has ended', at: 7 }] }));
    expect(items.map((i) => [i.kind, i.since, i.command])).toEqual([
      ['dead-letter', 7, "cadre send r/t '…' --reply-to r/t#2"],
      ['message', 5, "cadre send r/t '…' --reply-to r/t#1"],
    ]);
    expect(items[0].summary).toBe('r/t#2 from r/t to r/gone not delivered (recipient has ended): which database?');
    const [mine] = messageItems([{ message: { ...msg, id: 'op-1', from: 'operator', to: 'r/t', text: 'too late' }, reason: 'agent r/t has ended', at: 9 }], []);
    expect(mine).toMatchObject({ kind: 'dead-letter', agentId: 'r/t', summary: 'your message op-1 to r/t not delivered (agent r/t has ended): too late', command: 'cadre status r/t' });
    // Kept by a run (or a standalone agent): the operator's own letter is dismissed there; status still reads it.
    const [kept] = messageItems([{ message: { ...msg, id: 'op-1', from: 'operator', to: 'r/t', text: 'too late' }, reason: 'gone', at: 9 }], [], 'r');
    expect(kept).toMatchObject({ command: 'cadre dismiss r op-1', also: ['cadre status r/t'] });
    expect(messageItems(undefined, undefined)).toEqual([]);
  });

  it('a stalled agent is an item with since; a task agent can also be cancelled; a moving agent is none', () => {
    expect(agentItems(snap({}))).toEqual([]);
    const [standalone] = agentItems(snap({ stalled: { since: Date.UTC(2026, 0, 1, 10), nudgedAt: Date.UTC(2026, 0, 1, 10, 10) } }));
    expect(standalone).toMatchObject({ kind: 'stalled', agentId: 'a1', since: Date.UTC(2026, 0, 1, 10), command: "cadre send a1 '…'" });
    expect(standalone.also).toBeUndefined();
    expect(standalone.summary).toBe('no progress since 2026-01-01T10:00:00.000Z (nudged) — run ./x.sh');
    expect(agentItems(snap({ doing: 'stalled: no progress for 10 min (nudged) — was: run ./x.sh', stalled: { since: 1, nudgedAt: 2 } }))[0].summary).toBe('stalled: no progress for 10 min (nudged) — was: run ./x.sh');
    const [task] = agentItems(snap({ agentId: 'r/t', runId: 'r', taskId: 't', stalled: { since: 1, nudgedAt: 2 } }));
    expect(task).toMatchObject({ runId: 'r', taskId: 't', also: ['cadre cancel r t'] });
  });

  it('a budget request waiting for the operator is a budget item: grant what it asks with its id, or refuse', () => {
    const budgetRequest = { requestId: 'r/t#budget-1', tokens: 12_345.2, since: 40, until: Date.UTC(2026, 0, 2) };
    const [item] = agentItems(snap({ agentId: 'r/t', runId: 'r', taskId: 't', budgetRequest }));
    expect(item).toEqual({
      kind: 'budget', runId: 'r', taskId: 't', agentId: 'r/t', since: 40,
      summary: 'out of budget, asks for 12346 tokens (refused if unanswered by 2026-01-02T00:00:00.000Z)',
      command: 'cadre budget grant r/t 12346 --id r/t#budget-1',
      also: ['cadre budget refuse r/t'],
      requestId: 'r/t#budget-1',
      amount: { tokens: 12_345.2 },
    });
    expect(agentItems(snap({ budgetRequest: { requestId: 'a1#budget-2', usd: 0.123, since: 1, until: 2 } }))[0].command).toBe("cadre budget grant a1 '$0.13' --id a1#budget-2");
  });

  it('ids that are not plain words are quoted for the shell', () => {
    expect(shellWord('plan-abc123')).toBe('plan-abc123');
    expect(shellWord("it's x")).toBe(`'it'\\''s x'`);
    expect(runItems(progress([row({ id: 'a b', status: 'waiting', waiting: 'approval: ok?' })]))[0].command).toBe("cadre approve plan-abc123 'a b'");
  });

  it('sorted oldest first, unknown age last; rendered with age and command; empty says nothing waits', () => {
    const a = { kind: 'gate' as const, runId: 'r', taskId: 't', summary: 's', command: 'cadre approve r t' };
    expect(sortItems([a, { ...a, taskId: 'old', since: 1 }]).map((i) => i.taskId)).toEqual(['old', 't']);
    expect(renderInbox([], 0)).toBe('nothing waits for you\n');
    const text = renderInbox([{ ...a, since: 0 }], 125_000, ['x not asked']);
    expect(text).toContain('gate        r/t  2m  s\n            → cadre approve r t\nnote: x not asked\n');
    expect([fmtAge(5_000), fmtAge(3_600_000 + 5 * 60_000), fmtAge(5 * 86_400_000)]).toEqual(['5s', '1h05m', '5d']);
  });
});
