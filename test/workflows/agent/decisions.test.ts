/**
 * The agent's decisions as pure functions of plain state, without a Temporal server: the turn's reservation and
 * what to ask the parent for, a child's slice and the spawn rules, settling usage, child reports, the ending's
 * result, and when continue-as-new is due.
 */
import { describe, expect, it } from 'vitest';
import { defaultLimits, type AgentInput } from '../../../src/shared/agent';
import { defaultPriceTable } from '../../../src/shared/pricing';
import { childSlice, settleTurn, shortfall, turnReservation } from '../../../src/workflows/agent/budget';
import { acceptProgress, needsMerge, planSpawn, recordChildEnd, ToolError, waitTargets } from '../../../src/workflows/agent/children';
import { agentResult } from '../../../src/workflows/agent/ending';
import * as ledger from '../../../src/workflows/agent/ledger';
import { treeNode } from '../../../src/workflows/agent/reporting';
import { carryOf, continueAsNewDue, initialState } from '../../../src/workflows/agent/state';

const input = (over: Partial<AgentInput> = {}): AgentInput => ({
  repo: '/r', baseRef: 'main', goal: 'g'.repeat(300), backend: 'scripted', model: 'm', maxTokens: 1000, maxTurns: 10,
  budget: { tokens: 10_000 }, depth: 0, limits: defaultLimits, ...over,
});
const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens, cacheWriteTokens: 0, cacheReadTokens: 0 });

describe('agent budget decisions', () => {
  it('reserves the worst case of a turn: its input estimate plus max_tokens', () => {
    const s = initialState('a', input(), 0);
    expect(s.nextInputEstimate).toBe(100 + 2000);
    expect(turnReservation(input(), s, defaultPriceTable).tokens).toBe(2100 + 1000);
  });

  it('asks the parent for exactly the shortfall, and nothing in an unlimited dimension', () => {
    const s = initialState('a', input({ budget: { tokens: 2000 } }), 0);
    expect(ledger.tryReserve(s.book, { tokens: 3100 })).toBe(false);
    expect(shortfall(s.book, { tokens: 3100, usd: 5 })).toEqual({ tokens: 1100, usd: undefined });
  });

  it('settles a turn at the reported usage and fires each alert threshold once', () => {
    const a = input({ budget: { tokens: 1000 } });
    const s = initialState('a', a, 0);
    const r = { tokens: 600 };
    expect(ledger.tryReserve(s.book, r)).toBe(true);
    expect(settleTurn(a, s, r, usage(400, 150), defaultPriceTable)).toEqual([50]);
    expect(s.book.reserved.tokens).toBe(0);
    expect(s.ownUsage.inputTokens).toBe(400);
    expect(ledger.tryReserve(s.book, { tokens: 300 })).toBe(true);
    expect(settleTurn(a, s, { tokens: 300 }, usage(300, 0), defaultPriceTable)).toEqual([80]);
  });

  it('gives a child a quarter of what is available unless it asks for an amount', () => {
    const s = initialState('a', input({ budget: { tokens: 8000, usd: 2 } }), 0);
    expect(childSlice(s.book, {})).toEqual({ tokens: 2000, usd: 0.5 });
    expect(childSlice(s.book, { budget_tokens: 123 })).toEqual({ tokens: 123, usd: 0.5 });
  });
});

