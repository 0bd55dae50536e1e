/**
 * Following a run while it goes on: `cadre run` and `cadre watch` both use `followRun`.
 *
 * Every poll takes a sample of the run — the scheduler's task table (`runProgressQuery`), the agent tree under each
 * running task (`agentTreeQuery`) and what each agent still at work is doing now (`agentStatusQuery`) — and compares
 * it with the previous one. The differences are events (a task or agent changed status, a budget alert fired, the
 * totals moved), shown in one of three ways:
 *
 *   - `tty`:   a view redrawn in place: progress per phase, budget used against the total, the agents at work and
 *              what each is doing, recent failures and blocked tasks, the run's Web UI link;
 *   - `lines`: one plain line per change (logs, CI, pipes);
 *   - `json`:  one JSON object per change on its own line (NDJSON), then the final result as the last line.
 *
 * Queries are answered by a worker: if none is running, the sample is skipped and the view keeps its last state.
 * An unanswered sample is told apart from an unreachable server by a call that needs no worker (GetSystemInfo):
 * if that fails too, the follower says the server cannot be reached (once per outage), not that no worker runs.
 * Polling never changes the run; stopping the follower (Ctrl-C, `signal`) leaves the run going.
 */
import { planOf } from './planRef';
import { ServiceError, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure, TerminatedFailure, TimeoutFailure, defaultPayloadConverter, fromPayloadsAtIndex } from '@temporalio/common';
import type { Logger } from 'pino';
import { terminalAgentStatuses, type AgentStatus, type AgentWorkflow, type Amount } from '../shared/agent';
import { agentStatusQuery, agentTreeQuery, runProgressQuery, type AgentSnapshot, type AgentTreeNode, type ResolutionRecord, type RunProgress, type TaskRow, type TaskStatus } from '../shared/messages';
import { totalTokens } from '../shared/model';
import type { Plan } from '../shared/plan';
import type { RunPlanInput, RunPlanResult, RunPlanWorkflow } from '../shared/run';
import { costLines, runCosts } from './costs';
import { bar, fit, fmtAmount, fmtDuration, fmtTokens, fmtUsd, painter, paintStatus, pct, table, type Paint } from './output';
import { agentResultOf, runResultOf } from './results';

// ---- the sample ------------------------------------------------------------------------------------------------

/** One agent as the live view shows it. `name` is its id relative to the run (`team/writer/checker`). */
export interface AgentLive {
  agentId: string;
  name: string;
  taskId?: string;
  depth: number;
  status: AgentStatus;
  doing: string;
  turn?: number;
  /** The agent's and its subtree's usage. */
  tokens: number;
  costUsd: number;
  allocated: Amount;
  alerts: number[];
  /** Fix-and-retry (docs/loops.md): the verification attempt the agent is on, of how many, and the last failure. */
  attempt?: number;
  verifyAttempts?: number;
  lastFailure?: string;
}

export interface RunView {
  runId: string;
  progress: RunProgress;
  /** Every agent seen so far under the tasks we watched run, in task order, parents before children. */
  agents: AgentLive[];
  /** Finished tasks' spend plus what the running ones have spent so far. */
  spentUsd: number;
  spentTokens: number;
  /** The agent trees of the tasks running now: their spend by model is not in the run's record until they end. */
  liveTrees?: AgentTreeNode[];
  at: number;
  /** The dollars are the scripted backend's nominal price, not money spent: for all of the run, or some of it. */
  simulated?: Simulated;
}

export type Simulated = 'all' | 'some';
const MODEL_BACKENDS = ['scripted', 'anthropic', 'claude-code', 'codex'];

/** Whether a run's dollars are simulated: its model tasks are scripted (all of them, or some). */
export function simulatedSpend(plan: Pick<Plan, 'tasks'> | undefined): Simulated | undefined {
  const models = plan?.tasks.filter((t) => t.backend && MODEL_BACKENDS.includes(t.backend)) ?? [];
  const scripted = models.filter((t) => t.backend === 'scripted').length;
  return scripted === 0 ? undefined : scripted === models.length ? 'all' : 'some';
}

/** What follows a dollar amount of the run: ` (simulated)`, ` (partly simulated)` or nothing. */
export function simulatedNote(sim: Simulated | undefined): string {
  return sim === 'all' ? ' (simulated)' : sim === 'some' ? ' (partly simulated)' : '';
}

const TERMINAL_TASK: TaskStatus[] = ['completed', 'failed', 'blocked', 'cancelled', 'skipped'];
const isLive = (s: AgentStatus) => !terminalAgentStatuses.includes(s);
/** At most this many status queries per sample: a wide tree is shown from its tree query alone beyond that. */
const MAX_STATUS_QUERIES = 32;

