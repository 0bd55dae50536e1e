/**
 * The worker itself.
 *
 * Cold start: a fresh worker process until it polls, and until the first task of a waiting run is done (a one-task
 * plan, command `true`, started before the worker): (a) `node bin/cadre.js worker` as it ships (it loads
 * dist/workflow-bundle.js when `npm run build` made a current one, else bundles the workflows at start); (b)
 * bench/coldWorker.mjs, the built worker given a bundle built beforehand.
 *
 * Memory per cached workflow: a worker process (bench/childWorker.ts, mode `hold`) keeps N agent workflows open —
 * each waits in its command activity — and reports its resident set size after a full GC; the cost per workflow is
 * the slope of RSS over the number of cached workflows.
 */
import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { RunPlanResult } from '../../src/shared/run';
import { commandAgentInput } from '../lib/agent';
import { spawnBenchWorker, spawnCadreWorker, stopChild, type ChildWorker } from '../lib/child';
import { commandPlan, layeredDag } from '../lib/dag';
import { log, repoRoot, uniqueId, type BenchEnv } from '../lib/env';
import { makeRepo } from '../lib/repo';
import { round, sleep, slope, summarize, type Summary } from '../lib/stats';
import { runResultOf } from '../../src/client/results';
import { resultRows } from '../../src/client/planRef';

export interface ColdStart {
  variant: string;
  /** Process spawned → the worker polls (ms). */
  readyMs: Summary;
  /** Process spawned → a waiting one-task run completed (ms). */
  firstTaskMs: Summary;
  /** bench child only: the process's own clock (ms since it started) at each step. */
  steps?: { loaded: number; connected: number; created: number };
}

export interface WorkerResult {
  /** Whether `cadre worker` found a current dist/workflow-bundle.js (built by `npm run build`) or bundled at start. */
  cliUsesPrebuiltBundle: boolean;
  coldStart: ColdStart[];
  memory: {
    points: { cached: number; rssMiB: number; heapUsedMiB: number }[];
    kibPerCachedWorkflow: number;
    heapKibPerCachedWorkflow: number;
    baselineRssMiB: number;
  };
}

interface MemReply {
  rss: number;
  heapUsed: number;
  cached: number;
  holding: number;
}

function ask(child: ChildProcess): Promise<MemReply> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as MemReply));
    child.send({ cmd: 'mem' });
  });
}

/** The rule src/workers/worker.ts applies: a dist/workflow-bundle.js at least as new as the compiled workflows. */
function cliHasPrebuiltBundle(): boolean {
  try {
    return statSync(join(repoRoot, 'dist', 'workflow-bundle.js')).mtimeMs >= statSync(join(repoRoot, 'dist', 'workflows', 'index.js')).mtimeMs;
  } catch {
    return false;
  }
}

