/**
 * The agent's budget decisions, pure: what a turn must reserve before its model call, what to ask the parent for
 * when the reservation does not fit, how big a child's slice is, and what a budget request from a child gets.
 * The ledger (ledger.ts) keeps the books; this file decides what to book.
 *
 * Ordering hazard: a turn's reservation is taken before the model call and settled after it, so concurrent spending
 * (children, grants arriving) can never make the call exceed what was free when it started.
 */
import type { AgentInput, Amount } from '../../shared/agent';
import { totalTokens, type Usage } from '../../shared/model';
import { costUsd, worstCaseUsd, type PriceTable } from '../../shared/pricing';
import * as ledger from './ledger';
import type { AgentState, ChildRecord } from './state';

/** Scripted turns are priced at the nominal `scripted` rate, whatever model name the plan carries. */
export function priceModelOf(input: AgentInput): string {
  return input.backend === 'scripted' ? 'scripted' : input.model;
}

/**
 * The worst case of the next turn: its estimated input plus every token it may write. `extraInput` is what the
 * request will carry beyond the model turn's own estimate (the inbox delivered at the start of the turn, the
 * orchestration tools' results): see `carriedTokens`.
 */
export function turnReservation(input: AgentInput, s: AgentState, prices: PriceTable, extraInput = 0): Amount {
  const inputTokens = s.nextInputEstimate + extraInput;
  return {
    tokens: inputTokens + input.maxTokens,
    usd: worstCaseUsd(inputTokens, input.maxTokens, priceModelOf(input), prices),
  };
}

/**
 * Tokens of texts the next request carries that the model turn's estimate did not see: the rendered inbox and the
 * orchestration results. Estimated as the activities estimate (4 characters of JSON a token), so a flood of
 * messages is reserved before the call instead of discovered in its usage.
 */
export function carriedTokens(texts: readonly string[]): number {
  return texts.reduce((sum, t) => sum + Math.ceil(JSON.stringify(t).length / 4) + 8, 0);
}

/**
 * True when the books show more spent than allocated and granted in a limited dimension: a turn (or a child) reported
 * more than was reserved for it. Such an agent starts no more turns: a budget is a ceiling, not an estimate.
 */
export function overspent(book: ledger.Ledger): boolean {
  const av = ledger.available(book);
  return (av.tokens !== undefined && av.tokens < 0) || (av.usd !== undefined && av.usd < -1e-9);
}

/** What is missing for `reservation` to fit, per limited dimension (what to ask the parent for). */
export function shortfall(book: ledger.Ledger, reservation: Amount): Amount {
  const av = ledger.available(book);
  return {
    tokens: av.tokens !== undefined ? Math.max(0, (reservation.tokens ?? 0) - av.tokens) : undefined,
    usd: av.usd !== undefined ? Math.max(0, (reservation.usd ?? 0) - av.usd) : undefined,
  };
}

/** Settle a turn: the reservation is replaced by what the provider reported. Returns the alert thresholds fired. */
export function settleTurn(input: AgentInput, s: AgentState, reservation: Amount, usage: Usage, prices: PriceTable): number[] {
  const cost = costUsd(usage, priceModelOf(input), prices);
  const fired = ledger.settle(s.book, reservation, { tokens: totalTokens(usage), usd: cost });
  s.ownUsage = addUsage(s.ownUsage, usage);
  s.ownCost += cost;
  return fired;
}

/** A child's slice: what it asked for, else a quarter of what is available, in each limited dimension. */
export function childSlice(book: ledger.Ledger, asked: { budget_tokens?: number; budget_usd?: number }): Amount {
  const av = ledger.available(book);
  return {
    tokens: asked.budget_tokens ?? (av.tokens !== undefined ? Math.floor(av.tokens / 4) : undefined),
    usd: asked.budget_usd ?? (av.usd !== undefined ? av.usd / 4 : undefined),
  };
}

/** A granted request raises the child's recorded allocation (shown in the tree). */
export function recordGrantToChild(rec: ChildRecord | undefined, amount: Amount): void {
  if (rec) rec.allocated = addAmount(rec.allocated, amount);
}

export function addAmount(a: Amount, b: Amount): Amount {
  return { tokens: add(a.tokens, b.tokens), usd: add(a.usd, b.usd) };
}

/** undefined + undefined stays undefined (unlimited); otherwise a missing side counts as 0. */
export function add(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
  };
}

export function fmtAmount(a: Amount): string {
  const parts: string[] = [];
  if (a.tokens !== undefined) parts.push(`${a.tokens} tokens`);
  if (a.usd !== undefined) parts.push(`$${a.usd.toFixed(4)}`);
  return parts.length ? parts.join(' / ') : 'unlimited';
}
