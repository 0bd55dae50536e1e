/**
 * Finishing a run after it ended: `cadre retry <run> <task>` and `cadre resume <run>` on a run that ended failed.
 *
 * A new execution of the same workflow id starts with the ended run's input and a carry made of its result: every
 * row as it ended (completed ones keep their commits and are not run again), the spend so far, and the tasks to put
 * back to pending (`retry`: the named task; `resume`: every failed or cancelled one; each with its failed, blocked
 * or cancelled dependents). The integration worktree is asked for again, which re-adds it on the run's existing
 * branch, so the branch continues. Attempts go on counting, so new agents get new ids (`run/task~2`).
 *
 * Refused: a run that is still running (then retry and resume are updates to it), a run that completed, a run that
 * ended without a result (terminated, timed out: start it again with `cadre run`), a task that is not failed,
 * blocked or cancelled, and a blocked task whose blocker is still failed (the message names the blocker).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { workflowUrl } from '../../node/config';
import { logger } from '../../node/logger';
import { CadreError } from '../../shared/errors';
import type { RunPlanCarry, RunPlanInput, RunPlanResult, RunPlanWorkflow } from '../../shared/run';
import { CadreRole, CadreRun } from '../../shared/searchAttributes';
import * as table from '../../workflows/run/table';
import type { Plan } from '../../shared/plan';
import { requirePlan, resultRows } from '../planRef';
import { EXIT, colorWanted, exitCodeFor } from '../output';
import { runResultOf } from '../results';
import { openRuntime, startInProcessWorker } from '../runtime';
import { followRun, renderOutcome, workflowInput } from '../watch';
import { followMode } from './inspect';

export interface FinishOptions {
  /** Start the new execution and return; a worker must be running (`cadre worker`). */
  detach?: boolean;
  json?: boolean;
}

/**
 * The carry that finishes an ended run, or a CadreError saying why it cannot be finished. Pure apart from the
 * reads: exported for tests.
 */
export function finishCarry(input: RunPlanInput, result: RunPlanResult, retry: string[] | 'all', plan: Plan = input.plan!): RunPlanCarry {
  if (result.status === 'completed') throw new CadreError(`run ${input.runId} completed: there is nothing to retry`, EXIT.usage);
  const budget = plan.budget;
  const carry: RunPlanCarry = {
    rows: result.tasks.map((r) => ({ ...r })),
    maxConcurrency: input.maxConcurrency ?? plan.maxConcurrency,
    paused: false,
    costUsd: result.costUsd,
    tokens: result.tokens,
    models: result.models,
    // What is left of the plan's budget after what the ended run spent.
    pool: budget
      ? {
          tokens: budget.tokens !== undefined ? Math.max(0, budget.tokens - result.tokens) : undefined,
          usd: budget.usd !== undefined ? Math.max(0, budget.usd - result.costUsd) : undefined,
        }
      : undefined,
    lastCommit: result.commit,
    deadLetters: result.deadLetters,
    toOperator: result.toOperator,
    generation: 0,
    retry,
  };
  // The same rules as a retry in a running run, on the same table.
  const s = table.initialRunState(input.runId, plan, undefined, carry);
  const ids = retry === 'all' ? s.rows.filter((r) => r.status === 'failed' || r.status === 'cancelled').map((r) => r.id) : retry;
  if (!ids.length) throw new CadreError(`run ${input.runId} has no failed or cancelled task to run again`, EXIT.usage);
  for (const id of ids) {
    const problem = table.retryProblem(s, id);
    if (problem) throw new CadreError(`run ${input.runId}: ${problem}`, EXIT.usage);
  }
  return carry;
}

async function endedRun(client: Client, run: string): Promise<{ input: RunPlanInput; result: RunPlanResult; memo: Record<string, unknown> }> {
  const handle = client.workflow.getHandle<RunPlanWorkflow>(run);
  let d;
  try {
    d = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CadreError(`no run with id "${run}"`, EXIT.usage);
    throw err;
  }
  if (d.type !== 'runPlan') throw new CadreError(`"${run}" is not a run`, EXIT.usage);
  let result: RunPlanResult;
  try {
    result = await runResultOf(handle);
  } catch {
    throw new CadreError(`run ${run} ended ${d.status.name.toLowerCase()} without a result; start it again with \`cadre run\``, EXIT.usage);
  }
  const input = await workflowInput<RunPlanInput>(client, run);
  if (!input) throw new CadreError(`cannot read the input of run ${run}`, EXIT.failed);
  return { input, result, memo: (d.memo ?? {}) as Record<string, unknown> };
}

/** Whether `run` has ended (a retry or resume of it is then `finishRunCommand`, not an update). */
export async function hasEnded(client: Client, run: string): Promise<boolean> {
  const d = await client.workflow.getHandle(run).describe().catch(() => undefined);
  return d !== undefined && d.type === 'runPlan' && d.status.name !== 'RUNNING';
}

export async function finishRunCommand(run: string, retry: string[] | 'all', opts: FinishOptions): Promise<number> {
  const rt = await openRuntime();
  const { client, config } = rt;
  const info = (s: string) => (opts.json ? process.stderr.write(s) : process.stdout.write(s));
  let worker: Awaited<ReturnType<typeof startInProcessWorker>> | undefined;
  try {
    const { input, result, memo } = await endedRun(client, run);
    const plan = await requirePlan(input);
    // A huge run's result holds part of its table: the whole table is in its chain, and goes on by reference.
    const carry = finishCarry(input, { ...result, tasks: await resultRows(result) }, retry, plan);
    if (result.tableRef) Object.assign(carry, { rows: [], rowsRef: result.tableRef });
    worker = opts.detach ? undefined : await startInProcessWorker(config);
    await client.workflow.start<RunPlanWorkflow>('runPlan', {
      workflowId: run,
      taskQueue: config.taskQueue,
      args: [input, carry],
      memo,
      typedSearchAttributes: [
        { key: CadreRun, value: run },
        { key: CadreRole, value: 'run' },
      ],
      staticSummary: `run ${plan.name} (${plan.tasks.length} tasks) on ${input.repo}, finishing: ${retry === 'all' ? 'every failed task' : retry.join(', ')}`.slice(0, 200),
    });
    const webUi = workflowUrl(config, run);
    const kept = result.tasks.filter((t) => t.status === 'completed' || t.status === 'skipped').length;
    info(`finishing run ${run}: ${retry === 'all' ? 'every failed task' : retry.join(', ')} again, ${kept} done task(s) kept, integration branch ${result.integrationBranch} continued\nWeb UI: ${webUi}\n`);
    if (opts.detach) return EXIT.ok;
    const mode = followMode(opts.json);
    const outcome = await followRun(client, run, { mode, out: (s) => process.stdout.write(s), webUi, color: colorWanted(), log: logger(config.logLevel).child({ run }) });
    if (!outcome) return EXIT.interrupted;
    if (mode !== 'json') process.stdout.write(`\n${renderOutcome(outcome, { webUi, repo: input.repo })}`);
    return exitCodeFor(outcome.status);
  } finally {
    await worker?.stop();
    await rt.close();
  }
}
