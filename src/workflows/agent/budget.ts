/**
 * The agent's budget decisions, pure: what a turn must reserve before its model call, what to ask the parent for
 * when the reservation does not fit, how big a child's slice is, and what a budget request from a child gets.
 * The ledger (ledger.ts) keeps the books; this file decides what to book.
 *
 * Ordering hazard: a turn's reservation is taken before the model call and settled after it, so concurrent spending
 * (children, grants arriving) can never make the call exceed what was free when it started.
 */
import type { AgentInput, Amount } from '../../shared/agent';
import { totalTokens, type Usage } from '../../shared/usage';
import { costUsd, hasPrice, priceFor, worstCaseUsd, type PriceTable } from '../../shared/pricing';
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

/**
 * Settle a turn (or a whole session): the reservation is replaced by what was reported, priced by our table unless
 * the program reported its own cost. Returns the alert thresholds fired.
 */
export function settleTurn(input: AgentInput, s: AgentState, reservation: Amount, usage: Usage, prices: PriceTable, reportedCost?: number): number[] {
  const cost = reportedCost ?? costUsd(usage, priceModelOf(input), prices);
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

/** A session when the budget limits neither dimension (documented in docs/backends.md). */
export const UNLIMITED_SESSION_USD = 10;

/**
 * The slice of a session backend: three quarters of what is available (a quarter stays for its sub-agents), in
 * USD because that is what the programs can be held to. A token ceiling is converted at the model's input price
 * (the cheapest uncached token), so the USD cap never allows more tokens than the ceiling at uncached rates.
 * Undefined when nothing is left.
 */
export function sessionSlice(input: AgentInput, book: ledger.Ledger, prices: PriceTable): { usd: number; tokens?: number } | undefined {
  const av = ledger.available(book);
  const tokens = av.tokens !== undefined ? Math.floor((av.tokens * 3) / 4) : undefined;
  if (tokens !== undefined && !hasPrice(input.model, prices)) {
    throw new Error(`no price known for model "${input.model}": a token budget cannot be held to without one; add it with CADRE_PRICES (docs/backends.md)`);
  }
  const fromTokens = tokens !== undefined ? (tokens * priceFor(input.model, prices).input) / 1_000_000 : undefined;
  const fromUsd = av.usd !== undefined ? (av.usd * 3) / 4 : undefined;
  const caps = [fromTokens, fromUsd].filter((x): x is number => x !== undefined);
  const usd = caps.length ? Math.min(...caps) : UNLIMITED_SESSION_USD;
  if (!(usd > 0) || (tokens !== undefined && tokens < 1)) return undefined;
  return { usd: Math.floor(usd * 1e6) / 1e6, ...(tokens !== undefined ? { tokens } : {}) };
}
