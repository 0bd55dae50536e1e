/**
 * Crash recovery: a run of `tasks` command tasks (each logs its start, sleeps `taskSeconds`, logs its end) served by
 * one `node bin/cadre.js worker` child process; once `killAfterCompleted` tasks are done the worker gets `kill -9`
 * and a new one is started at once. Measured: seconds from the kill to the next task completing (the scheduler's
 * own record, TaskRow.endedAt), the new worker's start-up time, how many tasks ran their command again (completed
 * ones must not), and why each re-run happened (the retried activities' attempts and last failures, from history).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProgressQuery } from '../../src/shared/messages';
import type { RunPlanResult } from '../../src/shared/run';
import { spawnCadreWorker, stopChild, type ChildWorker } from '../lib/child';
import { commandPlan, layeredDag } from '../lib/dag';
import { log, uniqueId, type BenchEnv } from '../lib/env';
import { activityTimings, chainEvents, historyEvents } from '../lib/history';
import { makeRepo } from '../lib/repo';
import { round, sleep } from '../lib/stats';
import { runResultOf } from '../../src/client/results';
import { resultRows } from '../../src/client/planRef';

export interface CrashResult {
  tasks: number;
  taskSeconds: number;
  completedAtKill: number;
  runningAtKill: number;
  /** Kill → the next task completed (scheduler's record). */
  resumeSeconds: number;
  /** Kill → the new worker process said it polls (its start-up, which bundles the workflows). */
  workerRestartSeconds: number;
  completedTasksRerun: number;
  inFlightTasksRerun: number;
  /** Every activity that needed more than one attempt, and the failure that ended the earlier attempt. */
  retriedActivities: { task: string; activity: string; attempt: number; lastFailure: string; restartedAfterKillS: number }[];
  workflowTaskTimeouts: number;
  /** What the first task to complete after the kill was doing when the worker died, and when it went on. */
  firstResumed?: {
    task: string;
    activityAtKill: string;
    nextActivityStartedAfterKillS: number;
    /** Its activities from the kill on: when each started (s after the kill) and how long it ran (s). */
    activitiesAfterKill: { name: string; attempt: number; startedAfterKillS: number; ranS: number }[];
  };
  /** The scheduler's first activities (merges) from the kill on. */
  runPlanActivitiesAfterKill: { name: string; attempt: number; startedAfterKillS: number; ranS: number }[];
  /** What each task running at the kill was doing: activity name → number of tasks. */
  runningActivitiesAtKill: Record<string, number>;
  status: string;
  runSeconds: number;
}

const script = (logFile: string, id: string, seconds: number) =>
  `echo "start ${id} $(date +%s%N)" >> ${logFile}; sleep ${seconds}; echo "end ${id} $(date +%s%N)" >> ${logFile}`;

