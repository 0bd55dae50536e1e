import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCommandTaskActivity } from '../../src/activities/commandTask';
import { createWorkspaceActivities } from '../../src/activities/workspaceActivities';
import { inActivityContext } from '../support/activityContext';
import { makeRepo, showFile, worktreesOutsidePool } from '../support/repo';
import { tmp } from '../support/tmp';

/** A command agent's workspace and its one-activity ending, with a counter file that records each program run. */
async function setup(agentId: string) {
  const repo = makeRepo();
  const stateDir = tmp('state');
  const counter = path.join(tmp('counter'), 'runs');
  const acts = createWorkspaceActivities({ stateDir, worktreePool: 0 });
  const { runCommandTask } = createCommandTaskActivity(stateDir, acts);
  const ws = await inActivityContext(() => acts.createWorkspace({ repo, agentId, baseRef: 'main' })).result;
  const argv = ['sh', '-c', `echo run >> ${counter}; echo built > out.txt`];
  const input = { agentId, repo, workspace: ws, argv, timeoutSeconds: 60 };
  const inRun = (run: string, extra: Partial<typeof input> & { outputs?: string[]; verify?: string[]; attempt?: number; keep?: boolean } = {}) =>
    inActivityContext(() => runCommandTask({ ...input, ...extra }), { workflowExecution: { workflowId: agentId, runId: run } }).result;
  const runs = () => (fs.existsSync(counter) ? fs.readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0);
  return { repo, stateDir, ws, inRun, runs };
}

describe('the one-activity command task', () => {
  it('runs the program, commits its work, reports the changed files and removes the worktree', async () => {
    const { repo, ws, inRun, runs } = await setup('run-1/build');
    const r = await inRun('r1');
    expect(r.outcome).toMatchObject({ ok: true, exitCode: 0 });
    expect(r.files).toEqual(['out.txt']);
    expect(r.verifyError).toBeUndefined();
    expect(showFile(repo, ws.branch, 'out.txt')).toBe('built\n');
    expect(fs.existsSync(ws.path)).toBe(false);
    expect(worktreesOutsidePool(repo)).toHaveLength(1);
    expect(runs()).toBe(1);
  });

  it('keep (review): a passing attempt keeps its worktree, without a diff; a failing one is ended as before', async () => {
    const { repo, ws, inRun, runs } = await setup('run-1/keep');
    const r = await inRun('r1', { attempt: 1, keep: true });
    expect(r).toMatchObject({ kept: true, files: [] });
    expect(r.failure).toBeUndefined();
    expect(showFile(repo, ws.branch, 'out.txt')).toBe('built\n');
    expect(fs.existsSync(ws.path)).toBe(true);
    // The same attempt again finds its record, and the worktree stays.
    expect(await inRun('r1', { attempt: 1, keep: true })).toEqual(r);
    expect(fs.existsSync(ws.path)).toBe(true);
    const failed = await inRun('r1', { attempt: 2, keep: true, outputs: ['missing.txt'] });
    expect(failed.kept).toBeUndefined();
    expect(failed.verifyError).toBe('missing outputs: missing.txt');
    expect(fs.existsSync(ws.path)).toBe(false);
    expect(runs()).toBe(2);
  });

  it('a second attempt of the same workflow run returns the recorded result without running the program again', async () => {
    const { inRun, runs } = await setup('run-1/again');
    const first = await inRun('r1');
    const second = await inRun('r1');
    expect(second).toEqual(first);
    expect(runs()).toBe(1);
  });

  it('an attempt that died after the program exited goes on from the commit, without running it again', async () => {
    const { repo, stateDir, ws, inRun, runs } = await setup('run-1/resume');
    // What the first attempt leaves when its worker dies right after the program: its work and the recorded outcome.
    fs.writeFileSync(path.join(ws.path, 'out.txt'), 'from the first attempt\n');
    fs.mkdirSync(path.join(stateDir, 'logs'), { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'logs', 'run-1.resume.task.json'), JSON.stringify({ run: 'r1', outcome: { ok: true, exitCode: 0, tail: '' } }));
    const r = await inRun('r1');
    expect(runs()).toBe(0);
    expect(r.files).toEqual(['out.txt']);
    expect(showFile(repo, ws.branch, 'out.txt')).toBe('from the first attempt\n');
    expect(fs.existsSync(ws.path)).toBe(false);
  });

  it('a record from another workflow run is ignored: the program runs', async () => {
    const { stateDir, inRun, runs } = await setup('run-1/other');
    fs.mkdirSync(path.join(stateDir, 'logs'), { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'logs', 'run-1.other.task.json'), JSON.stringify({ run: 'old', outcome: { ok: false, exitCode: 3, tail: '', timedOut: false } }));
    const r = await inRun('r2');
    expect(r.outcome.ok).toBe(true);
    expect(runs()).toBe(1);
  });

  it('names the missing outputs and a failed verification, and still keeps the work', async () => {
    const missing = await setup('run-1/outputs');
    const r1 = await missing.inRun('r1', { outputs: ['out.txt', 'dist/app.js'] });
    expect(r1.verifyError).toBe('missing outputs: dist/app.js');
    expect(showFile(missing.repo, missing.ws.branch, 'out.txt')).toBe('built\n');

    const verify = await setup('run-1/verify');
    const r2 = await verify.inRun('r1', { verify: ['sh', '-c', 'echo nope; exit 4'] });
    expect(r2.verifyError).toMatch(/^verify failed \(exit 4\): nope/);
  });

  it('a failing program is a result, not an error: its exit code and output tail come back, its work is committed', async () => {
    const { repo, ws, inRun } = await setup('run-1/fails');
    const r = await inRun('r1', { argv: ['sh', '-c', 'echo partial > out.txt; echo broken >&2; exit 2'] });
    expect(r.outcome).toMatchObject({ ok: false, exitCode: 2, timedOut: false });
    expect(r.outcome.tail).toContain('broken');
    expect(showFile(repo, ws.branch, 'out.txt')).toBe('partial\n');
  });

  it('refuses bad input by name, without running anything', async () => {
    const { inRun, runs } = await setup('run-1/bad');
    await expect(inRun('r1', { timeoutSeconds: -1 })).rejects.toThrow(/runCommandTask: .*timeoutSeconds/s);
    expect(runs()).toBe(0);
  });
});
