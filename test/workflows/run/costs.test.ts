/**
 * A run's spend, as pure functions of its table: the task rows add up to the run's totals — every kind of token
 * (input, output, cache read, cache write) and every attempt of a retried task.
 */
import { describe, expect, it } from 'vitest';
import type { AgentResult } from '../../../src/shared/agent';
import { totalTokens, type Usage } from '../../../src/shared/model';
import { PlanSchema, type PlanInput } from '../../../src/shared/plan';
import * as table from '../../../src/workflows/run/table';

const plan = (p: Partial<PlanInput>) => PlanSchema.parse({ name: 'p', source: { format: 'native', path: '/p' }, tasks: [], ...p });
const task = (id: string) => ({ id, title: id, prompt: '' });
const result = (usage: Usage, costUsd: number) => ({ costUsd, usage, returned: {}, summary: 's' }) as AgentResult;

describe('the rows add up to the run', () => {
  it('sum(rows) == total, for tokens of all four kinds and dollars, across retries', () => {
    const p = plan({ tasks: [task('a'), task('b'), task('c')] });
    const s = table.initialRunState('r', p, undefined);
    const withCache = { inputTokens: 1_000, outputTokens: 200, cacheReadTokens: 30_000, cacheWriteTokens: 4_000 };
    table.recordAgentResult(s, table.rowOf(s, 'a')!, result(withCache, 0.0421));
    table.recordAgentResult(s, table.rowOf(s, 'b')!, result({ inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 700 }, 0.003));
    // b fails and is retried: the second attempt's spend comes on top of the first's, in the row as in the total.
    table.recordAgentResult(s, table.rowOf(s, 'b')!, result({ inputTokens: 20, outputTokens: 8, cacheReadTokens: 900, cacheWriteTokens: 0 }, 0.001));

    expect(table.rowOf(s, 'a')!.tokens).toBe(totalTokens(withCache));
    expect(table.rowOf(s, 'a')!.tokens).toBe(35_200);
    expect(table.rowOf(s, 'b')!.tokens).toBe(715 + 928);
    const rows = table.progress(s, p).tasks;
    const sumTokens = rows.reduce((n, r) => n + (r.tokens ?? 0), 0);
    const sumUsd = rows.reduce((n, r) => n + (r.costUsd ?? 0), 0);
    expect(sumTokens).toBe(s.tokens);
    expect(sumTokens).toBe(table.progress(s, p).tokens);
    expect(sumUsd).toBeCloseTo(table.progress(s, p).costUsd, 12);
    expect(table.rowOf(s, 'c')!.tokens).toBeUndefined();
    const done = table.runResult(s, 'completed');
    expect(done.tasks.reduce((n, r) => n + (r.tokens ?? 0), 0)).toBe(done.tokens);
  });
});
