/** spec-kit tasks.md files as people write them: each quirk of issue 17 with a fixture of ours. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PlanError } from '../../src/client/plans/errors';
import { pathsInText } from '../../src/client/plans/fields';
import { detectPlan, loadPlan } from '../../src/client/plans/load';
import type { Plan } from '../../src/shared/plan';

const dir = path.resolve(__dirname, '../fixtures/plans/speckit-quirks');
const tmp = mkdtempSync(path.join(tmpdir(), 'cadre-skq-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function tasksFile(lines: string[]): string {
  const d = path.join(tmp, `f${++n}`);
  mkdirSync(d);
  writeFileSync(path.join(d, 'tasks.md'), lines.join('\n'));
  return path.join(d, 'tasks.md');
}
const depsOf = (plan: Plan) => Object.fromEntries(plan.tasks.map((t) => [t.id, t.dependsOn]));
const errorOf = async (file: string) => (await loadPlan(file).catch((e: unknown) => e)) as PlanError;

describe('spec-kit quirks', () => {
  it('keeps suffixed ids, bold ids and [~] lines, in id order', async () => {
    const plan = await loadPlan(path.join(dir, 'suffixed-bold.md'));
    expect(plan.tasks.map((t) => [t.id, t.done])).toEqual([
      ['T001', true],
      ['T001a', false],
      ['T002', false], // [~]: started, not done
      ['T002.5', false],
      ['T003', false],
      ['T003b', false],
      ['T004', false],
      ['T005', false],
    ]);
    expect(depsOf(plan)).toEqual({
      T001: [],
      T001a: [], // **T001 [P]** and **T001a [P]**: one stage
      T002: ['T001', 'T001a'],
      'T002.5': ['T002'],
      T003: ['T002.5'],
      T003b: ['T002.5'],
      T004: ['T003'], // - **Dependencies**: T003 (instead of the stage before it)
      T005: ['T004', 'T002.5'], // the stage before it, and "after T002.5"
    });
  });

  it('declares files only for path-like tokens, not members, products or bare document names', async () => {
    const plan = await loadPlan(path.join(dir, 'suffixed-bold.md'));
    const t = Object.fromEntries(plan.tasks.map((x) => [x.id, x]));
    expect(t['T002.5'].files).toEqual(['views/Hover.swift']);
    expect(t.T004.files).toEqual(['src/print.ts']); // "the data-model.md" is prose
    expect(t.T001.files).toEqual(['packages/app/package.json']);
    expect(pathsInText('Use .NET 8 and the .onHover modifier; see quickstart.md, research.md')).toEqual([]);
    expect(pathsInText('Update package.json, .gitignore, vite.config.ts and docs/quickstart.md')).toEqual(['package.json', '.gitignore', 'vite.config.ts', 'docs/quickstart.md']);
  });

  it('reads heading-style tasks with Dependencies fields, and Phase A / D1 / Final Phase headings', async () => {
    const plan = await loadPlan(path.join(dir, 'headings.md'));
    expect(plan.phaseOrder).toEqual(['Phase A: Foundations', 'Phase D1: Service', 'Final Phase: Release']);
    expect(plan.tasks.map((t) => [t.id, t.title, t.done, t.phase])).toEqual([
      ['T001', 'Create the schema', true, 'Phase A: Foundations'],
      ['T002', 'Create the repository layer', false, 'Phase A: Foundations'],
      ['T003', 'Create the cache', false, 'Phase A: Foundations'],
      ['T004', 'Service on top of repository and cache', false, 'Phase D1: Service'],
      ['T005', 'Changelog in CHANGELOG.md', false, 'Final Phase: Release'],
    ]);
    expect(depsOf(plan)).toEqual({ T001: [], T002: ['T001'], T003: ['T001'], T004: ['T002', 'T003'], T005: ['T004'] });
    const t002 = plan.tasks[1];
    expect(t002.prompt).toContain('#### Acceptance\n- Reads and writes rows');
    expect(t002.files).toEqual(['src/repo.ts']);
    expect(t002.source).toEqual({ file: 'headings.md', line: 10 });
  });

  it('reads table rows with a header: ids, titles, dependencies column and status', async () => {
    const plan = await loadPlan(path.join(dir, 'table.md'));
    expect(plan.tasks.map((t) => [t.id, t.done, t.title])).toEqual([
      ['T1.1.1', true, 'Define the config schema in src/config/schema.ts'],
      ['T1.1.2', false, 'Load config files from src/config/load.ts'],
      ['T1.2.1', false, 'Validate config values in src/config/validate.ts'],
      ['T2.1.1', false, 'Add the `--config` flag in src/cli/flags.ts'],
    ]);
    expect(depsOf(plan)).toEqual({ 'T1.1.1': [], 'T1.1.2': ['T1.1.1'], 'T1.2.1': ['T1.1.1'], 'T2.1.1': ['T1.1.2', 'T1.2.1'] });
    expect(plan.tasks[3].source).toEqual({ file: 'table.md', line: 15 });
  });

  it('names the file, line and ids for an unknown declared dependency, a duplicate suffixed id and a table cycle', async () => {
    const a = tasksFile(['### T001: A', '**Dependencies**: T000a', '### T002: B']);
    const err = await errorOf(a);
    expect(err.message).toBe(`${a}:2: task "T001" refers to unknown task "T000a"`);
    expect(err.issues[0].ids).toEqual(['T001', 'T000a']);
    const b = tasksFile(['- [ ] T022.5 A', '- [ ] T022 B', '- [ ] T022.5 C']);
    expect((await errorOf(b)).message).toBe(`duplicate task id "T022.5" (${b}:1 and ${b}:3)`);
    const c = tasksFile(['| ID | Task | Depends on |', '|---|---|---|', '| T1 | A | T3 |', '| T2 | B | T1 |', '| T3 | C | T2 |']);
    expect((await errorOf(c)).message).toBe('cycle: T1 -> T3 -> T2 -> T1');
  });

  it('does not take "Phase Dependencies" or "Phase Overview" for phases', async () => {
    const f = tasksFile(['## Phase 1: Setup', '- [ ] T001 A', '## Phase Dependencies', '- T001 blocks T002', '## Phase 2: Build', '- [ ] T002 B']);
    const plan = await loadPlan(f);
    expect(plan.phaseOrder).toEqual(['Phase 1: Setup', 'Phase 2: Build']);
    expect(depsOf(plan)).toEqual({ T001: [], T002: ['T001'] });
  });

  it('detects a heading-style or table-only file as spec-kit whatever its name', async () => {
    expect((await detectPlan(path.join(dir, 'headings.md')))?.format).toBe('speckit');
    expect((await detectPlan(path.join(dir, 'table.md')))?.format).toBe('speckit');
  });
});
