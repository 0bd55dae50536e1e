/**
 * `cadre gc` killed with SIGKILL in the middle of removing orphaned worktrees, at the moment it has just written its
 * first rescue ref: every worktree's unsaved work must be either still in its worktree or on a rescue ref, and a
 * second `cadre gc` finishes the job with everything on rescue refs.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listRescues } from '../../src/activities/rescue';
import { createWorkspace } from '../../src/activities/workspace';
import { cadre, cadreBin, cliEnv, root } from '../support/cli';
import { git, makeRepo } from '../support/repo';
import { testAddress, testDir, uniqueId } from '../support/temporal';

const COUNT = 12;

/** Which worktrees' work (`work-<i>.txt` with content `work <i>`) is on some rescue ref. */
async function rescued(repo: string): Promise<Set<number>> {
  const found = new Set<number>();
  for (const r of await listRescues(repo)) {
    for (let i = 0; i < COUNT; i++) {
      try {
        if (git(repo, 'show', `${r.commit}:work-${i}.txt`) === `work ${i}`) found.add(i);
      } catch {
        // not in this rescue
      }
    }
  }
  return found;
}

describe('cadre gc killed mid-removal', () => {
  it('leaves every worktree either in place or saved on a rescue ref, and a second gc saves the rest', async () => {
    const repo = makeRepo();
    const stateDir = testDir('gccrash-state');
    const runId = uniqueId('gccrash');
    const dirs: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const ws = await createWorkspace({ stateDir, repo, agentId: `${runId}/a${i}`, baseRef: 'main', worktreePool: 0 });
      fs.writeFileSync(path.join(ws.path, `work-${i}.txt`), `work ${i}\n`);
      dirs.push(ws.path);
    }
    const env = cliEnv({ TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: stateDir });
    const rescueDir = path.join(repo, '.git', 'refs', 'cadre', 'rescue');

    const child = spawn(process.execPath, [cadreBin, 'gc', '--repo', repo], { env, cwd: root, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    // Poll for the first loose rescue ref: the window between saving a worktree and removing it.
    const killedAt = await new Promise<string>((res) => {
      const timer = setInterval(() => {
        if (fs.existsSync(rescueDir)) {
          clearInterval(timer);
          child.kill('SIGKILL');
          res('after the first rescue ref');
        }
      }, 1);
      child.on('exit', () => {
        clearInterval(timer);
        res('never: gc ended first');
      });
    });
    expect(killedAt).toBe('after the first rescue ref');
    expect(await exited).toBe('SIGKILL');

    const saved = await rescued(repo);
    const inPlace = dirs.map((d, i) => fs.existsSync(path.join(d, `work-${i}.txt`)));
    for (let i = 0; i < COUNT; i++) expect({ i, kept: saved.has(i) || inPlace[i] }).toEqual({ i, kept: true });
    expect(inPlace.filter(Boolean).length).toBeGreaterThan(0); // the kill did come mid-gc

    const again = await cadre(['gc', '--repo', repo], { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: stateDir }, 180_000);
    expect(again.code).toBe(0);
    expect(await rescued(repo)).toEqual(new Set(Array.from({ length: COUNT }, (_, i) => i)));
    for (const d of dirs) expect(fs.existsSync(d)).toBe(false);
  }, 240_000);
});
