/** `cadre status` of an agent shows a stall (docs/loops.md "Stalls"): the snapshot's `stalled`, the result's `stalls`. */
import { describe, expect, it } from 'vitest';
import { renderAgent } from '../../src/client/commands/inspect';
import type { AgentResult } from '../../src/shared/agent';
import type { AgentSnapshot } from '../../src/shared/messages';

const usage = { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };

describe('status of a stalled agent', () => {
  it('a running stalled agent has a stalled line; an ended one its stall count', () => {
    const snap: AgentSnapshot = {
      agentId: 'r/a', depth: 0, status: 'running', backend: 'command', turn: 0, doing: 'stalled: no progress for 10 min (nudged) — was: run ./x.sh',
      usage, costUsd: 0, ledger: { allocated: {}, used: {}, reserved: {}, available: {}, granted: {}, alerts: [] } as unknown as AgentSnapshot['ledger'], children: [],
      stalled: { since: Date.UTC(2026, 0, 1, 10, 0), nudgedAt: Date.UTC(2026, 0, 1, 10, 10) }, stalls: 1,
    };
    const text = renderAgent(snap, true);
    expect(text).toContain('— stalled: no progress for 10 min (nudged) — was: run ./x.sh');
    expect(text).toContain('stalled: no progress since 2026-01-01T10:00:00.000Z, nudged at 2026-01-01T10:10:00.000Z');
    const result: AgentResult = { agentId: 'r/a', status: 'failed', summary: '', branch: 'cadre/r.a', filesChanged: [], usage, costUsd: 0, turns: 0, error: 'stalled: no progress for 20 min', returned: {}, children: [], stalls: 1 };
    const ended = renderAgent(result, false);
    expect(ended).toContain('error: stalled: no progress for 20 min');
    expect(ended).toContain('stalls: 1');
  });
});
