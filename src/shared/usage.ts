/**
 * Token counts of model calls and their sums: the agent workflow keeps them, and workflow code loads no zod when it
 * starts (test/lint/workflowImports.test.ts), so they live apart from the model-turn contract (./model.ts).
 */

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
}

export const zeroUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 });

export function totalTokens(u: Usage): number {
  return u.inputTokens + u.outputTokens + u.cacheWriteTokens + u.cacheReadTokens;
}