/** Trees of the tasks' agents, kept between samples; a finished task's final tree is fetched once, from its result. */
interface TreeCache {
  trees: Map<string, AgentTreeNode>;
  final: Set<string>;
}

function flatten(n: AgentTreeNode, out: AgentTreeNode[] = []): AgentTreeNode[] {
  out.push(n);
  for (const c of n.children) flatten(c, out);
  return out;
}

/** `run-1/team/writer` → `team/writer`; ids outside the run are shown whole. */
export function relativeName(runId: string, agentId: string): string {
  return agentId.startsWith(`${runId}/`) ? agentId.slice(runId.length + 1) : agentId;
}

async function sample(client: Client, handle: WorkflowHandle, runId: string, cache: TreeCache, known?: RunProgress): Promise<RunView | undefined> {
  let progress: RunProgress;
  try {
    progress = known ?? (await handle.query(runProgressQuery));
  } catch {
    // No worker answered (between tasks on a restarting worker, or none running): keep the last view.
    return undefined;
  }
  const rows = progress.tasks.filter((t) => t.agentId);
  await Promise.all(
    rows.map(async (t) => {
      const id = t.agentId!;
      const h = client.workflow.getHandle<AgentWorkflow>(id);
      if (t.status === 'running') {
        const tree = await h.query(agentTreeQuery).catch(() => undefined);
        if (tree) cache.trees.set(id, tree);
      } else if (TERMINAL_TASK.includes(t.status) && cache.trees.has(id) && !cache.final.has(id)) {
        // Seen running, now ended: its final tree tells how each sub-agent ended, even one that ended between polls.
        cache.final.add(id);
        const r = await agentResultOf(h).catch(() => undefined);
        if (r?.tree) cache.trees.set(id, r.tree);
      }
    }),
  );
  const nodes: { node: AgentTreeNode; taskId: string; taskRunning: boolean }[] = [];
  for (const t of rows) {
    const tree = cache.trees.get(t.agentId!);
    if (tree) for (const node of flatten(tree)) nodes.push({ node, taskId: t.id, taskRunning: t.status === 'running' });
  }
  const live = new Map<string, AgentSnapshot>();
  const toAsk = nodes.filter((n) => n.taskRunning && isLive(n.node.status)).slice(0, MAX_STATUS_QUERIES);
  await Promise.all(
    toAsk.map(async ({ node }) => {
      const s = await client.workflow.getHandle(node.agentId).query(agentStatusQuery).catch(() => undefined);
      if (s) live.set(node.agentId, s);
    }),
  );
  const agents: AgentLive[] = nodes.map(({ node, taskId, taskRunning }) => {
    // Only agents of running tasks are asked; the others show the status their tree last reported.
    const s = taskRunning ? live.get(node.agentId) : undefined;
    return {
      agentId: node.agentId,
      name: relativeName(runId, node.agentId),
      taskId,
      depth: node.depth,
      status: s?.status ?? node.status,
      doing: s?.doing ?? node.doing,
      turn: s?.turn,
      tokens: s ? totalTokens(s.usage) : totalTokens(node.usage),
      costUsd: s?.costUsd ?? node.costUsd,
      allocated: node.allocated,
      alerts: node.alerts,
      ...(s?.attempt !== undefined ? { attempt: s.attempt, verifyAttempts: s.verifyAttempts, lastFailure: [...(s.attempts ?? [])].reverse().find((x) => !x.ok)?.summary } : {}),
    };
  });
  let spentUsd = progress.costUsd;
  let spentTokens = progress.tokens;
  for (const a of agents) {
    const row = progress.tasks.find((t) => t.id === a.taskId);
    // A row with a cost is already counted in the run's totals (it ended and is being merged).
    if (a.depth === 0 && row?.status === 'running' && row.costUsd === undefined) {
      spentUsd += a.costUsd;
      spentTokens += a.tokens;
    }
  }
  const liveTrees = rows.filter((t) => t.status === 'running' && t.costUsd === undefined).flatMap((t) => cache.trees.get(t.agentId!) ?? []);
  return { runId, progress, agents, spentUsd, spentTokens, liveTrees, at: Date.now() };
}

/** One sample of a run, for a one-off view (`cadre status`); `known` is its progress when already loaded. */
export async function sampleRun(client: Client, runId: string, known?: RunProgress, simulated?: Simulated): Promise<RunView | undefined> {
  const v = await sample(client, client.workflow.getHandle(runId), runId, { trees: new Map(), final: new Set() }, known);
  return v && simulated ? { ...v, simulated } : v;
}

// ---- events ----------------------------------------------------------------------------------------------------

