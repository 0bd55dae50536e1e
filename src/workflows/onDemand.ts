/**
 * Modules a workflow loads the first time it needs them, not when it starts: the ones that validate with zod. A
 * worker evaluates the bundle's modules again for every new workflow execution (and every replay after a cache
 * eviction), and zod with cadre's schemas was the largest cost of a short agent workflow (docs/benchmarks.md), yet
 * most agents never parse a tool call or a price table. The `require` below is static, so webpack bundles the module
 * as usual and evaluates it on the first call, once per workflow; test/lint/workflowImports.test.ts keeps every other
 * path from workflow code to zod closed.
 */
import type * as PriceTableModule from '../shared/priceTable';
import type * as ToolsModule from '../shared/tools';

/** The orchestration tools' input schemas (spawn_agent, wait_for_agents, …). */
export function orchestrationToolSchemas(): typeof ToolsModule.orchestrationToolSchemas {
  // eslint-disable-next-line no-restricted-syntax, no-restricted-globals, @typescript-eslint/no-require-imports -- bundled statically, evaluated on first use (above)
  return (require('../shared/tools') as typeof ToolsModule).orchestrationToolSchemas;
}

/** The default prices with an agent's own applied (validated). */
export function mergePriceTable(overrides: unknown): ReturnType<typeof PriceTableModule.mergePriceTable> {
  // eslint-disable-next-line no-restricted-syntax, no-restricted-globals, @typescript-eslint/no-require-imports -- bundled statically, evaluated on first use (above)
  return (require('../shared/priceTable') as typeof PriceTableModule).mergePriceTable(overrides);
}
