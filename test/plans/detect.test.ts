/** Which format a path is: the content sniffer, --format, and the seeds' own .txt files. */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PlanError } from '../../src/client/plans/errors';
import { repairEscapes, parseLenient } from '../../src/client/plans/lenientYaml';
import { detectPlan, importPlan, loadPlan, parseFormat } from '../../src/client/plans/load';
import { sniffText } from '../../src/client/plans/sniff';

const fixtures = path.resolve(__dirname, '../fixtures/plans');
const tmp = mkdtempSync(path.join(tmpdir(), 'cadre-detect-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The seed documents, as our fixtures hold them (identical copies), under the seeds' own .txt names. */
const seedCopies: Record<string, string> = {
  '000_83945996fcbd498f.txt': path.join(fixtures, 'gsd/.planning/phases/15-agent-orchestration/15-01-PLAN.md'),
  '002_c55171e07a835c2b.txt': path.join(fixtures, 'speckit/tasks.md'),
  '004_3ecc6cc414820894.txt': path.join(fixtures, 'gsd/.planning/phases/02-agent-definitions-and-dag-scheduler/02-03-PLAN.md'),
};
const seeds = path.join(tmp, 'seeds');
mkdirSync(seeds);
for (const [name, from] of Object.entries(seedCopies)) copyFileSync(from, path.join(seeds, name));
writeFileSync(path.join(seeds, '003_protocol.txt'), '# Task Orchestration Protocol\n\nEach task has a status file: `workspace/status/{task_id}.json`\n\n### Phase 1: Analysis Complete When\n');

describe('content sniffing', () => {
  it('imports the seeds\' .txt files by what they contain', async () => {
    const p000 = await importPlan(path.join(seeds, '000_83945996fcbd498f.txt'));
    expect(p000.plan.source.format).toBe('gsd');
    expect(p000.plan.tasks.map((t) => [t.id, t.phase])).toEqual([['15-01', '15-agent-orchestration']]);
    const p002 = await loadPlan(path.join(seeds, '002_c55171e07a835c2b.txt'));
    expect([p002.source.format, p002.tasks.length]).toEqual(['speckit', 112]);
    // Seed 004 alone, outside any .planning tree: its dependency cannot be seen, so it is a warning.
    const p004 = await importPlan(path.join(seeds, '004_3ecc6cc414820894.txt'));
    expect(p004.plan.tasks.map((t) => [t.id, t.dependsOn])).toEqual([['02-03', []]]);
    expect(p004.warnings.map((w) => [w.line, w.message])).toEqual([[6, 'plan "02-03" depends on "02-02", which is not in this import (no .planning/phases around it); ignored']]);
  });

  it('refuses a document that is not a plan (seed 003 is the protocol, not tasks) with the choices', async () => {
    const err = (await loadPlan(path.join(seeds, '003_protocol.txt')).catch((e: unknown) => e)) as PlanError;
    expect(err).toBeInstanceOf(PlanError);
    expect(err.message).toMatch(/003_protocol\.txt: not a plan: .*\(or give --format\)$/);
  });

  it.skipIf(!existsSync('/work/shared/seeds'))('imports the real seed files where they are', async () => {
    for (const name of Object.keys(seedCopies)) expect((await loadPlan(path.join('/work/shared/seeds', name))).tasks.length).toBeGreaterThan(0);
  });

  it('tells a GSD plan from a GSD summary, spec-kit and native YAML apart', () => {
    expect(sniffText('---\nphase: 01-a\nplan: 01\n---\n<objective>\nX\n</objective>\n')).toBe('gsd');
    expect(sniffText('---\nphase: 01-a\nplan: 01\nprovides: [x]\n---\n# Summary\n')).toBeUndefined();
    expect(sniffText('# Plan\n\n```yaml\nphase: 01-a\ndepends_on: []\n```\n\n<objective>\nX\n</objective>\n')).toBe('gsd');
    expect(sniffText('| T001 | Do it | [ ] |')).toBe('speckit');
    expect(sniffText('tasks:\n  - id: a\n    prompt: A\n')).toBe('native');
    expect(sniffText('just some notes')).toBeUndefined();
  });
});

describe('--format', () => {
  it('skips detection: a .txt read as native, a directory read as tasks/', async () => {
    const file = path.join(tmp, 'plan.txt');
    writeFileSync(file, 'name: txt\ntasks:\n  - id: a\n    prompt: A\n');
    expect((await loadPlan(file, { format: 'native' })).name).toBe('txt');
    const plan = await loadPlan(path.join(fixtures, 'tasks-dir'), { format: 'tasks-dir' });
    expect(plan.tasks).toHaveLength(4);
  });

  it('names the choices for an unknown format', () => {
    expect(() => parseFormat('kitty')).toThrow('--format: unknown format "kitty" (expected native, gsd, speckit, tasks-dir)');
    expect(parseFormat('gsd')).toBe('gsd');
  });

  it('detects a phase directory and a plan loose in phases/ as GSD', async () => {
    const loose = path.join(fixtures, 'gsd-quirks/.planning/phases/04-01-PLAN.md');
    expect(await detectPlan(loose)).toEqual({ format: 'gsd', path: loose });
    // Alone, its dependencies are outside the import and not done: refused, naming both.
    const err = (await loadPlan(loose).catch((e: unknown) => e)) as PlanError;
    expect(err.issues.map((i) => [i.line, i.ids])).toEqual([
      [4, ['04-01', '02-01']],
      [4, ['04-01', '03-ui']],
    ]);
  });
});

describe('lenient front matter', () => {
  it('repairs only invalid escapes inside double quotes', () => {
    expect(repairEscapes('pattern: "\\.claude.*skills"')).toBe('pattern: "\\\\.claude.*skills"');
    expect(repairEscapes('ok: "tab\\there \\"q\\" \\\\ done"')).toBe('ok: "tab\\there \\"q\\" \\\\ done"');
    expect(repairEscapes("single: '\\.x'")).toBe("single: '\\.x'");
  });

  it('falls back per key: critical keys are errors, others warnings, the rest is kept', () => {
    const r = parseLenient('wave: 2\nnotes: [unclosed\ndepends_on: ["01"]\n', 2, ['depends_on', 'wave']);
    expect(r.data).toEqual({ wave: 2, depends_on: ['01'] });
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => [w.line])).toEqual([[3]]);
    expect(r.lineOf(['depends_on', 0])).toBe(4);
    const bad = parseLenient('depends_on: ["01\nwave: 1\n', 2, ['depends_on']);
    expect(bad.data).toEqual({ wave: 1 });
    expect(bad.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^invalid front matter in "depends_on": /)]);
  });
});
