/**
 * What the dashboard shows, read the way the CLI reads it — the same functions, not copies: runs by visibility
 * (`listRuns`, as `cadre list`), a run's progress by its query or, with no worker polling, from its history
 * (`loadRunProgress`, as `cadre status`), live spend of running tasks (`sampleRun`), agent trees (`loadTree`, as
 * `cadre tree`), the inbox (`collectInbox`, as `cadre inbox`) and an agent's log from this machine's state directory
 * (as `cadre logs`). Every read here is read-only: nothing the dashboard loads changes a run.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../../node/config';
import { readTranscript } from '../../activities/model/transcript';
import { readSessionLog } from '../../activities/backends/session/store';
import type { AgentTreeNode, TaskRow } from '../../shared/messages';
import type { RunPlanInput } from '../../shared/run';
import { totalTokens } from '../../shared/model';
import { collectInbox, type Inbox } from '../commands/inbox';
import { listRuns, loadRunProgress, type LoadedProgress, type RunListRow } from '../commands/inspect';
import { commandLogFiles, renderSessionEvent, tailLines, transcriptRenderer } from '../commands/logs';
import { loadTree } from '../commands/tree';
import { hasWorker, noPollerReason } from '../view';
import { runCosts, type RunCosts } from '../costs';
import { planOf } from '../planRef';
import { sampleRun, simulatedSpend, workflowInput, type RunView, type Simulated } from '../watch';
import { readFileSync } from 'node:fs';

/** How long one sample may wait on a worker's answers (the page shows the last good one meanwhile). */
const SAMPLE_DEADLINE_MS = 5_000;
/** Lines of an agent's log the page keeps. */
const LOG_LINES = 200;

/** A task's spend as its row of the cost table shows it. */
export interface TaskCost {
  taskId: string;
  tokens?: number;
  costUsd?: number;
  /** Still running: what its agents have spent so far (the row has no cost until the task ends). */
  live?: boolean;
}

export interface RunPage {
  runId: string;
  progress: LoadedProgress;
  /** The run's own Temporal status is running (it may still be `paused` in cadre's words). */
  running: boolean;
  startedAt: number;
  closedAt?: number;
  /** Each task's dependencies, from the run's plan (its start input). */
  dependsOn: Record<string, string[]>;
  trees: AgentTreeNode[];
  costs: TaskCost[];
  /** The run's spend: the sum of the cost rows. */
  total: { tokens: number; costUsd: number };
  /** Rate, forecast against the budget and spend by model, as `cadre status` shows them (src/client/costs.ts). */
  glance: RunCosts;
  simulated?: Simulated;
  /** Set when no worker answers: the data is as of the run's last event, and the buttons would wait for one. */
  noWorker?: string;
  /** The agent whose log is shown, and its last lines. */
  log?: { agentId: string; text: string };
}

const deadline = <T>(client: Client, fn: () => Promise<T>) => client.connection.withDeadline(Date.now() + SAMPLE_DEADLINE_MS, fn);

/**
 * One task's cost row: what its row says (the task ended: all its attempts, as `cadre status` shows), else for a
 * running task what `sampleRun` says its root agent and subtree have spent so far. `cadre status` adds the same
 * live spend to the run's total (`RunView.spentUsd`), so the total below equals the status command's.
 */
export function taskCosts(tasks: TaskRow[], view: RunView | undefined): TaskCost[] {
  return tasks.map((t) => {
    if (t.costUsd !== undefined || t.tokens !== undefined) return { taskId: t.id, tokens: t.tokens, costUsd: t.costUsd };
    const root = t.status === 'running' ? view?.agents.find((a) => a.depth === 0 && a.taskId === t.id) : undefined;
    return root ? { taskId: t.id, tokens: root.tokens, costUsd: root.costUsd, live: true } : { taskId: t.id };
  });
}

export function sumCosts(costs: TaskCost[]): { tokens: number; costUsd: number } {
  return costs.reduce((s, c) => ({ tokens: s.tokens + (c.tokens ?? 0), costUsd: s.costUsd + (c.costUsd ?? 0) }), { tokens: 0, costUsd: 0 });
}

