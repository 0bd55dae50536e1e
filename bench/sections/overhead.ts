/**
 * Orchestration overhead: one layered no-op DAG (two parents per task) through cadre at concurrency 5 and 100,
 * against the in-process p-queue runner of seed 000 on the same DAG.
 *
 * Variants, each saying what it includes:
 * - `pqueue`: p-queue + dependency counter, tasks are empty async functions. Scheduling only.
 * - `cadre-orchestration`: cadre's runPlan and agent workflows, unchanged, with the git and command activities
 *   replaced by no-op stubs: every child workflow, activity round trip and workflow task happens, no git.
 * - `cadre-command-true`: a real plan task with the command backend running `true`: a git worktree per task,
 *   commit, diff, worktree removal and the merge into the integration branch.
 * - `cadre-inline` / `cadre-inline-command-true`: the same two with the plan option `inlineCommands`: each command
 *   task is one activity of the scheduler (worktree, program, ending, merge) instead of a child agent workflow.
 * - `pqueue-git`: the p-queue runner doing the same git work as `cadre-command-true` in-process (cadre's workspace
 *   activity functions called directly), so the difference between the two is what Temporal adds around git.
 */
import { createWorkspaceActivities } from '../../src/activities/workspaceActivities';
import { inActivities } from '../../test/support/activityContext';
import { breakdown, runPlanOnce, summarizeRun, type CadreDagResult } from '../lib/cadreRun';
import { commandPlan, layeredDag } from '../lib/dag';
import { log, startWorker, uniqueId, type BenchEnv } from '../lib/env';
import { runWithPQueue } from '../lib/pqueueRunner';
import { makeRepo } from '../lib/repo';
import { round, summarize, type Summary } from '../lib/stats';
import { stubActivities, stubRepo } from '../lib/stubs';
import type { ProtoDagInput } from '../workflows';

export interface QueueResult {
  tasks: number;
  concurrency: number;
  makespanS: number;
  tasksPerSecond: number;
  overheadPerTaskMs: Summary;
  readyToStartMs: Summary;
}

export interface PartResult {
  variant: string;
  tasks: number;
  concurrency: number;
  tasksPerSecond: number;
  slotMs: Summary;
}

export interface OverheadResult {
  dag: { tasks: number; layers: number; width: number; parentsPerTask: number };
  gitDag: { tasks: number; layers: number; width: number; parentsPerTask: number };
  /** Prototype schedulers (bench/workflows) pricing the parts a cadre task is made of. */
  parts: PartResult[];
  /** Start a workflow → a bare long poll already waiting on its task queue is answered (no SDK worker). */
  rawDispatchMs?: Summary;
  pqueue: QueueResult[];
  cadreOrchestration: CadreDagResult[];
  /** The same stubbed tasks as a chain run one at a time: a task's latency when nothing else competes for the worker. */
  cadreChain?: CadreDagResult;
  cadreCommandTrue: CadreDagResult[];
  /** The same plans with `inlineCommands`: each command task one activity of the scheduler, no agent workflow. */
  cadreInline: CadreDagResult[];
  cadreInlineCommandTrue: CadreDagResult[];
  pqueueGit: QueueResult[];
}

export interface OverheadOptions {
  /** Layers of 100 tasks for the no-op DAG (10 → 1,000 tasks). */
  layers: number;
  /** The real-git variant's DAG: `gitLayers` layers of `gitWidth` tasks (0 layers to skip). */
  gitLayers: number;
  gitWidth: number;
  concurrencies: number[];
  gitConcurrencies: number[];
  /** Length of the one-at-a-time chain (0 to skip). */
  chain: number;
  /** Agent histories read for each breakdown. */
  sample: number;
  /** Concurrencies of the p-queue + git baseline. */
  pqueueGitConcurrencies: number[];
  /** Layers of 50 tasks for the prototype schedulers (0 to skip). */
  partLayers: number;
}

const PART_VARIANTS: { variant: string; input: Pick<ProtoDagInput, 'mode' | 'child'> }[] = [
  { variant: 'one activity per task, in the scheduler', input: { mode: 'activity' } },
  { variant: 'one local activity per task, in the scheduler', input: { mode: 'local' } },
  { variant: 'child workflow, no activity', input: { mode: 'child', child: { activities: 0 } } },
  { variant: 'child workflow, 1 activity', input: { mode: 'child', child: { activities: 1 } } },
  { variant: 'child workflow, 5 activities (a command agent before `runCommandTask`)', input: { mode: 'child', child: { activities: 5 } } },
  { variant: 'child workflow, 5 local activities', input: { mode: 'child', child: { activities: 5, local: true } } },
];

