/**
 * Looking at runs and agents, and steering runs: status, watch, list, pause/resume/retry/cancel/concurrency. Also
 * the id resolution the other read-only commands share (`run`, `run/task`, an agent id).
 */
import { planOf } from '../planRef';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import type { AgentInput, AgentResult, AgentWorkflow, ReviewRecord, VerifyAttempt } from '../../shared/agent';
import { workflowUrl, type Config } from '../../node/config';
import { CadreError } from '../../shared/errors';
import type { NotifyFailure } from '../../shared/notify';
import { logger } from '../../node/logger';
import {
  agentStatusQuery,
  approveTaskUpdate,
  rejectTaskUpdate,
  cancelTaskUpdate,
  pauseRunUpdate,
  resumeRunUpdate,
  retryTaskUpdate,
  runProgressQuery,
  setConcurrencyUpdate,
  type AgentSnapshot,
  type ResolutionRecord,
  type RunProgress,
  type TaskRow,
} from '../../shared/messages';
import { CadreBudgetUsed, CadreStatus } from '../../shared/searchAttributes';
import type { RunPlanInput, RunPlanWorkflow } from '../../shared/run';
import { EXIT, colorWanted, exitCodeFor, fmtAmount, fmtDuration, fmtUsd, painter, table } from '../output';
import { openRuntime } from '../runtime';
import { costLines, runCosts } from '../costs';
import { followRun, renderOutcome, renderView, sampleRun, simulatedSpend, taskTable, workflowInput as readInput } from '../watch';
import { agentResultOf, runResultOf } from '../results';
import { finishRunCommand } from './finish';
import { hasWorker, historyNotice, noPollerReason, runProgressFromHistory, treeFromHistory, type FromHistory, type Source } from '../view';

/** How long a query may wait for a worker to answer before we say none seems to be running. */
const QUERY_DEADLINE_MS = 10_000;

/**
 * Runs a query (answered by a worker, not the server) with a deadline; without a worker it would wait. A failure
 * becomes one line that says what to do (exit 69).
 */
export async function queryWorkflow<T>(client: Client, id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, fn);
  } catch (err) {
    if (err instanceof CadreError) throw err;
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new CadreError(`no worker answered for ${id} (${why}); is one running? start one with \`cadre worker\``, EXIT.unavailable);
  }
}

async function describe(client: Client, id: string) {
  try {
    return await client.workflow.getHandle(id).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CadreError(`no run or agent with id "${id}"`, EXIT.usage);
    throw err;
  }
}

/** A run's progress and where it came from; read from history (with when and why) when no worker answers. */
export type LoadedProgress = RunProgress & { source: Source } & Partial<Omit<FromHistory, 'source'>>;

/**
 * Asks the run's worker, unless none polls its task queue (then no 10 s wait); without an answer, the progress is
 * rebuilt from the run's history (src/client/view).
 */
async function askOrRead(client: Client, d: WorkflowExecutionDescription, ask: () => Promise<RunProgress>): Promise<LoadedProgress> {
  if (!(await hasWorker(client, d.taskQueue))) return runProgressFromHistory(client, d, noPollerReason(d.taskQueue));
  try {
    return { ...(await queryWorkflow(client, d.workflowId, ask)), source: 'query' };
  } catch (err) {
    if (!(err instanceof CadreError) || err.exitCode !== EXIT.unavailable) throw err;
    return runProgressFromHistory(client, d, `no worker answered on task queue "${d.taskQueue}" within ${QUERY_DEADLINE_MS / 1000} s`);
  }
}

export async function loadRunProgress(client: Client, id: string): Promise<LoadedProgress> {
  const handle = client.workflow.getHandle<RunPlanWorkflow>(id);
  const d = await describe(client, id);
  if (d.type !== 'runPlan') throw new CadreError(`"${id}" is an ${d.type} workflow, not a run`, EXIT.usage);
  const ask = () => handle.query(runProgressQuery);
  if (d.status.name === 'RUNNING') return askOrRead(client, d, ask);
  try {
    const r = await runResultOf(handle);
    // A result carries no plan budget: read it from the run's input, for "used against the total".
    const input = await readInput<RunPlanInput>(client, id).catch(() => undefined);
    return { ...r, name: String(d.memo?.title ?? id), maxConcurrency: 0, budget: (await planOf(input))?.budget, source: 'history' };
  } catch {
    return askOrRead(client, d, ask);
  }
}