async function coldStarts(env: BenchEnv, variant: 'cli' | 'prebuilt', n: number): Promise<ColdStart> {
  const ready: number[] = [];
  const firstTask: number[] = [];
  const steps: { loaded: number[]; connected: number[]; created: number[] } = { loaded: [], connected: [], created: [] };
  for (let i = 0; i < n; i++) {
    const repo = makeRepo(env.dir('repo-cold'));
    const stateDir = env.dir('state-cold');
    const taskQueue = uniqueId('tq-cold');
    const runId = uniqueId('cold');
    const plan = commandPlan('cold', layeredDag(1, 1), () => ['true'], 1);
    const handle = await env.client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, plan, repo, maxConcurrency: 1 }] });
    const w: ChildWorker =
      variant === 'cli'
        ? spawnCadreWorker({ address: env.address, taskQueue, stateDir })
        : spawnBenchWorker({ address: env.address, taskQueue, stateDir, bundlePath: env.bundlePath, mode: 'prebuilt' });
    try {
      ready.push((await w.ready) - w.spawnedAt);
      const ended: RunPlanResult = await runResultOf(handle);
    const result: RunPlanResult = { ...ended, tasks: await resultRows(ended) };
      firstTask.push(Date.now() - w.spawnedAt);
      if (result.status !== 'completed') throw new Error(`cold-start run ended ${result.status}`);
      const timing = w.output.find((l) => l.startsWith('timing '));
      if (timing) {
        const v = Object.fromEntries(timing.slice(7).split(' ').map((kv) => kv.split('=') as [string, string]));
        steps.loaded.push(Number(v.loaded));
        steps.connected.push(Number(v.connected));
        steps.created.push(Number(v.created));
      }
    } finally {
      await stopChild(w);
    }
  }
  const avg = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / xs.length, 0);
  return {
    variant:
      variant === 'cli'
        ? `\`node bin/cadre.js worker\` (${cliHasPrebuiltBundle() ? 'loads dist/workflow-bundle.js, built by `npm run build`' : 'bundles the workflows at start'})`
        : 'bench/coldWorker.mjs: the built worker given a bundle built beforehand',
    readyMs: summarize(ready, 0),
    firstTaskMs: summarize(firstTask, 0),
    ...(steps.loaded.length ? { steps: { loaded: avg(steps.loaded), connected: avg(steps.connected), created: avg(steps.created) } } : {}),
  };
}

export async function workerSection(env: BenchEnv, o: { cached: number[]; coldStarts: number }): Promise<WorkerResult> {
  const coldStart = [await coldStarts(env, 'cli', o.coldStarts), await coldStarts(env, 'prebuilt', o.coldStarts)];
  for (const c of coldStart) log(`worker: cold start ${c.variant}: ready p50 ${c.readyMs.p50} ms, first task p50 ${c.firstTaskMs.p50} ms`);

  const taskQueue = uniqueId('tq-mem');
  const w = spawnBenchWorker({ address: env.address, taskQueue, stateDir: env.dir('state-mem'), bundlePath: env.bundlePath, mode: 'hold' });
  const handles: Promise<unknown>[] = [];
  const points: WorkerResult['memory']['points'] = [];
  try {
    await w.ready;
    const input = commandAgentInput('/nonexistent', 'stay open');
    const startAgents = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const h = await env.client.workflow.start('agent', { workflowId: uniqueId('mem'), taskQueue, args: [input] });
        handles.push(h.result());
      }
    };
    const waitHolding = async (count: number) => {
      for (let i = 0; i < 600; i++) {
        const m = await ask(w.child);
        if (m.holding >= count) return;
        await sleep(200);
      }
      throw new Error(`only ${(await ask(w.child)).holding} of ${count} agents reached their command`);
    };
    // Warm-up: a few agents run to the end, so code paths are loaded before the baseline.
    await startAgents(5);
    await waitHolding(5);
    w.child.send({ cmd: 'release' });
    await Promise.all(handles.splice(0));
    let open = 0;
    for (const target of o.cached) {
      await startAgents(target - open);
      open = target;
      await waitHolding(target);
      await sleep(500);
      const m = await ask(w.child);
      points.push({ cached: m.cached, rssMiB: round(m.rss / 2 ** 20, 1), heapUsedMiB: round(m.heapUsed / 2 ** 20, 1) });
      log(`worker: ${m.cached} cached workflows: RSS ${points.at(-1)!.rssMiB} MiB`);
    }
    w.child.send({ cmd: 'release' });
    await Promise.all(handles);
  } finally {
    await stopChild(w);
  }
  const xs = points.map((p) => p.cached);
  return {
    cliUsesPrebuiltBundle: cliHasPrebuiltBundle(),
    coldStart,
    memory: {
      points,
      kibPerCachedWorkflow: round(slope(xs, points.map((p) => p.rssMiB * 1024)), 1),
      heapKibPerCachedWorkflow: round(slope(xs, points.map((p) => p.heapUsedMiB * 1024)), 1),
      baselineRssMiB: points[0]?.rssMiB ?? Number.NaN,
    },
  };
}