/**
 * How fast the server hands a new workflow task to a poll that is already waiting: a bare long poll (no SDK
 * worker) on a fresh task queue, then a workflow started on it; start request → poll answered. The floor a
 * worker's dispatch could reach on this server.
 */
async function rawDispatch(env: BenchEnv, samples: number): Promise<Summary> {
  const out: number[] = [];
  const svc = env.client.workflowService;
  for (let i = 0; i < samples; i++) {
    const tq = uniqueId('raw');
    const poll = env.client.connection.withDeadline(Date.now() + 30_000, () =>
      svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: tq, kind: 1 }, identity: 'bench-raw-poll' }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const workflowId = uniqueId('raw');
    const t0 = performance.now();
    await env.client.workflow.start('protoTask', { workflowId, taskQueue: tq, args: [{ activities: 0 }] });
    await poll;
    out.push(performance.now() - t0);
    await env.client.workflow.getHandle(workflowId).terminate('bench: raw dispatch probe');
  }
  return summarize(out);
}

/** Runs the prototype schedulers of bench/workflows on the same kind of DAG: what each building block costs. */
async function parts(env: BenchEnv, layers: number, concurrency: number): Promise<PartResult[]> {
  const nodes = layeredDag(layers, 50).map((n) => ({ id: n.id, dependsOn: n.dependsOn }));
  const w = await startWorker(env, { bundlePath: await env.benchBundlePath(), extraActivities: { benchNoop: async () => undefined } });
  const out: PartResult[] = [];
  try {
    for (const { variant, input } of PART_VARIANTS) {
      const t0 = performance.now();
      const r = await env.client.workflow.execute('protoDag', {
        workflowId: uniqueId('proto'),
        taskQueue: w.taskQueue,
        args: [{ nodes, concurrency, ...input } satisfies ProtoDagInput],
      });
      const ms = performance.now() - t0;
      const { slotMs } = r as { slotMs: number[] };
      out.push({ variant, tasks: nodes.length, concurrency, tasksPerSecond: round(nodes.length / (ms / 1000), 1), slotMs: summarize(slotMs) });
      log(`overhead: part "${variant}": ${out.at(-1)!.tasksPerSecond} tasks/s, slot p50 ${out.at(-1)!.slotMs.p50} ms`);
    }
  } finally {
    await w.stop();
  }
  return out;
}

function queueResult(tasks: number, concurrency: number, r: Awaited<ReturnType<typeof runWithPQueue>>): QueueResult {
  return {
    tasks,
    concurrency,
    makespanS: round(r.makespanMs / 1000, 3),
    tasksPerSecond: round(tasks / (r.makespanMs / 1000), 0),
    overheadPerTaskMs: summarize(r.slotMs, 3),
    readyToStartMs: summarize(r.readyToStartMs, 3),
  };
}

