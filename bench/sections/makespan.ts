/**
 * A DAG of tasks that each take 1 s, at concurrency 5: the makespan against the ideal (a perfect list scheduler
 * with 5 slots and zero overhead; for 10 layers of 20 tasks that is 40 s).
 *
 * - `real`: the command backend running `sleep 1` in a git worktree per task (worktree, commit, diff, removal and
 *   merge included): what a user of cadre gets.
 * - `orchestration`: the same workflows with the git and command activities stubbed, the command stub sleeping
 *   1 s: what cadre's orchestration alone adds to 1 s of work.
 */
import { breakdown, runPlanOnce, summarizeRun, type CadreDagResult } from '../lib/cadreRun';
import { commandPlan, idealMakespan, layeredDag } from '../lib/dag';
import { log, startWorker, type BenchEnv } from '../lib/env';
import { makeRepo } from '../lib/repo';
import { round } from '../lib/stats';
import { stubActivities, stubRepo } from '../lib/stubs';

export interface MakespanVariant extends CadreDagResult {
  variant: 'real' | 'orchestration' | 'real-inline' | 'orchestration-inline';
  idealS: number;
  ratio: number;
  /** Mean time a slot was held beyond the task's 1 s of work. */
  meanOverheadPerTaskMs: number;
}

export interface MakespanResult {
  dag: { tasks: number; layers: number; width: number; taskSeconds: number; concurrency: number };
  variants: MakespanVariant[];
}

export async function makespan(env: BenchEnv, o: { layers: number; width: number }): Promise<MakespanResult> {
  const concurrency = 5;
  const nodes = layeredDag(o.layers, o.width);
  const idealS = idealMakespan(nodes, concurrency, 1);
  const out: MakespanResult = { dag: { tasks: nodes.length, layers: o.layers, width: o.width, taskSeconds: 1, concurrency }, variants: [] };

  const record = (variant: MakespanVariant['variant'], r: CadreDagResult, slotMs: number[]) => {
    const overheads = slotMs.map((s) => s - 1000);
    out.variants.push({
      variant,
      ...r,
      idealS,
      ratio: round(r.makespanS / idealS, 3),
      meanOverheadPerTaskMs: round(overheads.reduce((a, b) => a + b, 0) / overheads.length, 0),
    });
    log(`makespan ${variant}: ${r.makespanS} s against ${idealS} s ideal (×${out.variants.at(-1)!.ratio})`);
  };

  const stub = await startWorker(env, { extraActivities: stubActivities({ commandMs: 1000 }) });
  try {
    const run = await runPlanOnce(env, stub.taskQueue, commandPlan('sleep1stub', nodes, () => ['sleep', '1'], concurrency), stubRepo(env), concurrency);
    record('orchestration', summarizeRun(run, concurrency, await breakdown(env, run, 20), 1000), run.slotMs);
    const inline = await runPlanOnce(env, stub.taskQueue, commandPlan('sleep1stub-inline', nodes, () => ['sleep', '1'], concurrency, true), stubRepo(env), concurrency);
    record('orchestration-inline', summarizeRun(inline, concurrency, await breakdown(env, inline, 20), 1000), inline.slotMs);
  } finally {
    await stub.stop();
  }

  const real = await startWorker(env);
  try {
    const repo = makeRepo(env.dir('repo-sleep'));
    const run = await runPlanOnce(env, real.taskQueue, commandPlan('sleep1', nodes, () => ['sleep', '1'], concurrency), repo, concurrency);
    record('real', summarizeRun(run, concurrency, await breakdown(env, run, 20), 1000), run.slotMs);
    const inlineRepo = makeRepo(env.dir('repo-sleep-inline'));
    const inline = await runPlanOnce(env, real.taskQueue, commandPlan('sleep1-inline', nodes, () => ['sleep', '1'], concurrency, true), inlineRepo, concurrency);
    record('real-inline', summarizeRun(inline, concurrency, await breakdown(env, inline, 20), 1000), inline.slotMs);
  } finally {
    await real.stop();
  }
  return out;
}
