/**
 * Workflow code loads no zod when a workflow starts. A worker evaluates the bundle's modules again for every new
 * workflow execution (and every replay after a cache eviction), so module state cannot leak between workflows; zod
 * and cadre's schemas built on it were the largest cost of a short agent workflow (docs/benchmarks.md). Modules
 * that validate with zod are loaded on first use instead (src/workflows/onDemand.ts).
 *
 * This walks the value imports (and re-exports) from every file in src/workflows, following relative paths, and
 * fails naming the chain that reaches `zod`. Type-only imports are erased at compile time and do not count.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** The module specifiers `source` loads at run time: value imports and re-exports, not type-only ones. */
export function runtimeImports(source: string): string[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.ES2022, false);
  const out: string[] = [];
  for (const st of file.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const clause = st.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      // `import { type A, type B } from` is erased too; a default or namespace import is a value.
      const allTypes = !!clause && !clause.name && !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      if (!allTypes) out.push(st.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) && !st.isTypeOnly) {
      out.push(st.moduleSpecifier.text);
    }
  }
  return out;
}

function resolveLocal(fromFile: string, spec: string): string | undefined {
  const base = resolve(fromFile, '..', spec);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  return undefined;
}

/** For each module reached that loads `zod`, the import chain from a workflow file to it. */
function zodChains(): string[] {
  const chains: string[] = [];
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      if (spec === 'zod' || spec.startsWith('zod/')) chains.push([...chain, relative(root, file), spec].join(' → '));
      else if (spec.startsWith('.')) {
        const next = resolveLocal(file, spec);
        if (next) walk(next, [...chain, relative(root, file)]);
      }
    }
  };
  // The determinism lint test writes deliberately bad probe files (zzlintprobe…) into src/workflows while it runs.
  for (const f of tsFiles(join(root, 'src', 'workflows'))) if (!/zzlintprobe/.test(f)) walk(f, []);
  return chains;
}

describe('workflow module loading', () => {
  it('no workflow file reaches zod through value imports', () => {
    expect(zodChains()).toEqual([]);
  });

  it('the walk tells value imports from type-only ones', () => {
    expect(runtimeImports("import { z } from 'zod';")).toEqual(['zod']);
    expect(runtimeImports("import type { z } from 'zod';")).toEqual([]);
    expect(runtimeImports("import { type A, type B } from './plan';")).toEqual([]);
    expect(runtimeImports("import { type A, MAX } from './plan';")).toEqual(['./plan']);
    expect(runtimeImports("import * as wf from '@temporalio/workflow';\nexport * from './locks';\nexport type { X } from './y';")).toEqual(['@temporalio/workflow', './locks']);
    expect(runtimeImports("import './side-effect';")).toEqual(['./side-effect']);
  });
});
