/**
 * Scaling out: the same no-op plan (the overhead section's stubbed tasks, a child agent workflow per task) served by
 * 1, 2 and 3 worker processes on one task queue: real child processes (bench/childWorker.ts, mode `noop`), each a
 * cadre worker with its default tuning and its own state directory, polling the same queue, as workers on several
 * hosts would. The bench process only starts the run and waits for it. Measured: tasks per second (tasks ÷ client
 * makespan), the scheduler's slot time per task, and the CPU each process used, which says what bounds throughput
 * when every process shares the same cores.
 */
import { cpus } from 'node:os';
import { spawnBenchWorker, stopChild, type ChildWorker } from '../lib/child';
import { processCpuMs } from '../lib/cpu';
import { commandPlan, layeredDag } from '../lib/dag';
import { log, uniqueId, type BenchEnv } from '../lib/env';
import { round, summarize, type Summary } from '../lib/stats';
import { stubRepo } from '../lib/stubs';
import { resultRows } from '../../src/client/planRef';
import type { RunPlanResult } from '../../src/shared/run';

export interface ScalingPoint {
  workers: number;
  tasks: number;
  concurrency: number;
  makespanS: number;
  tasksPerSecond: number;
  slotMs: Summary;
  /** CPU ms per task: the Temporal server, and all worker processes together. */
  cpuMsPerTask: { server?: number; workers?: number };
  /** Throughput ÷ the 1-worker throughput. */
  speedup: number;
}

export interface ScalingResult {
  cores: number;
  dag: { tasks: number; layers: number; width: number };
  points: ScalingPoint[];
}

export interface ScalingOptions {
  /** Layers of 100 no-op tasks. */
  layers: number;
  concurrency: number;
  workers: number[];
}

const cpuOf = (pids: number[]): number | undefined => {
  let total = 0;
  for (const pid of pids) {
    const c = processCpuMs(pid);
    if (c === undefined) return undefined;
    total += c;
  }
  return total;
};

async function runWith(env: BenchEnv, count: number, o: ScalingOptions, nodes: ReturnType<typeof layeredDag>): Promise<Omit<ScalingPoint, 'speedup'>> {
  const taskQueue = uniqueId('tq-scale');
  const workers: ChildWorker[] = [];
  try {
    for (let i = 0; i < count; i++) {
      workers.push(spawnBenchWorker({ address: env.address, taskQueue, stateDir: env.dir(`state-scale${i}`), bundlePath: env.bundlePath, mode: 'noop' }));
    }
    await Promise.all(workers.map((w) => w.ready));
    const pids = workers.map((w) => w.child.pid!);
    // A short warm-up run: every worker's JIT and workflow cache see the code before the measured run.
    const warm = uniqueId('scale-warm');
    await env.client.workflow.execute('runPlan', {
      workflowId: warm,
      taskQueue,
      args: [{ runId: warm, plan: commandPlan('warmup', layeredDag(1, 20), () => ['true'], o.concurrency), repo: stubRepo(env), maxConcurrency: o.concurrency }],
    });
    const runId = uniqueId(`scale${count}`);
    const plan = commandPlan(`scale${count}`, nodes, () => ['true'], o.concurrency);
    const cpu0 = { server: processCpuMs(env.server.pid), workers: cpuOf(pids) };
    const t0 = performance.now();
    const ended = (await env.client.workflow.execute('runPlan', {
      workflowId: runId,
      taskQueue,
      args: [{ runId, plan, repo: stubRepo(env), maxConcurrency: o.concurrency }],
    })) as RunPlanResult;
    // A table too large for the result is in the repository: the slot times need every row.
    const result: RunPlanResult = { ...ended, tasks: await resultRows(ended) };
    const makespanMs = performance.now() - t0;
    const cpu1 = { server: processCpuMs(env.server.pid), workers: cpuOf(pids) };
    if (result.status !== 'completed') throw new Error(`scaling run ${runId} with ${count} worker(s) ended ${result.status}`);
    const perTask = (a?: number, b?: number) => (a !== undefined && b !== undefined ? round((b - a) / nodes.length, 1) : undefined);
    return {
      workers: count,
      tasks: nodes.length,
      concurrency: o.concurrency,
      makespanS: round(makespanMs / 1000, 2),
      tasksPerSecond: round(nodes.length / (makespanMs / 1000), 1),
      slotMs: summarize(result.tasks.map((t) => (t.endedAt ?? Number.NaN) - (t.startedAt ?? Number.NaN))),
      cpuMsPerTask: { server: perTask(cpu0.server, cpu1.server), workers: perTask(cpu0.workers, cpu1.workers) },
    };
  } finally {
    await Promise.all(workers.map((w) => stopChild(w)));
  }
}

export async function scaling(env: BenchEnv, o: ScalingOptions): Promise<ScalingResult> {
  const width = 100;
  const nodes = layeredDag(o.layers, width);
  const points: ScalingPoint[] = [];
  for (const count of o.workers) {
    const p = await runWith(env, count, o, nodes);
    const base = points[0]?.tasksPerSecond ?? p.tasksPerSecond;
    points.push({ ...p, speedup: round(p.tasksPerSecond / base, 2) });
    log(`scaling: ${count} worker process(es): ${p.tasksPerSecond} tasks/s, slot p50 ${p.slotMs.p50} ms`);
  }
  return { cores: cpus().length, dag: { tasks: nodes.length, layers: o.layers, width }, points };
}
