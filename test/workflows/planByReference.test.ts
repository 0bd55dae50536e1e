/**
 * Everything by reference (issue 21): the plan travels as a git blob of the run's repository, the scheduler reads
 * its index page by page, long prompts reach their agents by reference, and a task table too large for one payload
 * crosses continue-as-new and the run's end as a chain of chunks. So no payload of any event grows with the plan:
 * the largest stays under PAYLOAD_BOUND for 100 tasks and for 10,000 alike, and a 3.3 MB plan starts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { createBlobStore } from '../../src/activities/blobs';
import { storePlan } from '../../src/client/planRef';
import { runResultOf } from '../../src/client/results';
import { blobRefName, type BlobRef } from '../../src/shared/blobs';
import type { AgentInput } from '../../src/shared/agent';
import { pauseRunUpdate, runProgressQuery } from '../../src/shared/messages';
import type { Plan } from '../../src/shared/plan';
import type { RunPlanInput } from '../../src/shared/run';
import { cadre } from '../support/cli';
import { commandTask, plan } from '../support/plans';
import { git, makeRepo } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { payloadSizes, runsOf } from '../durability/support/history';

/** The bound every payload of a run keeps, whatever the plan's size (docs/architecture.md, "Payload bounds"). */
const PAYLOAD_BOUND = 64 * 1024;
const TWO_MB = 2 * 1024 * 1024;

const id = (i: number) => `t${String(i).padStart(5, '0')}`;

/**
 * `n` tasks: the first half already done in the source (skipped: their rows are what a carry must take along),
 * the second half fast commands (each a child agent workflow) in waves of 100 (task i depends on task i-100).
 */
function bigPlan(n: number, extra: Partial<Plan> = {}): Plan {
  const half = n / 2;
  const tasks = Array.from({ length: n }, (_, i) =>
    i < half
      ? commandTask(id(i), 'true', { title: `done task ${i}`, done: true })
      : commandTask(id(i), `echo ${i} > f${i}.txt`, { title: `task ${i}`, prompt: `write f${i}.txt`, dependsOn: i - 100 >= half ? [id(i - 100)] : [] }),
  );
  return plan(tasks, { name: `big-${n}`, maxConcurrency: 4, ...extra });
}

async function until(what: string, check: () => Promise<boolean>, ms = 240_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Ends a run that has work left without finishing it: pause (nothing new starts), let what runs end, then cancel
 * (the pending rest is cancelled). A cancel while a task's merge is under way is another test's subject.
 */
async function pauseThenCancel(handle: WorkflowHandle): Promise<void> {
  await handle.executeUpdate(pauseRunUpdate);
  await until('running tasks to end', async () => {
    // Right after a continue-as-new the new run reads the plan first: its counts are all zero until then.
    const q = await handle.query(runProgressQuery).catch(() => undefined);
    return q !== undefined && q.tasks.length + q.counts.skipped > 0 && q.counts.running === 0 && q.counts.waiting === 0;
  });
  await handle.cancel();
}

/** Starts `p` by reference, waits for `completed` tasks and a continue-as-new, cancels, and measures every payload. */
async function runAndMeasure(client: Client, taskQueue: string, repo: string, p: Plan, completed: number) {
  const runId = uniqueId('byref');
  const input: RunPlanInput = { runId, repo, ...(await storePlan(repo, p, 'test')), continueAsNewEvery: 3 };
  const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [input] });
  let progressBytes = 0;
  const first = (await handle.describe()).runId;
  await until(`${completed} completed tasks and a continue-as-new`, async () => {
    if ((await client.workflow.getHandle(runId).describe()).runId === first) return false;
    const q = await client.workflow.getHandle(runId).query(runProgressQuery).catch(() => undefined);
    if (!q) return false;
    progressBytes = Math.max(progressBytes, Buffer.byteLength(JSON.stringify(q)));
    return q.counts.completed >= completed;
  });
  const progress = await client.workflow.getHandle(runId).query(runProgressQuery);
  await pauseThenCancel(handle);
  const result = await runResultOf(handle);
  const runs = await runsOf(client, runId);
  // Every run replays against the current workflow code (no nondeterminism in paging, chains or bounds).
  const replays = Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') } }, runs.map((r) => ({ workflowId: r.workflowId, history: { events: r.events } })));
  const replayErrors: string[] = [];
  for await (const r of replays) if (r.error) replayErrors.push(`${r.workflowId}: ${r.error.message}`);
  return { input, result, sizes: payloadSizes(runs), progress, progressBytes, replayErrors };
}

