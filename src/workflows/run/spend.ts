/**
 * What a task's agents spent, counted into the run's state (table.ts): the run's totals, its spend by model, the
 * budget pool, and the task's row.
 */
import type { AgentResult, Amount } from '../../shared/agent';
import { addSpend, addTreeCosts } from '../../shared/costs';
import type { TaskRow } from '../../shared/messages';
import { totalTokens } from '../../shared/usage';
import type { RunState } from './table';

/**
 * A task's agent ended: count its spend into the run, and give back to the pool what is left of a slice that came
 * from there (a task's budget outside a plan budget is not the plan's). What comes back is capped at the slice; an
 * agent that spent more than its slice returns a negative amount, and the pool is charged for it in full. The
 * row's cost and tokens are the task's over all its attempts, so the rows add up to the run's totals.
 */
export function recordAgentResult(s: RunState, r: TaskRow, result: AgentResult, poolSlice?: Amount): void {
  recordSpend(s, r, result, poolSlice);
  r.summary = result.summary.slice(0, 300);
  r.commit = result.commit;
  if (result.host) r.host = result.host;
}

/** What an agent of the task spent (its own, or its merge-conflict resolver's), counted as recordAgentResult says. */
export function recordSpend(s: RunState, r: TaskRow, result: Pick<AgentResult, 'usage' | 'costUsd' | 'returned' | 'tree'>, poolSlice?: Amount): void {
  const tokens = totalTokens(result.usage);
  s.costUsd += result.costUsd;
  s.tokens += tokens;
  if (result.tree) addTreeCosts(s.models, result.tree);
  else addSpend(s.models, undefined, result.costUsd, tokens);
  if (s.pool && poolSlice) {
    const back = (returned: number | undefined, slice: number | undefined): number =>
      returned === undefined || !Number.isFinite(returned) ? 0 : slice === undefined ? returned : Math.min(returned, slice);
    if (s.pool.tokens !== undefined) s.pool.tokens += back(result.returned.tokens, poolSlice.tokens);
    if (s.pool.usd !== undefined) s.pool.usd += back(result.returned.usd, poolSlice.usd);
  }
  // The row counts what the run's totals count — every kind of token, every attempt — so the rows add up to them.
  r.costUsd = (r.costUsd ?? 0) + result.costUsd;
  r.tokens = (r.tokens ?? 0) + tokens;
}
