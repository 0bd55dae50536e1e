/** tasks/ directories: spec-kitty work packages and seed 003's protocol as written (issue 17). */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { statusRecord, writeTaskStatus } from '../../src/activities/statusFiles';
import { PlanError } from '../../src/client/plans/errors';
import { detectPlan, importPlan, loadPlan } from '../../src/client/plans/load';
import type { TaskRow } from '../../src/shared/messages';

const fixtures = path.resolve(__dirname, '../fixtures/plans');
const tmp = mkdtempSync(path.join(tmpdir(), 'cadre-tdq-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tasksDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmp, 'p-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}
const row = (id: string, extra: Partial<TaskRow> = {}): TaskRow => ({ id, title: id, priority: 5, status: 'completed', attempts: 1, ...extra });

describe('spec-kitty work packages', () => {
  const feature = path.join(fixtures, 'spec-kitty-lanes/kitty-specs/012-export');

  it('are a tasks/ directory even beside a tasks.md; ids without the lane folder; dependencies by WP id', async () => {
    expect(await detectPlan(feature)).toEqual({ format: 'tasks-dir', path: path.join(feature, 'tasks') });
    const { plan, warnings } = await importPlan(feature);
    expect(plan.tasks.map((t) => [t.id, t.dependsOn, t.done, t.priority])).toEqual([
      ['WP01', [], true, 5], // in done/, lane: "done"
      ['WP02', ['WP01'], false, 8], // priority: P1; model: '' means unset
      ['WP03', ['WP02', 'WP01'], false, 5],
    ]);
    expect(plan.tasks[1].model).toBeUndefined();
    expect(plan.tasks[1].statusKey).toBe('WP02-cli');
    // The review note in for_review/ has front matter but is not a work package.
    expect(warnings).toEqual([
      {
        file: path.relative(process.cwd(), path.join(feature, 'tasks/for_review/WP02-review-notes.md')),
        line: 1,
        message: 'not a work package (no work_package_id in its front matter): not a task',
        ids: [],
      },
    ]);
  });

  it('take done states from status.json', async () => {
    const plan = await loadPlan(path.join(fixtures, 'spec-kitty-flat'));
    expect(plan.tasks.map((t) => [t.id, t.done])).toEqual([
      ['WP01', true],
      ['WP02', false],
    ]);
  });

  it('name the file, line and ids of an unknown work package', async () => {
    const dir = tasksDir({ 'tasks/WP01-a.md': '---\nwork_package_id: WP01\ndependencies: ["WP07"]\n---\nA' });
    const err = (await loadPlan(dir).catch((e: unknown) => e)) as PlanError;
    expect(err.message).toBe(`${path.join(dir, 'tasks/WP01-a.md')}:3: task "WP01" depends on unknown task "WP07"`);
    expect(err.issues[0].ids).toEqual(['WP01', 'WP07']);
  });
});

describe('seed 003 as written', () => {
  const seed = path.join(fixtures, 'seed003');

  it('reads phase limits, timeouts and gates from tasks/phases.yaml, inputs under workspace/outputs, timeout_hours', async () => {
    const plan = await loadPlan(seed);
    expect(plan.maxConcurrency).toBe(10);
    expect(plan.phaseLimits).toEqual({ '01-analysis': 6, '02-planning': 3 });
    expect(plan.tasks.map((t) => [t.id, t.dependsOn, t.timeoutSeconds, t.done])).toEqual([
      ['01-analysis.01-survey', [], 8 * 3600, true], // TASK_TIMEOUT_HOURS.analysis; done from its status file
      ['01-analysis.02-baseline', [], 2 * 3600, false], // timeout_hours: 2 in front matter wins
      // inputs: [workspace/outputs/01-analysis/02-baseline/baseline.txt] → 02-baseline; after the phase gate
      ['02-planning.01-plan', ['01-analysis.01-survey', '01-analysis.02-baseline', '01-analysis-gate'], 6 * 3600, false],
      ['01-analysis-gate', ['01-analysis.01-survey', '01-analysis.02-baseline'], undefined, false],
      ['02-planning-gate', ['02-planning.01-plan'], undefined, false],
    ]);
    const gate = plan.tasks[3];
    expect(gate.command).toEqual(['sh', '-c', 'test -f workspace/outputs/01-analysis/02-baseline/baseline.txt']);
    expect(gate.gate).toBeUndefined();
    expect(plan.tasks[4].gate).toEqual({ kind: 'approval', prompt: 'Read the plan before implementation starts' });
  });

  it('refuses a phase setting no task uses and a bad limit, at their lines', async () => {
    const dir = tasksDir({
      'tasks/01-a/one.md': '---\ndependencies: []\n---\nOne',
      'tasks/phases.yaml': 'PHASE_LIMITS:\n  a: 0\n  b: 2\n',
    });
    const file = path.join(dir, 'tasks/phases.yaml');
    expect(((await loadPlan(dir).catch((e: unknown) => e)) as PlanError).message.split('\n')).toEqual([
      `${file}:2: PHASE_LIMITS.a must be a positive integer`,
      `${file}:3: phase "b" has settings but no task is in it (phases: 01-a)`,
    ]);
  });

  it('writes status files where the protocol and the importer look, and a re-import skips what completed', async () => {
    const copy = path.join(tmp, 'seed-copy');
    cpSync(seed, copy, { recursive: true });
    rmSync(path.join(copy, 'workspace/status'), { recursive: true });
    const statusDir = path.join(copy, 'workspace/status');
    const plan = await loadPlan(copy);
    expect(plan.tasks.filter((t) => t.done)).toEqual([]);
    const [survey, baseline, planning] = plan.tasks;
    // With the task's statusKey (what the scheduler passes) and without it (derived from id and phase).
    await writeTaskStatus({ dir: statusDir, row: row(survey.id, { phase: survey.phase }), key: survey.statusKey });
    await writeTaskStatus({ dir: statusDir, row: row(baseline.id, { phase: baseline.phase }) });
    await writeTaskStatus({ dir: statusDir, row: row(planning.id, { phase: planning.phase, status: 'failed', error: 'command exited 3: boom' }) });
    const written = JSON.parse(readFileSync(path.join(statusDir, '01-analysis/01-survey.json'), 'utf8'));
    expect(written).toMatchObject({ task_id: '01-analysis/01-survey', status: 'completed', exit_code: 0, outputs_validated: true });
    expect(JSON.parse(readFileSync(path.join(statusDir, '01-analysis/02-baseline.json'), 'utf8')).task_id).toBe('01-analysis/02-baseline');
    expect(JSON.parse(readFileSync(path.join(statusDir, '02-planning/01-plan.json'), 'utf8')).exit_code).toBe(3);
    const again = await loadPlan(copy);
    expect(again.tasks.map((t) => [t.id, t.done])).toEqual([
      ['01-analysis.01-survey', true],
      ['01-analysis.02-baseline', true],
      ['02-planning.01-plan', false],
      ['01-analysis-gate', false],
      ['02-planning-gate', false],
    ]);
    // --status-dir elsewhere: the same files, read from there.
    const elsewhere = path.join(tmp, 'status-elsewhere');
    cpSync(statusDir, elsewhere, { recursive: true });
    rmSync(statusDir, { recursive: true });
    expect((await loadPlan(copy)).tasks.filter((t) => t.done)).toEqual([]);
    expect((await loadPlan(copy, { statusDir: elsewhere })).tasks.filter((t) => t.done).map((t) => t.id)).toEqual(['01-analysis.01-survey', '01-analysis.02-baseline']);
  });

  it('reads front matter leniently: a broken key it does not use is a warning, a broken dependencies list an error', async () => {
    const dir = tasksDir({
      'tasks/a.md': '---\nnotes: [unclosed\npriority: 3\n---\nA',
      'tasks/b.md': '---\ndependencies: [a\n---\nB',
    });
    const err = (await loadPlan(dir).catch((e: unknown) => e)) as PlanError;
    expect(err.issues.map((i) => [path.basename(i.file!), i.line, i.ids])).toEqual([['b.md', 2, ['b']]]);
    expect(err.issues[0].message).toMatch(/^task "b": invalid front matter in "dependencies": /);
    writeFileSync(path.join(dir, 'tasks/b.md'), '---\ndependencies: [a]\n---\nB');
    const { plan, warnings } = await importPlan(dir);
    expect(plan.tasks.map((t) => [t.id, t.priority, t.dependsOn])).toEqual([
      ['a', 3, []],
      ['b', 5, ['a']],
    ]);
    expect(warnings.map((w) => [w.line, w.ids])).toEqual([[2, ['a']]]);
  });

  it('still finds a status file an older cadre wrote flat', async () => {
    const dir = tasksDir({ 'tasks/01-a/one.md': '---\nphase: alpha\n---\nOne', 'workspace/status/01-a.one.json': '{"status":"completed"}' });
    expect((await loadPlan(dir)).tasks[0].done).toBe(true);
  });
});

describe('status records', () => {
  it('say the program\'s exit code, not 1 for a task whose program exited 0 but missed an output', () => {
    expect(statusRecord({ row: row('a', { status: 'failed', error: 'missing outputs: out.txt' }) })).toMatchObject({ exit_code: 0, outputs_validated: false, error: 'missing outputs: out.txt' });
    expect(statusRecord({ row: row('a', { status: 'failed', error: 'command exited 2: no such file' }) }).exit_code).toBe(2);
    expect(statusRecord({ row: row('a', { status: 'failed', error: 'agent gave up' }) }).exit_code).toBeUndefined();
    // A merge conflict came after the program exited 0, whatever its resolver's own exit was.
    expect(statusRecord({ row: row('a', { status: 'failed', error: 'merge conflict in a.ts (resolver: resolver failed: command exited 3: no)' }) }).exit_code).toBe(0);
    expect(statusRecord({ row: row('a', { status: 'failed', error: 'x' }), exitCode: 7 }).exit_code).toBe(7);
  });

  it('give blocked_by as one task id, as the protocol does', () => {
    expect(statusRecord({ row: row('b', { status: 'blocked', blockedBy: ['a'] }) })).toMatchObject({ blocked_by: 'a' });
    const two = statusRecord({ row: row('c', { status: 'blocked', blockedBy: ['a', 'b'] }) });
    expect(two).toMatchObject({ blocked_by: 'a', blocked_by_all: ['a', 'b'] });
  });

  it('never write outside the status directory', async () => {
    const dir = path.join(tmp, 'st');
    await writeTaskStatus({ dir, row: row('x'), key: '../../escape' });
    expect(JSON.parse(readFileSync(path.join(dir, 'x.json'), 'utf8')).task_id).toBe('x');
  });
});
