import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { abbreviateChain, abbreviateIds, validateCommand } from '../../src/client/commands/validate';

const fixtures = path.resolve(__dirname, '../fixtures/plans');
const tmp = mkdtempSync(path.join(tmpdir(), 'cadre-validate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(target: string, json = false, format?: string): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await validateCommand(target, { json, format }, (l) => lines.push(l));
  return { code, lines };
}

describe('cadre validate', () => {
  it('prints format, counts, phases, waves and the critical path of a valid plan', async () => {
    const { code, lines } = await run(path.join(fixtures, 'native/plan.yaml'));
    expect(code).toBe(0);
    expect(lines).toContain('tasks: 4 (0 already done)');
    expect(lines).toContain('  setup       1 task (limit 1)');
    expect(lines).toContain('  build       2 tasks (limit 2)');
    expect(lines).toContain('  (no phase)  1 task');
    expect(lines).toContain('waves: 3');
    expect(lines).toContain('  2. api, ui');
    expect(lines).toContain('critical path: 3 tasks: schema -> api -> docs');
    expect(lines[1]).toMatch(/^format: native \(.*plan\.yaml\)$/);
  });

  it('shows the verify attempts of verified tasks (plan default, a task\'s own) and rejects an impossible count by field', async () => {
    const file = path.join(tmp, 'attempts.yaml');
    writeFileSync(file, [
      'defaults: { verifyAttempts: 3 }',
      'tasks:',
      '  - { id: a, prompt: a, outputs: [a.txt] }',
      '  - { id: b, prompt: b, verify: "true", verifyAttempts: 1 }',
      '  - { id: c, prompt: c }',
    ].join('\n'));
    const { code, lines } = await run(file);
    expect(code).toBe(0);
    expect(lines).toContain('verify attempts: a 3, b 1 (a failed verification goes back to the agent; docs/loops.md)');
    const json = JSON.parse((await run(file, true)).lines.join('\n')) as { taskList: { id: string; verifyAttempts?: number }[] };
    expect(json.taskList.map((t) => t.verifyAttempts)).toEqual([3, 1, undefined]);
    writeFileSync(file, 'tasks:\n  - { id: a, prompt: a, outputs: [a.txt], verifyAttempts: 0 }\n');
    const bad = await run(file);
    expect(bad.code).toBe(2);
    expect(bad.lines.join('\n')).toMatch(/attempts\.yaml:2: .*verifyAttempts/);
  });

  it('counts done tasks and shows checkpoints for GSD', async () => {
    const { code, lines } = await run(path.join(fixtures, 'gsd'));
    expect(code).toBe(0);
    expect(lines).toContain('tasks: 7 (2 already done)');
    expect(lines).toContain('  5. 15-02, 15-03');
    expect(lines).toContain('checkpoint: 15-02 (checkpoint:human-verify) needs a person');
  });

  it('prints one JSON object with --json', async () => {
    const { code, lines } = await run(path.join(fixtures, 'speckit/tasks.md'), true);
    expect(code).toBe(0);
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]);
    expect(out).toMatchObject({ valid: true, format: 'speckit', tasks: 112, done: 0, maxConcurrency: 5 });
    expect(out.phases).toHaveLength(9);
    expect(out.phases[1]).toEqual({ name: 'Phase 2: Foundational (Blocking Prerequisites)', tasks: 18, done: 0 });
    expect(out.waves).toHaveLength(107);
    expect(out.criticalPath.length).toBe(107);
    expect(out.criticalPath.ids[0]).toBe('T001');
    expect(out.criticalPath.ids.at(-1)).toBe('T112');
  });

  it('prints every problem and returns 2 for an invalid plan', async () => {
    const file = path.join(tmp, 'bad.yaml');
    writeFileSync(file, ['tasks:', '  - id: a', '    prompt: A', '    dependsOn: [b]', '  - id: b', '    prompt: B', '    dependsOn: [a, zz]'].join('\n'));
    const { code, lines } = await run(file);
    expect(code).toBe(2);
    expect(lines).toEqual([`plan ${file}: invalid (2 problems)`, `${file}:5: task "b" depends on unknown task "zz"`, 'cycle: a -> b -> a']);
    const json = await run(file, true);
    expect(json.code).toBe(2);
    const out = JSON.parse(json.lines[0]);
    expect(out.valid).toBe(false);
    expect(out.issues[0]).toEqual({ file, line: 5, message: 'task "b" depends on unknown task "zz"', ids: ['b', 'zz'] });
  });

  it('returns 2 for a path that is not a plan', async () => {
    const { code, lines } = await run(path.join(tmp, 'missing.yaml'));
    expect(code).toBe(2);
    expect(lines[1]).toBe(`${path.join(tmp, 'missing.yaml')}: no such file or directory`);
  });

  it('lists every task with dependencies, files, outputs, parallel flag, backend, checks, gate, timeout and verify', async () => {
    const { code, lines } = await run(path.join(fixtures, 'native/plan.yaml'), true);
    expect(code).toBe(0);
    const out = JSON.parse(lines[0]);
    const byId = Object.fromEntries(out.taskList.map((t: { id: string }) => [t.id, t]));
    expect(byId.schema).toMatchObject({ dependsOn: [], files: ['src/schema.ts'], outputs: ['src/schema.ts'], parallel: false, verify: ['sh', '-c', 'npx tsc --noEmit'], checks: [] });
    expect(byId.api).toMatchObject({ dependsOn: ['schema'], parallel: true, timeoutSeconds: 90 });
    expect(byId.ui.backend).toBe('scripted');
    expect(byId.docs.backend).toBe('command');
    expect(out.warnings).toEqual([]);
    const gsd = JSON.parse((await run(path.join(fixtures, 'gsd-meaning'), true)).lines[0]);
    expect(gsd.taskList[0]).toMatchObject({ backend: 'claude-code (CADRE_BACKEND)', tdd: true, gate: { kind: 'approval' } });
    expect(gsd.taskList[0].checks).toHaveLength(5);
    expect(gsd.gates).toEqual([{ id: '07-01', prompt: expect.stringContaining('checkpoint:human-verify') }]);
    expect(gsd.warnings).toHaveLength(1);
  });

  it('shows gates, checks and warnings in the text output', async () => {
    const { code, lines } = await run(path.join(fixtures, 'gsd-meaning'));
    expect(code).toBe(0);
    expect(lines).toContain('gate: 07-01 waits for approval: checkpoint:human-verify: The queue, running five demo tasks by priority');
    expect(lines).toContain('checks: 5 on 1 task');
    expect(lines.find((l) => l.startsWith('  07-01: '))).toContain('src/queue/TaskQueue.ts contains "class TaskQueue"');
    expect(lines).toContain('warnings: 1');
    expect(lines.find((l) => l.startsWith('  warning: '))).toMatch(/07-01-PLAN\.md:25: plan "07-01": key_links\[1\] pattern is not checked/);
  });

  it('shows the bootstrap of each task with its dependency caches, and refuses bad cache declarations naming the field', async () => {
    const file = path.join(tmp, 'caches.yaml');
    writeFileSync(file, [
      'defaults:',
      '  bootstrap: { setup: [npm, ci], caches: auto }',
      'tasks:',
      '  - { id: a, prompt: A }',
      '  - id: py',
      '    prompt: P',
      '    bootstrap:',
      '      setup: [sh, -c, "uv sync --frozen"]',
      '      caches: [{ dir: .venv, key: uv.lock }, { dir: web/node_modules, key: [web/package-lock.json] }]',
      '      setupAlways: true',
    ].join('\n'));
    const { code, lines } = await run(file);
    expect(code).toBe(0);
    expect(lines).toContain('bootstrap: setup npm ci; caches auto: node_modules ← package-lock.json | npm-shrinkwrap.json | pnpm-lock.yaml | yarn.lock; '
      + '.venv ← requirements*.txt | uv.lock | poetry.lock; target ← Cargo.lock, each when its lockfile exists (setup skipped when all are restored) (a)');
    expect(lines).toContain('bootstrap: setup sh -c uv sync --frozen; caches .venv ← uv.lock; web/node_modules ← web/package-lock.json (setup runs even when all are restored) (py)');
    const out = JSON.parse((await run(file, true)).lines[0]);
    expect(out.taskList[0].bootstrap).toEqual({ setup: ['npm', 'ci'], caches: 'auto', from: 'defaults' });
    expect(out.taskList[1].bootstrap).toMatchObject({ caches: [{ dir: '.venv', key: ['uv.lock'] }, { dir: 'web/node_modules', key: ['web/package-lock.json'] }], setupAlways: true, from: 'task' });

    const bad = path.join(tmp, 'bad-caches.yaml');
    writeFileSync(bad, [
      'tasks:',
      '  - id: a',
      '    prompt: A',
      '    bootstrap: { caches: auto }',
      '  - id: b',
      '    prompt: B',
      '    bootstrap: { setup: [x], caches: [{ dir: ../elsewhere, key: lock }] }',
      '  - id: c',
      '    prompt: C',
      '    bootstrap: { setup: [x], caches: [{ dir: nm }] }',
    ].join('\n'));
    const r = await run(bad);
    expect(r.code).toBe(2);
    expect(r.lines).toContain(`${bad}:2: tasks.0.bootstrap.caches: caches need a setup command (the one that produces the cached directories)`);
    expect(r.lines).toContain(`${bad}:5: tasks.1.bootstrap.caches.0.dir: "../elsewhere" must not contain ".."`);
    expect(r.lines).toContain(`${bad}:10: task "c": missing required field "bootstrap.caches.0.key"`);
  });

  it('takes --format and refuses an unknown one with exit 2', async () => {
    expect((await run(path.join(fixtures, 'speckit/tasks.md'), false, 'speckit')).code).toBe(0);
    const bad = await run(path.join(fixtures, 'speckit/tasks.md'), false, 'spec-kit');
    expect(bad.code).toBe(2);
    expect(bad.lines[1]).toBe('--format: unknown format "spec-kit" (expected native, gsd, speckit, tasks-dir)');
  });

  it('abbreviates long lists', () => {
    const ids = Array.from({ length: 12 }, (_, i) => `t${i + 1}`);
    expect(abbreviateIds(ids, 3)).toBe('t1, t2, t3, … (+9)');
    expect(abbreviateIds(ids.slice(0, 3), 3)).toBe('t1, t2, t3');
    expect(abbreviateChain(ids, 4)).toBe('t1 -> t2 -> … (8 more) -> t11 -> t12');
  });
});