interface Base {
  at: string;
  runId: string;
}
export type WatchEvent =
  | (Base & { event: 'run'; name: string; status: string; tasks: number; webUi?: string; budget?: Amount })
  | (Base & {
      event: 'task';
      task: string;
      title: string;
      phase?: string;
      status: TaskStatus;
      attempt: number;
      agentId?: string;
      error?: string;
      blockedBy?: string[];
      /** While `waiting`: what for ("approval: …", "lock on …"); while `running`, a step of the run ("resolving conflict in …"). */
      waiting?: string;
      /** Merge-conflict rounds so far and how the last one ended (docs/loops.md "Merge conflicts"). */
      resolutions?: number;
      resolution?: ResolutionRecord['outcome'];
      summary?: string;
      costUsd?: number;
      done: number;
      total: number;
    })
  | (Base & {
      event: 'agent';
      agentId: string;
      name: string;
      task?: string;
      depth: number;
      status: AgentStatus;
      /** The status at the previous sample; absent the first time the agent is seen. */
      previous?: AgentStatus;
      doing: string;
      turn?: number;
      tokens: number;
      costUsd: number;
      allocated: Amount;
      /** Fix-and-retry: the attempt, of how many; the previous sample's attempt; why the last one failed. */
      attempt?: number;
      verifyAttempts?: number;
      previousAttempt?: number;
      lastFailure?: string;
    })
  | (Base & { event: 'budget_alert'; agentId: string; name: string; task?: string; percent: number; allocated: Amount; tokens: number; costUsd: number })
  | (Base & { event: 'progress'; counts: Record<TaskStatus, number>; done: number; total: number; costUsd: number; tokens: number; budget?: Amount; costSimulated?: Simulated });

const doneOf = (p: RunProgress) => p.counts.completed + p.counts.skipped;

/**
 * When a task's change happened, from its row: the workflow's clock when it started or ended, as recorded in the
 * run's history. A blocked task: when the last of its blockers ended. Undefined when the row does not say.
 */
export function taskEventTime(t: TaskRow, rows: TaskRow[]): number | undefined {
  if (t.status === 'running') return t.startedAt;
  if (t.status === 'completed' || t.status === 'failed' || t.status === 'cancelled') return t.endedAt;
  if (t.status === 'blocked') {
    const ends = (t.blockedBy ?? []).map((id) => rows.find((r) => r.id === id)?.endedAt).filter((n): n is number => n !== undefined);
    return ends.length ? Math.max(...ends) : undefined;
  }
  return undefined;
}

/**
 * What changed from `prev` to `next`, as events (all of them on the first sample). Task events carry the time the
 * task changed (its row's, `taskEventTime`) and come in that order, so a run watched after it ended reads as it
 * happened; other events carry the sample's time.
 */
export function diffViews(prev: RunView | undefined, next: RunView, webUi?: string): WatchEvent[] {
  const at = new Date(next.at).toISOString();
  const base = { at, runId: next.runId };
  const p = next.progress;
  const events: WatchEvent[] = [];
  // The run's own event comes first while it goes on, last when it has ended (after the tasks that ended it).
  const runChanged = !prev || prev.progress.status !== p.status;
  const runEvent: WatchEvent = { ...base, event: 'run', name: p.name, status: p.status, tasks: p.tasks.length, webUi, budget: p.budget };
  const ended = p.status === 'completed' || p.status === 'failed' || p.status === 'cancelled';
  if (runChanged && !ended) events.push(runEvent);
  const prevRows = new Map(prev?.progress.tasks.map((t) => [t.id, t]));
  const timeOf = (t: TaskRow) => taskEventTime(t, p.tasks) ?? next.at;
  const changed = p.tasks
    .filter((t) => {
      const before = prevRows.get(t.id);
      return before ? before.status !== t.status || before.attempts !== t.attempts || before.waiting !== t.waiting || before.resolutions?.length !== t.resolutions?.length : t.status !== 'pending';
    })
    .sort((a, b) => timeOf(a) - timeOf(b));
  // Counted event by event, so two tasks ending in one poll read 4/6 then 5/6.
  const finishing = (t: TaskRow) => t.status === 'completed' || t.status === 'skipped';
  let done = doneOf(p) - changed.filter(finishing).length;
  for (const t of changed) {
    if (finishing(t)) done++;
    events.push({
      ...base,
      at: new Date(timeOf(t)).toISOString(),
      event: 'task',
      task: t.id,
      title: t.title,
      phase: t.phase,
      status: t.status,
      attempt: t.attempts,
      agentId: t.agentId,
      error: t.error,
      blockedBy: t.blockedBy,
      ...(t.waiting ? { waiting: t.waiting } : {}),
      ...(t.resolutions?.length ? { resolutions: t.resolutions.length, resolution: t.resolutions[t.resolutions.length - 1]!.outcome } : {}),
      summary: t.summary,
      costUsd: t.costUsd,
      done,
      total: p.tasks.length,
    });
  }
  const prevAgents = new Map(prev?.agents.map((a) => [a.agentId, a]));
  for (const a of next.agents) {
    const before = prevAgents.get(a.agentId);
    const changed = !before || before.status !== a.status || before.doing !== a.doing || (a.attempt !== undefined && before.attempt !== a.attempt);
    const agentEvent: WatchEvent = {
      ...base,
      event: 'agent',
      agentId: a.agentId,
      name: a.name,
      task: a.taskId,
      depth: a.depth,
      status: a.status,
      previous: before?.status,
      doing: a.doing,
      turn: a.turn,
      tokens: a.tokens,
      costUsd: a.costUsd,
      allocated: a.allocated,
      ...(a.attempt !== undefined ? { attempt: a.attempt, verifyAttempts: a.verifyAttempts, previousAttempt: before?.attempt, lastFailure: a.lastFailure } : {}),
    };
    // A new agent is announced before its alerts; a known one's alerts come before the status they led to.
    if (!before) events.push(agentEvent);
    for (const percent of a.alerts) {
      if (before?.alerts.includes(percent)) continue;
      events.push({ ...base, event: 'budget_alert', agentId: a.agentId, name: a.name, task: a.taskId, percent, allocated: a.allocated, tokens: a.tokens, costUsd: a.costUsd });
    }
    if (before && changed) events.push(agentEvent);
  }
  const moved =
    !prev ||
    JSON.stringify(prev.progress.counts) !== JSON.stringify(p.counts) ||
    prev.spentTokens !== next.spentTokens ||
    Math.abs(prev.spentUsd - next.spentUsd) > 1e-9;
  if (moved) events.push({ ...base, event: 'progress', counts: p.counts, done: doneOf(p), total: p.tasks.length, costUsd: next.spentUsd, tokens: next.spentTokens, budget: p.budget, ...(next.simulated ? { costSimulated: next.simulated } : {}) });
  if (runChanged && ended) events.push(runEvent);
  return events;
}

