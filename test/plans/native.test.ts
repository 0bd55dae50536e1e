import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PlanError } from '../../src/client/plans/errors';
import { loadPlan } from '../../src/client/plans/load';

const fixtures = path.resolve(__dirname, '../fixtures/plans');
const tmp = mkdtempSync(path.join(tmpdir(), 'cadre-native-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function planFile(text: string, ext = 'yaml'): string {
  const file = path.join(tmp, `plan${++n}.${ext}`);
  writeFileSync(file, text);
  return file;
}

async function issuesOf(file: string): Promise<string[]> {
  const err = await loadPlan(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PlanError);
  expect((err as PlanError).exitCode).toBe(2);
  return (err as PlanError).message.split('\n');
}

describe('native plans', () => {
  it('imports every field of the fixture', async () => {
    const plan = await loadPlan(path.join(fixtures, 'native/plan.yaml'));
    expect(plan.name).toBe('diamond');
    expect(plan.source).toEqual({ format: 'native', path: path.join(fixtures, 'native/plan.yaml') });
    expect(plan.maxConcurrency).toBe(3);
    expect(plan.failFast).toBe(false);
    expect(plan.phaseLimits).toEqual({ setup: 1, build: 2 });
    expect(plan.phaseOrder).toEqual(['setup', 'build']);
    expect(plan.defaults).toEqual({
      backend: 'anthropic',
      model: 'claude-sonnet-4-5',
      timeoutSeconds: 600,
      maxTurns: 30,
      budget: { tokens: 200000, usd: 2 },
    });
    expect(plan.budget).toEqual({ usd: 10 });
    expect(plan.tasks.map((t) => t.id)).toEqual(['schema', 'api', 'ui', 'docs']);

    const [schema, api, ui, docs] = plan.tasks;
    expect(schema).toMatchObject({
      title: 'Define the schema',
      priority: 9,
      phase: 'setup',
      files: ['src/schema.ts'],
      outputs: ['src/schema.ts'],
      verify: ['sh', '-c', 'npx tsc --noEmit'],
      dependsOn: [],
      done: false,
      source: { file: 'plan.yaml', line: 16 },
    });
    expect(api.title).toBe('Implement the API on top of the schema.');
    expect(api.prompt).toBe('Implement the API on top of the schema.\nKeep handlers small.\n');
    expect(api.priority).toBe(5);
    expect(api.outputs).toEqual(['src/api.ts']);
    expect(api.timeoutSeconds).toBe(90);
    expect(ui).toMatchObject({ backend: 'scripted', script: path.join(fixtures, 'native/scripts/ui.json'), timeoutSeconds: 300 });
    expect(docs).toMatchObject({
      backend: 'command',
      command: ['sh', '-c', 'echo docs > docs.md'],
      dependsOn: ['api', 'ui'],
      timeoutSeconds: 30,
      priority: 2,
    });
    expect(docs.phase).toBeUndefined();
    // Plain JSON: survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('reads JSON with the same rules, and finds plan.yaml in a directory', async () => {
    const plan = await loadPlan(path.join(fixtures, 'native/json-plan.json'));
    expect(plan.tasks.map((t) => [t.id, t.dependsOn])).toEqual([
      ['one', []],
      ['two', ['one']],
    ]);
    expect(plan.maxConcurrency).toBe(5);
    expect((await loadPlan(path.join(fixtures, 'native'))).name).toBe('diamond');
  });

  it('names an unknown field with its file and line, and suggests the right one', async () => {
    const file = planFile(['name: x', 'tasks:', '  - id: a', '    prompt: A', '  - id: b', '    prompt: B', '    depends_on: [a]', ''].join('\n'));
    expect(await issuesOf(file)).toEqual([`${file}:7: task "b": unknown field "depends_on" (did you mean "dependsOn"?)`]);
  });

  it('names unknown plan-level fields too', async () => {
    const file = planFile(['maxConcurency: 3', 'tasks:', '  - id: a', '    prompt: A'].join('\n'));
    expect(await issuesOf(file)).toEqual([`${file}:1: plan: unknown field "maxConcurency" (did you mean "maxConcurrency"?)`]);
  });

  it('reports a bad value at its line', async () => {
    const file = planFile(['tasks:', '  - id: a', '    prompt: A', '    priority: 11', '    timeout: soon'].join('\n'));
    const issues = await issuesOf(file);
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(new RegExp(`^${escape(file)}:4: task "a": field "priority": `));
    expect(issues[1]).toMatch(new RegExp(`^${escape(file)}:5: task "a": field "timeout": expected a positive duration`));
  });

  it('refuses an unknown dependency, naming the task and the id', async () => {
    const file = planFile(['tasks:', '  - id: lint-ok', '    prompt: L', '  - id: build', '    prompt: B', '    dependsOn: [lint]'].join('\n'));
    expect(await issuesOf(file)).toEqual([`${file}:4: task "build" depends on unknown task "lint"`]);
  });

  it('refuses duplicate ids, giving both places', async () => {
    const file = planFile(['tasks:', '  - id: x', '    prompt: one', '  - id: y', '    prompt: two', '  - id: x', '    prompt: three'].join('\n'));
    expect(await issuesOf(file)).toEqual([`duplicate task id "x" (${file}:2 and ${file}:6)`]);
  });

  it('refuses a cycle with the whole path', async () => {
    const file = planFile(
      JSON.stringify({
        tasks: [
          { id: 'a', prompt: 'A', dependsOn: ['b'] },
          { id: 'b', prompt: 'B', dependsOn: ['c'] },
          { id: 'c', prompt: 'C', dependsOn: ['a'] },
        ],
      }),
      'json',
    );
    expect(await issuesOf(file)).toEqual(['cycle: a -> b -> c -> a']);
  });

  it('refuses ids unusable in workflow ids and branch names', async () => {
    const file = planFile(['tasks:', '  - id: "fix bug/1"', '    prompt: A'].join('\n'));
    const issues = await issuesOf(file);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(new RegExp(`^${escape(file)}:2: task id "fix bug/1" must start with a letter or digit`));
  });

  it('lists every problem at once', async () => {
    const file = planFile(
      ['phaseLimits: { setpu: 2 }', 'tasks:', '  - id: a', '    prompt: A', '    phase: setup', '    dependsOn: [a, nope]', '  - id: c', '    backend: command', '    prompt: C'].join('\n'),
    );
    expect(await issuesOf(file)).toEqual([
      `${file}:1: phase "setpu" is listed in phaseLimits but no task has it`,
      `${file}:7: task "c" uses the command backend but has no "command"`,
      `${file}:3: task "a" depends on unknown task "nope"`,
      `${file}:3: task "a" depends on itself`,
    ]);
  });

  it('reports YAML syntax errors with a line', async () => {
    const file = planFile(['tasks:', '  - id: a', '    prompt: [unclosed', ''].join('\n'));
    const issues = await issuesOf(file);
    expect(issues[0]).toMatch(new RegExp(`^${escape(file)}:\\d+: invalid YAML/JSON: `));
  });

  it('refuses a missing script', async () => {
    const file = planFile(['tasks:', '  - id: a', '    prompt: A', '    script: nowhere.json'].join('\n'));
    expect((await issuesOf(file))[0]).toBe(`${file}:4: task "a": script "nowhere.json" not found (${path.join(tmp, 'nowhere.json')})`);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('native checks, approval and tdd', () => {
  it('are read into the task, and a bad check path or regex is an error at its line', async () => {
    const good = planFile('tasks:\n  - id: a\n    prompt: A\n    tdd: true\n    approval: Look at the UI\n    checks:\n      - { kind: contains, path: src/a.ts, text: "class A" }\n      - { kind: exports, path: src/a.ts, name: A }\n');
    const t = (await loadPlan(good)).tasks[0];
    expect(t.checks).toEqual([
      { kind: 'contains', path: 'src/a.ts', text: 'class A' },
      { kind: 'exports', path: 'src/a.ts', name: 'A' },
    ]);
    expect(t.gate).toEqual({ kind: 'approval', prompt: 'Look at the UI' });
    expect(t.tdd).toBe(true);
    const bad = planFile('tasks:\n  - id: a\n    prompt: A\n    checks:\n      - { kind: pattern, path: ../x.ts, regex: "a" }\n      - { kind: pattern, path: x.ts, regex: "(" }\n');
    const err = (await loadPlan(bad).catch((e: unknown) => e)) as PlanError;
    expect(err.message.split('\n')).toEqual([
      `${bad}:5: task "a": checks[0].path "../x.ts" is not a repository-relative path`,
      `${bad}:6: task "a": checks[1].regex "(" is not a valid regular expression`,
    ]);
  });
});

describe('native plans: stalls (docs/loops.md "Stalls")', () => {
  it('reads stallAfter as a duration and onStall, on defaults and tasks', async () => {
    const plan = await loadPlan(planFile('defaults: { stallAfter: 5m, onStall: restart }\ntasks:\n  - { id: a, prompt: a }\n  - { id: b, prompt: b, stallAfter: 90, onStall: end }\n'));
    expect(plan.defaults).toMatchObject({ stallAfterSeconds: 300, onStall: 'restart' });
    expect(plan.tasks[0]).not.toHaveProperty('stallAfterSeconds');
    expect(plan.tasks[1]).toMatchObject({ stallAfterSeconds: 90, onStall: 'end' });
  });

  it('reads budgetWait: 0 or a duration, on defaults and tasks; a bad one is named', async () => {
    const plan = await loadPlan(planFile('defaults: { budgetWait: 2h }\ntasks:\n  - { id: a, prompt: a }\n  - { id: b, prompt: b, budgetWait: 0 }\n'));
    expect(plan.defaults).toMatchObject({ budgetWaitSeconds: 7200 });
    expect(plan.tasks[0]).not.toHaveProperty('budgetWaitSeconds');
    expect(plan.tasks[1]).toMatchObject({ budgetWaitSeconds: 0 });
    expect((await issuesOf(planFile('tasks:\n  - { id: a, prompt: a, budgetWait: later }\n'))).join('\n')).toMatch(/budgetWait/);
  });

  it('names the field of a bad stallAfter or onStall', async () => {
    const issues = (await issuesOf(planFile('tasks:\n  - { id: a, prompt: a, stallAfter: soon, onStall: wait }\n'))).join('\n');
    expect(issues).toMatch(/stallAfter/);
    expect(issues).toMatch(/onStall/);
  });

  it('reads a reviewer on defaults and tasks (command as a string, rounds) and names a reviewer without its command', async () => {
    const plan = await loadPlan(planFile('defaults: { review: { backend: anthropic, prompt: Be strict. } }\ntasks:\n  - { id: a, prompt: a }\n  - { id: b, prompt: b, review: { backend: command, command: ./review.sh, rounds: 3 } }\n'));
    expect(plan.defaults.review).toEqual({ backend: 'anthropic', prompt: 'Be strict.' });
    expect(plan.tasks[0]).not.toHaveProperty('review');
    expect(plan.tasks[1]!.review).toEqual({ backend: 'command', command: ['sh', '-c', './review.sh'], rounds: 3 });
    const issues = (await issuesOf(planFile('tasks:\n  - { id: a, prompt: a, review: { backend: command, rounds: 9 } }\n'))).join('\n');
    expect(issues).toMatch(/a command reviewer needs a command/);
    expect(issues).toMatch(/rounds/);
  });
  it('reads a resolver on defaults and tasks (backend optional, command as a string, attempts) and names a resolver without its command', async () => {
    const plan = await loadPlan(planFile('defaults: { resolve: { model: claude-opus-4-1, prompt: Keep both. } }\ntasks:\n  - { id: a, prompt: a }\n  - { id: b, prompt: b, resolve: { backend: command, command: ./resolve.sh, attempts: 2 } }\n'));
    expect(plan.defaults.resolve).toEqual({ model: 'claude-opus-4-1', prompt: 'Keep both.' });
    expect(plan.tasks[0]).not.toHaveProperty('resolve');
    expect(plan.tasks[1]!.resolve).toEqual({ backend: 'command', command: ['sh', '-c', './resolve.sh'], attempts: 2 });
    const issues = (await issuesOf(planFile('tasks:\n  - { id: a, prompt: a, resolve: { backend: command, attempts: 9 } }\n  - { id: b, prompt: b, resolve: { backend: scripted, tries: 2 } }\n'))).join('\n');
    expect(issues).toMatch(/a command resolver needs a command/);
    expect(issues).toMatch(/attempts/);
    expect(issues).toMatch(/tries/);
  });
});
