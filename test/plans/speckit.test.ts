import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PlanError } from '../../src/client/plans/errors';
import { loadPlan } from '../../src/client/plans/load';
import type { Plan } from '../../src/shared/plan';
import { topologicalLayers } from '../../src/shared/dag';

const fixtures = path.resolve(__dirname, '../fixtures/plans');
const tmp = mkdtempSync(path.join(tmpdir(), 'cadre-speckit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function tasksFile(lines: string[]): string {
  const dir = path.join(tmp, `f${++n}`);
  const file = path.join(dir, 'tasks.md');
  mkdirSync(dir);
  writeFileSync(file, lines.join('\n'));
  return file;
}

const depsOf = (plan: Plan) => Object.fromEntries(plan.tasks.map((t) => [t.id, t.dependsOn]));
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => `T${String(a + i).padStart(3, '0')}`);

describe('spec-kit tasks.md (seed 002)', () => {
  it('has exactly 112 tasks in 9 phases', async () => {
    const plan = await loadPlan(path.join(fixtures, 'speckit'));
    expect(plan.source.format).toBe('speckit');
    expect(plan.name).toBe('001-agent-orchestration-system');
    expect(plan.tasks).toHaveLength(112);
    expect(plan.tasks.map((t) => t.id)).toEqual(range(1, 112));
    expect(plan.phaseOrder).toHaveLength(9);
    expect(plan.phaseOrder[0]).toBe('Phase 1: Setup (Project Initialization)');
    expect(plan.phaseOrder[8]).toBe('Phase 9: Polish & Cross-Cutting Concerns');
    const counts = plan.phaseOrder.map((p) => plan.tasks.filter((t) => t.phase === p).length);
    expect(counts).toEqual([14, 18, 12, 10, 10, 10, 12, 16, 10]);
    expect(plan.tasks.filter((t) => t.done)).toEqual([]);
  });

  it('chains phases as barriers and [P] runs as one stage', async () => {
    const plan = await loadPlan(path.join(fixtures, 'speckit/tasks.md'));
    const deps = depsOf(plan);
    expect(deps.T001).toEqual([]);
    expect(deps.T002).toEqual(['T001']);
    expect(deps.T015).toEqual(['T014']); // first of phase 2 after the last of phase 1
    for (const id of range(26, 31)) expect(deps[id]).toEqual(['T025']);
    expect(deps.T032).toEqual(range(26, 31));
    expect(deps.T033).toEqual(['T032']);
    const waves = topologicalLayers(plan.tasks);
    expect(waves).toHaveLength(107);
    expect(waves[25]).toEqual(range(26, 31));
  });

  it('keeps titles, labels and file paths', async () => {
    const plan = await loadPlan(path.join(fixtures, 'speckit/tasks.md'));
    const t = Object.fromEntries(plan.tasks.map((x) => [x.id, x]));
    expect(t.T026.title).toBe('Create Agent model interface in src/models/Agent.ts');
    expect(t.T026.prompt).toBe('T026 [P] Create Agent model interface in src/models/Agent.ts');
    expect(t.T026.files).toEqual(['src/models/Agent.ts']);
    expect(t.T033.prompt).toBe('T033 [US1] Create base Agent class skeleton in src/core/Agent.ts');
    expect(t.T012.files).toEqual(['.env.example']);
    expect(t.T003.files).toEqual([]);
    expect(t.T002.files).toEqual(['tsconfig.json']);
    expect(t.T043.files).toEqual(['tests/integration/01-single-agent.test.ts']);
    expect(t.T043.source).toEqual({ file: 'tasks.md', line: 129 });
  });
});

describe('spec-kit tasks.md (legacy form)', () => {
  it('reads done boxes, bold ids, continuation lines and "blocks" lines', async () => {
    const plan = await loadPlan(path.join(fixtures, 'speckit-legacy/tasks.md'));
    expect(plan.name).toBe('Photo Albums');
    expect(plan.phaseOrder).toEqual([
      'Phase 3.1: Setup',
      'Phase 3.2: Tests First (TDD) ⚠️ MUST COMPLETE BEFORE 3.3',
      'Phase 3.3: Core Implementation (ONLY after tests are failing)',
      'Phase 3.4: Polish',
    ]);
    expect(plan.tasks.filter((t) => t.done).map((t) => t.id)).toEqual(['T001', 'T002']);
    expect(depsOf(plan)).toEqual({
      T001: [],
      T002: ['T001'],
      T003: ['T002'],
      T004: ['T003'],
      T005: ['T003'],
      T006: ['T004', 'T005'],
      T007: ['T006'],
      T008: ['T006'],
      T009: ['T007', 'T008'],
      T010: ['T009'],
      T011: ['T010', 'T009'],
      T012: ['T011', 'T008'],
      T013: ['T012'],
    });
    const t006 = plan.tasks.find((t) => t.id === 'T006')!;
    expect(t006.prompt).toBe(
      'T006 Integration test album ordering in tests/integration/ordering.test.ts\nDrag an album, reload, check the order survives.\nUses fixtures from tests/fixtures/albums.json',
    );
    expect(t006.files).toEqual(['tests/integration/ordering.test.ts', 'tests/fixtures/albums.json']);
    expect(plan.tasks.find((t) => t.id === 'T007')!.title).toBe('Album model in src/models/album.ts');
    expect(plan.tasks.find((t) => t.id === 'T011')!.title).toBe('GET /api/albums endpoint in src/api/albums.ts');
  });
});

