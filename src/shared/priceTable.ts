/**
 * Overriding the default prices (./pricing.ts): the schema of a price table a deployment gives and the merge that
 * validates it. Apart from ./pricing.ts because workflow code loads no zod when it starts
 * (test/lint/workflowImports.test.ts); an agent given its own prices loads this on demand (src/workflows/onDemand.ts).
 */
import { z } from 'zod';
import { defaultPriceTable, modelPrice, type ModelPrice, type PriceTable } from './pricing';

const usdPerMTok = z.number().finite().min(0);

/** Overrides: a model may give only input/output; the cache prices then derive from input (1.25× and 0.1×). */
export const priceTableSchema = z.record(
  z.string().min(1),
  z.object({
    input: usdPerMTok,
    output: usdPerMTok,
    cacheWrite: usdPerMTok.optional(),
    cacheRead: usdPerMTok.optional(),
  }).strict(),
);
export type PriceTableOverrides = z.infer<typeof priceTableSchema>;

/** The default table with `overrides` applied (validated); overriding a model replaces its whole entry. */
export function mergePriceTable(overrides: unknown, base: PriceTable = defaultPriceTable): PriceTable {
  const parsed = priceTableSchema.safeParse(overrides);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first && first.path.length > 0 ? ` at ${first.path.join('.')}` : '';
    throw new Error(`Invalid price table${where}: ${first?.message ?? 'invalid'}`);
  }
  const merged: Record<string, ModelPrice> = { ...base };
  for (const [model, p] of Object.entries(parsed.data)) {
    const derived = modelPrice(p.input, p.output);
    merged[model] = {
      input: p.input,
      output: p.output,
      cacheWrite: p.cacheWrite ?? derived.cacheWrite,
      cacheRead: p.cacheRead ?? derived.cacheRead,
    };
  }
  return Object.freeze(merged);
}
