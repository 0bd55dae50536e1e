/**
 * Running a plan through cadre's `runPlan` workflow and taking it apart afterwards: the makespan seen by the
 * client, each task's slot time as the scheduler recorded it (started → ended, which covers the child agent
 * workflow and the merge), and a breakdown of where a task's time went, read from the histories.
 */
import type { TaskRow } from '../../src/shared/messages';
import type { Plan } from '../../src/shared/plan';
import type { RunPlanResult } from '../../src/shared/run';
import { runResultOf } from '../../src/client/results';
import { resultRows } from '../../src/client/planRef';
import { processCpuMs, selfCpuMs } from './cpu';
import { type BenchEnv, uniqueId } from './env';
import { activityTimings, chainEvents, countByType, historyEvents, totalBytes, workflowTaskTimings, type Ev } from './history';
import { mean, round, summarize, type Summary } from './stats';

export interface PlanRun {
  runId: string;
  result: RunPlanResult;
  /** Client wall clock from start() to result(). */
  makespanMs: number;
  /** Server clock: runPlan started → completed. */
  serverMakespanMs: number;
  slotMs: number[];
  rows: TaskRow[];
  /** CPU time spent during the run: the Temporal server process, and this process (client + in-process worker). */
  cpuMs: { server?: number; bench: number };
  /** Command tasks ran as scheduler activities (plan option inlineCommands): no agent workflows to read. */
  inline: boolean;
}

export async function runPlanOnce(env: BenchEnv, taskQueue: string, plan: Plan, repo: string, maxConcurrency: number): Promise<PlanRun> {
  const runId = uniqueId(plan.name);
  const cpu0 = { server: processCpuMs(env.server.pid), bench: selfCpuMs() };
  const t0 = performance.now();
  const handle = await env.client.workflow.start('runPlan', {
    workflowId: runId,
    taskQueue,
    args: [{ runId, plan, repo, maxConcurrency }],
  });
  // A failed run ends as a failed workflow carrying its result (src/shared/outcome.ts): read the table either way.
  const ended: RunPlanResult = await runResultOf(handle);
  // A table too large for the result is in the repository; the measures need every row.
  const result: RunPlanResult = { ...ended, tasks: await resultRows(ended) };
  const makespanMs = performance.now() - t0;
  const server1 = processCpuMs(env.server.pid);
  const cpuMs = { server: server1 !== undefined && cpu0.server !== undefined ? server1 - cpu0.server : undefined, bench: selfCpuMs() - cpu0.bench };
  if (result.status !== 'completed') {
    const bad = result.tasks.filter((t) => t.status !== 'completed').slice(0, 3);
    throw new Error(`run ${runId} ended ${result.status}: ${bad.map((t) => `${t.id} ${t.status} ${t.error ?? ''}`).join('; ')}`);
  }
  const desc = await handle.describe();
  const serverMakespanMs = (desc.closeTime?.getTime() ?? Number.NaN) - desc.startTime.getTime();
  const slotMs = result.tasks.map((t) => (t.endedAt ?? Number.NaN) - (t.startedAt ?? Number.NaN));
  return { runId, result, makespanMs, serverMakespanMs, slotMs, rows: result.tasks, cpuMs, inline: plan.inlineCommands };
}

export interface TaskBreakdown {
  sampledTasks: number;
  /** Mean ms per task in each stage; they add up to the slot time. */
  stagesMs: Record<string, number>;
  /** Per activity type: mean queue wait (scheduled → started) and execution (started → closed), ms. */
  activities: Record<string, { count: number; queueMs: number; execMs: number }>;
  /** Agent workflow tasks: mean count per agent and mean queue wait / processing, ms. */
  agentWorkflowTasks: { perAgent: number; queueMs: number; processMs: number };
  eventsPerTask: { agent: number; runPlan: number; total: number };
  /** Runs of the runPlan workflow (it continues-as-new when the server suggests it). */
  runPlanRuns: number;
  /** runPlan workflow tasks per task, and how many of them were woken only by a child having started. */
  runPlanWorkflowTasksPerTask: number;
  runPlanWakeupsOnChildStartedPerTask: number;
  historyBytesPerTask: { agent: number; runPlan: number; total: number };
  agentEventTypes: Record<string, number>;
}

/**
 * Where a task's slot time goes, from the histories of `sample` agents spread over the run and the runPlan history:
 * dispatch (the scheduler's decision → the agent workflow started), the agent's activities (queue wait and
 * execution), the agent's own workflow tasks in between, and completion (agent closed → the scheduler recorded the
 * task completed, which includes the merge activity).
 */
