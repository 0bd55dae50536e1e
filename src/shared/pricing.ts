/**
 * What model calls cost, in USD. Pure and deterministic (no Node imports): the agent workflow imports it to reserve
 * the worst case of a turn before the call and to settle the reservation against the reported usage after it.
 *
 * Prices are USD per million tokens, per model: input, output, cache write (5-minute TTL) and cache read. The
 * defaults follow Anthropic's published list prices; a deployment can override or extend them with
 * `mergePriceTable` (validated by `priceTableSchema`; both in ./priceTable.ts, apart so that workflows load no zod
 * when they start), e.g. from a `prices:` section of its config.
 *
 * Model ids are looked up exactly, then without a date or `-latest` suffix (`claude-sonnet-4-5-20250929` prices as
 * `claude-sonnet-4-5`). An unknown model is an error naming it, never a silent zero: a budget that prices calls at
 * nothing is no budget. Workflows should check `hasPrice` when an agent starts, so that the error surfaces as a
 * clear failure instead of a failing workflow task.
 */
import type { Usage } from './usage';

export interface ModelPrice {
  /** USD per million uncached input tokens. */
  input: number;
  /** USD per million output tokens. */
  output: number;
  /** USD per million tokens written to the prompt cache (5-minute TTL). */
  cacheWrite: number;
  /** USD per million tokens read from the prompt cache. */
  cacheRead: number;
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** A price from input and output rates, with the usual cache multipliers: write 1.25× input, read 0.1× input. */
export function modelPrice(input: number, output: number): ModelPrice {
  return { input, output, cacheWrite: round6(input * 1.25), cacheRead: round6(input * 0.1) };
}

/**
 * List prices, USD per million tokens. `scripted` is the offline backend: it costs nothing real, but it carries a
 * nominal price so that offline runs and tests exercise USD budgets the same way live runs do.
 */
export const defaultPriceTable: PriceTable = Object.freeze({
  'claude-opus-4-6': modelPrice(5, 25),
  'claude-sonnet-4-6': modelPrice(3, 15),
  'claude-opus-4-5': modelPrice(5, 25),
  'claude-opus-4-1': modelPrice(15, 75),
  'claude-opus-4-0': modelPrice(15, 75),
  'claude-opus-4': modelPrice(15, 75),
  'claude-sonnet-4-5': modelPrice(3, 15),
  'claude-sonnet-4-0': modelPrice(3, 15),
  'claude-sonnet-4': modelPrice(3, 15),
  'claude-3-7-sonnet': modelPrice(3, 15),
  'claude-haiku-4-5': modelPrice(1, 5),
  'claude-3-5-haiku': modelPrice(0.8, 4),
  'claude-3-haiku': modelPrice(0.25, 1.25),
  // OpenAI models (the codex backend): cached input is billed at 10 %, writing the cache costs nothing extra.
  'gpt-5': openAiPrice(1.25, 10),
  'gpt-5-codex': openAiPrice(1.25, 10),
  'gpt-5.1': openAiPrice(1.25, 10),
  'gpt-5.1-codex': openAiPrice(1.25, 10),
  'gpt-5-mini': openAiPrice(0.25, 2),
  'gpt-5.1-codex-mini': openAiPrice(0.25, 2),
  'gpt-5-nano': openAiPrice(0.05, 0.4),
  scripted: modelPrice(1, 5),
});

/** OpenAI's scheme: no cache-write surcharge, cached input at 10 % of input. */
function openAiPrice(input: number, output: number): ModelPrice {
  return { input, output, cacheWrite: input, cacheRead: round6(input * 0.1) };
}

/** Thrown for a model the price table does not know. */
export class UnknownModelPriceError extends Error {
  constructor(readonly model: string, known: string[]) {
    super(`No price for model "${model}": add it to the price table (known models: ${known.join(', ')})`);
    this.name = 'UnknownModelPriceError';
  }
}

function lookup(model: string, table: PriceTable): ModelPrice | undefined {
  const own = (key: string): ModelPrice | undefined =>
    Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
  return own(model) ?? own(model.replace(/-(\d{8}|latest)$/, ''));
}

export function hasPrice(model: string, table: PriceTable = defaultPriceTable): boolean {
  return lookup(model, table) !== undefined;
}

/** The price of `model`; throws UnknownModelPriceError naming it when the table has no entry. */
export function priceFor(model: string, table: PriceTable = defaultPriceTable): ModelPrice {
  const price = lookup(model, table);
  if (!price) throw new UnknownModelPriceError(model, Object.keys(table));
  return price;
}

/** What a call with this usage cost, in USD. Every token class is priced: cache writes and reads included. */
export function costUsd(usage: Usage, model: string, table: PriceTable = defaultPriceTable): number {
  const p = priceFor(model, table);
  return (
    usage.inputTokens * p.input +
    usage.outputTokens * p.output +
    usage.cacheWriteTokens * p.cacheWrite +
    usage.cacheReadTokens * p.cacheRead
  ) / 1_000_000;
}

/**
 * The most a call can cost: every input token priced at the dearer of input and cache write (a turn may write its
 * whole prompt to the cache), plus `maxTokens` of output. This is what a reservation must cover before the call.
 */
export function worstCaseUsd(
  inputTokens: number,
  maxTokens: number,
  model: string,
  table: PriceTable = defaultPriceTable,
): number {
  const p = priceFor(model, table);
  return (inputTokens * Math.max(p.input, p.cacheWrite) + maxTokens * p.output) / 1_000_000;
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
