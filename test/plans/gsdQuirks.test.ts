/** GSD files as people commit them: each quirk of issue 17 with a fixture of ours. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PlanError } from '../../src/client/plans/errors';
import { detectPlan, importPlan, loadPlan } from '../../src/client/plans/load';

const fixtures = path.resolve(__dirname, '../fixtures/plans');
const quirks = path.join(fixtures, 'gsd-quirks');
const tmp = mkdtempSync(path.join(tmpdir(), 'cadre-gsdq-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmp, 'p-'));
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, '.planning', rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return dir;
}

async function planError(target: string): Promise<PlanError> {
  const err = await loadPlan(target).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(PlanError);
  return err as PlanError;
}

describe('GSD quirks', () => {
  it('reads milestone phases, loose and lone plans, fenced front matter, phase and path references', async () => {
    const { plan } = await importPlan(quirks);
    expect(plan.phaseOrder).toEqual(['01-foundation', '02-api', '03-ui', '04-docs', '05-fenced']);
    expect(Object.fromEntries(plan.tasks.map((t) => [t.id, t.dependsOn]))).toEqual({
      '01-01': [], // under .planning/milestones/v5.0-phases/
      '01-02': ['01-01'],
      '02-01': ['01-01', '01-02'], // depends_on: [01-foundation], a whole phase
      '02-02': ['02-01'], // gap_closure: true, after the plans of its phase
      '03-ui': ['02-01', '02-02'], // a phase's lone PLAN.md; a path to a PLAN.md, plus the barrier
      '04-01': ['02-01', '03-ui'], // loose in phases/; "02-api/01" and "03-ui"
      '05-01': ['04-01'],
      '05-02': ['05-01'], // front matter in a ```yaml fence: a chain, not parallel
    });
    expect(plan.tasks.filter((t) => t.done).map((t) => t.id)).toEqual(['01-01', '01-02']);
    expect(plan.tasks.find((t) => t.id === '05-02')!.files).toEqual(['src/io/import.ts']);
    expect(plan.tasks.find((t) => t.id === '03-ui')!.source).toEqual({ file: '.planning/phases/03-ui/PLAN.md', line: 1 });
  });

  it('warns, not fails, on non-strict YAML in keys cadre does not read and on a done plan\'s stale dependency', async () => {
    const { warnings } = await importPlan(quirks);
    const f = (rel: string) => path.relative(process.cwd(), path.join(quirks, '.planning', rel));
    expect(warnings).toEqual([
      {
        file: f('milestones/v5.0-phases/01-foundation/01-01-PLAN.md'),
        line: 12,
        message: 'plan "01-01": front matter is not strict YAML (an invalid "\\" escape in a double-quoted string); read with the backslash taken literally',
        ids: ['01-01'],
      },
      {
        file: f('milestones/v5.0-phases/01-foundation/01-02-PLAN.md'),
        line: 7,
        message: expect.stringMatching(/^plan "01-02": front matter key "user_setup" is not valid YAML \(.*\); ignored$/),
        ids: ['01-02'],
      },
      {
        file: f('milestones/v5.0-phases/01-foundation/01-01-PLAN.md'),
        line: 6,
        message: 'plan "01-01" is done; its depends_on "00-03" matches no plan and is ignored',
        ids: ['01-01', '00-03'],
      },
    ]);
    // The pattern survived the repair as the author wrote it.
    const t = (await loadPlan(quirks)).tasks[0];
    expect(t.checks).toEqual([{ kind: 'pattern', path: 'src/db/schema.ts', regex: '\\.claude.*skills' }]);
  });

  it('still refuses broken YAML in a key that orders the run, and a stale dependency of a plan not done', async () => {
    const dir = project({
      'phases/01-a/01-01-PLAN.md': '---\nwave: 1\ndepends_on: ["01-00\n---\n<objective>\nA\n</objective>\n',
      'phases/01-a/01-02-PLAN.md': '---\ndepends_on: ["00-03"]\n---\n<objective>\nB\n</objective>\n',
    });
    const err = await planError(dir);
    expect(err.issues.map((i) => [path.basename(i.file!), i.line, i.ids])).toEqual([
      ['01-01-PLAN.md', 3, ['01-01']],
      ['01-02-PLAN.md', 2, ['01-02', '00-03']],
    ]);
    expect(err.issues[0].message).toMatch(/^plan "01-01": invalid front matter in "depends_on": /);
    expect(err.issues[1].message).toBe('plan "01-02" depends on unknown plan "00-03"');
  });

  it('names the file, line and ids of an unknown phase reference and a cycle through milestone phases', async () => {
    const dir = project({
      'milestones/v1.0-phases/01-a/01-01-PLAN.md': '---\ndepends_on: ["02-b"]\n---\n<objective>\nA\n</objective>\n',
      'phases/02-b/02-01-PLAN.md': '---\ndepends_on: ["01-a/01"]\n---\n<objective>\nB\n</objective>\n',
      'phases/02-b/02-02-PLAN.md': '---\ndepends_on: ["09-nowhere"]\n---\n<objective>\nC\n</objective>\n',
    });
    const err = await planError(dir);
    expect(err.message).toContain(`${path.join(dir, '.planning/phases/02-b/02-02-PLAN.md')}:2: plan "02-02" depends on unknown plan "09-nowhere"`);
    expect(err.message).toContain('cycle: 01-01 -> 02-01 -> 01-01');
  });

  it('never reads a .planning tree as a tasks/ directory', async () => {
    const only = path.join(fixtures, 'planning-only');
    expect(await detectPlan(only)).toEqual({ format: 'gsd', path: only });
    expect(await detectPlan(path.join(only, '.planning'))).toEqual({ format: 'gsd', path: path.join(only, '.planning') });
    expect((await planError(only)).message).toMatch(/no GSD plans: .*ROADMAP\.md, STATE\.md and SUMMARY files are not tasks/);
    // The quirks project has ROADMAP.md and STATE.md with front matter: neither is a task.
    expect((await loadPlan(quirks)).tasks.map((t) => t.id)).not.toContain('ROADMAP');
  });

  it('keeps GSD meaning: truths and key links in the prompt, checks, verify, tdd and the checkpoint gate', async () => {
    const { plan, warnings } = await importPlan(path.join(fixtures, 'gsd-meaning'));
    const t = plan.tasks[0];
    expect(t.prompt).toContain('<must_haves>\nTruths (each must hold when you finish):\n- Tasks run by priority, at most 5 at once\n- A failed task releases its locks');
    expect(t.prompt).toContain("- src/queue/index.ts -> src/queue/TaskQueue.ts via re-export (pattern: export \\{ TaskQueue \\} from './TaskQueue')");
    expect(t.prompt).toContain('<tdd>');
    expect(t.tdd).toBe(true);
    expect(t.checks).toEqual([
      { kind: 'contains', path: 'src/queue/TaskQueue.ts', text: 'class TaskQueue' },
      { kind: 'exports', path: 'src/queue/TaskQueue.ts', name: 'TaskQueue' },
      { kind: 'exports', path: 'src/queue/TaskQueue.ts', name: 'QueueOptions' },
      { kind: 'exports', path: 'src/queue/index.ts', name: 'TaskQueue' },
      { kind: 'pattern', path: 'src/queue/index.ts', regex: "export \\{ TaskQueue \\} from './TaskQueue'" },
    ]);
    expect(t.verify).toEqual(['sh', '-c', '(npx vitest run test/queue.test.ts) && (npx tsc --noEmit && test -f src/queue/index.ts)']);
    expect(t.checkpoint).toBe('checkpoint:human-verify');
    expect(t.gate).toEqual({
      kind: 'approval',
      prompt: 'checkpoint:human-verify: The queue, running five demo tasks by priority\nHow to verify:\nRun `npm run demo:queue` and check that the high-priority task starts first.',
    });
    // A key link whose "from" is not a file is in the prompt but not checked, and the user is told.
    expect(warnings.map((w) => w.message)).toEqual(['plan "07-01": key_links[1] pattern is not checked: "from" is not a file path']);
  });

  it('reads a single verify command as is, and a plan without checkpoints has no gate', async () => {
    const dir = project({
      'phases/01-a/01-01-PLAN.md':
        '---\nwave: 1\n---\n<objective>\nA\n</objective>\n<tasks>\n<task type="auto"><name>A</name><verify><automated>npm test</automated></verify></task>\n' +
        '<task type="auto"><name>B</name><verify><automated>MISSING — write the test first</automated></verify></task>\n</tasks>\n',
    });
    const t = (await loadPlan(dir)).tasks[0];
    expect(t.verify).toEqual(['sh', '-c', 'npm test']);
    expect(t.gate).toBeUndefined();
    expect(t.tdd).toBeUndefined();
  });
});
