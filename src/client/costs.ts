/**
 * A run's costs at a glance (docs/cli.md, "Costs"): the burn rate, a forecast of the whole run's spend against its
 * budget, and spend by model. Pure functions of what `status` and `watch` already read; the dashboard shows the same.
 *
 * The forecast is deliberately simple: the tasks that have ended cost what they cost, and every task still to end
 * (running, waiting, pending) is expected to cost their mean. It appears once a task has ended with a cost.
 */
import type { Amount } from '../shared/agent';
import { addTreeCosts, modelRows, type ModelCost, type ModelSpend } from '../shared/costs';
import type { AgentTreeNode, RunProgress, TaskStatus } from '../shared/messages';
import { fmtDuration, fmtTokens, fmtUsd } from './output';

const ENDED: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];
const TO_END: readonly TaskStatus[] = ['pending', 'ready', 'running', 'waiting'];

export interface RunCosts {
  spentUsd: number;
  spentTokens: number;
  /** Dollars per minute since the run started (for an ended run: over its whole duration). */
  usdPerMinute?: number;
  tokensPerMinute?: number;
  /** The expected spend of the whole run, when a task has ended with a cost. */
  forecastUsd?: number;
  forecastTokens?: number;
  /** The tasks the forecast still expects to cost something. */
  tasksLeft: number;
  /** The forecast against the run's budget, per limited dimension: positive = over by that much. */
  overBudget?: { usd?: number; tokens?: number };
  /** At the current rate, how long until the budget is used up (ms); absent without a budget or a rate. */
  budgetLastsMs?: number;
  models: ModelCost[];
}

/**
 * The costs of a run: `spent*` include what running tasks have spent so far (the live view's figures), `live` the
 * agent trees of running tasks (their spend by model is not in the run's record until they end).
 */
export function runCosts(
  p: Pick<RunProgress, 'tasks' | 'costUsd' | 'tokens' | 'models' | 'budget'>,
  o: { spentUsd?: number; spentTokens?: number; startedAt?: number; now: number; live?: AgentTreeNode[] },
): RunCosts {
  const spentUsd = o.spentUsd ?? p.costUsd;
  const spentTokens = o.spentTokens ?? p.tokens;
  const minutes = o.startedAt !== undefined ? (o.now - o.startedAt) / 60_000 : 0;
  const ended = p.tasks.filter((t) => ENDED.includes(t.status) && (t.costUsd !== undefined || t.tokens !== undefined));
  const tasksLeft = p.tasks.filter((t) => TO_END.includes(t.status)).length;
  const endedUsd = ended.reduce((n, t) => n + (t.costUsd ?? 0), 0);
  const endedTokens = ended.reduce((n, t) => n + (t.tokens ?? 0), 0);
  const costs: RunCosts = { spentUsd, spentTokens, tasksLeft, models: byModel(p.models, o.live) };
  if (minutes > 0.05 && (spentUsd > 0 || spentTokens > 0)) {
    costs.usdPerMinute = spentUsd / minutes;
    costs.tokensPerMinute = spentTokens / minutes;
  }
  if (ended.length > 0) {
    costs.forecastUsd = Math.max(spentUsd, endedUsd + (endedUsd / ended.length) * tasksLeft);
    costs.forecastTokens = Math.max(spentTokens, endedTokens + (endedTokens / ended.length) * tasksLeft);
  }
  const b: Amount | undefined = p.budget;
  if (b && costs.forecastUsd !== undefined) {
    costs.overBudget = {
      ...(b.usd !== undefined ? { usd: costs.forecastUsd - b.usd } : {}),
      ...(b.tokens !== undefined ? { tokens: costs.forecastTokens! - b.tokens } : {}),
    };
  }
  if (b) {
    const lasts = [
      b.usd !== undefined && costs.usdPerMinute ? ((b.usd - spentUsd) / costs.usdPerMinute) * 60_000 : undefined,
      b.tokens !== undefined && costs.tokensPerMinute ? ((b.tokens - spentTokens) / costs.tokensPerMinute) * 60_000 : undefined,
    ].filter((x): x is number => x !== undefined);
    if (lasts.length) costs.budgetLastsMs = Math.max(0, Math.min(...lasts));
  }
  return costs;
}

function byModel(recorded: ModelSpend | undefined, live: AgentTreeNode[] | undefined): ModelCost[] {
  const all: ModelSpend = {};
  for (const [m, c] of Object.entries(recorded ?? {})) all[m] = { ...c };
  for (const tree of live ?? []) addTreeCosts(all, tree);
  return modelRows(all);
}

function rate(usdPerMinute: number): string {
  return usdPerMinute >= 0.01 || usdPerMinute === 0 ? `${fmtUsd(usdPerMinute)}/min` : `${fmtUsd(usdPerMinute * 60)}/h`;
}

/** The live view's cost lines: rate and forecast, then spend by model. `note` marks simulated dollars. */
export function costLines(c: RunCosts, budget: Amount | undefined, note = ''): string[] {
  const lines: string[] = [];
  const parts: string[] = [];
  if (c.usdPerMinute !== undefined) parts.push(`rate ${rate(c.usdPerMinute)}${note} (${fmtTokens(Math.round(c.tokensPerMinute ?? 0))} tok/min)`);
  if (c.forecastUsd !== undefined) {
    const left = c.tasksLeft ? `, ${c.tasksLeft} task${c.tasksLeft === 1 ? '' : 's'} to go` : '';
    parts.push(`forecast ${fmtUsd(c.forecastUsd)}${note} · ${fmtTokens(Math.round(c.forecastTokens ?? 0))} tok${left}`);
  } else if (c.tasksLeft) {
    parts.push('forecast after the first task ends');
  }
  if (budget && c.overBudget) {
    const over = [
      c.overBudget.usd !== undefined && c.overBudget.usd > 0 ? `${fmtUsd(c.overBudget.usd)}` : undefined,
      c.overBudget.tokens !== undefined && c.overBudget.tokens > 0 ? `${fmtTokens(Math.round(c.overBudget.tokens))} tok` : undefined,
    ].filter(Boolean);
    parts.push(over.length ? `OVER budget by ${over.join(' and ')}` : 'within budget');
  }
  if (c.budgetLastsMs !== undefined && c.tasksLeft) parts.push(`budget lasts ${fmtDuration(c.budgetLastsMs)} at this rate`);
  if (parts.length) lines.push(`costs   ${parts.join(' · ')}`);
  if (c.models.length) lines.push(`models  ${c.models.map((m) => `${m.model} ${fmtUsd(m.usd)}${note} (${fmtTokens(m.tokens)} tok)`).join(' · ')}`);
  return lines;
}