/** What an id on the command line names. */
export type Target =
  | { kind: 'run'; runId: string; running: boolean; memo: Record<string, unknown>; startedAt: number; closedAt?: number }
  | { kind: 'agent'; agentId: string; running: boolean; task?: TaskRow; runId?: string };

/**
 * Resolves `run`, `run/task` (the task's latest attempt, `run/task~2` after a retry) or any agent id. A task that
 * has not started yet has no agent: that is an error naming its status.
 */
export async function resolveTarget(client: Client, ref: string): Promise<Target> {
  const slash = ref.indexOf('/');
  if (slash > 0) {
    const runId = ref.slice(0, slash);
    const taskId = ref.slice(slash + 1);
    const run = await client.workflow.getHandle(runId).describe().catch(() => undefined);
    if (run?.type === 'runPlan') {
      const progress = await loadRunProgress(client, runId);
      const task = progress?.tasks.find((t) => t.id === taskId);
      if (task) {
        if (!task.agentId) throw new CadreError(`task ${taskId} of run ${runId} is ${task.status}: it has no agent yet`, EXIT.usage);
        const d = await describe(client, task.agentId);
        return { kind: 'agent', agentId: task.agentId, running: d.status.name === 'RUNNING', task, runId };
      }
    }
  }
  const d = await describe(client, ref);
  if (d.type === 'runPlan') {
    return { kind: 'run', runId: ref, running: d.status.name === 'RUNNING', memo: (d.memo ?? {}) as Record<string, unknown>, startedAt: d.startTime.getTime(), closedAt: d.closeTime?.getTime() };
  }
  return { kind: 'agent', agentId: ref, running: d.status.name === 'RUNNING' };
}

/** The input a workflow was started with; an error when it cannot be read. */
export async function workflowInput<T>(client: Client, workflowId: string): Promise<T> {
  const input = await readInput<T>(client, workflowId);
  if (input === undefined) throw new CadreError(`cannot read the input of ${workflowId}`, EXIT.failed);
  return input;
}

/** A running agent's snapshot, or a closed one's result (falling back to a query if it failed without one). */
export async function agentState(client: Client, agentId: string, running: boolean): Promise<AgentSnapshot | AgentResult> {
  const handle = client.workflow.getHandle<AgentWorkflow>(agentId);
  const query = () => queryWorkflow(client, agentId, () => handle.query(agentStatusQuery));
  if (running) {
    const snapshot = await query();
    return snapshot.ports || snapshot.backend !== 'command' ? snapshot : { ...snapshot, ...(await portsOfRunningTask(handle)) };
  }
  return agentResultOf(handle).catch(query);
}

/**
 * A command agent whose task's activity leased the block itself (docs/workspaces.md, "Ports") knows it only once the
 * activity returns; while it runs, the activity's last heartbeat names it. Nothing when it cannot be read.
 */
async function portsOfRunningTask(handle: WorkflowHandle): Promise<{ ports?: string }> {
  try {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const beat = pending.find((a) => a.activityType?.name === 'runCommandTask')?.heartbeatDetails?.payloads?.[0];
    const ports = beat ? handle.client.options.loadedDataConverter.payloadConverter.fromPayload<{ ports?: unknown }>(beat as never)?.ports : undefined;
    return typeof ports === 'string' ? { ports } : {};
  } catch {
    return {};
  }
}