/**
 * One plain line for an event, or undefined for events the line view leaves out (what an agent is doing, totals,
 * a task agent's own status, which its task line already tells).
 */
export function eventLine(e: WatchEvent, startedAt: number): string | undefined {
  const when = `[+${fmtDuration(Date.parse(e.at) - startedAt)}]`;
  switch (e.event) {
    case 'run':
      return `${when} run ${e.runId} (${e.name}): ${e.status}, ${e.tasks} tasks${e.webUi ? ` — Web UI ${e.webUi}` : ''}`;
    case 'task': {
      let extra = '';
      const resolved = e.resolution === 'resolved' ? ', merge conflict resolved' : e.resolution === 'clean' ? ', integration merged in' : '';
      if (e.status === 'running' && e.waiting) extra = ` — ${oneLine(e.waiting, 160)}${e.resolutions ? ` (round ${e.resolutions + 1})` : ''}`;
      else if (e.status === 'running') extra = ` — ${e.title}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`;
      else if (e.status === 'completed') extra = ` (${e.done}/${e.total} done${e.costUsd ? `, ${fmtUsd(e.costUsd)}` : ''}${resolved})`;
      else if (e.status === 'blocked') extra = ` by ${e.blockedBy?.join(', ') ?? '?'}`;
      else if (e.status === 'waiting') extra = waitingNote(e.waiting, e.runId, e.task);
      else if (e.error) extra = `: ${oneLine(e.error, 200)}`;
      return `${when} ${e.task} ${e.status}${extra}`;
    }
    case 'agent': {
      const lines: string[] = [];
      // A fix attempt (docs/loops.md): the verification failed and the agent works again.
      if (e.attempt !== undefined && e.attempt > 1 && e.attempt !== e.previousAttempt) {
        lines.push(`${when} ${e.depth === 0 && e.task ? e.task : `agent ${e.name}`} verification failed${e.lastFailure ? `: ${oneLine(e.lastFailure, 160)}` : ''} — attempt ${e.attempt} of ${e.verifyAttempts ?? '?'}`);
      }
      // Sub-agents only (a task's own agent is its task line): when first seen, and when they end.
      if (e.depth === 0) return lines.length ? lines.join('\n') : undefined;
      if (!e.previous) lines.push(`${when} agent ${e.name} spawned (depth ${e.depth}, budget ${fmtAmount(e.allocated)})`);
      if (!isLive(e.status) && e.previous !== e.status) lines.push(`${when} agent ${e.name} ${e.status} (${fmtTokens(e.tokens)} tokens, ${fmtUsd(e.costUsd)})`);
      return lines.length ? lines.join('\n') : undefined;
    }
    case 'budget_alert':
      return `${when} agent ${e.name} used ${e.percent}% of its budget (${fmtAmount(e.allocated)})`;
    case 'progress':
      return undefined;
  }
}

