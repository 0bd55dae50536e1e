/**
 * Long runs, part 2: a plan of 2,000 tasks completes; the scheduler's history stays bounded (it continues as new
 * when the server suggests it) and no payload in any of its runs — the plan itself, the carried task table, the
 * result — comes near Temporal's 2 MB limit.
 *
 * Run with `npm run test:long` (vitest.long.config.ts; this one takes tens of minutes on a small machine: every task is a real agent
 * workflow with its own worktree, commit and merge). CADRE_LONG_TASKS sets another size.
 */
import { describe, expect, it } from 'vitest';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import { commandTask, plan } from '../support/plans';
import { makeRepo, showFile } from '../support/repo';
import { uniqueId, withWorker } from '../support/temporal';
import { payloadSizes, runsOf } from '../durability/support/history';
import { mergesPerTask } from '../durability/support/scene';

const TASKS = Number(process.env.CADRE_LONG_TASKS ?? 2000);
const WAVE = 100;
const TWO_MB = 2 * 1024 * 1024;
/** Temporal warns when one run's history passes 10,240 events (and fails it at 51,200). */
const EVENTS_WARN = 10_240;

describe('a plan of 2,000 tasks', () => {
  it('completes, with bounded history per run and every payload well under 2 MB', async () => {
    const repo = makeRepo();
    // Waves of 100: task i depends on task i-100, so the DAG is wide and deep at once.
    const id = (i: number) => `t${String(i).padStart(4, '0')}`;
    const tasks = Array.from({ length: TASKS }, (_, i) => commandTask(id(i), `mkdir -p out && echo ${i} > out/${id(i)}.txt`, { dependsOn: i >= WAVE ? [id(i - WAVE)] : [] }));
    const started = Date.now();
    const { result, sizes } = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('long-plan');
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { name: 'long', maxConcurrency: 20 }) } satisfies RunPlanInput] });
      const result = (await handle.result()) as RunPlanResult;
      return { result, sizes: payloadSizes(await runsOf(client, runId)) };
    });
    const minutes = (Date.now() - started) / 60_000;
    console.log(
      `[long plan] ${TASKS} tasks in ${minutes.toFixed(1)} min (${((TASKS / minutes) | 0)} tasks/min): scheduler ${sizes.runs} run(s), ${sizes.events} events (at most ${sizes.maxEventsPerRun} in one run), ` +
        `history ${(sizes.totalBytes / 1024 / 1024).toFixed(1)} MB, largest event ${(sizes.largestEvent / 1024).toFixed(0)} KB, largest payload ${(sizes.largestPayloads / 1024).toFixed(0)} KB ` +
        `(${((100 * sizes.largestPayloads) / TWO_MB).toFixed(0)} % of 2 MB) at ${sizes.largestAt}`,
    );
    expect(result.status).toBe('completed');
    expect(result.counts.completed).toBe(TASKS);
    const merges = mergesPerTask(repo, result.integrationBranch);
    expect(merges.size).toBe(TASKS);
    expect([...merges.values()].every((n) => n === 1)).toBe(true);
    expect(showFile(repo, result.integrationBranch, `out/${id(TASKS - 1)}.txt`)).toBe(`${TASKS - 1}\n`);
    expect(sizes.maxEventsPerRun).toBeLessThan(EVENTS_WARN);
    // "Far from the limit": under half of it, so the same plan shape still fits at twice the size.
    expect(sizes.largestPayloads).toBeLessThan(TWO_MB / 2);
    expect(sizes.largestEvent).toBeLessThan(TWO_MB / 2);
  }, 4 * 60 * 60_000);
});
