/**
 * Spend by model (docs/cli.md, "Costs"): what each model cost across a subtree of agents. A node of the agent tree
 * carries its whole subtree's usage and cost, so a node's own share is its figures less its children's.
 */
import type { AgentTreeNode } from './messages';
import { totalTokens } from './usage';

export interface ModelCost {
  /** The model's name; `command` for program agents, `unknown` where the tree did not say (older runs). */
  model: string;
  usd: number;
  tokens: number;
}

/** Spend by model name. */
export type ModelSpend = Record<string, { usd: number; tokens: number }>;

/** Adds the own spend of every node of `tree` to `into`, by model. */
export function addTreeCosts(into: ModelSpend, tree: AgentTreeNode): void {
  const kids = tree.children ?? [];
  const usd = tree.costUsd - kids.reduce((n, c) => n + c.costUsd, 0);
  const tokens = totalTokens(tree.usage) - kids.reduce((n, c) => n + totalTokens(c.usage), 0);
  // Rounding of the subtraction must not leave -0.000001 dollars in a row.
  addSpend(into, tree.model, Math.max(0, usd), Math.max(0, tokens));
  for (const c of kids) addTreeCosts(into, c);
}

/** Adds spend to one model (`unknown` when it is not known: a result from before trees carried models, or none). */
export function addSpend(into: ModelSpend, model: string | undefined, usd: number, tokens: number): void {
  const slot = (into[model ?? 'unknown'] ??= { usd: 0, tokens: 0 });
  slot.usd += usd;
  slot.tokens += tokens;
}

/** The by-model record as rows, most expensive first; models that spent nothing are left out. */
export function modelRows(by: ModelSpend | undefined): ModelCost[] {
  return Object.entries(by ?? {})
    .filter(([, c]) => c.usd > 0 || c.tokens > 0)
    .map(([model, c]) => ({ model, usd: c.usd, tokens: c.tokens }))
    .sort((a, b) => b.usd - a.usd || b.tokens - a.tokens || a.model.localeCompare(b.model));
}
