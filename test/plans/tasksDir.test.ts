import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PlanError } from '../../src/client/plans/errors';
import { detectPlan, loadPlan } from '../../src/client/plans/load';

const root = path.resolve(__dirname, '../fixtures/plans/tasks-dir');
const tmp = mkdtempSync(path.join(tmpdir(), 'cadre-tasksdir-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tasksDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmp, 'p-'));
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, 'tasks', rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return dir;
}

describe('tasks/ directories (seed 003 style)', () => {
  it('imports ids from paths, dependencies written either way, phases, priorities, timeouts', async () => {
    expect(await detectPlan(root)).toEqual({ format: 'tasks-dir', path: path.join(root, 'tasks') });
    const plan = await loadPlan(root);
    expect(plan.source.format).toBe('tasks-dir');
    expect(plan.phaseOrder).toEqual(['analysis', 'planning']);
    expect(plan.tasks.map((t) => [t.id, t.dependsOn, t.priority, t.timeoutSeconds, t.phase])).toEqual([
      ['01-analysis.01-run-conformance-tests', [], 8, 8 * 3600, 'analysis'],
      ['01-analysis.02-categorize-failures', ['01-analysis.01-run-conformance-tests'], 7, 2 * 3600, 'analysis'],
      ['01-analysis.03-audit-ast-coverage', [], 5, 90 * 60, 'analysis'],
      ['02-planning.01-prioritize', ['01-analysis.02-categorize-failures', '01-analysis.03-audit-ast-coverage'], 6, 6 * 3600, 'planning'],
    ]);
  });

  it('takes done from the status files, titles from front matter or heading, outputs as files', async () => {
    const plan = await loadPlan(path.join(root, 'tasks'));
    const [run, categorize, , prioritize] = plan.tasks;
    expect(run.done).toBe(true);
    expect(categorize.done).toBe(false);
    expect(run.title).toBe('Run the conformance test suite');
    expect(prioritize.title).toBe('Prioritize the fixes');
    expect(prioritize.prompt).toBe('Rank the failure categories by how many tests each one fixes.');
    expect(prioritize.verify).toEqual(['sh', '-c', 'test -s plans/priorities.md']);
    expect(run.outputs).toEqual(['reports/test-results.json']);
    expect(run.files).toEqual(['reports/test-results.json']);
    expect(run.source).toEqual({ file: 'tasks/01-analysis/01-run-conformance-tests.md', line: 1 });
  });

  it('infers a dependency from an input that is another task\'s output', async () => {
    const dir = tasksDir({
      'a.md': '---\noutputs: [out/a.json]\n---\nA',
      'b.md': '---\ninputs: [out/a.json, docs/given.md]\n---\nB',
    });
    const plan = await loadPlan(dir);
    expect(plan.tasks.map((t) => [t.id, t.dependsOn])).toEqual([
      ['a', []],
      ['b', ['a']],
    ]);
  });

  it('refuses an unknown dependency with file, line and ids', async () => {
    const dir = tasksDir({ 'x/one.md': '---\nphase: x\ndependencies:\n  - x/zero\n---\nOne' });
    const err = (await loadPlan(dir).catch((e: unknown) => e)) as PlanError;
    expect(err).toBeInstanceOf(PlanError);
    expect(err.message).toBe(`${path.join(dir, 'tasks/x/one.md')}:4: task "x.one" depends on unknown task "x/zero"`);
    expect(err.issues[0].ids).toEqual(['x.one', 'x/zero']);
  });

  it('flags a misspelt field and a bad value at their lines', async () => {
    const dir = tasksDir({ 'a.md': '---\ndependecies: [b]\npriority: urgent-ish\nowner: me\n---\nA', 'b.md': 'B' });
    const file = path.join(dir, 'tasks/a.md');
    const err = (await loadPlan(dir).catch((e: unknown) => e)) as PlanError;
    expect(err.message.split('\n')).toEqual([
      `${file}:2: task "a": unknown front matter field "dependecies" (did you mean "dependencies"?)`,
      `${file}:3: task "a": priority must be 1..10 or one of critical, high, medium, low, P0..P3`,
    ]);
  });

  it('refuses a cycle with the whole path', async () => {
    const dir = tasksDir({
      'a.md': '---\ndependencies: [c]\n---\nA',
      'b.md': '---\ndependencies: [a]\n---\nB',
      'c.md': '---\ndependencies: [b]\n---\nC',
    });
    expect(((await loadPlan(dir).catch((e: unknown) => e)) as PlanError).message).toBe('cycle: a -> c -> b -> a');
  });
});