export async function breakdown(env: BenchEnv, run: PlanRun, sample: number): Promise<TaskBreakdown> {
  const chain = await chainEvents(env.client, run.runId);
  const planEvents = chain.events;
  const rows = run.inline ? [] : run.rows.filter((r) => r.agentId);
  const step = Math.max(1, Math.floor(rows.length / sample));
  const picked = rows.filter((_r, i) => i % step === 0).slice(0, sample);
  const stage: Record<string, number[]> = { dispatch: [], activitiesQueue: [], activitiesExec: [], agentWorkflowTasks: [], completion: [] };
  const acts: Record<string, { q: number[]; x: number[] }> = {};
  const wtCount: number[] = [];
  const wtQueue: number[] = [];
  const wtProc: number[] = [];
  const agentEvents: number[] = [];
  const agentBytes: number[] = [];
  const types: Record<string, number> = {};
  for (const row of picked) {
    const ev: Ev[] = await historyEvents(env.client, row.agentId!);
    agentEvents.push(ev.length);
    agentBytes.push(totalBytes(ev));
    for (const [t, n] of Object.entries(countByType(ev))) types[t] = (types[t] ?? 0) + n;
    const started = ev[0]!.at;
    const closed = ev[ev.length - 1]!.at;
    stage.dispatch!.push(started - row.startedAt!);
    stage.completion!.push(row.endedAt! - closed);
    let q = 0;
    let x = 0;
    for (const a of activityTimings(ev)) {
      const s = a.startedAt ?? a.scheduledAt;
      const c = a.closedAt ?? s;
      (acts[a.name] ??= { q: [], x: [] }).q.push(s - a.scheduledAt);
      acts[a.name]!.x.push(c - s);
      q += s - a.scheduledAt;
      x += c - s;
    }
    stage.activitiesQueue!.push(q);
    stage.activitiesExec!.push(x);
    stage.agentWorkflowTasks!.push(closed - started - q - x);
    const wts = workflowTaskTimings(ev);
    wtCount.push(wts.length);
    for (const w of wts) {
      if (w.startedAt !== undefined) wtQueue.push(w.startedAt - w.scheduledAt);
      if (w.startedAt !== undefined && w.closedAt !== undefined) wtProc.push(w.closedAt - w.startedAt);
    }
  }
  // The scheduler's own activities: the merges, and with inline command tasks the whole task.
  for (const a of activityTimings(planEvents)) {
    if (a.name !== 'mergeBranch' && a.name !== 'runInlineCommandTask') continue;
    const s = a.startedAt ?? a.scheduledAt;
    (acts[`${a.name} (runPlan)`] ??= { q: [], x: [] }).q.push(s - a.scheduledAt);
    acts[`${a.name} (runPlan)`]!.x.push((a.closedAt ?? s) - s);
  }
  const n = run.rows.length;
  // Inline tasks have no agent workflow: nothing is spent there.
  const agentMean = (v: number[]) => (run.inline ? 0 : mean(v));
  const perTaskPlanEvents = planEvents.length / n;
  const perTaskPlanBytes = totalBytes(planEvents) / n;
  return {
    sampledTasks: picked.length,
    stagesMs: Object.fromEntries(Object.entries(stage).map(([k, v]) => [k, round(mean(v), 1)])),
    activities: Object.fromEntries(
      Object.entries(acts).map(([k, v]) => [k, { count: v.q.length, queueMs: round(mean(v.q), 1), execMs: round(mean(v.x), 1) }]),
    ),
    agentWorkflowTasks: { perAgent: round(mean(wtCount), 1), queueMs: round(mean(wtQueue), 1), processMs: round(mean(wtProc), 1) },
    eventsPerTask: { agent: round(agentMean(agentEvents), 1), runPlan: round(perTaskPlanEvents, 1), total: round(agentMean(agentEvents) + perTaskPlanEvents, 1) },
    runPlanRuns: chain.runs,
    runPlanWorkflowTasksPerTask: round(planEvents.filter((e) => e.type === 'WorkflowTaskScheduled').length / n, 2),
    runPlanWakeupsOnChildStartedPerTask: round(
      planEvents.filter((e, i) => e.type === 'WorkflowTaskScheduled' && planEvents[i - 1]?.type === 'ChildWorkflowExecutionStarted').length / n,
      2,
    ),
    historyBytesPerTask: { agent: round(agentMean(agentBytes), 0), runPlan: round(perTaskPlanBytes, 0), total: round(agentMean(agentBytes) + perTaskPlanBytes, 0) },
    agentEventTypes: Object.fromEntries(Object.entries(types).map(([k, v]) => [k, round(v / picked.length, 2)])),
  };
}

export interface CadreDagResult {
  tasks: number;
  concurrency: number;
  makespanS: number;
  serverMakespanS: number;
  tasksPerSecond: number;
  overheadPerTaskMs: Summary;
  /** CPU ms per task: the Temporal server, and the bench process (client + worker); compare with cores × 1000 / tasks/s. */
  cpuMsPerTask: { server?: number; workerAndClient: number };
  breakdown: TaskBreakdown;
}

export function summarizeRun(run: PlanRun, concurrency: number, bd: TaskBreakdown, workMsPerTask = 0): CadreDagResult {
  return {
    tasks: run.rows.length,
    concurrency,
    makespanS: round(run.makespanMs / 1000, 2),
    serverMakespanS: round(run.serverMakespanMs / 1000, 2),
    tasksPerSecond: round(run.rows.length / (run.makespanMs / 1000), 1),
    overheadPerTaskMs: summarize(run.slotMs.map((s) => s - workMsPerTask)),
    cpuMsPerTask: {
      server: run.cpuMs.server !== undefined ? round(run.cpuMs.server / run.rows.length, 1) : undefined,
      workerAndClient: round(run.cpuMs.bench / run.rows.length, 1),
    },
    breakdown: bd,
  };
}