/** ` for approval: … (cadre approve|reject <run> <task>)`, or ` for lock on …`. */
function waitingNote(waiting: string | undefined, runId: string, task: string): string {
  if (!waiting) return '';
  const approval = waiting.startsWith('approval');
  return ` for ${oneLine(waiting, 160)}${approval ? ` (cadre approve|reject ${runId} ${task})` : ''}`;
}

function oneLine(s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

// ---- the TTY view ----------------------------------------------------------------------------------------------

export interface ViewContext {
  webUi?: string;
  startedAt: number;
  now: number;
  /** Recent failures, blocked tasks and budget events, newest last. */
  notices: string[];
  width: number;
  height: number;
  paint: Paint;
}

/** The live view: one frame, every line fitted to the terminal's width and the whole to its height. */
export function renderView(v: RunView, ctx: ViewContext): string[] {
  const { paint } = ctx;
  const p = v.progress;
  const c = p.counts;
  const total = p.tasks.length;
  const head = [
    `${paint('cadre', 'bold')} · run ${paint(p.runId, 'bold')} (${p.name}) · ${paintStatus(paint, p.status)} · ${fmtDuration(ctx.now - ctx.startedAt)}`,
    ...(ctx.webUi ? [`Web UI  ${paint(ctx.webUi, 'blue')}`] : []),
    '',
    `tasks   ${bar(doneOf(p), total)} ${doneOf(p)}/${total} done · ${c.running} running · ${c.failed ? paint(`${c.failed} failed`, 'red') : '0 failed'} · ${c.blocked ? paint(`${c.blocked} blocked`, 'yellow') : '0 blocked'}${c.cancelled ? ` · ${c.cancelled} cancelled` : ''}${p.maxConcurrency ? ` · concurrency ${p.maxConcurrency}` : ''}`,
  ];
  const phases = phaseRows(p.tasks);
  if (phases.length > 1 || (phases.length === 1 && phases[0]![0] !== '')) {
    const w = Math.min(24, Math.max(...phases.map(([name]) => (name || '(no phase)').length)));
    for (const [name, tasks] of phases) {
      const d = tasks.filter((t) => t.status === 'completed' || t.status === 'skipped').length;
      const running = tasks.filter((t) => t.status === 'running').length;
      const bad = tasks.filter((t) => t.status === 'failed' || t.status === 'blocked').length;
      head.push(`  ${(name || '(no phase)').slice(0, w).padEnd(w)} ${bar(d, tasks.length, 16)} ${d}/${tasks.length}${running ? `  ${running} running` : ''}${bad ? paint(`  ${bad} failed/blocked`, 'red') : ''}`);
    }
  }
  head.push(budgetLine(v));
  head.push(...costLines(runCosts(p, { spentUsd: v.spentUsd, spentTokens: v.spentTokens, startedAt: ctx.startedAt, now: ctx.now, live: v.liveTrees }), p.budget, simulatedNote(v.simulated)));

  const atWork = v.agents.filter((a) => isLive(a.status) && p.tasks.find((t) => t.id === a.taskId)?.status === 'running');
  const agentRows: string[][] = atWork.map((a) => {
    const row = p.tasks.find((t) => t.id === a.taskId);
    const age = a.depth === 0 && row?.startedAt ? fmtDuration(ctx.now - row.startedAt) : '';
    const limit = a.allocated.tokens !== undefined ? ` of ${fmtTokens(a.allocated.tokens)}` : '';
    return [
      `  ${'  '.repeat(a.depth)}${a.depth ? '└ ' : ''}${a.depth ? a.name.slice(a.name.lastIndexOf('/') + 1) : a.name}`,
      paintStatus(paint, a.status),
      a.turn ? `turn ${a.turn}` : age,
      `${fmtTokens(a.tokens)}${limit} tok`,
      fmtUsd(a.costUsd),
      paint(oneLine(a.doing || '…', 80), 'dim'),
    ];
  });
  const notices = ctx.notices.slice(-6);
  const body: string[] = [];
  const room = Math.max(3, ctx.height - 1 - head.length - 2 - (notices.length ? notices.length + 2 : 0));
  const over = p.status === 'completed' || p.status === 'failed' || p.status === 'cancelled';
  if (!over) body.push('', atWork.length ? `agents at work (${atWork.length})` : 'agents at work: none right now');
  if (atWork.length) {
    const shown = atWork.length > room ? agentRows.slice(0, room - 1) : agentRows;
    body.push(...table(shown).split('\n'));
    if (shown.length < agentRows.length) body.push(`  … ${agentRows.length - shown.length} more (cadre tree ${p.runId})`);
  }
  if (notices.length) body.push('', 'recent failures, blocked tasks, budget', ...notices.map((n) => `  ${n}`));
  return [...head, ...body].map((l) => fit(l, ctx.width - 1));
}

function phaseRows(tasks: TaskRow[]): [string, TaskRow[]][] {
  const phases = new Map<string, TaskRow[]>();
  for (const t of tasks) phases.set(t.phase ?? '', [...(phases.get(t.phase ?? '') ?? []), t]);
  return [...phases];
}

/** Budget used against the run's total, when the plan sets one; else what was spent. */
export function budgetLine(v: RunView): string {
  const b = v.progress.budget;
  const usd = `${fmtUsd(v.spentUsd)}${simulatedNote(v.simulated)}`;
  if (b?.tokens !== undefined) {
    return `budget  ${bar(v.spentTokens, b.tokens)} ${fmtTokens(v.spentTokens)} of ${fmtTokens(b.tokens)} tokens (${pct(v.spentTokens, b.tokens)}) · ${usd}${b.usd !== undefined ? ` of ${fmtUsd(b.usd)}` : ''}`;
  }
  if (b?.usd !== undefined) return `budget  ${bar(v.spentUsd, b.usd)} ${fmtUsd(v.spentUsd)} of ${fmtUsd(b.usd)}${simulatedNote(v.simulated)} (${pct(v.spentUsd, b.usd)}) · ${fmtTokens(v.spentTokens)} tokens`;
  return `spent   ${fmtTokens(v.spentTokens)} tokens · ${usd} (the plan sets no run budget)`;
}

/** A short line for the "recent failures" list of the TTY view, or undefined when the event is not one. */
function noticeFor(e: WatchEvent, paint: Paint): string | undefined {
  if (e.event === 'task' && (e.status === 'failed' || e.status === 'cancelled')) return `${e.task}  ${paintStatus(paint, e.status)}  ${oneLine(e.error ?? '', 120)}`;
  if (e.event === 'task' && e.status === 'blocked') return `${e.task}  ${paintStatus(paint, 'blocked')}  by ${e.blockedBy?.join(', ') ?? '?'}`;
  if (e.event === 'agent' && e.depth > 0 && !isLive(e.status) && e.status !== 'completed' && e.previous !== e.status) return `${e.name}  ${paintStatus(paint, e.status)}`;
  if (e.event === 'budget_alert' && e.percent >= 80) return `${e.name}  ${paint(`budget ${e.percent}%`, 'yellow')} of ${fmtAmount(e.allocated)}`;
  return undefined;
}

// ---- tables and the ending -------------------------------------------------------------------------------------

export function taskTable(p: Pick<RunProgress, 'tasks' | 'tasksOmitted' | 'counts'>, now = Date.now()): string {
  const rows = [['TASK', 'STATUS', 'PHASE', 'PRI', 'TRIES', 'TIME', 'COST', 'NOTE']];
  for (const t of p.tasks) {
    const time = t.startedAt ? fmtDuration((t.endedAt ?? now) - t.startedAt) : '';
    const note =
      t.status === 'blocked' ? `blocked by ${t.blockedBy?.join(', ')}` : t.status === 'waiting' ? `for ${oneLine(t.waiting ?? 'something', 80)}`
      : t.status === 'pending' && t.waiting ? `waiting: ${oneLine(t.waiting, 80)}` : t.status === 'running' && t.waiting ? oneLine(t.waiting, 80)
      : t.status === 'completed' && t.resolutions?.some((x) => x.outcome === 'resolved') ? oneLine(`merge conflict resolved; ${t.summary ?? ''}`, 80)
      : oneLine(t.error ?? t.summary ?? '', 80);
    rows.push([t.id, t.status, t.phase ?? '', String(t.priority), String(t.attempts), time, t.costUsd !== undefined ? fmtUsd(t.costUsd) : '', note]);
  }
  // A huge run's progress holds the rows that matter (docs/architecture.md, "Payload bounds"): say what is left out.
  if (!p.tasksOmitted) return table(rows);
  const c = p.counts;
  return `${table(rows)}\n… ${p.tasksOmitted} more rows not shown (${c.completed} completed, ${c.skipped} skipped, ${c.pending} pending in all)`;
}

export type RunEnd = 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out';

export interface RunOutcome {
  runId: string;
  status: RunEnd;
  /** The last progress known: the result's task table when the run returned one. */
  progress?: RunProgress;
  result?: RunPlanResult;
  /** Why the workflow itself failed (terminated, timed out, an error), when it did not return a result. */
  error?: string;
  /** Its dollars are the scripted backend's nominal price (all or some of them). */
  simulated?: Simulated;
}

/** The closing lines of `cadre run` and `cadre watch`. */
export function renderOutcome(o: RunOutcome, ctx: { webUi?: string; repo?: string; elapsedMs?: number; simulated?: Simulated }): string {
  const lines: string[] = [];
  if (o.progress) lines.push(taskTable(o.progress), '');
  const c = o.progress?.counts;
  const spent = o.result ? ` — ${fmtTokens(o.result.tokens)} tokens, ${fmtUsd(o.result.costUsd)}${simulatedNote(ctx.simulated ?? o.simulated)}` : '';
  const took = ctx.elapsedMs !== undefined ? ` in ${fmtDuration(ctx.elapsedMs)}` : '';
  lines.push(
    `run ${o.runId} ${o.status}${took}${c ? `: ${c.completed} completed, ${c.skipped} skipped, ${c.failed} failed, ${c.blocked} blocked, ${c.cancelled} cancelled` : ''}${spent}${o.error ? ` (${o.error})` : ''}`,
  );
  if (o.result) lines.push(`integration branch: ${o.result.integrationBranch}${ctx.repo ? ` (in ${ctx.repo})` : ''}`);
  if (ctx.webUi) lines.push(`Web UI: ${ctx.webUi}`);
  return lines.join('\n') + '\n';
}

/**
 * The input a workflow was started with (its latest run's first history event): the plan of a run, where an agent
 * works and what it branched from. One page of one event, not the whole history.
 */
export async function workflowInput<T>(client: Client, workflowId: string): Promise<T | undefined> {
  const page = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId },
    maximumPageSize: 1,
  });
  const payloads = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  return payloads?.length ? fromPayloadsAtIndex<T>(defaultPayloadConverter, 0, payloads) : undefined;
}

