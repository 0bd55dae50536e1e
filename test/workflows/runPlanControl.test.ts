import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cancelTaskUpdate, pauseRunUpdate, resumeRunUpdate, runProgressQuery, setConcurrencyUpdate, type RunProgress } from '../../src/shared/messages';
import type { AgentResult } from '../../src/shared/agent';
import { commandTask, plan } from '../support/plans';
import { makeRepo, showFile } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { runResultOf } from '../../src/client/results';

async function until(get: () => Promise<RunProgress>, ok: (p: RunProgress) => boolean): Promise<RunProgress> {
  for (let i = 0; i < 400; i++) {
    const p = await get();
    if (ok(p)) return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not reached');
}

describe('runPlan operator control and reporting', () => {
  it('pause holds new tasks, resume releases them, concurrency can change, a task can be cancelled', async () => {
    const repo = makeRepo();
    const gate = join(testDir('gate'), 'open');
    const tasks = [
      commandTask('first', `while [ ! -f ${gate} ]; do sleep 0.1; done`),
      commandTask('second', 'echo 2 > two.txt', { dependsOn: ['first'] }),
      commandTask('third', 'echo 3 > three.txt', { dependsOn: ['first'] }),
      commandTask('doomed', 'sleep 60'),
      commandTask('after-doomed', 'true', { dependsOn: ['doomed'] }),
    ];
    const result = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('ctl');
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks) }] });
      const q = () => handle.query(runProgressQuery);
      await until(q, (p) => p.tasks.find((t) => t.id === 'doomed')!.status === 'running');
      expect(await handle.executeUpdate(cancelTaskUpdate, { args: ['doomed'] })).toBe('cancelling doomed');
      await handle.executeUpdate(pauseRunUpdate);
      expect((await q()).status).toBe('paused');
      expect(await handle.executeUpdate(setConcurrencyUpdate, { args: [1] })).toBe(1);
      const bad = await handle.executeUpdate(setConcurrencyUpdate, { args: [0] }).then(() => undefined, (e: Error) => e);
      expect((bad?.cause as Error | undefined)?.message).toMatch(/positive integer, got 0/);
      writeFileSync(gate, 'open');
      const paused = await until(q, (p) => p.tasks.find((t) => t.id === 'first')!.status === 'completed');
      await new Promise((r) => setTimeout(r, 1000));
      // Paused: nothing new started even though second and third are ready.
      expect((await q()).tasks.filter((t) => ['second', 'third'].includes(t.id)).map((t) => t.status)).toEqual(['pending', 'pending']);
      expect(paused.maxConcurrency).toBe(1);
      await handle.executeUpdate(resumeRunUpdate);
      return await runResultOf(handle);
    });
    const st = Object.fromEntries(result.tasks.map((t) => [t.id, t.status]));
    expect(st).toEqual({ first: 'completed', second: 'completed', third: 'completed', doomed: 'cancelled', 'after-doomed': 'blocked' });
    // Concurrency 1 after resume: second and third did not overlap.
    const [s, t] = ['second', 'third'].map((id) => result.tasks.find((x) => x.id === id)!);
    expect(s!.endedAt! <= t!.startedAt! || t!.endedAt! <= s!.startedAt!).toBe(true);
    expect(result.status).toBe('failed');
  });

  it('reports a merge conflict by file, times out a slow task, and mirrors seed-003 status files', async () => {
    const repo = makeRepo({ 'shared.txt': 'base\n' });
    const statusDir = testDir('status');
    const tasks = [
      commandTask('left', 'echo left > shared.txt', { priority: 9 }),
      commandTask('right', 'sleep 1; echo right > shared.txt', { priority: 1 }),
      commandTask('slow', 'sleep 30', { timeoutSeconds: 2 }),
    ];
    const result = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('conf');
      return await runResultOf(await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks), statusDir }] }));
    });
    const row = (id: string) => result.tasks.find((t) => t.id === id)!;
    expect(row('left').status).toBe('completed');
    expect(row('right').status).toBe('failed');
    expect(row('right').error).toBe('merge conflict in shared.txt');
    expect(showFile(repo, result.integrationBranch, 'shared.txt')).toBe('left\n');
    expect(row('slow').status).toBe('failed');
    expect(row('slow').error).toBe('timed out after 2 s');
    expect(existsSync(join(statusDir, 'left.json'))).toBe(true);
    const left = JSON.parse(readFileSync(join(statusDir, 'left.json'), 'utf8'));
    expect(left).toMatchObject({ task_id: 'left', status: 'completed', exit_code: 0, outputs_validated: true });
    expect(typeof left.duration_seconds).toBe('number');
    expect(JSON.parse(readFileSync(join(statusDir, 'right.json'), 'utf8'))).toMatchObject({ task_id: 'right', status: 'failed', error: 'merge conflict in shared.txt' });
  });

  it('a task declaring the same file as a running one starts only after that one is merged, and branches from its work', async () => {
    const repo = makeRepo();
    const tasks = [
      commandTask('first', 'sleep 0.5; echo first > notes.txt', { files: ['notes.txt'], priority: 9 }),
      commandTask('second', 'echo second >> notes.txt', { files: ['notes.txt'], priority: 1 }),
      // Independent tasks ending around the first one's merge wake the scheduler while that merge is in flight.
      ...Array.from({ length: 4 }, (_, i) => commandTask(`noise${i}`, `sleep 0.${5 + i}`, { priority: 5 })),
    ];
    const result = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('race');
      return await runResultOf(await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks) }] }));
    });
    expect(result.status).toBe('completed');
    expect(showFile(repo, result.integrationBranch, 'notes.txt')).toBe('first\nsecond\n');
  });

  it('only budget taken from the plan\'s pool goes back to it', async () => {
    const repo = makeRepo();
    const tasks = [
      commandTask('rich', 'true', { budget: { tokens: 100_000 } }),
      commandTask('pooled', 'true', { dependsOn: ['rich'] }),
    ];
    const allocated = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('pool');
      await client.workflow.execute('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { budget: { tokens: 1_000 } }) }] });
      const pooled = (await client.workflow.getHandle(`${runId}/pooled`).result()) as AgentResult;
      return pooled.tree!.allocated;
    });
    expect(allocated.tokens).toBe(1_000);
  });
});