/** `simulated`: the agent ran on the scripted backend, whose dollars are a nominal price (a snapshot says so itself). */
export function renderAgent(s: AgentSnapshot | AgentResult, running: boolean, simulated = false): string {
  const lines: string[] = [];
  const sim = simulated || ('backend' in s && s.backend === 'scripted') ? ' (simulated)' : '';
  if ('doing' in s) {
    lines.push(`agent ${s.agentId} — ${s.status}${running ? ` — ${s.doing}` : ''} — turn ${s.turn} — ${fmtUsd(s.costUsd)}${sim}`);
    lines.push(`branch ${s.branch ?? ''}${s.workspace ? `  workspace ${s.workspace}` : ''}${s.ports ? `  ports ${s.ports}` : ''}`);
    lines.push(`budget: allocated ${fmtAmount(s.ledger.allocated)}, used ${fmtAmount(s.ledger.used)}, available ${fmtAmount(s.ledger.available)}${s.ledger.alerts.length ? `, alerts ${s.ledger.alerts.map((a) => `${a}%`).join(' ')}` : ''}`);
    for (const c of s.children) lines.push(`  child ${c.name} (${c.agentId}) ${c.status} ${c.costUsd !== undefined ? fmtUsd(c.costUsd) : ''}`);
    if (s.lastText) lines.push(`last said: ${s.lastText.replace(/\s+/g, ' ').slice(0, 200)}`);
    if (s.attempt !== undefined && s.verifyAttempts !== undefined) lines.push(`attempt ${s.attempt} of ${s.verifyAttempts}`);
    lines.push(...attemptLines(s.attempts), ...reviewLines(s.reviews));
    // Stalls (docs/loops.md): no progress since `since`, nudged at `nudgedAt`.
    if (s.stalled) lines.push(`stalled: no progress since ${new Date(s.stalled.since).toISOString()}, nudged at ${new Date(s.stalled.nudgedAt).toISOString()}`);
    // A budget request waiting for the operator (docs/cli.md "cadre budget").
    if (s.budgetRequest) lines.push(`waiting for your budget answer since ${new Date(s.budgetRequest.since).toISOString()}: ${s.budgetRequest.requestId} asks for ${fmtAmount({ tokens: s.budgetRequest.tokens, usd: s.budgetRequest.usd })} (cadre inbox)`);
    lines.push(...notifyLines(s.notifyFailures));
  } else {
    lines.push(`agent ${s.agentId} — ${s.status} — ${s.turns} turns — ${fmtUsd(s.costUsd)}${sim}`);
    lines.push(`branch ${s.branch}${s.commit ? ` @ ${s.commit.slice(0, 10)}` : ''} — ${s.filesChanged.length} file(s) changed`);
    if (s.summary) lines.push(`summary: ${s.summary}`);
    if (s.error) lines.push(`error: ${s.error}`);
    for (const c of s.children) lines.push(`  child ${c.name} ${c.status}${c.merged ? ' merged' : ''}${c.conflicts?.length ? ` conflicts: ${c.conflicts.join(', ')}` : ''}`);
    if (s.attempts?.length) lines.push(`${s.attempts.length} attempt${s.attempts.length === 1 ? '' : 's'} of ${s.verifyAttempts ?? s.attempts.length}`);
    lines.push(...attemptLines(s.attempts), ...reviewLines(s.reviews));
    if (s.stalls) lines.push(`stalls: ${s.stalls}`);
  }
  return lines.join('\n');
}

/** One line per verification attempt (fix-and-retry, docs/loops.md), for `status` and `logs`. */
export function attemptLines(attempts: VerifyAttempt[] | undefined): string[] {
  return (attempts ?? []).map((a) => `  attempt ${a.attempt}: ${a.ok ? 'passed' : `failed (${a.check}): ${a.summary.replace(/\s+/g, ' ')}`}`);
}

/** Review rounds (docs/loops.md "Review"): one line each, with the reviewed commit. */
export function reviewLines(reviews: ReviewRecord[] | undefined): string[] {
  return (reviews ?? []).map((r) => `  review ${r.round}: ${r.verdict === 'approve' ? 'approved' : 'changes requested'} @ ${r.commit.slice(0, 10)}${r.verdict === 'approve' ? '' : `: ${r.summary.replace(/\s+/g, ' ')}`}`);
}

/** Dead letters and messages for the operator, below the task table (nothing when there are none). */
/** A task's merge-conflict rounds (docs/loops.md "Merge conflicts"), one line each. */
export function resolutionLines(rows: ResolutionRecord[] | undefined): string[] {
  return (rows ?? []).map((x) => {
    const files = x.files.length > 3 ? `${x.files.slice(0, 3).join(', ')} and ${x.files.length - 3} more` : x.files.join(', ');
    const what = x.outcome === 'clean' ? 'the integration branch merged in cleanly' : x.outcome === 'resolved' ? `resolved by ${x.agentId ?? 'the resolver'}` : `failed${x.agentId ? ` (${x.agentId})` : ''}: ${x.why ?? '?'}`;
    return `  resolution ${x.round} of ${files}: ${what}${x.costUsd ? ` (${fmtUsd(x.costUsd)})` : ''}`;
  });
}