export async function crash(env: BenchEnv, o: { tasks: number; taskSeconds: number; killAfterCompleted: number }): Promise<CrashResult> {
  const repo = makeRepo(env.dir('repo-crash'));
  const stateDir = env.dir('state-crash');
  const logFile = join(env.dir('crash-log'), 'timeline.log');
  writeFileSync(logFile, '');
  const taskQueue = uniqueId('tq-crash');
  const width = 5;
  const nodes = layeredDag(Math.ceil(o.tasks / width), width).slice(0, o.tasks);
  const plan = commandPlan('crash', nodes, (n) => ['sh', '-c', script(logFile, n.id, o.taskSeconds)], 5);
  const runId = uniqueId('crash');

  const first: ChildWorker = spawnCadreWorker({ address: env.address, taskQueue, stateDir });
  let second: ChildWorker | undefined;
  try {
    await first.ready;
    const t0 = Date.now();
    const handle = await env.client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, plan, repo, maxConcurrency: 5 }] });
    let completedAtKill = new Set<string>();
    let runningAtKill = 0;
    for (;;) {
      const p = await handle.query(runProgressQuery);
      if (p.counts.completed >= o.killAfterCompleted) {
        completedAtKill = new Set(p.tasks.filter((t) => t.status === 'completed').map((t) => t.id));
        runningAtKill = p.counts.running;
        break;
      }
      await sleep(100);
    }
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exited;
    log(`crash: killed the worker with ${completedAtKill.size} tasks completed and ${runningAtKill} running; restarting it`);
    second = spawnCadreWorker({ address: env.address, taskQueue, stateDir });
    const readyAt = await second.ready;
    const ended: RunPlanResult = await runResultOf(handle);
    const result: RunPlanResult = { ...ended, tasks: await resultRows(ended) };
    const endedAt = Date.now();

    const after = result.tasks.filter((t) => t.endedAt !== undefined && t.endedAt > killedAt).sort((a, b) => a.endedAt! - b.endedAt!);
    const next = after[0];
    const starts = new Map<string, number>();
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      const [kind, id] = line.split(' ');
      if (kind === 'start' && id) starts.set(id, (starts.get(id) ?? 0) + 1);
    }
    const rerun = [...starts].filter(([, n]) => n > 1).map(([id]) => id);
    const retried: CrashResult['retriedActivities'] = [];
    let wtTimeouts = 0;
    let firstResumed: CrashResult['firstResumed'];
    const runningActivitiesAtKill: Record<string, number> = {};
    for (const row of result.tasks) {
      const ev = await historyEvents(env.client, row.agentId!);
      wtTimeouts += ev.filter((e) => e.type === 'WorkflowTaskTimedOut').length;
      const acts = activityTimings(ev);
      const inFlight = acts.find((a) => a.scheduledAt <= killedAt && (a.closedAt === undefined || a.closedAt > killedAt));
      if (inFlight) runningActivitiesAtKill[inFlight.name] = (runningActivitiesAtKill[inFlight.name] ?? 0) + 1;
      for (const a of acts) {
        if ((a.attempt ?? 1) > 1) {
          retried.push({
            task: row.id,
            activity: a.name,
            attempt: a.attempt!,
            lastFailure: (a.lastFailure ?? '').slice(0, 120),
            restartedAfterKillS: round(((a.startedAt ?? Number.NaN) - killedAt) / 1000, 2),
          });
        }
      }
      if (next && row.id === next.id) {
        const atKill = acts.filter((a) => a.scheduledAt <= killedAt).at(-1);
        const resumed = acts.find((a) => (a.startedAt ?? a.scheduledAt) > killedAt);
        firstResumed = {
          task: row.id,
          activityAtKill: atKill ? `${atKill.name}${atKill.closedAt !== undefined && atKill.closedAt <= killedAt ? ' (completed; between activities)' : ''}` : 'none',
          nextActivityStartedAfterKillS: round((((resumed?.startedAt ?? resumed?.scheduledAt) ?? Number.NaN) - killedAt) / 1000, 2),
          activitiesAfterKill: acts
            .filter((a) => (a.closedAt ?? Infinity) > killedAt)
            .map((a) => ({
              name: a.name,
              attempt: a.attempt ?? 1,
              startedAfterKillS: round(((a.startedAt ?? a.scheduledAt) - killedAt) / 1000, 2),
              ranS: round(((a.closedAt ?? Number.NaN) - (a.startedAt ?? a.scheduledAt)) / 1000, 2),
            })),
        };
      }
    }
    const { events: planEvents } = await chainEvents(env.client, runId);
    wtTimeouts += planEvents.filter((e) => e.type === 'WorkflowTaskTimedOut').length;
    const runPlanActivitiesAfterKill = activityTimings(planEvents)
      .filter((a) => (a.closedAt ?? Infinity) > killedAt)
      .slice(0, 5)
      .map((a) => ({
        name: a.name,
        attempt: a.attempt ?? 1,
        startedAfterKillS: round(((a.startedAt ?? a.scheduledAt) - killedAt) / 1000, 2),
        ranS: round(((a.closedAt ?? Number.NaN) - (a.startedAt ?? a.scheduledAt)) / 1000, 2),
      }));
    const out: CrashResult = {
      tasks: o.tasks,
      taskSeconds: o.taskSeconds,
      completedAtKill: completedAtKill.size,
      runningAtKill,
      resumeSeconds: next ? round((next.endedAt! - killedAt) / 1000, 2) : Number.NaN,
      workerRestartSeconds: round((readyAt - killedAt) / 1000, 2),
      completedTasksRerun: rerun.filter((id) => completedAtKill.has(id)).length,
      inFlightTasksRerun: rerun.filter((id) => !completedAtKill.has(id)).length,
      retriedActivities: retried,
      workflowTaskTimeouts: wtTimeouts,
      firstResumed,
      runningActivitiesAtKill,
      runPlanActivitiesAfterKill,
      status: result.status,
      runSeconds: round((endedAt - t0) / 1000, 1),
    };
    log(`crash: next task completed ${out.resumeSeconds} s after the kill (worker back after ${out.workerRestartSeconds} s); re-run: ${out.completedTasksRerun} completed, ${out.inFlightTasksRerun} in flight`);
    return out;
  } finally {
    await stopChild(first);
    if (second) await stopChild(second);
  }
}