describe('a plan by reference', () => {
  it('a 10,000-task plan starts, schedules, continues as new, and no payload grows with it', async () => {
    const repo = makeRepo();
    await withWorker({}, async ({ client, taskQueue }) => {
      const small = await runAndMeasure(client, taskQueue, repo, bigPlan(100), 4);
      const big = await runAndMeasure(client, taskQueue, repo, bigPlan(10_000), 4);
      const planBytes = Buffer.byteLength(JSON.stringify(bigPlan(10_000)));
      for (const [name, r] of [['100', small], ['10,000', big]] as const) {
        console.log(
          `[plan by reference] ${name} tasks: plan ${(Buffer.byteLength(JSON.stringify(name === '100' ? bigPlan(100) : bigPlan(10_000))) / 1024).toFixed(0)} KB, ` +
            `${r.sizes.runs} run(s), ${r.sizes.events} events, largest payload ${(r.sizes.largestPayloads / 1024).toFixed(1)} KB at ${r.sizes.largestAt}, ` +
            `largest event ${(r.sizes.largestEvent / 1024).toFixed(1)} KB, progress answer ≤ ${(r.progressBytes / 1024).toFixed(1)} KB, result ${(Buffer.byteLength(JSON.stringify(r.result)) / 1024).toFixed(1)} KB`,
        );
        expect(r.replayErrors).toEqual([]);
        expect(r.sizes.runs).toBeGreaterThan(1); // continued as new at least once
        expect(r.result.status).toBe('cancelled');
        expect(r.result.counts.completed).toBeGreaterThanOrEqual(4);
        expect(r.sizes.largestPayloads).toBeLessThan(PAYLOAD_BOUND);
        expect(r.sizes.largestEvent).toBeLessThan(PAYLOAD_BOUND + 8 * 1024);
        expect(r.progressBytes).toBeLessThan(PAYLOAD_BOUND);
      }
      expect(planBytes).toBeGreaterThan(TWO_MB / 2);
      // The input is the reference: the same size for 100 tasks as for 10,000.
      expect(Math.abs(JSON.stringify(big.input).length - JSON.stringify(small.input).length)).toBeLessThan(16);
      // The 10,000-task run's counts are whole; its result and its progress answer hold the rows that matter.
      expect(big.result.counts.skipped).toBe(5_000);
      expect(big.result.counts.cancelled + big.result.counts.completed + big.result.counts.skipped).toBe(10_000);
      expect(big.result.tableRef).toBeDefined();
      expect(big.progress.tasksOmitted).toBeGreaterThan(0);
      expect(big.progress.tasks.some((t) => t.status === 'completed' || t.status === 'skipped')).toBe(false);
      // The small run's result and progress are whole, as before.
      expect(small.result.tableRef).toBeUndefined();
      expect(small.result.tasks).toHaveLength(100);
      // The whole table of the big run is in its chain, readable by the client (cadre retry|resume).
      const { resultRows } = await import('../../src/client/planRef');
      const rows = await resultRows(big.result);
      expect(rows).toHaveLength(10_000);
      expect(rows.filter((r) => r.status === 'completed').length).toBe(big.result.counts.completed);
    });
  }, 600_000);

  it('a 3.3 MB plan of long prompts starts; each agent gets its prompt by reference', async () => {
    const repo = makeRepo();
    // 300 tasks of 11,000-character prompts: 3.3 MB, which could not start as workflow input.
    const prompt = (i: number) => `Task ${i}. ${'Describe the change in detail. '.repeat(360)}`.slice(0, 11_000);
    const p = plan(
      Array.from({ length: 300 }, (_, i) => commandTask(id(i), `echo ${i} > g${i}.txt`, { prompt: prompt(i) })),
      { name: 'long-prompts', maxConcurrency: 2 },
    );
    expect(Buffer.byteLength(JSON.stringify(p))).toBeGreaterThan(3.2e6);
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('byref-3mb');
      const input: RunPlanInput = { runId, repo, ...(await storePlan(repo, p, 'test')) };
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [input] });
      await until('two completed tasks', async () => ((await handle.query(runProgressQuery).catch(() => undefined))?.counts.completed ?? 0) >= 2);
      const agentInput = (await client.workflow.getHandle(`${runId}/${id(0)}`).fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      const a = JSON.parse(Buffer.from(agentInput.data!).toString()) as AgentInput;
      expect(a.goalRef).toMatchObject({ kind: 'plan-task', taskId: id(0), chars: 11_000, plan: input.planRef });
      expect(a.goal.length).toBeLessThan(300);
      // What the agent's activities read through the reference is the whole prompt.
      expect(await createBlobStore().text(a.goalRef!)).toBe(prompt(0));
      await pauseThenCancel(handle);
      expect((await runResultOf(handle)).status).toBe('cancelled');
      const sizes = payloadSizes(await runsOf(client, runId));
      console.log(`[plan by reference] 3.3 MB plan: largest payload ${(sizes.largestPayloads / 1024).toFixed(1)} KB at ${sizes.largestAt}`);
      expect(sizes.largestPayloads).toBeLessThan(PAYLOAD_BOUND);
    });
  }, 300_000);

  it('a missing or corrupt plan blob fails the run at once, naming the blob', async () => {
    const repo = makeRepo();
    const store = createBlobStore();
    const good = await store.put(repo, JSON.stringify(plan([commandTask('a', 'true')])));
    const missing: BlobRef = { ...good, sha: 'f'.repeat(40) };
    const notJson = await store.put(repo, 'this is not a plan');
    const notPlan = await store.put(repo, JSON.stringify({ name: 'x' }));
    const wrongSize: BlobRef = { ...good, bytes: good.bytes + 1 };
    await withWorker({}, async ({ client, taskQueue }) => {
      const failure = async (ref: BlobRef): Promise<string> => {
        const runId = uniqueId('byref-bad');
        const handle: WorkflowHandle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, planRef: ref } satisfies RunPlanInput] });
        const err = await handle.result().then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(WorkflowFailedError);
        // Not retried: one attempt of the index read, then the run fails.
        const attempts = (await handle.fetchHistory()).events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
        expect(attempts).toEqual([1]);
        let c: unknown = err;
        const messages: string[] = [];
        while (c instanceof Error) {
          messages.push(c.message);
          c = (c as { cause?: unknown }).cause;
        }
        return messages.join(' / ');
      };
      expect(await failure(missing)).toContain(`${blobRefName(missing.sha)}) in ${repo} is missing`);
      expect(await failure(notJson)).toMatch(new RegExp(`blob ${notJson.sha} .* is not the JSON of a plan`));
      expect(await failure(notPlan)).toMatch(new RegExp(`blob ${notPlan.sha} .* is not a plan`));
      expect(await failure(wrongSize)).toContain(`has ${good.bytes} bytes, its reference says ${good.bytes + 1}`);
    });
    // The blob is kept by its ref: gc does not take it, and the content reads back.
    git(repo, 'gc', '--prune=now', '--quiet');
    expect(git(repo, 'cat-file', '-t', good.sha).trim()).toBe('blob');
    expect(git(repo, 'rev-parse', blobRefName(good.sha)).trim()).toBe(good.sha);
  }, 120_000);

  it('cadre validate passes the 10,000-task plan', async () => {
    const file = join(testDir('byref-validate'), 'big.json');
    // The native format as a person writes it: no importer-only fields.
    const { source: _source, phaseOrder: _order, ...native } = bigPlan(10_000);
    writeFileSync(file, JSON.stringify(native));
    const started = Date.now();
    const v = await cadre(['validate', file], { CADRE_STATE_DIR: testDir('byref-validate-state') });
    console.log(`[plan by reference] cadre validate of 10,000 tasks: ${Date.now() - started} ms (exit ${v.code})`);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/: valid\n/);
    expect(v.stdout).toMatch(/tasks: 10000 \(5000 already done\)/);
  }, 120_000);
});
