/**
 * State kept in the run's remote (src/activities/remoteState.ts): saved by one host, restored by another that has
 * never seen it, replaced by the next save, absent until the first.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { restoreState, saveState, stateRef } from '../../src/activities/remoteState';
import { testDir } from '../support/temporal';

function setup() {
  const root = testDir('remote-state');
  const remote = join(root, 'app.git');
  execFileSync('git', ['init', '-q', '--bare', remote]);
  const src = join(root, 'src');
  fs.mkdirSync(join(src, 'sub'), { recursive: true });
  return { root, remote, src };
}

describe('state kept in the remote', () => {
  it('is restored on another host with its directories, and a later save replaces it', async () => {
    const { root, remote, src } = setup();
    fs.writeFileSync(join(src, 'transcript.jsonl'), 'turn 1\n');
    fs.writeFileSync(join(src, 'sub', 'session.json'), '{"id":1}');
    const first = await saveState(join(root, 'h1'), remote, 'run-1.t1/transcript', src);
    fs.writeFileSync(join(src, 'transcript.jsonl'), 'turn 1\nturn 2\n');
    fs.rmSync(join(src, 'sub'), { recursive: true });
    const second = await saveState(join(root, 'h1'), remote, 'run-1.t1/transcript', src);
    expect(second).not.toBe(first);

    const out = join(root, 'h2-out');
    expect(await restoreState(join(root, 'h2'), remote, 'run-1.t1/transcript', out)).toBe(second);
    expect(fs.readFileSync(join(out, 'transcript.jsonl'), 'utf8')).toBe('turn 1\nturn 2\n');
    // The second save had no sub/: the ref holds the last checkpoint only, not a union of all.
    expect(fs.existsSync(join(out, 'sub'))).toBe(false);
    // No parents: nothing piles up in the remote.
    expect(execFileSync('git', ['-C', remote, 'rev-list', '--count', stateRef('run-1.t1/transcript')]).toString().trim()).toBe('1');
  });

  it('restores nothing before the first save, and leaves the directory alone', async () => {
    const { root, remote } = setup();
    const out = join(root, 'out');
    expect(await restoreState(join(root, 'h2'), remote, 'never-saved', out)).toBeUndefined();
    expect(fs.existsSync(out)).toBe(false);
  });

  it('saves only the files the filter keeps', async () => {
    const { root, remote, src } = setup();
    fs.writeFileSync(join(src, 'keep.jsonl'), 'x');
    fs.writeFileSync(join(src, 'sub', 'cache.bin'), 'y');
    await saveState(join(root, 'h1'), remote, 'k', src, (rel) => !rel.startsWith('sub/'));
    const out = join(root, 'out');
    await restoreState(join(root, 'h2'), remote, 'k', out);
    expect(fs.readdirSync(out)).toEqual(['keep.jsonl']);
  });

  it('makes keys safe ref names', () => {
    expect(stateRef('run 1/../a.lock')).toBe('refs/cadre/state/run-1/_/a');
    expect(() => execFileSync('git', ['check-ref-format', stateRef('a b/.c/d..e')])).not.toThrow();
  });

  it('fails with the remote named when the remote cannot be reached', async () => {
    const { root, src } = setup();
    await expect(saveState(join(root, 'h1'), join(root, 'missing.git'), 'k', src)).rejects.toThrow(/missing\.git/);
  });
});