describe('spec-kit rules', () => {
  it('[P]: a run of [P] tasks shares a stage; a non-[P] task waits for the whole run', async () => {
    const file = tasksFile([
      '## Phase 1: Only',
      '- [ ] T001 First',
      '- [ ] T002 [P] Left',
      '- [ ] T003 [P] [US1] Right',
      '- [ ] T004 Join',
      '- [ ] T005 [P] Alone after the join',
      '## Phase 2: Next',
      '- [ ] T006 [P] A',
      '- [ ] T007 [P] B',
    ]);
    const plan = await loadPlan(file);
    expect(depsOf(plan)).toEqual({
      T001: [],
      T002: ['T001'],
      T003: ['T001'],
      T004: ['T002', 'T003'],
      T005: ['T004'],
      T006: ['T005'],
      T007: ['T005'],
    });
    expect(topologicalLayers(plan.tasks)).toEqual([['T001'], ['T002', 'T003'], ['T004'], ['T005'], ['T006', 'T007']]);
  });

  it('orders a phase by id, not by line', async () => {
    const file = tasksFile(['## Phase 1: X', '- [ ] T002 Second', '- [ ] T001 First']);
    expect(depsOf(await loadPlan(file))).toEqual({ T002: ['T001'], T001: [] });
  });

  it('honours "depends on" text and refuses an unknown id, naming both', async () => {
    const file = tasksFile(['## Phase 1: X', '- [ ] T001 [P] A', '- [ ] T002 [P] B (depends on T001)', '- [ ] T003 [P] C depends on T099']);
    const err = await loadPlan(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlanError);
    expect((err as PlanError).message).toBe(`${file}:4: task "T003" refers to unknown task "T099"`);
    expect((err as PlanError).issues[0].ids).toEqual(['T003', 'T099']);
  });

  it('refuses a cycle made by text edges, and a "blocks" line naming an unknown task', async () => {
    const file = tasksFile(['- [ ] T001 [P] A, depends on T002', '- [ ] T002 [P] B', '', '## Dependencies', '- T001 blocks T002']);
    expect(((await loadPlan(file).catch((e: unknown) => e)) as PlanError).message).toBe('cycle: T001 -> T002 -> T001');
    const file2 = tasksFile(['- [ ] T001 A', '- [ ] T002 B', '', '## Dependencies', '- T002 blocks T009']);
    expect(((await loadPlan(file2).catch((e: unknown) => e)) as PlanError).message).toBe(`${file2}:5: task "T002" refers to unknown task "T009"`);
  });

  it('refuses duplicate task ids with both lines', async () => {
    const file = tasksFile(['- [ ] T001 A', '- [ ] T002 B', '- [x] T001 A again']);
    expect(((await loadPlan(file).catch((e: unknown) => e)) as PlanError).message).toBe(`duplicate task id "T001" (${file}:1 and ${file}:3)`);
  });

  it('tolerates spacing, emphasis and missing labels; ignores checklists without ids and fenced code', async () => {
    const file = tasksFile([
      '# Tasks: Quirks',
      '## Phase 1 — Setup',
      '*   [X]   **T001**:  Create `src/app.ts`',
      '- [ ] __T002__ [Story: US2] [P] Wire packages/api/routes.json and src/__init__.py',
      '```',
      '# not a heading',
      '- [ ] T099 not a task either',
      '```',
      '## Checklist',
      '- [ ] Everything reviewed',
    ]);
    const plan = await loadPlan(file);
    expect(plan.tasks.map((t) => [t.id, t.done, t.title, t.files, t.phase])).toEqual([
      ['T001', true, 'Create `src/app.ts`', ['src/app.ts'], 'Phase 1 — Setup'],
      ['T002', false, 'Wire packages/api/routes.json and src/__init__.py', ['packages/api/routes.json', 'src/__init__.py'], 'Phase 1 — Setup'],
    ]);
  });
});
