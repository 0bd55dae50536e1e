/**
 * `cadre run <plan>`: start a run, or re-attach to the one this plan and repository already have running, keep a
 * worker in this process while it goes on, follow it live (watch.ts), and exit with a code that tells how it ended
 * (0 completed, 1 failed, 3 cancelled; 130 when Ctrl-C detached us while the run goes on).
 */
import { isRemoteRepo } from '../../shared/hosts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { CadreError } from '../../shared/errors';
import { loadConfig, workflowUrl } from '../../node/config';
import { logger } from '../../node/logger';
import { CadreRun, CadreRole } from '../../shared/searchAttributes';
import type { RunPlanInput, RunPlanWorkflow } from '../../shared/run';
import { EXIT, colorWanted, exitCodeFor } from '../output';
import { formatIssue, importPlan, parseFormat } from '../plans';
import { chooseBackends } from '../backends/choice';
import { DEFAULT_BUDGET_WAIT_SECONDS, type PlanBackend } from '../../shared/plan';
import { loadPrices } from '../prices';
import { assertBaseRef, resolveRepo } from '../repo';
import { assertIndexable, storePlan } from '../planRef';
import { lastRun, newRunId, rememberRun, runKey } from '../runRegistry';
import { openRuntime, startInProcessWorker } from '../runtime';
import { followRun, renderOutcome } from '../watch';
import { followMode } from './inspect';

/** How long Ctrl-C waits for the in-process worker to stop before exiting anyway. */
const STOP_GRACE_MS = 3_000;

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
  inlineCommands?: boolean;
  format?: string;
  /** `--backend`: tasks that name none run on it (src/client/backends/choice.ts). */
  backend?: PlanBackend;
  model?: string;
  /** `--remote` (else CADRE_REMOTE): the run goes through this remote, each host in its own clone (docs/hosts.md). */
  remote?: string;
}

