/**
 * The lock manager: `agents` holder workflows each run `cycles` acquire+release cycles on one of `paths` paths
 * (picked at random, so holders collide), through cadre's holder API and the repository's `fileLocks` workflow;
 * against proper-lockfile on the same host (5 concurrent loops in one process, one lock file per path), once with
 * seed 000's options and once tuned for short waits.
 *
 * A cadre cycle is timed by the holder workflow's clock: from asking (the `requestLocks` local activity is
 * scheduled) to the release having been taken by the server (the `releaseLocks` local activity returned). Cycles per second = all cycles / wall time of the whole
 * run, measured by the client.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as lockfile from 'proper-lockfile';
import { lockWorkflowIdFor } from '../../src/activities/lockActivities';
import { log, startWorker, uniqueId, type BenchEnv } from '../lib/env';
import { historyEvents, type Ev } from '../lib/history';
import { makeRepo } from '../lib/repo';
import { round, summarize, type Summary } from '../lib/stats';
import type { LockCyclesInput, LockCyclesResult } from '../workflows';

export interface LockRun {
  variant: string;
  agents: number;
  cyclesPerAgent: number;
  paths: number;
  cycleMs: Summary;
  cyclesPerSecond: number;
  wallS: number;
}

export interface LocksResult {
  measured: boolean;
  reason?: string;
  cadre?: CadreLockRun;
  /** The same protocol with a single holder: the cost of a cycle without waiting for anyone. */
  cadreUncontended?: CadreLockRun;
  properLockfile: LockRun[];
}

export interface CadreLockRun extends LockRun {
  /** Grants answered in the call (acquire Update) and grants sent by signal, from the lock workflow's history. */
  grants: { inCall: number; bySignal: number };
  eventsPerCycle: { holder: number; lockWorkflow: number };
  lockWorkflowRuns: number;
}

interface Opts {
  agents: number;
  cycles: number;
  paths: number;
}

const pathNames = (n: number) => Array.from({ length: n }, (_, i) => `src/p${String(i).padStart(2, '0')}.ts`);

async function properLockfileRun(env: BenchEnv, o: Opts, variant: string, options: lockfile.LockOptions): Promise<LockRun> {
  const dir = env.dir('plf');
  const files = pathNames(o.paths).map((p) => join(dir, p));
  mkdirSync(join(dir, 'src'), { recursive: true });
  for (const f of files) writeFileSync(f, '');
  const latencies: number[] = [];
  let seed = 42;
  const random = () => {
    // A small LCG: the same sequence of paths on every run.
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: o.agents }, async () => {
      for (let i = 0; i < o.cycles; i++) {
        const file = files[Math.floor(random() * files.length)]!;
        const c0 = performance.now();
        const release = await lockfile.lock(file, options);
        await release();
        latencies.push(performance.now() - c0);
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  return {
    variant,
    agents: o.agents,
    cyclesPerAgent: o.cycles,
    paths: o.paths,
    cycleMs: summarize(latencies, 2),
    cyclesPerSecond: round((o.agents * o.cycles) / wall, 1),
    wallS: round(wall, 2),
  };
}

/** How the lock workflow's grants went out: in the answer of an acquire Update, or by a grant signal. */
function grantRoutes(ev: Ev[]): { inCall: number; bySignal: number } {
  let inCall = 0;
  let bySignal = 0;
  for (const e of ev) {
    const done = e.raw.workflowExecutionUpdateCompletedEventAttributes;
    const data = done?.outcome?.success?.payloads?.[0]?.data;
    if (data && 'grant' in (JSON.parse(Buffer.from(data).toString('utf8')) as object)) inCall++;
    if (e.raw.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'cadre.locks.grant') bySignal++;
  }
  return { inCall, bySignal };
}

/** `agents` holders × `cycles` cycles through cadre's lock manager of a fresh repository. */
async function cadreRun(env: BenchEnv, taskQueue: string, agents: number, cycles: number, paths: number): Promise<CadreLockRun> {
  const repo = makeRepo(env.dir('repo-locks'));
  const ids = Array.from({ length: agents }, () => uniqueId('holder'));
  const input: LockCyclesInput = { repo, cycles, paths: pathNames(paths) };
  const t0 = performance.now();
  const results = (await Promise.all(
    ids.map((workflowId) => env.client.workflow.execute('benchLockCycles', { workflowId, taskQueue, args: [input], workflowExecutionTimeout: '10 minutes' })),
  )) as LockCyclesResult[];
  const wall = (performance.now() - t0) / 1000;
  const latencies = results.flatMap((r) => r.latencies);
  let holderEvents = 0;
  for (const id of ids) holderEvents += (await historyEvents(env.client, id)).length;
  const grants = { inCall: 0, bySignal: 0 };
  // The lock workflow continues-as-new: count the events of every run of the chain.
  let lockEvents = 0;
  let runs = 0;
  const lockId = lockWorkflowIdFor(repo);
  for await (const info of env.client.workflow.list({ query: `WorkflowId = '${lockId}'` })) {
    const ev = await historyEvents(env.client, lockId, info.runId);
    lockEvents += ev.length;
    const g = grantRoutes(ev);
    grants.inCall += g.inCall;
    grants.bySignal += g.bySignal;
    runs++;
  }
  const total = agents * cycles;
  return {
    variant: agents === 1 ? 'cadre fileLocks workflow, one holder (no contention)' : 'cadre fileLocks workflow',
    agents,
    cyclesPerAgent: cycles,
    paths,
    cycleMs: summarize(latencies),
    cyclesPerSecond: round(total / wall, 1),
    wallS: round(wall, 2),
    grants,
    eventsPerCycle: { holder: round(holderEvents / total, 1), lockWorkflow: round(lockEvents / total, 1) },
    lockWorkflowRuns: runs,
  };
}

export async function locks(env: BenchEnv, o: Opts): Promise<LocksResult> {
  const out: LocksResult = { measured: false, properLockfile: [] };
  out.properLockfile.push(await properLockfileRun(env, o, "proper-lockfile, seed 000's options (retries: 10, stale: 10 s, update: 2 s)", { retries: 10, stale: 10_000, update: 2_000 }));
  out.properLockfile.push(
    await properLockfileRun(env, o, 'proper-lockfile, tuned (retries every 1–20 ms)', {
      retries: { retries: 1000, minTimeout: 1, maxTimeout: 20, factor: 1.5 },
      stale: 10_000,
      update: 2_000,
    }),
  );
  for (const r of out.properLockfile) log(`locks: ${r.variant}: p50 ${r.cycleMs.p50} ms, ${r.cyclesPerSecond} cycles/s`);

  let bundle: string;
  try {
    bundle = await env.benchBundlePath();
  } catch (err) {
    out.reason = `the lock workflows do not build: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    return out;
  }
  const w = await startWorker(env, { bundlePath: bundle });
  try {
    out.cadre = await cadreRun(env, w.taskQueue, o.agents, o.cycles, o.paths);
    log(`locks: cadre: p50 ${out.cadre.cycleMs.p50} ms, ${out.cadre.cyclesPerSecond} cycles/s`);
    out.cadreUncontended = await cadreRun(env, w.taskQueue, 1, Math.max(10, Math.floor(o.cycles / 2)), o.paths);
    log(`locks: cadre, one holder: p50 ${out.cadreUncontended.cycleMs.p50} ms`);
    out.measured = true;
  } catch (err) {
    out.reason = `the lock manager did not complete the run: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  } finally {
    await w.stop();
  }
  return out;
}