describe('sub-agent rules', () => {
  it('books the slice and records the child before it starts', () => {
    const s = initialState('run/t1', input(), 0);
    const { rec, childInput } = planSpawn(input(), s, { name: 'w', goal: 'write' }, 'abc123');
    expect(rec.agentId).toBe('run/t1/w');
    expect(childInput).toMatchObject({ baseRef: 'abc123', depth: 1, parentId: 'run/t1', budget: { tokens: 2500 } });
    expect(s.book.given.tokens).toBe(2500);
    expect(s.children).toHaveLength(1);
  });

  it('refuses a duplicate name, the depth limit, the fan-out limit and a slice that does not fit, booking nothing', () => {
    const s = initialState('a', input(), 0);
    planSpawn(input(), s, { name: 'w', goal: 'x' }, 'b');
    expect(() => planSpawn(input(), s, { name: 'w', goal: 'x' }, 'b')).toThrow(/already exists/);
    expect(() => planSpawn(input({ depth: 5 }), s, { name: 'd', goal: 'x' }, 'b')).toThrow(/depth limit/);
    expect(() => planSpawn(input({ limits: { maxDepth: 5, maxChildren: 1 } }), s, { name: 'f', goal: 'x' }, 'b')).toThrow(/fan-out/);
    expect(() => planSpawn(input(), s, { name: 'big', goal: 'x', budget_tokens: 99_999 }, 'b')).toThrow(ToolError);
    expect(s.children).toHaveLength(1);
    expect(s.book.given.tokens).toBe(2500);
  });

  it('resolves a relative script of a scripted child against the parent script', () => {
    const s = initialState('a', input(), 0);
    const { childInput } = planSpawn(input({ script: '/plans/scripts/parent.yaml' }), s, { name: 'c', goal: 'x', script: 'child.yaml' }, 'b');
    expect(childInput.script).toBe('/plans/scripts/child.yaml');
  });

  it('reclaims a child budget once however often its end is reported, and ignores a late progress report', () => {
    const s = initialState('a', input(), 0);
    planSpawn(input(), s, { name: 'c', goal: 'x' }, 'b');
    const ended = { childId: 'a/c', status: 'completed' as const, usage: usage(10, 10), costUsd: 0.01, returned: { tokens: 2000 } };
    recordChildEnd(s, ended);
    recordChildEnd(s, ended);
    expect(s.book.reclaimed.tokens).toBe(2000);
    expect(acceptProgress(s, 'a/c', { ...treeNode(input(), s), agentId: 'a/c', status: 'completed' })).toBe(true);
    expect(acceptProgress(s, 'a/c', { ...treeNode(input(), s), agentId: 'a/c', status: 'running' })).toBe(false);
    expect(acceptProgress(s, 'a/nobody', treeNode(input(), s))).toBe(false);
  });

  it('names unknown children and merges only finished, unmerged branches', () => {
    const s = initialState('a', input(), 0);
    const { rec } = planSpawn(input(), s, { name: 'c', goal: 'x' }, 'b');
    expect(() => waitTargets(s, ['c', 'zz'])).toThrow('no sub-agent named zz');
    expect(needsMerge(rec)).toBe(false);
    Object.assign(rec, { status: 'completed', branch: 'cadre/a.c' });
    expect(needsMerge(rec)).toBe(true);
    rec.merged = true;
    expect(needsMerge(rec)).toBe(false);
  });
});

describe('the ending and continue-as-new', () => {
  it('hands back allocation minus what was used, and sums the subtree', () => {
    const s = initialState('a', input(), 0);
    planSpawn(input(), s, { name: 'c', goal: 'x' }, 'b');
    recordChildEnd(s, { childId: 'a/c', status: 'completed', usage: usage(500, 500), costUsd: 0.5, returned: { tokens: 1500 } });
    ledger.tryReserve(s.book, { tokens: 100 });
    settleTurn(input(), s, { tokens: 100 }, usage(60, 40), defaultPriceTable);
    const r = agentResult(input(), s, 'c0ffee', ['a.txt']);
    expect(r.returned.tokens).toBe(10_000 - 100 - 2500 + 1500);
    expect(r.usage.inputTokens).toBe(560);
    expect(r.branch).toBe('cadre/a');
  });

  it('continues as new only between turns with no child running, and carries the state', () => {
    const a = input({ continueAsNewEvery: 2 });
    const s = initialState('a', a, 0);
    s.workspace = { path: '/w', branch: 'b', baseCommit: 'c' };
    s.turnsThisRun = 2;
    expect(continueAsNewDue(s, a, false)).toBe(true);
    const { rec } = planSpawn(a, s, { name: 'c', goal: 'x' }, 'b');
    rec.status = 'running';
    expect(continueAsNewDue(s, a, true)).toBe(false);
    rec.status = 'completed';
    const next = initialState('a', a, 0, carryOf(s));
    expect(next.generation).toBe(1);
    expect(next.book).toEqual(s.book);
    expect(next.turnsThisRun).toBe(0);
  });
});