/** A run's page. Throws CadreError (exit 2) for an unknown id or a workflow that is not a run. */
export async function loadRunPage(client: Client, config: Config, runId: string, agentId?: string): Promise<RunPage> {
  const progress = await loadRunProgress(client, runId);
  const d = await client.workflow.getHandle(runId).describe();
  const input = await workflowInput<RunPlanInput>(client, runId).catch(() => undefined);
  // A plan by reference is read from the repository's blob store (src/client/planRef.ts).
  const plan = await planOf(input).catch(() => undefined);
  const dependsOn = Object.fromEntries((plan?.tasks ?? []).map((t) => [t.id, t.dependsOn]));
  const running = d.status.name === 'RUNNING';
  const noWorker = progress.asOf && progress.reason ? `as of ${progress.asOf.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}; ${progress.reason}` : undefined;
  const simulated = simulatedSpend(plan);
  // Live spend needs a worker to answer; without one (or for an ended run) the rows are all there is.
  const view = running && !noWorker ? await deadline(client, () => sampleRun(client, runId, progress, simulated)).catch(() => undefined) : undefined;
  const trees = (
    await Promise.all(progress.tasks.filter((t) => t.agentId).map((t) => deadline(client, () => loadTree(client, t.agentId!)).catch(() => undefined)))
  ).filter((t): t is NonNullable<typeof t> => !!t);
  const costs = taskCosts(progress.tasks, view);
  const total = sumCosts(costs);
  const glance = runCosts(progress, { spentUsd: total.costUsd, spentTokens: total.tokens, startedAt: d.startTime.getTime(), now: (d.closeTime ?? new Date()).getTime(), live: view?.liveTrees });
  const shown = agentId ?? defaultLogAgent(progress.tasks);
  return {
    runId,
    progress,
    running,
    startedAt: d.startTime.getTime(),
    closedAt: d.closeTime?.getTime(),
    dependsOn,
    trees,
    costs,
    total,
    glance,
    simulated,
    noWorker,
    log: shown ? { agentId: shown, text: await agentLog(config.stateDir, shown) } : undefined,
  };
}

/** The log shown when none was picked: the first running task's agent, else the last task that had one. */
function defaultLogAgent(tasks: TaskRow[]): string | undefined {
  return tasks.find((t) => t.status === 'running' && t.agentId)?.agentId ?? tasks.filter((t) => t.agentId).at(-1)?.agentId;
}

/**
 * The last lines of what `cadre logs <agent>` prints: the transcript, an agent program's session, the output of
 * the commands it ran. Read from this machine's state directory (an agent that ran on another host has its logs there).
 */
export async function agentLog(stateDir: string, agentId: string): Promise<string> {
  const parts: string[] = [];
  const transcript = await readTranscript(stateDir, agentId);
  if (transcript.length) parts.push(`── transcript\n${transcript.flatMap(transcriptRenderer()).join('\n')}`);
  const session = readSessionLog(stateDir, agentId);
  if (session.length) parts.push(`── session\n${session.flatMap((e) => renderSessionEvent(e)).join('\n')}`);
  for (const l of commandLogFiles(stateDir, agentId)) parts.push(`── ${l.kind} output\n${readFileSync(l.path, 'utf8')}`);
  if (!parts.length) return `no transcript or command output for ${agentId} in ${stateDir} yet`;
  return tailLines(parts.join('\n'), LOG_LINES);
}

export interface RunsPage {
  runs: RunListRow[];
  /** Set when no worker polls cadre's task queue: the running runs' data is as of their last event. */
  noWorker?: string;
}

export async function loadRunsPage(client: Client, config: Config): Promise<RunsPage> {
  const [runs, worker] = await Promise.all([listRuns(client, config, 50), hasWorker(client, config.taskQueue)]);
  return { runs, noWorker: worker ? undefined : noPollerReason(config.taskQueue) };
}

export async function loadInboxPage(client: Client, config: Config): Promise<Inbox> {
  return collectInbox(client, config.taskQueue);
}

/** The share of a budget an agent has spent, 0–1 (tokens when allocated in tokens, else dollars), or undefined. */
export function budgetShare(n: AgentTreeNode): { used: number; of: number; unit: 'tokens' | 'usd' } | undefined {
  if (n.allocated.tokens) return { used: totalTokens(n.usage), of: n.allocated.tokens, unit: 'tokens' };
  if (n.allocated.usd) return { used: n.costUsd, of: n.allocated.usd, unit: 'usd' };
  return undefined;
}
