/**
 * Issue 16, item 6: a used agent or run id never silently replays old work. The CLI (bin/cadre.js, built) refuses
 * it with exit 2 and says what to do; re-attaching to a running run is covered by test/cli and test/durability.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cadre } from '../support/cli';
import { makeRepo, showFile } from '../support/repo';
import { testAddress, testDir, uniqueId } from '../support/temporal';

function script(dir: string, name: string, file: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ turns: [{ tools: [{ write_file: { path: file, content: `${name}\n` } }] }, { tools: [{ finish: { summary: name } }] }] }));
  return path;
}

describe('item 6: reusing a finished id is refused, never a silent replay', () => {
  it('cadre agent "new goal" --id p1 for a finished p1: exit 2, says to pick a new id; the old branch is untouched', async () => {
    const repo = makeRepo();
    const dir = testDir('idreuse');
    const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('cli-state') };
    const id = uniqueId('p1');
    const first = await cadre(['agent', 'first goal', '--id', id, '--repo', repo, '--backend', 'scripted', '--script', script(dir, 'first', 'first.txt')], env);
    expect(first.code, first.stderr).toBe(0);
    const again = await cadre(['agent', 'new goal', '--id', id, '--repo', repo, '--backend', 'scripted', '--script', script(dir, 'second', 'second.txt')], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`agent id "${id}" already ran (completed)`);
    expect(again.stderr).toMatch(/give the new goal a new id \(e\.g\. --id \S+-2\) or leave out --id/);
    expect(showFile(repo, `cadre/${id}`, 'first.txt')).toBe('first\n');
    expect(showFile(repo, `cadre/${id}`, 'second.txt')).toBeUndefined();
  }, 120_000);

  it('cadre run --run-id X twice: the second is refused with exit 2 and a way forward', async () => {
    const repo = makeRepo();
    const dir = testDir('runreuse');
    mkdirSync(dir, { recursive: true });
    const planFile = join(dir, 'plan.yaml');
    writeFileSync(planFile, 'name: reuse\ntasks:\n  - id: t1\n    title: touch\n    backend: command\n    command: ["touch", "t1.txt"]\n');
    const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('cli-state') };
    const runId = uniqueId('X');
    const first = await cadre(['run', planFile, '--repo', repo, '--run-id', runId], env);
    expect(first.code, first.stderr).toBe(0);
    const again = await cadre(['run', planFile, '--repo', repo, '--run-id', runId], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`run id "${runId}" already ran (completed)`);
    expect(again.stderr).toContain('start a new run with another --run-id');
  }, 120_000);
});
