/**
 * `cadre run <plan>`: start a run, or re-attach to the one this plan and repository already have running, keep a
 * worker in this process while it goes on, show progress, and exit with a code that tells how it ended.
 */
import { resolve } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { workflowUrl } from '../../shared/config';
import { CadreRun, CadreRole } from '../../shared/searchAttributes';
import type { RunPlanInput, RunPlanResult } from '../../workflows/runPlan';
import { EXIT, fmtUsd } from '../output';
import { loadPlan } from '../plans';
import { resolveRepo } from '../repo';
import { lastRun, newRunId, rememberRun, runKey } from '../runRegistry';
import { openRuntime, startInProcessWorker } from '../runtime';
import { taskTable, watchRun } from '../watch';

export interface RunOptions {
  repo?: string;
  concurrency?: number;
  runId?: string;
  base?: string;
  statusDir?: string;
  worker?: boolean;
  detach?: boolean;
  json?: boolean;
  new?: boolean;
}

export async function runCommand(planPath: string, opts: RunOptions): Promise<number> {
  const plan = await loadPlan(planPath);
  const repo = await resolveRepo(opts.repo);
  const rt = await openRuntime();
  const { client, config } = rt;
  const out = (s: string) => process.stdout.write(s);
  const info = (s: string) => (opts.json ? process.stderr.write(s) : process.stdout.write(s));
  const key = runKey(resolve(planPath), repo);
  const worker = opts.worker === false || opts.detach ? undefined : await startInProcessWorker(config);
  try {
    let runId = opts.runId ?? (opts.new ? undefined : lastRun(config.stateDir, key));
    let attached = false;
    if (runId) {
      try {
        const d = await client.workflow.getHandle(runId).describe();
        attached = d.status.name === 'RUNNING';
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      if (!attached && !opts.runId) runId = undefined;
    }
    runId ??= newRunId(plan.name);
    const handle = client.workflow.getHandle<(i: RunPlanInput) => Promise<RunPlanResult>>(runId);
    if (!attached) {
      const input: RunPlanInput = {
        runId,
        plan,
        repo,
        baseRef: opts.base,
        maxConcurrency: opts.concurrency ?? (process.env.CADRE_MAX_CONCURRENCY ? config.maxConcurrency : undefined),
        statusDir: opts.statusDir ? resolve(opts.statusDir) : undefined,
        model: config.model,
      };
      try {
        await client.workflow.start('runPlan', {
          workflowId: runId,
          taskQueue: config.taskQueue,
          args: [input],
          memo: { title: plan.name, plan: plan.source.path, repo },
          typedSearchAttributes: [
            { key: CadreRun, value: runId },
            { key: CadreRole, value: 'run' },
          ],
          staticSummary: `run ${plan.name} (${plan.tasks.length} tasks) on ${repo}`,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        attached = true;
      }
      rememberRun(config.stateDir, key, runId);
    }
    info(`${attached ? 're-attached to' : 'started'} run ${runId} (${plan.tasks.length} tasks)\nWeb UI: ${workflowUrl(config, runId)}\n`);
    if (opts.detach) return EXIT.ok;

    const tty = Boolean(process.stdout.isTTY) && !opts.json;
    await watchRun(client, handle, { tty, out: opts.json ? () => undefined : out, uiUrl: config.uiUrl });
    let result: RunPlanResult;
    try {
      result = await handle.result();
    } catch (err) {
      info(`run ${runId} did not complete: ${(err as Error).message}\n`);
      return EXIT.failed;
    }
    if (opts.json) {
      out(JSON.stringify(result, null, 2) + '\n');
    } else {
      out(`\n${taskTable({ ...result, name: plan.name, maxConcurrency: 0, status: result.status })}\n\n`);
      out(`run ${runId} ${result.status}: ${result.counts.completed} completed, ${result.counts.skipped} skipped, ${result.counts.failed} failed, ${result.counts.blocked} blocked, ${result.counts.cancelled} cancelled — ${fmtUsd(result.costUsd)}\n`);
      out(`integration branch: ${result.integrationBranch} (in ${repo})\nWeb UI: ${workflowUrl(config, runId)}\n`);
    }
    return result.status === 'completed' ? EXIT.ok : result.status === 'cancelled' ? EXIT.cancelled : EXIT.failed;
  } finally {
    await worker?.stop();
    await rt.close();
  }
}
