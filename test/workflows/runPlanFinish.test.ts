/**
 * Issue 17, the run side, against the real dev server: approval gates that survive a worker restart, failures that
 * look like failures (RunFailed / TaskFailed carrying the result), checks in verification, a task waiting for a
 * lock, and finishing a run after it ended.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { finishCarry } from '../../src/client/commands/finish';
import { agentResultOf, runResultOf } from '../../src/client/results';
import { importPlan } from '../../src/client/plans';
import { approveTaskUpdate, rejectTaskUpdate, runProgressQuery, type RunProgress } from '../../src/shared/messages';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import { commandTask, plan } from '../support/plans';
import { makeRepo, showFile } from '../support/repo';
import { createTestWorker, testDir, uniqueId, withWorker } from '../support/temporal';

async function until(get: () => Promise<RunProgress>, ok: (p: RunProgress) => boolean, what = 'condition'): Promise<RunProgress> {
  let last: RunProgress | undefined;
  for (let i = 0; i < 600; i++) {
    last = await get().catch(() => last);
    if (last && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not reached: ${JSON.stringify(last?.tasks.map((t) => `${t.id}:${t.status}`))}`);
}

const row = (p: RunProgress | RunPlanResult, id: string) => p.tasks.find((t) => t.id === id)!;

async function currentDetails(client: Client, id: string): Promise<string> {
  const meta = (await client.workflow.getHandle(id).query('__temporal_workflow_metadata')) as { currentDetails?: string };
  return meta.currentDetails ?? '';
}

describe('approval gates', () => {
  it('a gate task waits for approve, survives a worker restart while it waits, and the run completes', async () => {
    const repo = makeRepo();
    const tasks = [
      commandTask('build', 'echo built > built.txt'),
      commandTask('check', 'echo checked > checked.txt', { dependsOn: ['build'], gate: { kind: 'approval', prompt: 'Look at built.txt' } }),
      commandTask('ship', 'echo shipped > shipped.txt', { dependsOn: ['check'] }),
      commandTask('side', 'true'),
    ];
    const taskQueue = uniqueId('tq-gate');
    const stateDir = testDir('state-gate');
    const runId = uniqueId('gate');
    let handle: WorkflowHandle | undefined;
    await withWorker({ taskQueue, deps: { stateDir } }, async ({ client }) => {
      handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { maxConcurrency: 1 }) }] });
      const p = await until(() => handle!.query(runProgressQuery), (x) => row(x, 'check').status === 'waiting' && row(x, 'side').status === 'completed', 'gate waiting');
      // Waiting for a person holds no slot: with concurrency 1, `side` ran while `check` waited.
      expect(row(p, 'check').waiting).toBe('approval: Look at built.txt');
      expect(row(p, 'ship').status).toBe('pending');
      expect(await currentDetails(client, runId)).toContain(`check is waiting for approval (cadre approve|reject ${runId} check): Look at built.txt`);
      // Not merged before approval.
      expect(showFile(repo, p.integrationBranch!, 'built.txt')).toBe('built\n');
      expect(showFile(repo, p.integrationBranch!, 'checked.txt')).toBeUndefined();
      const early = await handle!.executeUpdate(approveTaskUpdate, { args: ['ship'] }).then(() => undefined, (e: Error) => e);
      expect((early?.cause as Error | undefined)?.message).toBe('task "ship" has no approval gate');
    });
    // The worker is gone; a new one takes over the waiting run.
    const next = await createTestWorker({ taskQueue, deps: { stateDir } });
    const result = await next.worker.runUntil(async () => {
      const h = next.client.workflow.getHandle(runId);
      expect(row(await h.query(runProgressQuery), 'check').status).toBe('waiting');
      expect(await h.executeUpdate(approveTaskUpdate, { args: ['check'] })).toBe('approved check');
      return runResultOf(h);
    });
    expect(result.status).toBe('completed');
    expect(result.tasks.map((t) => `${t.id}:${t.status}`)).toEqual(['build:completed', 'check:completed', 'ship:completed', 'side:completed']);
    expect(showFile(repo, result.integrationBranch, 'checked.txt')).toBe('checked\n');
    expect(showFile(repo, result.integrationBranch, 'shipped.txt')).toBe('shipped\n');
  });

  it('reject fails the task with the reason and blocks its dependents; the run fails as a failure', async () => {
    const repo = makeRepo();
    const tasks = [
      commandTask('check', 'true', { gate: { kind: 'approval', prompt: 'Is it right?' } }),
      commandTask('ship', 'true', { dependsOn: ['check'] }),
    ];
    const { result, failure } = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('reject');
      const h = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks) }] });
      await until(() => h.query(runProgressQuery), (x) => row(x, 'check').status === 'waiting');
      const noReason = await h.executeUpdate(rejectTaskUpdate, { args: ['check', ' '] }).then(() => undefined, (e: Error) => e);
      expect((noReason?.cause as Error | undefined)?.message).toBe('a rejection needs a reason');
      await h.executeUpdate(rejectTaskUpdate, { args: ['check', 'the login page is broken'] });
      const failure = await h.result().then(() => undefined, (e: unknown) => e);
      return { result: await runResultOf(h), failure };
    });
    expect(row(result, 'check')).toMatchObject({ status: 'failed', error: 'rejected: the login page is broken' });
    expect(row(result, 'ship')).toMatchObject({ status: 'blocked', blockedBy: ['check'] });
    // The workflow itself failed (the Web UI and `temporal workflow list` say FAILED), carrying the result.
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('RunFailed');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect(cause!.message).toMatch(/failed: 1 failed, 1 blocked/);
    expect(result.counts.failed + result.counts.blocked).toBe(2);
  });
});

describe('failures that look like failures', () => {
  it('a failed run and its failed task agent close as FAILED; readers get their results from the failure', async () => {
    const repo = makeRepo();
    const tasks = [commandTask('bad', 'exit 3'), commandTask('good', 'true')];
    const { run, agent, runStatus, agentStatus, result } = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('fail');
      const h = client.workflow.getHandle(runId);
      await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks) }] });
      const result = await runResultOf(h);
      return {
        result,
        run: await h.describe(),
        agent: await agentResultOf(client.workflow.getHandle(`${runId}/bad`)),
        runStatus: (await h.describe()).status.name,
        agentStatus: (await client.workflow.getHandle(`${runId}/bad`).describe()).status.name,
      };
    });
    expect(runStatus).toBe('FAILED');
    expect(agentStatus).toBe('FAILED');
    expect(run.type).toBe('runPlan');
    expect(result.status).toBe('failed');
    // The scheduler read the failed agent's result from its failure: the row has the agent's own error.
    expect(row(result, 'bad')).toMatchObject({ status: 'failed', error: expect.stringMatching(/^command exited 3/) });
    expect(row(result, 'good').status).toBe('completed');
    expect(agent.status).toBe('failed');
  });
});

describe('checks and status files', () => {
  it('a failing check fails the task with "checks failed: …", on the agent path and the inline path; status files use the seed-003 key', async () => {
    const repo = makeRepo();
    const statusDir = testDir('status-checks');
    const checks = [
      { kind: 'contains' as const, path: 'out.txt', text: 'hello' },
      { kind: 'exports' as const, path: 'lib.ts', name: 'run' },
    ];
    const tasks = [
      commandTask('good', 'echo hello > out.txt; echo "export function run() {}" > lib.ts', { checks, statusKey: '01-a/good' }),
      commandTask('bad', 'echo bye > out.txt', { checks, statusKey: '01-a/bad' }),
    ];
    const results = await withWorker({}, async ({ client, taskQueue }) => {
      const out: RunPlanResult[] = [];
      for (const inlineCommands of [false, true]) {
        const runId = uniqueId(inlineCommands ? 'chk-inline' : 'chk');
        await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { inlineCommands }), statusDir: join(statusDir, String(inlineCommands)) }] });
        out.push(await runResultOf(client.workflow.getHandle(runId)));
      }
      return out;
    });
    for (const r of results) {
      expect(row(r, 'good').status).toBe('completed');
      expect(row(r, 'bad').status).toBe('failed');
      expect(row(r, 'bad').error).toBe('checks failed: out.txt: does not contain "hello"; lib.ts: file does not exist');
    }
    for (const inline of ['false', 'true']) {
      const bad = JSON.parse(readFileSync(join(statusDir, inline, '01-a', 'bad.json'), 'utf8'));
      // The program exited 0; its checks failed after it.
      expect(bad).toMatchObject({ task_id: '01-a/bad', status: 'failed', exit_code: 0 });
      expect(existsSync(join(statusDir, inline, '01-a', 'good.json'))).toBe(true);
    }
  });
});

describe('finishing a run after it ended', () => {
  it('retry of an ended failed run runs the failed task again on the same integration branch, not the completed ones', async () => {
    const repo = makeRepo();
    const dir = testDir('finish');
    const flag = join(dir, 'fixed');
    const counter = join(dir, 'counter');
    const tasks = [
      commandTask('one', `echo one >> ${counter}; echo one > one.txt`),
      commandTask('two', `test -f ${flag} && echo two > two.txt`, { dependsOn: ['one'] }),
      commandTask('three', 'echo three > three.txt', { dependsOn: ['two'] }),
      commandTask('lone', 'exit 1'),
    ];
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('fin');
      const input: RunPlanInput = { runId, repo, plan: plan(tasks) };
      const h = client.workflow.getHandle(runId);
      await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [input] });
      const first = await runResultOf(h);
      expect(first.tasks.map((t) => `${t.id}:${t.status}`)).toEqual(['one:completed', 'two:failed', 'three:blocked', 'lone:failed']);
      // A blocked task whose blocker is still failed: refused, naming the blocker.
      expect(() => finishCarry(input, first, ['three'])).toThrow(/task "three" is blocked by "two", which is still failed: retry two instead/);
      expect(() => finishCarry(input, first, ['one'])).toThrow(/task "one" is completed/);
      writeFileSync(flag, 'yes');
      await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [input, finishCarry(input, first, ['two'])] });
      const second = await runResultOf(h);
      expect(second.tasks.map((t) => `${t.id}:${t.status}`)).toEqual(['one:completed', 'two:completed', 'three:completed', 'lone:failed']);
      expect(row(second, 'two')).toMatchObject({ attempts: 2, agentId: `${runId}/two~2` });
      expect(row(second, 'one').commit).toBe(row(first, 'one').commit);
      expect(second.integrationBranch).toBe(first.integrationBranch);
      expect(showFile(repo, second.integrationBranch, 'one.txt')).toBe('one\n');
      expect(showFile(repo, second.integrationBranch, 'three.txt')).toBe('three\n');
      expect(readFileSync(counter, 'utf8')).toBe('one\n'); // one did not run again
      expect(Object.values(second.counts).reduce((a, b) => a + b, 0)).toBe(tasks.length);
      // resume: every failed task again.
      appendFileSync(flag, '');
      const third = finishCarry(input, second, 'all');
      expect(third.retry).toBe('all');
      expect(() => finishCarry(input, { ...second, status: 'completed' }, 'all')).toThrow(/completed: there is nothing to retry/);
    });
  });

  it('a seed-003 tasks/ directory runs, is interrupted, and re-runs skipping the tasks its status files say are done', async () => {
    const repo = makeRepo();
    const dir = testDir('seed003');
    const counter = join(dir, 'counter');
    const release = join(dir, 'release');
    const statusDir = join(dir, 'status');
    const md = (front: string) => `---\n${front}\n---\n# task\n`;
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'tasks', '01-a'), { recursive: true });
    mkdirSync(join(dir, 'tasks', '02-b'), { recursive: true });
    writeFileSync(join(dir, 'tasks', '01-a', '01-one.md'), md(`dependencies: []\ncommand: ["sh", "-c", "echo one >> ${counter}"]`));
    writeFileSync(join(dir, 'tasks', '01-a', '02-two.md'), md(`dependencies: [01-a/01-one]\ncommand: ["sh", "-c", "echo two >> ${counter}; while [ ! -f ${release} ]; do sleep 0.1; done"]`));
    writeFileSync(join(dir, 'tasks', '02-b', '01-three.md'), md(`dependencies: [01-a/02-two]\ncommand: ["sh", "-c", "echo three >> ${counter}"]`));
    await withWorker({}, async ({ client, taskQueue }) => {
      const first = await importPlan(join(dir, 'tasks'), { statusDir });
      expect(first.plan.tasks.map((t) => `${t.id}:${t.done}`)).toEqual(['01-a.01-one:false', '01-a.02-two:false', '02-b.01-three:false']);
      const runId = uniqueId('s3');
      const h = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: first.plan, statusDir }] });
      await until(() => h.query(runProgressQuery), (p) => row(p, '01-a.02-two').status === 'running' && existsSync(counter) && readFileSync(counter, 'utf8').includes('two'));
      await h.cancel(); // interrupted
      await h.result().catch(() => undefined);
      expect((await h.describe()).status.name).not.toBe('RUNNING');
      expect(JSON.parse(readFileSync(join(statusDir, '01-a', '01-one.json'), 'utf8'))).toMatchObject({ task_id: '01-a/01-one', status: 'completed', exit_code: 0 });

      const again = await importPlan(join(dir, 'tasks'), { statusDir });
      expect(again.plan.tasks.map((t) => `${t.id}:${t.done}`)).toEqual(['01-a.01-one:true', '01-a.02-two:false', '02-b.01-three:false']);
      writeFileSync(release, 'go');
      const runId2 = uniqueId('s3b');
      await client.workflow.start('runPlan', { workflowId: runId2, taskQueue, args: [{ runId: runId2, repo, plan: again.plan, statusDir }] });
      const r = await runResultOf(client.workflow.getHandle(runId2));
      expect(r.tasks.map((t) => `${t.id}:${t.status}`)).toEqual(['01-a.01-one:skipped', '01-a.02-two:completed', '02-b.01-three:completed']);
    });
    // one ran once; two ran twice (interrupted, then again); three once.
    expect(readFileSync(counter, 'utf8').split('\n').filter(Boolean)).toEqual(['one', 'two', 'two', 'three']);
    expect(JSON.parse(readFileSync(join(statusDir, '02-b', '01-three.json'), 'utf8'))).toMatchObject({ task_id: '02-b/01-three', status: 'completed' });
  });
});

describe('waiting for a lock', () => {
  it('a task whose files another run holds is shown waiting and holds no slot; the lock rule is the lock manager\'s', async () => {
    const repo = makeRepo();
    const open = join(testDir('lockwait'), 'open');
    await withWorker({}, async ({ client, taskQueue }) => {
      const holderRun = uniqueId('hold');
      const holder = await client.workflow.start('runPlan', {
        workflowId: holderRun, taskQueue,
        args: [{ runId: holderRun, repo, plan: plan([commandTask('holder', `while [ ! -f ${open} ]; do sleep 0.1; done`, { files: ['src'] })]) }],
      });
      await until(() => holder.query(runProgressQuery), (p) => row(p, 'holder').status === 'running');
      const waiterRun = uniqueId('wait');
      const waiter = await client.workflow.start('runPlan', {
        workflowId: waiterRun, taskQueue,
        args: [{ runId: waiterRun, repo, plan: plan([commandTask('waiter', 'mkdir -p src; echo w > src/a.ts', { files: ['src/a.ts'], priority: 9 }), commandTask('free', 'true')], { maxConcurrency: 1 }) }],
      });
      // `src` (a directory) and `src/a.ts` overlap: the waiter waits, shown so, and `free` runs beside it at concurrency 1.
      const p = await until(() => waiter.query(runProgressQuery), (x) => row(x, 'free').status === 'completed', 'free completed');
      expect(row(p, 'waiter')).toMatchObject({ status: 'waiting', waiting: 'lock on src/a.ts' });
      writeFileSync(open, 'go');
      const r = await runResultOf(waiter);
      expect(r.status).toBe('completed');
      expect((await runResultOf(holder)).status).toBe('completed');
    });
  });
});
