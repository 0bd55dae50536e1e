/**
 * The determinism rules are enforced by lint, not memory: probe files placed in src/workflows and src/shared, each
 * doing one forbidden thing, must each be rejected by the project's own ESLint configuration; a clean probe passes.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const tag = `zzlintprobe${process.pid}`;
const written: string[] = [];

function probe(dir: 'workflows' | 'shared', name: string, code: string): string {
  const file = join(root, 'src', dir, `${tag}_${name}.ts`);
  writeFileSync(file, code);
  written.push(file);
  return file;
}

afterAll(() => {
  for (const f of written) rmSync(f, { force: true });
});

const probes: Record<string, { dir: 'workflows' | 'shared'; code: string; rule: string }> = {
  'the bare ../activities path': { dir: 'workflows', code: "import { createActivities } from '../activities';\nexport const x = createActivities;\n", rule: '@typescript-eslint/no-restricted-imports' },
  'node:timers/promises': { dir: 'workflows', code: "import { setTimeout as t } from 'node:timers/promises';\nexport const x = t;\n", rule: '@typescript-eslint/no-restricted-imports' },
  'events (a builtin not on any short list)': { dir: 'workflows', code: "import { EventEmitter } from 'events';\nexport const x = EventEmitter;\n", rule: '@typescript-eslint/no-restricted-imports' },
  'a builtin in src/shared, which workflows import': { dir: 'shared', code: "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n", rule: '@typescript-eslint/no-restricted-imports' },
  'dynamic import()': { dir: 'workflows', code: "export async function f(): Promise<unknown> {\n  return import('../shared/plan');\n}\n", rule: 'no-restricted-syntax' },
  'globalThis.setTimeout': { dir: 'workflows', code: 'export function f(): void {\n  globalThis.setTimeout(() => undefined, 1);\n}\n', rule: 'no-restricted-syntax' },
  'a bare setImmediate': { dir: 'workflows', code: 'export function f(): void {\n  setImmediate(() => undefined);\n}\n', rule: 'no-restricted-globals' },
  'simple-git': { dir: 'workflows', code: "import { simpleGit } from 'simple-git';\nexport const x = simpleGit;\n", rule: '@typescript-eslint/no-restricted-imports' },
};

describe('determinism lint', () => {
  const files = Object.fromEntries(Object.entries(probes).map(([what, p], i) => [what, probe(p.dir, `bad${i}`, p.code)]));
  const clean = probe('workflows', 'clean', "import type { Activities } from '../activities';\nimport { sleep } from '@temporalio/workflow';\nexport type A = Activities;\nexport const s = sleep;\n");
  let results: ESLint.LintResult[];
  const resultFor = (file: string) => results.find((r) => r.filePath === file)!;

  it('lints the probes with the project configuration', async () => {
    results = await new ESLint({ cwd: root }).lintFiles([...Object.values(files), clean]);
    expect(results).toHaveLength(Object.keys(probes).length + 1);
  }, 120_000);

  for (const [what, p] of Object.entries(probes)) {
    it(`rejects ${what}`, () => {
      const rules = resultFor(files[what]!).messages.filter((m) => m.severity === 2).map((m) => m.ruleId);
      expect(rules).toContain(p.rule);
    });
  }

  it('accepts a type-only import of activities and the workflow API', () => {
    expect(resultFor(clean).messages).toEqual([]);
  });
});