/** The merge conflicts of a run's tasks, under the task table. */
function conflictLines(p: RunProgress): string {
  const tasks = p.tasks.filter((t) => t.resolutions?.length);
  if (!tasks.length) return '';
  return `\nmerge conflicts:\n${tasks.map((t) => `  ${t.id}:\n${resolutionLines(t.resolutions).map((l) => `  ${l}`).join('\n')}`).join('\n')}\n`;
}

function messageLines(p: RunProgress): string {
  const lines: string[] = [];
  if (p.deadLetters?.length) {
    lines.push(`\ndead letters (${p.deadLetters.length}):`);
    for (const d of p.deadLetters) lines.push(`  ${d.message.id} from ${d.message.from} to ${d.message.to}: ${d.message.text.replace(/\s+/g, ' ').slice(0, 80)} — ${d.reason}`);
  }
  if (p.toOperator?.length) {
    lines.push(`\nmessages to the operator (${p.toOperator.length}):`);
    for (const m of p.toOperator) lines.push(`  ${m.id} from ${m.from}: ${m.text.replace(/\s+/g, ' ').slice(0, 120)}`);
  }
  const failed = notifyLines(p.notifyFailures);
  if (failed.length) lines.push('', ...failed);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Notifications not delivered after their retries (docs/notifications.md), a line each. */
export function notifyLines(failures: NotifyFailure[] | undefined): string[] {
  if (!failures?.length) return [];
  return [`notifications not delivered (${failures.length}):`, ...failures.map((f) => `  ${f.id}: ${f.error.replace(/\s+/g, ' ').slice(0, 160)}`)];
}

export async function statusCommand(id: string, opts: { json?: boolean }): Promise<number> {
  const rt = await openRuntime();
  try {
    const target = await resolveTarget(rt.client, id);
    if (target.kind === 'run') {
      const p = await loadRunProgress(rt.client, id);
      if (opts.json) {
        const costs = runCosts(p, { startedAt: target.startedAt, now: target.closedAt ?? Date.now() });
        process.stdout.write(JSON.stringify({ ...p, costs, workflowStatus: target.running ? 'running' : p.status, webUi: workflowUrl(rt.config, id) }, null, 2) + '\n');
        return EXIT.ok;
      }
      const repoLine = typeof target.memo.repo === 'string' ? `\nrepository ${target.memo.repo}${p.integrationBranch ? `, integration branch ${p.integrationBranch}` : ''}` : '';
      if (p.asOf && p.reason) {
        // No worker: no agent to sample either; the rows are what the history records.
        const spent = p.costUsd ? ` — ${fmtUsd(p.costUsd)}` : '';
        const costs = costLines(runCosts(p, { now: Date.parse(p.asOf) }), p.budget).map((l) => `${l}\n`).join('');
        process.stdout.write(`run ${id} — ${p.status}${spent}\n${costs}${historyNotice({ asOf: p.asOf, reason: p.reason })}\nWeb UI: ${workflowUrl(rt.config, id)}${repoLine}\n\n${taskTable(p, Date.parse(p.asOf))}\n${conflictLines(p)}`);
        return EXIT.ok;
      }
      const simulated = simulatedSpend(await planOf(await readInput<RunPlanInput>(rt.client, id).catch(() => undefined)));
      const view = await rt.client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => sampleRun(rt.client, id, p, simulated)).catch(() => undefined);
      const tty = Boolean(process.stdout.isTTY);
      const frame = view
        ? renderView(view, {
            webUi: workflowUrl(rt.config, id),
            startedAt: target.startedAt,
            now: target.closedAt ?? Date.now(),
            notices: [],
            width: tty ? process.stdout.columns || 100 : 0,
            height: Number.POSITIVE_INFINITY,
            paint: painter(colorWanted()),
          })
        : [`run ${id} — ${p.status}`, `Web UI: ${workflowUrl(rt.config, id)}`];
      process.stdout.write(`${frame.join('\n')}${repoLine}\n\n${taskTable(p)}\n${conflictLines(p)}${messageLines(p)}`);
      return EXIT.ok;
    }
    const task = target.task
      ? `task ${target.task.id} of run ${target.runId}: ${target.task.title} — ${target.task.status}, attempt ${target.task.attempts}\n${resolutionLines(target.task.resolutions).map((l) => `${l}\n`).join('')}`
      : '';
    if (target.running) {
      const d = await describe(rt.client, target.agentId);
      if (!(await hasWorker(rt.client, d.taskQueue))) {
        // No worker to ask: its status and spend from its search attributes, its children from its history.
        const n = (await treeFromHistory(rt.client, target.agentId))!;
        const h = { source: 'history' as const, asOf: n.asOf!, reason: noPollerReason(d.taskQueue) };
        if (opts.json) {
          process.stdout.write(JSON.stringify({ ...n, ...h, task: target.task, webUi: workflowUrl(rt.config, target.agentId) }, null, 2) + '\n');
          return EXIT.ok;
        }
        const kids = n.children.map((c) => `  child ${c.name ?? c.agentId} (${c.agentId}) ${c.status}\n`).join('');
        process.stdout.write(`${task}agent ${n.agentId} — ${n.status} — ${fmtUsd(n.costUsd)}\n${historyNotice(h)}\n${kids}Web UI: ${workflowUrl(rt.config, target.agentId)}\n`);
        return EXIT.ok;
      }
    }
    const s = await agentState(rt.client, target.agentId, target.running);
    if (opts.json) {
      process.stdout.write(JSON.stringify({ ...s, task: target.task, source: 'query', webUi: workflowUrl(rt.config, target.agentId) }, null, 2) + '\n');
      return EXIT.ok;
    }
    const simulated = (await readInput<AgentInput>(rt.client, target.agentId).catch(() => undefined))?.backend === 'scripted';
    process.stdout.write(`${task}${renderAgent(s, target.running, simulated)}\nWeb UI: ${workflowUrl(rt.config, target.agentId)}\n`);
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}

/** How a follower shows the run: JSON lines when asked, a live view on a terminal, plain lines otherwise. */
export function followMode(json?: boolean): 'json' | 'tty' | 'lines' {
  return json ? 'json' : process.stdout.isTTY ? 'tty' : 'lines';
}

export async function watchCommand(id: string, opts: { json?: boolean }): Promise<number> {
  const rt = await openRuntime();
  try {
    const target = await resolveTarget(rt.client, id);
    if (target.kind !== 'run') throw new CadreError(`"${id}" is an agent, not a run: see it with \`cadre status ${id}\` or \`cadre tree ${id}\``, EXIT.usage);
    const webUi = workflowUrl(rt.config, id);
    const mode = followMode(opts.json);
    const outcome = await followRun(rt.client, id, {
      mode,
      out: (s) => process.stdout.write(s),
      webUi,
      color: colorWanted(),
      log: logger(rt.config.logLevel).child({ run: id }),
    });
    if (!outcome) return EXIT.interrupted;
    if (mode !== 'json') process.stdout.write(`\n${renderOutcome(outcome, { webUi, repo: typeof target.memo.repo === 'string' ? target.memo.repo : undefined })}`);
    return exitCodeFor(outcome.status);
  } finally {
    await rt.close();
  }
}

export interface RunListRow {
  runId: string;
  status: string;
  plan: string;
  repo?: string;
  startedAt: string;
  closedAt?: string;
  durationMs: number;
  costUsd?: number;
  webUi: string;
}

/** The newest runs (visibility: `WorkflowType = 'runPlan'`), at most `limit`; `cadre list` and the dashboard. */
export async function listRuns(client: Client, config: Config, limit: number): Promise<RunListRow[]> {
  const rows: RunListRow[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = 'runPlan'` })) {
    const cadreStatus = w.typedSearchAttributes.get(CadreStatus);
    const workflowStatus = w.status.name.toLowerCase();
    rows.push({
      runId: w.workflowId,
      // The workflow's own status wins when it did not end by returning (terminated, timed out).
      status: w.status.name === 'COMPLETED' || w.status.name === 'RUNNING' ? (cadreStatus ?? workflowStatus) : workflowStatus,
      plan: String(w.memo?.title ?? ''),
      repo: typeof w.memo?.repo === 'string' ? w.memo.repo : undefined,
      startedAt: w.startTime.toISOString(),
      closedAt: w.closeTime?.toISOString(),
      durationMs: (w.closeTime ?? new Date()).getTime() - w.startTime.getTime(),
      costUsd: w.typedSearchAttributes.get(CadreBudgetUsed),
      webUi: workflowUrl(config, w.workflowId),
    });
    if (rows.length >= limit) break;
  }
  return rows;
}

export async function listCommand(opts: { limit: number; json?: boolean }): Promise<number> {
  const rt = await openRuntime();
  try {
    const rows = await listRuns(rt.client, rt.config, opts.limit);
    if (opts.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else if (!rows.length) process.stdout.write('no runs yet: start one with `cadre run <plan>` (or `npm run demo`)\n');
    else {
      const when = (iso: string) => iso.replace('T', ' ').slice(0, 19);
      const header = ['RUN', 'STATUS', 'STARTED (UTC)', 'TOOK', 'COST', 'PLAN', 'REPOSITORY'];
      const body = rows.map((r) => [r.runId, r.status, when(r.startedAt), fmtDuration(r.durationMs), r.costUsd !== undefined ? fmtUsd(r.costUsd) : '', r.plan, r.repo ?? '']);
      process.stdout.write(table([header, ...body]) + '\n');
    }
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}

export type ControlAction = 'pause' | 'resume' | 'retry' | 'cancel' | 'concurrency' | 'approve' | 'reject';

/**
 * Steering a running run by an Update. `retry` and `resume` of a run that has ended finish it instead: a new
 * execution of the run (finish.ts).
 */
export async function controlCommand(what: ControlAction, run: string, arg?: string, extra: { reason?: string; detach?: boolean; json?: boolean } = {}): Promise<number> {
  const rt = await openRuntime();
  try {
    const d = await describe(rt.client, run);
    if (d.type !== 'runPlan') throw new CadreError(`"${run}" is not a run`, EXIT.usage);
    const ended = d.status.name !== 'RUNNING';
    if (!(ended && (what === 'retry' || what === 'resume'))) {
      process.stdout.write(`${await steerRun(rt.client, what, run, arg, extra.reason, d)}\n`);
      return EXIT.ok;
    }
  } finally {
    await rt.close();
  }
  return finishRunCommand(run, what === 'retry' ? [arg!] : 'all', extra);
}

/**
 * Steers a running run by one Update and returns what it answered, as one line. A CadreError (exit 2) names the
 * run or task at fault: no such run, not a run, not running, or the Update refused (unknown task, not at a gate…).
 * `cadre pause|resume|retry|approve|reject|cancel|concurrency` and the dashboard's buttons (src/client/ui) both use it.
 */
export async function steerRun(client: Client, what: ControlAction, run: string, arg?: string, reason?: string, known?: WorkflowExecutionDescription): Promise<string> {
  const d = known ?? (await describe(client, run));
  if (d.type !== 'runPlan') throw new CadreError(`"${run}" is not a run`, EXIT.usage);
  if (d.status.name !== 'RUNNING') throw new CadreError(`run ${run} is ${d.status.name.toLowerCase()}, not running`, EXIT.usage);
  const h = client.workflow.getHandle(run);
  let msg: string;
  try {
    switch (what) {
      case 'pause':
        await h.executeUpdate(pauseRunUpdate);
        msg = `run ${run} paused: running tasks finish, no new ones start`;
        break;
      case 'resume':
        await h.executeUpdate(resumeRunUpdate);
        msg = `run ${run} resumed`;
        break;
      case 'retry':
        msg = await h.executeUpdate(retryTaskUpdate, { args: [arg!] });
        break;
      case 'approve':
        msg = await h.executeUpdate(approveTaskUpdate, { args: [arg!] });
        break;
      case 'reject':
        msg = await h.executeUpdate(rejectTaskUpdate, { args: [arg!, reason ?? ''] });
        break;
      case 'concurrency':
        msg = `concurrency set to ${await h.executeUpdate(setConcurrencyUpdate, { args: [Number(arg)] })}`;
        break;
      case 'cancel':
        if (arg) msg = await h.executeUpdate(cancelTaskUpdate, { args: [arg] });
        else {
          await h.cancel();
          msg = `cancelling run ${run}: running tasks are cancelled, their work is committed on their branches`;
        }
        break;
    }
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new CadreError(err.cause?.message ?? err.message, EXIT.usage);
    throw err;
  }
  return msg;
}
