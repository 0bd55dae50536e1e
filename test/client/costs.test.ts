/** Costs at a glance: spend by model from agent trees, the burn rate, the forecast against the budget. */
import { describe, expect, it } from 'vitest';
import { costLines, runCosts } from '../../src/client/costs';
import { addTreeCosts, modelRows, type ModelSpend } from '../../src/shared/costs';
import type { AgentTreeNode, TaskRow } from '../../src/shared/messages';
import { zeroUsage } from '../../src/shared/model';

function node(agentId: string, model: string | undefined, costUsd: number, tokens: number, children: AgentTreeNode[] = []): AgentTreeNode {
  return { agentId, depth: 0, status: 'completed', doing: '', allocated: {}, usage: { ...zeroUsage(), inputTokens: tokens }, costUsd, model, alerts: [], children };
}

const row = (id: string, status: TaskRow['status'], costUsd?: number, tokens?: number): TaskRow => ({ id, title: id, priority: 0, status, attempts: 1, costUsd, tokens });

describe('spend by model', () => {
  it('a node owns its subtree less its children; each model adds up, most expensive first', () => {
    // The root (sonnet) spent 1.00 itself; a haiku child 0.30 with a sonnet grandchild 0.20; a command child nothing.
    const tree = node('r/a', 'sonnet', 1.5, 1500, [node('r/a/h', 'haiku', 0.5, 500, [node('r/a/h/s', 'sonnet', 0.2, 200)]), node('r/a/c', 'command', 0, 0)]);
    const by: ModelSpend = {};
    addTreeCosts(by, tree);
    expect(by.sonnet!.usd).toBeCloseTo(1.2);
    expect(by.sonnet!.tokens).toBe(1200);
    expect(by.haiku!.usd).toBeCloseTo(0.3);
    expect(by.haiku!.tokens).toBe(300);
    expect(modelRows(by).map((m) => m.model)).toEqual(['sonnet', 'haiku']);
    // The rows add up to the tree's total.
    expect(modelRows(by).reduce((n, m) => n + m.usd, 0)).toBeCloseTo(tree.costUsd);
  });

  it('a tree from before models were recorded counts as unknown', () => {
    const by: ModelSpend = {};
    addTreeCosts(by, node('r/a', undefined, 0.4, 40));
    expect(modelRows(by)).toEqual([{ model: 'unknown', usd: 0.4, tokens: 40 }]);
  });
});

describe('runCosts', () => {
  const start = 1_000_000;
  const tasks = [row('a', 'completed', 1, 1000), row('b', 'failed', 3, 3000), row('c', 'running'), row('d', 'pending'), row('e', 'skipped'), row('f', 'blocked')];

  it('burn rate over the elapsed time; forecast = ended + their mean for each task still to end', () => {
    const c = runCosts({ tasks, costUsd: 4, tokens: 4000, budget: { usd: 10 } }, { spentUsd: 5, spentTokens: 5000, startedAt: start, now: start + 10 * 60_000 });
    expect(c.usdPerMinute).toBeCloseTo(0.5);
    expect(c.tokensPerMinute).toBeCloseTo(500);
    expect(c.tasksLeft).toBe(2);
    expect(c.forecastUsd).toBeCloseTo(4 + 2 * 2);
    expect(c.overBudget!.usd).toBeCloseTo(-2);
    // (10 − 5) dollars at 0.5 a minute.
    expect(c.budgetLastsMs).toBeCloseTo(10 * 60_000);
    expect(costLines(c, { usd: 10 }).join('\n')).toContain('within budget');
  });

  it('a forecast above the budget says by how much', () => {
    const c = runCosts({ tasks, costUsd: 4, tokens: 4000, budget: { usd: 5, tokens: 100_000 } }, { startedAt: start, now: start + 60_000 });
    expect(c.overBudget).toEqual({ usd: 3, tokens: -92_000 });
    expect(costLines(c, { usd: 5, tokens: 100_000 })[0]).toContain('OVER budget by $3.00');
  });

  it('no forecast until a task has ended with a cost, and no rate before anything is spent', () => {
    const c = runCosts({ tasks: [row('a', 'running'), row('b', 'pending')], costUsd: 0, tokens: 0 }, { startedAt: start, now: start + 60_000 });
    expect(c.forecastUsd).toBeUndefined();
    expect(c.usdPerMinute).toBeUndefined();
    expect(costLines(c, undefined)).toEqual(['costs   forecast after the first task ends']);
  });

  it('running tasks add their live trees to the models', () => {
    const c = runCosts({ tasks, costUsd: 4, tokens: 4000, models: { sonnet: { usd: 4, tokens: 4000 } } }, { now: start, live: [node('r/c', 'haiku', 0.5, 50)] });
    expect(c.models).toEqual([{ model: 'sonnet', usd: 4, tokens: 4000 }, { model: 'haiku', usd: 0.5, tokens: 50 }]);
    expect(costLines(c, undefined).at(-1)).toBe('models  sonnet $4.00 (4,000 tok) · haiku $0.50 (50 tok)');
  });
});
