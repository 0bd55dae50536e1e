import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PlanError } from '../../src/client/plans/errors';
import { detectPlan, loadPlan } from '../../src/client/plans/load';

const root = path.resolve(__dirname, '../fixtures/plans/gsd');
const phases = path.join(root, '.planning/phases');
const p02 = path.join(phases, '02-agent-definitions-and-dag-scheduler');
const p15 = path.join(phases, '15-agent-orchestration');
const tmp = mkdtempSync(path.join(tmpdir(), 'cadre-gsd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function planError(target: string): Promise<PlanError> {
  const err = await loadPlan(target).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PlanError);
  return err as PlanError;
}

/** A GSD project in a temp dir with the given phase → file → text. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmp, 'p-'));
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, '.planning/phases', rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return dir;
}

const planText = (fm: string, body = '<objective>\nDo it.\n</objective>\n') => `---\n${fm}\n---\n\n${body}`;

describe('GSD plans', () => {
  it('imports the whole project: ids, phases, dependencies, done', async () => {
    const plan = await loadPlan(root);
    expect(plan.source.format).toBe('gsd');
    expect(plan.phaseOrder).toEqual(['02-agent-definitions-and-dag-scheduler', '15-agent-orchestration']);
    const deps = Object.fromEntries(plan.tasks.map((t) => [t.id, t.dependsOn]));
    expect(deps).toEqual({
      '02-01': [],
      '02-02': ['02-01'], // wave 2, no depends_on: after every earlier wave of its phase
      '02-03': ['02-02'], // seed 004: depends_on ["02-02"]
      '15-01': ['02-03'], // no dependency in its phase: after the sinks of the previous phase
      '15-02': ['15-01'], // depends_on ["01"]: same phase
      '15-03': ['15-01'], // wave 2
      '15-06': ['15-01', '15-02', '15-03'], // "15-agent-orchestration-01", "02", "15-03"
    });
    expect(plan.tasks.filter((t) => t.done).map((t) => t.id)).toEqual(['02-01', '15-06']);
    expect(plan.tasks.find((t) => t.id === '15-02')!.checkpoint).toBe('checkpoint:human-verify');
    expect(plan.tasks.find((t) => t.id === '15-01')!.checkpoint).toBeUndefined();
  });

  it('reads seed 000 (15-01): files, artifacts as outputs, prompt from the blocks', async () => {
    const plan = await loadPlan(path.join(p15, '15-01-PLAN.md'));
    expect(plan.tasks).toHaveLength(1);
    const t = plan.tasks[0];
    expect(t.id).toBe('15-01');
    expect(t.phase).toBe('15-agent-orchestration');
    expect(t.title).toBe('Build orchestration foundation with TaskQueue and FileLockManager for parallel agent execution.');
    expect(t.files).toEqual([
      'packages/agent-orchestrator/package.json',
      'packages/agent-orchestrator/src/queue/TaskQueue.ts',
      'packages/agent-orchestrator/src/queue/FileLockManager.ts',
      'packages/agent-orchestrator/src/types/queue.ts',
    ]);
    expect(t.outputs).toEqual([
      'packages/agent-orchestrator/src/queue/TaskQueue.ts',
      'packages/agent-orchestrator/src/queue/FileLockManager.ts',
      'packages/agent-orchestrator/src/types/queue.ts',
    ]);
    expect(t.prompt.startsWith('<objective>\nBuild orchestration foundation')).toBe(true);
    expect(t.prompt.match(/<task type="auto">/g)).toHaveLength(5);
    expect(t.prompt).toContain('<name>Implement TaskQueue with p-queue</name>');
    expect(t.prompt).toContain('<success_criteria>');
    expect(t.prompt).not.toContain('<execution_context>');
    expect(t.done).toBe(false);
    expect(t.dependsOn).toEqual([]);
    expect(t.source).toEqual({ file: '.planning/phases/15-agent-orchestration/15-01-PLAN.md', line: 1 });
  });

  it('reads seed 004 (02-03) in its phase: Go files, artifacts, depends_on', async () => {
    const plan = await loadPlan(p02);
    expect(plan.tasks.map((t) => t.id)).toEqual(['02-01', '02-02', '02-03']);
    const t = plan.tasks[2];
    expect(t.files).toEqual([
      'internal/scheduler/locks.go',
      'internal/scheduler/executor.go',
      'internal/scheduler/locks_test.go',
      'internal/scheduler/executor_test.go',
    ]);
    expect(t.outputs).toHaveLength(4);
    expect(t.dependsOn).toEqual(['02-02']);
    expect(t.title).toBe('Resource locking and task executor that connects the DAG scheduler to backends.');
    // files-modified (dash spelling) and <feature> blocks
    expect(plan.tasks[1].files).toEqual(['internal/scheduler/dag.go', 'internal/scheduler/dag_test.go']);
    expect(plan.tasks[1].prompt).toContain('<feature>');
  });

  it('finds the same plans from the project, .planning or phases directory', async () => {
    const ids = async (p: string) => (await loadPlan(p)).tasks.map((t) => t.id);
    const all = await ids(root);
    expect(all).toEqual(['02-01', '02-02', '02-03', '15-01', '15-02', '15-03', '15-06']);
    expect(await ids(path.join(root, '.planning'))).toEqual(all);
    expect(await ids(phases)).toEqual(all);
    expect((await detectPlan(path.join(p02, '02-03-PLAN.md')))?.format).toBe('gsd');
  });

  it('drops a dependency outside the import when that plan is done, refuses it when not', async () => {
    // 02-02 depends on 02-01 (done, SUMMARY exists): importing 02-02 alone is fine.
    expect((await loadPlan(path.join(p02, '02-02-PLAN.md'))).tasks[0].dependsOn).toEqual([]);
    // Seed 004 alone: 02-02 is not done.
    const err = await planError(path.join(p02, '02-03-PLAN.md'));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0].ids).toEqual(['02-03', '02-02']);
    expect(err.issues[0].line).toBe(6);
    expect(err.message).toContain('plan "02-03" depends on "02-02", which is not part of this import and has no SUMMARY');
  });

  it('refuses an unknown depends_on with file and line', async () => {
    const dir = project({
      '03-api/03-01-PLAN.md': planText('phase: 03-api\nplan: 01\nwave: 1\ndepends_on: []'),
      '03-api/03-02-PLAN.md': planText('phase: 03-api\nplan: 02\nwave: 2\ndepends_on:\n  - "01"\n  - "03-07"'),
    });
    const err = await planError(dir);
    const file = path.join(dir, '.planning/phases/03-api/03-02-PLAN.md');
    expect(err.message).toBe(`${file}:7: plan "03-02" depends on unknown plan "03-07"`);
    expect(err.issues[0].ids).toEqual(['03-02', '03-07']);
  });

  it('refuses a cycle between plans with the whole path', async () => {
    const dir = project({
      '04-x/04-01-PLAN.md': planText('depends_on: ["04-03"]'),
      '04-x/04-02-PLAN.md': planText('depends_on: ["01"]'),
      '04-x/04-03-PLAN.md': planText('depends_on: ["02"]'),
    });
    expect((await planError(dir)).message).toBe('cycle: 04-01 -> 04-03 -> 04-02 -> 04-01');
  });

  it('flags a misspelt front matter field but tolerates unrelated extra ones', async () => {
    const dir = project({
      '05-y/05-01-PLAN.md': planText('autonomous: true\nuser_setup: []\ndepend_on: ["00-01"]'),
    });
    const file = path.join(dir, '.planning/phases/05-y/05-01-PLAN.md');
    expect((await planError(dir)).message).toBe(`${file}:4: plan "05-01": unknown front matter field "depend_on" (did you mean "depends_on"?)`);
  });

  it('keeps an explicit depends_on over the wave hint', async () => {
    const dir = project({
      '06-z/06-01-PLAN.md': planText('wave: 1'),
      '06-z/06-02-PLAN.md': planText('wave: 1'),
      '06-z/06-03-PLAN.md': planText('wave: 2\ndepends_on: ["02"]'),
      '06-z/06-04-PLAN.md': planText('wave: 2'),
    });
    const plan = await loadPlan(dir);
    expect(plan.tasks.map((t) => [t.id, t.dependsOn])).toEqual([
      ['06-01', []],
      ['06-02', []],
      ['06-03', ['06-02']],
      ['06-04', ['06-01', '06-02']],
    ]);
  });

  it('copes with a fixture copied elsewhere (paths are relative to the project)', async () => {
    const dest = path.join(tmp, 'copy');
    cpSync(root, dest, { recursive: true });
    const plan = await loadPlan(dest);
    expect(plan.tasks[0].source?.file).toBe('.planning/phases/02-agent-definitions-and-dag-scheduler/02-01-PLAN.md');
  });
});
