import { describe, expect, it } from 'vitest';
import { mergePriceTable } from '../../src/shared/priceTable';
import { costUsd, defaultPriceTable, hasPrice, priceFor, UnknownModelPriceError, worstCaseUsd } from '../../src/shared/pricing';

const usage = (inputTokens: number, outputTokens: number, cacheWriteTokens = 0, cacheReadTokens = 0) => ({
  inputTokens,
  outputTokens,
  cacheWriteTokens,
  cacheReadTokens,
});

describe('pricing', () => {
  it('prices input and output per million tokens', () => {
    // sonnet 4.5: $3 in, $15 out
    expect(costUsd(usage(1_000_000, 0), 'claude-sonnet-4-5')).toBeCloseTo(3, 9);
    expect(costUsd(usage(0, 1_000_000), 'claude-sonnet-4-5')).toBeCloseTo(15, 9);
    expect(costUsd(usage(2000, 500), 'claude-haiku-4-5')).toBeCloseTo((2000 * 1 + 500 * 5) / 1e6, 12);
  });

  it('prices cache writes at 1.25x input and cache reads at 0.1x input', () => {
    const p = priceFor('claude-opus-4-1');
    expect(p).toEqual({ input: 15, output: 75, cacheWrite: 18.75, cacheRead: 1.5 });
    const cost = costUsd(usage(100, 200, 10_000, 50_000), 'claude-opus-4-1');
    expect(cost).toBeCloseTo((100 * 15 + 200 * 75 + 10_000 * 18.75 + 50_000 * 1.5) / 1e6, 12);
    // A cache read is far cheaper than the same tokens uncached, a cache write dearer.
    expect(costUsd(usage(0, 0, 0, 1000), 'claude-sonnet-4-5')).toBeLessThan(costUsd(usage(1000, 0), 'claude-sonnet-4-5'));
    expect(costUsd(usage(0, 0, 1000, 0), 'claude-sonnet-4-5')).toBeGreaterThan(costUsd(usage(1000, 0), 'claude-sonnet-4-5'));
  });

  it('looks dated and -latest model ids up under their base name', () => {
    expect(priceFor('claude-sonnet-4-5-20250929')).toEqual(priceFor('claude-sonnet-4-5'));
    expect(priceFor('claude-3-5-haiku-latest')).toEqual(priceFor('claude-3-5-haiku'));
    expect(hasPrice('scripted')).toBe(true);
  });

  it('refuses an unknown model with an error naming it', () => {
    expect(() => costUsd(usage(1, 1), 'gpt-99')).toThrow(UnknownModelPriceError);
    expect(() => costUsd(usage(1, 1), 'gpt-99')).toThrow(/"gpt-99"/);
    expect(hasPrice('gpt-99')).toBe(false);
  });

  it('worst case covers every input token at the cache-write price plus max_tokens of output', () => {
    // haiku 4.5: cache write 1.25, output 5
    expect(worstCaseUsd(10_000, 4096, 'claude-haiku-4-5')).toBeCloseTo((10_000 * 1.25 + 4096 * 5) / 1e6, 12);
    // It bounds any usage whose input classes sum to the estimate and whose output is within max_tokens.
    const actual = costUsd(usage(1000, 4096, 4000, 5000), 'claude-haiku-4-5');
    expect(actual).toBeLessThanOrEqual(worstCaseUsd(10_000, 4096, 'claude-haiku-4-5'));
  });

  it('merges validated overrides, deriving cache prices when omitted', () => {
    const table = mergePriceTable({ 'my-model': { input: 2, output: 10 }, scripted: { input: 0, output: 0 } });
    expect(priceFor('my-model', table)).toEqual({ input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.2 });
    expect(costUsd(usage(1000, 1000), 'scripted', table)).toBe(0);
    expect(priceFor('claude-sonnet-4-5', table)).toEqual(defaultPriceTable['claude-sonnet-4-5']);
    expect(() => mergePriceTable({ bad: { input: -1, output: 1 } })).toThrow(/bad\.input/);
  });
});