/** The status name of the run with this id (RUNNING, COMPLETED, …), or undefined when there is none. */
async function runState(client: Client, runId: string): Promise<string | undefined> {
  try {
    return (await client.workflow.getHandle(runId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

function usedRunId(runId: string, state: string): CadreError {
  return new CadreError(
    `run id "${runId}" already ran (${state.toLowerCase()}); a run id is never reused — start a new run with another --run-id, or leave it out (add --new to skip re-attaching)`,
    2,
  );
}

export async function runCommand(planPath: string, opts: RunOptions): Promise<number> {
  const { plan: loaded, warnings } = await importPlan(planPath, { format: opts.format === undefined ? undefined : parseFormat(opts.format), statusDir: opts.statusDir });
  // What the importer read differently from a strict reading, or left out: the run goes on, the user is told.
  for (const w of warnings) process.stderr.write(`cadre: warning: ${formatIssue(w)}\n`);
  // Every task's backend is settled here, and one that cannot run on this machine stops the run (exit 78).
  const chosen = chooseBackends(loaded, { backend: opts.backend, model: opts.model, configured: loadConfig().backend }, process.env);
  // A person runs this: a budget request that reaches the top waits a day for them unless the plan says otherwise.
  const plan = chosen.defaults.budgetWaitSeconds === undefined ? { ...chosen, defaults: { ...chosen.defaults, budgetWaitSeconds: DEFAULT_BUDGET_WAIT_SECONDS } } : chosen;
  const remote = opts.remote ?? loadConfig().remote;
  if (remote !== undefined && !isRemoteRepo(remote)) {
    throw new CadreError(`--remote ${JSON.stringify(remote)}: expected a URL, an scp-like address (git@host:path) or a bare repository path ending in .git`, 2);
  }
  if (remote !== undefined && opts.repo !== undefined) throw new CadreError('--remote and --repo name the repository twice: give one', 2);
  // Through a remote, the run's repository is the remote itself: every host works in its own clone of it.
  const repo = remote ?? (await resolveRepo(opts.repo));
  if (remote === undefined) await assertBaseRef(repo, opts.base ?? 'HEAD');
  assertIndexable(plan, planPath);
  const rt = await openRuntime();
  const { client, config } = rt;
  const out = (s: string) => process.stdout.write(s);
  // With --json, stdout carries only JSON lines; words for people go to stderr.
  const info = (s: string) => (opts.json ? process.stderr.write(s) : process.stdout.write(s));
  const key = runKey(resolve(planPath), repo);
  const worker = opts.worker === false || opts.detach ? undefined : await startInProcessWorker(config);
  const interrupted = new AbortController();
  const onSigint = () => interrupted.abort();
  try {
    let runId = opts.runId ?? (opts.new ? undefined : lastRun(config.stateDir, key));
    let attached = false;
    if (runId) {
      const state = await runState(client, runId);
      attached = state === 'RUNNING';
      // A closed run is never started again under its id: its agents' transcripts would replay the old work.
      if (!attached && opts.runId && state) throw usedRunId(runId, state);
      if (!attached && !opts.runId) runId = undefined;
    }
    runId ??= newRunId(plan.name);
    if (!attached) {
      // The plan travels by reference: its input stays the same size whatever the plan's (docs/plans.md, "Size").
      // A remote that is not a directory here (a URL) has no blob store this machine can write: the plan goes inline.
      const runPlanOf = opts.inlineCommands ? { ...plan, inlineCommands: true } : plan;
      const input: RunPlanInput = {
        runId,
        ...(remote !== undefined && !existsSync(repo) ? { plan: runPlanOf } : await storePlan(repo, runPlanOf, planPath)),
        repo,
        baseRef: opts.base,
        maxConcurrency: opts.concurrency ?? (process.env.CADRE_MAX_CONCURRENCY ? config.maxConcurrency : undefined),
        statusDir: opts.statusDir ? resolve(opts.statusDir) : undefined,
        model: config.model,
        prices: loadPrices(config.pricesFile),
      };
      try {
        await client.workflow.start<RunPlanWorkflow>('runPlan', {
          workflowId: runId,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
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
        // Started by someone else meanwhile: attach if it runs, refuse if it has already closed.
        const state = await runState(client, runId);
        if (state !== 'RUNNING') throw usedRunId(runId, state ?? 'closed');
        attached = true;
      }
      rememberRun(config.stateDir, key, runId);
    }
    const webUi = workflowUrl(config, runId);
    const log = logger(config.logLevel).child({ run: runId });
    log.info({ plan: plan.source.path, repo, attached }, attached ? 'run re-attached' : 'run started');
    if (opts.detach) {
      if (opts.json) out(JSON.stringify({ event: attached ? 'attached' : 'started', runId, webUi, tasks: plan.tasks.length }) + '\n');
      else info(`${attached ? 're-attached to' : 'started'} run ${runId} (${plan.tasks.length} tasks)\nWeb UI: ${webUi}\nfollow it with: cadre watch ${runId}   (a worker must be running: cadre worker)\n`);
      return EXIT.ok;
    }
    info(`${attached ? 're-attached to' : 'started'} run ${runId} (${plan.tasks.length} tasks)\nWeb UI: ${webUi}\n`);

    // Ctrl-C stops following and this worker; the run itself goes on (in Temporal) and can be re-attached.
    process.once('SIGINT', onSigint);
    const started = Date.now();
    const mode = followMode(opts.json);
    const outcome = await followRun(client, runId, { mode, out, webUi, color: colorWanted(), log, signal: interrupted.signal });
    if (!outcome) {
      info(
        `\ndetached from run ${runId}; it goes on in Temporal but needs a worker to make progress.\n` +
          `re-attach with the same command, or: cadre watch ${runId} (with \`cadre worker\` running)\n`,
      );
      // Give the worker a moment to hand back its tasks, no more: an activity it was running is retried by the
      // next worker once its heartbeat times out. Then leave, whatever still holds the event loop.
      await Promise.race([worker?.stop(), new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
      await rt.close().catch(() => undefined);
      process.exit(EXIT.interrupted);
    }
    if (mode !== 'json') out(`\n${renderOutcome(outcome, { webUi, repo, elapsedMs: attached ? undefined : Date.now() - started })}`);
    return exitCodeFor(outcome.status);
  } finally {
    process.off('SIGINT', onSigint);
    await worker?.stop();
    await rt.close();
  }
}