/** How a closed run ended, from its result or from why the workflow did not return one. */
async function outcomeOf(handle: WorkflowHandle<RunPlanWorkflow>, runId: string, name: string): Promise<RunOutcome> {
  try {
    const result = await runResultOf(handle);
    return { runId, status: result.status, result, progress: { ...result, name, status: result.status, maxConcurrency: 0 } };
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : err;
    const status: RunEnd = cause instanceof TerminatedFailure ? 'terminated' : cause instanceof TimeoutFailure ? 'timed_out' : cause instanceof CancelledFailure ? 'cancelled' : 'failed';
    const progress = await handle.query(runProgressQuery).catch(() => undefined);
    return { runId, status, progress, error: cause instanceof Error ? cause.message : String(cause) };
  }
}

const SAMPLE_DEADLINE_MS = 5_000;
/** How long the server has to answer a call that needs no worker before it counts as unreachable. */
const PROBE_DEADLINE_MS = 3_000;

/** Does the server answer at all? A call no worker takes part in: when it fails, the server (or the way to it) is down. */
export function serverAnswers(client: Client): Promise<boolean> {
  return client.connection.withDeadline(Date.now() + PROBE_DEADLINE_MS, () => client.workflowService.getSystemInfo({})).then(
    () => true,
    () => false,
  );
}