export async function overhead(env: BenchEnv, o: OverheadOptions): Promise<OverheadResult> {
  const width = 100;
  const nodes = layeredDag(o.layers, width);
  const out: OverheadResult = {
    dag: { tasks: nodes.length, layers: o.layers, width, parentsPerTask: 2 },
    gitDag: { tasks: o.gitLayers * o.gitWidth, layers: o.gitLayers, width: o.gitWidth, parentsPerTask: 2 },
    parts: [],
    pqueue: [],
    cadreOrchestration: [],
    cadreCommandTrue: [],
    cadreInline: [],
    cadreInlineCommandTrue: [],
    pqueueGit: [],
  };

  for (const c of o.concurrencies) {
    // Warm the JIT once so the baseline is not charged for compiling p-queue.
    await runWithPQueue(nodes, c, async () => undefined);
    const r = await runWithPQueue(nodes, c, async () => undefined);
    out.pqueue.push(queueResult(nodes.length, c, r));
    log(`overhead: p-queue c=${c}: ${out.pqueue.at(-1)!.tasksPerSecond} tasks/s`);
  }

  const stub = await startWorker(env, { extraActivities: stubActivities() });
  try {
    // A small warm-up run so the first measured task does not pay for worker start-up and the JIT.
    await runPlanOnce(env, stub.taskQueue, commandPlan('warmup', layeredDag(2, 10), () => ['true'], 5), stubRepo(env), 5);
    if (o.chain > 0) {
      const run = await runPlanOnce(env, stub.taskQueue, commandPlan('chain', layeredDag(o.chain, 1), () => ['true'], 1), stubRepo(env), 1);
      out.cadreChain = summarizeRun(run, 1, await breakdown(env, run, o.chain));
      log(`overhead: cadre orchestration, a chain of ${o.chain}: slot p50 ${out.cadreChain.overheadPerTaskMs.p50} ms`);
    }
    for (const c of o.concurrencies) {
      const plan = commandPlan(`noop${c}`, nodes, () => ['true'], c);
      const run = await runPlanOnce(env, stub.taskQueue, plan, stubRepo(env), c);
      out.cadreOrchestration.push(summarizeRun(run, c, await breakdown(env, run, o.sample)));
      log(`overhead: cadre orchestration c=${c}: ${out.cadreOrchestration.at(-1)!.tasksPerSecond} tasks/s, slot p50 ${out.cadreOrchestration.at(-1)!.overheadPerTaskMs.p50} ms`);
    }
    for (const c of o.concurrencies) {
      const plan = commandPlan(`inline${c}`, nodes, () => ['true'], c, true);
      const run = await runPlanOnce(env, stub.taskQueue, plan, stubRepo(env), c);
      out.cadreInline.push(summarizeRun(run, c, await breakdown(env, run, o.sample)));
      log(`overhead: cadre inline orchestration c=${c}: ${out.cadreInline.at(-1)!.tasksPerSecond} tasks/s, slot p50 ${out.cadreInline.at(-1)!.overheadPerTaskMs.p50} ms`);
    }
  } finally {
    await stub.stop();
  }

  if (o.partLayers > 0) {
    out.parts = await parts(env, o.partLayers, 5);
    out.rawDispatchMs = await rawDispatch(env, 10);
    log(`overhead: a waiting bare poll gets a new workflow task ${out.rawDispatchMs.p50} ms (p50) after the start request`);
  }

  const gitNodes = layeredDag(o.gitLayers, o.gitWidth);
  if (o.gitLayers > 0) {
    const real = await startWorker(env);
    try {
      for (const c of o.gitConcurrencies) {
        const repo = makeRepo(env.dir('repo-true'));
        const run = await runPlanOnce(env, real.taskQueue, commandPlan(`true${c}`, gitNodes, () => ['true'], c), repo, c);
        out.cadreCommandTrue.push(summarizeRun(run, c, await breakdown(env, run, o.sample)));
        log(`overhead: cadre command true c=${c}: ${out.cadreCommandTrue.at(-1)!.tasksPerSecond} tasks/s, slot p50 ${out.cadreCommandTrue.at(-1)!.overheadPerTaskMs.p50} ms`);
      }
      for (const c of o.gitConcurrencies) {
        const repo = makeRepo(env.dir('repo-inline'));
        const run = await runPlanOnce(env, real.taskQueue, commandPlan(`inline-true${c}`, gitNodes, () => ['true'], c, true), repo, c);
        out.cadreInlineCommandTrue.push(summarizeRun(run, c, await breakdown(env, run, o.sample)));
        log(`overhead: cadre inline command true c=${c}: ${out.cadreInlineCommandTrue.at(-1)!.tasksPerSecond} tasks/s, slot p50 ${out.cadreInlineCommandTrue.at(-1)!.overheadPerTaskMs.p50} ms`);
      }
    } finally {
      await real.stop();
    }

    for (const c of o.pqueueGitConcurrencies) {
      const repo = makeRepo(env.dir('repo-pq'));
      // In-process, each call in an activity Context as a worker would run it (no server round trips).
      const acts = inActivities(createWorkspaceActivities({ stateDir: env.dir('state-pq') }));
      const runId = `pq${c}`;
      const integration = await acts.ensureIntegrationWorktree({ repo, runId, baseRef: 'HEAD' });
      const r = await runWithPQueue(gitNodes, c, async (n) => {
        const agentId = `${runId}/${n.id}`;
        const w = await acts.createWorkspace({ repo, agentId, baseRef: integration.branch });
        await acts.runAgentCommand({ agentId, workspace: w.path, argv: ['true'], timeoutMs: 60_000 });
        await acts.commitWorkspace({ path: w.path, message: `task ${n.id}` });
        await acts.diffStat({ repo, branch: w.branch, base: w.baseCommit });
        await acts.removeWorkspace({ repo, path: w.path });
        const m = await acts.mergeBranch({ repo, worktree: integration.path, branch: w.branch, message: `merge ${n.id}` });
        if (!m.ok) throw new Error(`merge conflict in ${m.conflicts.join(', ')}`);
      });
      out.pqueueGit.push(queueResult(gitNodes.length, c, r));
      log(`overhead: p-queue + git c=${c}: ${out.pqueueGit.at(-1)!.tasksPerSecond} tasks/s, slot p50 ${out.pqueueGit.at(-1)!.overheadPerTaskMs.p50} ms`);
    }
  }
  return out;
}
