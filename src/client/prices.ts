/**
 * CADRE_PRICES: a JSON or YAML file of model prices (USD per million tokens) that replace or extend the built-in
 * table, e.g. `{ "claude-sonnet-4-6": { "input": 3, "output": 15 } }` (cache write/read default to 1.25× and 0.1×
 * input). Read and validated once by the CLI, then carried in the workflow input, so workflows stay deterministic.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CadreError } from '../shared/errors';
import { priceTableSchema, type PriceTableOverrides } from '../shared/priceTable';

export function loadPrices(file: string | undefined): PriceTableOverrides | undefined {
  if (!file) return undefined;
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CadreError(`CADRE_PRICES: cannot read ${file}: ${(err as Error).message.split('\n')[0]}`, 78);
  }
  const parsed = priceTableSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CadreError(`CADRE_PRICES: ${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, 78);
  }
  return parsed.data;
}