/** Resolves when the run closes. A lost connection is not an ending: the wait starts again until the server answers. */
async function untilClosed(handle: WorkflowHandle, stopped: () => boolean): Promise<void> {
  for (;;) {
    try {
      await handle.result();
      return;
    } catch (err) {
      if (!(err instanceof ServiceError) || stopped()) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
/** Consecutive unanswered samples before saying that no worker seems to be running. */
const NO_WORKER_HINT_AFTER = 2;

// ---- following -------------------------------------------------------------------------------------------------

export interface FollowOptions {
  mode: 'tty' | 'lines' | 'json';
  out: (s: string) => void;
  webUi?: string;
  intervalMs?: number;
  /** Stop following (the run goes on); `followRun` then resolves to undefined. */
  signal?: AbortSignal;
  color?: boolean;
  size?: () => { columns: number; rows: number };
  log?: Logger;
}

/**
 * Follows a run until it closes (or `signal` aborts), showing it as `mode` says. Returns how it ended. On a TTY
 * the last frame stays on screen; in JSON mode the last line printed is `{"event":"result",…}`.
 */
export async function followRun(client: Client, runId: string, opts: FollowOptions): Promise<RunOutcome | undefined> {
  const handle = client.workflow.getHandle<RunPlanWorkflow>(runId);
  const d = await handle.describe();
  const startedAt = d.startTime.getTime();
  const name = String(d.memo?.title ?? runId);
  const paint = painter(opts.mode === 'tty' && (opts.color ?? false));
  const size = opts.size ?? (() => ({ columns: process.stdout.columns || 100, rows: process.stdout.rows || 40 }));
  const cache: TreeCache = { trees: new Map(), final: new Set() };
  const notices: string[] = [];
  let prev: RunView | undefined;
  let drawn = 0;

  let isClosed = d.status.name !== 'RUNNING';
  const closed = isClosed ? Promise.resolve(true) : untilClosed(handle, () => isClosed || !!opts.signal?.aborted).then(() => true);
  void closed.then(() => (isClosed = true));
  const aborted = new Promise<void>((resolve) => {
    if (opts.signal?.aborted) resolve();
    opts.signal?.addEventListener('abort', () => resolve(), { once: true });
  });

  const input = await workflowInput<RunPlanInput>(client, runId).catch(() => undefined);
  const inputPlan = await planOf(input);
  const simulated = simulatedSpend(inputPlan);
  const show = (sampled: RunView, report = true) => {
    const v: RunView = simulated ? { ...sampled, simulated } : sampled;
    const events = report ? diffViews(prev, v, opts.webUi) : [];
    for (const e of events) {
      logEvent(opts.log, e);
      const notice = noticeFor(e, paint);
      if (notice) notices.push(notice);
      if (opts.mode === 'json') opts.out(JSON.stringify(e) + '\n');
      else if (opts.mode === 'lines') {
        const line = eventLine(e, startedAt);
        if (line) opts.out(line + '\n');
      }
    }
    prev = v;
    if (opts.mode === 'tty') {
      const { columns, rows } = size();
      const frame = renderView(v, { webUi: opts.webUi, startedAt, now: Date.now(), notices, width: columns, height: rows, paint });
      // Up to the first line of the last frame, clear to the end of the screen, draw the new one.
      opts.out(`${drawn ? `\x1b[${drawn}A\r\x1b[0J` : ''}${frame.join('\n')}\n`);
      drawn = frame.length;
    }
  };

  const tell = (hint: string) => {
    // On a terminal the hint joins the view (a line written beside it would break the redraw).
    if (opts.mode === 'tty' && prev) {
      notices.push(paint(hint, 'yellow'));
      show({ ...prev, at: Date.now() }, false);
    } else process.stderr.write(`cadre: ${hint}\n`);
  };
  const address = (client.connection as { options?: { address?: string } }).options?.address ?? 'its address';
  let unanswered = 0;
  let unreachable = false;
  while (!isClosed && !opts.signal?.aborted) {
    // Queries need a worker; without one they would wait, so each sample has a deadline.
    const v = await client.connection.withDeadline(Date.now() + SAMPLE_DEADLINE_MS, () => sample(client, handle, runId, cache)).catch(() => undefined);
    const up = v !== undefined || (await serverAnswers(client));
    if (up && unreachable) tell(`the Temporal server at ${address} answers again`);
    if (!up && !unreachable) tell(`cannot reach the Temporal server at ${address}: still trying (the run goes on once the server is back)`);
    unreachable = !up;
    if (v) {
      show(v);
      unanswered = 0;
    } else if (up && ++unanswered === NO_WORKER_HINT_AFTER) {
      tell(`no worker has answered for run ${runId} for a while: is one running? (\`cadre worker\`, or \`cadre run\` again to re-attach with one)`);
    }
    await Promise.race([closed, aborted, new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000))]);
  }
  if (opts.signal?.aborted && !isClosed) return undefined;
  // The run may close while the server was away: learning that it closed is the server answering again.
  if (unreachable) tell(`the Temporal server at ${address} answers again`);

  const outcome: RunOutcome = { ...(await outcomeOf(handle, runId, name)), ...(simulated ? { simulated } : {}) };
  // The result has no plan budget: the one the run reported while it went on, else the plan's.
  if (outcome.progress && !outcome.progress.budget) {
    const budget = prev?.progress.budget ?? inputPlan?.budget;
    outcome.progress = { ...outcome.progress, budget };
  }
  if (outcome.progress) {
    const v = await sample(client, handle, runId, cache, outcome.progress);
    // A run that had ended before we looked: its closing events at the time it closed, not now.
    const closedAt = d.status.name !== 'RUNNING' ? d.closeTime?.getTime() : undefined;
    if (v) show(closedAt ? { ...v, at: closedAt } : v);
  }
  if (opts.mode === 'json') opts.out(JSON.stringify({ event: 'result', at: new Date().toISOString(), webUi: opts.webUi, ...(outcome.result ?? { runId, status: outcome.status, error: outcome.error }), ...(simulated ? { costSimulated: simulated } : {}) }) + '\n');
  return outcome;
}

function logEvent(log: Logger | undefined, e: WatchEvent): void {
  if (!log) return;
  const ids = { run: e.runId, ...('task' in e && e.task ? { task: e.task } : {}), ...('agentId' in e && e.agentId ? { agent: e.agentId } : {}) };
  switch (e.event) {
    case 'run':
      log.info({ ...ids, status: e.status }, `run ${e.status}`);
      break;
    case 'task':
      log.info({ ...ids, status: e.status, attempt: e.attempt, error: e.error }, `task ${e.status}`);
      break;
    case 'agent':
      log.debug({ ...ids, status: e.status, doing: e.doing, turn: e.turn }, `agent ${e.status}`);
      break;
    case 'budget_alert':
      log.info({ ...ids, percent: e.percent }, `budget alert ${e.percent}%`);
      break;
    case 'progress':
      log.debug({ ...ids, done: e.done, total: e.total, costUsd: e.costUsd, tokens: e.tokens }, 'progress');
      break;
  }
}
