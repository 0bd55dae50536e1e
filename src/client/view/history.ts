/**
 * What a workflow's history says without a worker to ask: pure functions from history events (proto3 JSON, the
 * shape `historyToJSON` and the recorded fixtures share) to the rows `cadre status` and `cadre tree` print.
 *
 * A run's task rows: its plan (the start event's input) gives every task pending; each child `agent` workflow the
 * run started makes its task running, and the child's end (completed, failed, cancelled, terminated, timed out)
 * gives the final status, cost and summary. An inline command task (an activity) is read the same way. A gated
 * task whose agent completed and whose branch the open run has not asked to merge is waiting for its approval. What
 * only the workflow's memory knows (waiting at a lock, paused, a merge conflict found after the agent ended) is not
 * in these rows.
 */
import type { AgentInput, AgentResult } from '../../shared/agent';
import { taskVerdict, type CommandTaskResult } from '../../shared/commandTask';
import { approvalWaiting, type TaskRow, type TaskStatus } from '../../shared/messages';
import { totalTokens } from '../../shared/model';
import type { RunPlanInput } from '../../shared/run';
import type { Plan } from '../../shared/plan';

interface Payload {
  metadata?: Record<string, string>;
  data?: string;
}
interface Payloads {
  payloads?: Payload[];
}
/** One history event as proto3 JSON; only the fields read here are typed. */
export interface HistoryEvent {
  eventId: string;
  eventTime?: string;
  eventType: string;
  [attributes: string]: unknown;
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** A JSON payload's value; undefined for an absent, null or non-JSON payload. */
export function decodePayload(p: Payload | undefined): unknown {
  if (!p?.data) return undefined;
  const encoding = p.metadata?.encoding ? b64(p.metadata.encoding) : '';
  if (encoding !== 'json/plain') return undefined;
  try {
    return JSON.parse(b64(p.data));
  } catch {
    return undefined;
  }
}

const first = (ps: Payloads | undefined) => decodePayload(ps?.payloads?.[0]);
const attrs = <T = Record<string, any>>(e: HistoryEvent, name: string) => (e[name] ?? {}) as T; // eslint-disable-line @typescript-eslint/no-explicit-any
const timeOf = (e: HistoryEvent) => (e.eventTime ? Date.parse(e.eventTime) : undefined);
const T = (name: string) => `EVENT_TYPE_${name}`;

/** The time of the last event (milliseconds), the "as of" of anything read from this history. */
export function lastEventTime(events: HistoryEvent[]): number | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const t = timeOf(events[i]!);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** The input the workflow was started with (its first argument). */
export function startInput<I>(events: HistoryEvent[]): I | undefined {
  const e = events.find((x) => x.eventType === T('WORKFLOW_EXECUTION_STARTED'));
  return e ? (first(attrs<{ input?: Payloads }>(e, 'workflowExecutionStartedEventAttributes').input) as I | undefined) : undefined;
}

/** How the workflow closed, from its last event; undefined while it runs. */
export function closeStatus(events: HistoryEvent[]): 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out' | 'continued_as_new' | undefined {
  const last = events[events.length - 1]?.eventType ?? '';
  const map: Record<string, ReturnType<typeof closeStatus>> = {
    [T('WORKFLOW_EXECUTION_COMPLETED')]: 'completed',
    [T('WORKFLOW_EXECUTION_FAILED')]: 'failed',
    [T('WORKFLOW_EXECUTION_CANCELED')]: 'cancelled',
    [T('WORKFLOW_EXECUTION_TERMINATED')]: 'terminated',
    [T('WORKFLOW_EXECUTION_TIMED_OUT')]: 'timed_out',
    [T('WORKFLOW_EXECUTION_CONTINUED_AS_NEW')]: 'continued_as_new',
  };
  return map[last];
}

/** A child workflow the history started, with how it ended (undefined while it runs). */
export interface ChildRecord {
  workflowId: string;
  workflowType: string;
  input: unknown;
  startedAt?: number;
  endedAt?: number;
  end?: 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out' | 'not_started';
  /** The returned value, or the value a failure carried as its detail (an agent that failed throws its result). */
  result?: unknown;
  error?: string;
}

interface Failure {
  message?: string;
  applicationFailureInfo?: { details?: Payloads };
  cause?: Failure;
}
const failureResult = (f: Failure | undefined): unknown => (f ? (first(f.applicationFailureInfo?.details) ?? failureResult(f.cause)) : undefined);

/** Every child workflow started by this history, in the order they were started. */
export function childWorkflows(events: HistoryEvent[]): ChildRecord[] {
  const byInitiated = new Map<string, ChildRecord>();
  const out: ChildRecord[] = [];
  for (const e of events) {
    if (e.eventType === T('START_CHILD_WORKFLOW_EXECUTION_INITIATED')) {
      const a = attrs(e, 'startChildWorkflowExecutionInitiatedEventAttributes');
      const rec: ChildRecord = { workflowId: String(a.workflowId), workflowType: String(a.workflowType?.name ?? ''), input: first(a.input), startedAt: timeOf(e) };
      byInitiated.set(e.eventId, rec);
      out.push(rec);
      continue;
    }
    const ends: Record<string, [string, ChildRecord['end']]> = {
      [T('CHILD_WORKFLOW_EXECUTION_COMPLETED')]: ['childWorkflowExecutionCompletedEventAttributes', 'completed'],
      [T('CHILD_WORKFLOW_EXECUTION_FAILED')]: ['childWorkflowExecutionFailedEventAttributes', 'failed'],
      [T('CHILD_WORKFLOW_EXECUTION_CANCELED')]: ['childWorkflowExecutionCanceledEventAttributes', 'cancelled'],
      [T('CHILD_WORKFLOW_EXECUTION_TERMINATED')]: ['childWorkflowExecutionTerminatedEventAttributes', 'terminated'],
      [T('CHILD_WORKFLOW_EXECUTION_TIMED_OUT')]: ['childWorkflowExecutionTimedOutEventAttributes', 'timed_out'],
      [T('START_CHILD_WORKFLOW_EXECUTION_FAILED')]: ['startChildWorkflowExecutionFailedEventAttributes', 'not_started'],
    };
    const end = ends[e.eventType];
    if (!end) continue;
    const a = attrs(e, end[0]);
    const rec = byInitiated.get(String(a.initiatedEventId));
    if (!rec) continue;
    rec.end = end[1];
    rec.endedAt = timeOf(e);
    if (end[1] === 'completed') rec.result = first(a.result);
    if (end[1] === 'failed') {
      rec.result = failureResult(a.failure);
      rec.error = a.failure?.message;
    }
    if (end[1] === 'not_started') rec.error = `could not start (${String(a.cause ?? 'unknown cause')})`;
  }
  return out;
}

/** Inline command tasks (one activity each): scheduled, and how each ended. */
function inlineTasks(events: HistoryEvent[]): { agentId: string; startedAt?: number; endedAt?: number; result?: { task?: CommandTaskResult }; timeoutSeconds: number; error?: string; done: boolean }[] {
  const bySchedule = new Map<string, ReturnType<typeof inlineTasks>[number]>();
  const out: ReturnType<typeof inlineTasks> = [];
  for (const e of events) {
    if (e.eventType === T('ACTIVITY_TASK_SCHEDULED')) {
      const a = attrs(e, 'activityTaskScheduledEventAttributes');
      if (a.activityType?.name !== 'runInlineCommandTask') continue;
      const input = first(a.input) as { agentId?: string; timeoutSeconds?: number } | undefined;
      if (!input?.agentId) continue;
      const rec = { agentId: input.agentId, startedAt: timeOf(e), timeoutSeconds: input.timeoutSeconds ?? 3600, done: false };
      bySchedule.set(e.eventId, rec);
      out.push(rec);
    } else if (e.eventType === T('ACTIVITY_TASK_COMPLETED') || e.eventType === T('ACTIVITY_TASK_FAILED') || e.eventType === T('ACTIVITY_TASK_TIMED_OUT') || e.eventType === T('ACTIVITY_TASK_CANCELED')) {
      const key = Object.keys(e).find((k) => k.startsWith('activityTask') && k.endsWith('EventAttributes'));
      const a = key ? attrs(e, key) : {};
      const rec = bySchedule.get(String(a.scheduledEventId));
      if (!rec) continue;
      rec.done = true;
      rec.endedAt = timeOf(e);
      if (e.eventType === T('ACTIVITY_TASK_COMPLETED')) rec.result = first(a.result) as { task?: CommandTaskResult };
      else rec.error = a.failure?.message ?? e.eventType.replace('EVENT_TYPE_ACTIVITY_TASK_', '').toLowerCase();
    }
  }
  return out;
}

const TASK_END: Record<NonNullable<ChildRecord['end']>, TaskStatus> = {
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  terminated: 'failed',
  timed_out: 'failed',
  not_started: 'failed',
};

/** The task id an agent id names: `<run>/<task>` or `<run>/<task>~<attempt>`. */
function taskOfAgent(runId: string, agentId: string): string | undefined {
  if (!agentId.startsWith(`${runId}/`)) return undefined;
  return agentId.slice(runId.length + 1).replace(/~\d+$/, '');
}

/** A run's task rows as its history records them, and the run's plan name and budget. */
export function runFromHistory(events: HistoryEvent[], planByRef?: Pick<Plan, 'tasks'>): { input?: RunPlanInput; tasks: TaskRow[] } {
  const input = startInput<RunPlanInput>(events);
  const runId = input?.runId ?? '';
  const rows = new Map<string, TaskRow>();
  for (const t of (input?.plan ?? planByRef)?.tasks ?? []) rows.set(t.id, { id: t.id, title: t.title, ...(t.phase ? { phase: t.phase } : {}), priority: t.priority ?? 0, status: 'pending', attempts: 0 });
  const rowFor = (id: string) => {
    let r = rows.get(id);
    if (!r) rows.set(id, (r = { id, title: id, priority: 0, status: 'pending', attempts: 0 }));
    return r;
  };
  const begin = (r: TaskRow, agentId: string, at?: number) => {
    Object.assign(r, { status: 'running', agentId, attempts: r.attempts + 1, startedAt: at });
    for (const k of ['endedAt', 'error', 'summary', 'commit', 'costUsd', 'tokens'] as const) delete r[k];
  };
  /** The branch of each task whose agent completed: a gated one not yet merged still waits for its approval. */
  const doneBranch = new Map<string, string>();
  type Step = { at: number; seq: number; apply: () => void };
  const steps: Step[] = [];
  let seq = 0;
  for (const c of childWorkflows(events)) {
    if (c.workflowType !== 'agent') continue;
    const taskId = (c.input as AgentInput | undefined)?.taskId ?? taskOfAgent(runId, c.workflowId);
    if (!taskId) continue;
    steps.push({ at: c.startedAt ?? 0, seq: seq++, apply: () => begin(rowFor(taskId), c.workflowId, c.startedAt) });
    if (!c.end) continue;
    steps.push({
      at: c.endedAt ?? 0,
      seq: seq++,
      apply: () => {
        const r = rowFor(taskId);
        const res = c.result as Partial<AgentResult> | undefined;
        r.status = res?.status ? (res.status === 'completed' ? 'completed' : res.status === 'cancelled' ? 'cancelled' : 'failed') : TASK_END[c.end!];
        r.endedAt = c.endedAt;
        if (res?.costUsd !== undefined) r.costUsd = res.costUsd;
        if (res?.usage) r.tokens = totalTokens(res.usage);
        if (res?.branch && r.status === 'completed') doneBranch.set(taskId, res.branch);
        if (res?.summary) r.summary = res.summary;
        if (res?.commit) r.commit = res.commit;
        const error = res?.error ?? (r.status === 'completed' ? undefined : c.error);
        if (error) r.error = error;
      },
    });
  }
  for (const a of inlineTasks(events)) {
    const taskId = taskOfAgent(runId, a.agentId);
    if (!taskId) continue;
    steps.push({ at: a.startedAt ?? 0, seq: seq++, apply: () => begin(rowFor(taskId), a.agentId, a.startedAt) });
    if (!a.done) continue;
    steps.push({
      at: a.endedAt ?? 0,
      seq: seq++,
      apply: () => {
        const r = rowFor(taskId);
        r.endedAt = a.endedAt;
        if (a.result?.task) {
          const v = taskVerdict(a.result.task, a.timeoutSeconds);
          r.status = v.status === 'completed' ? 'completed' : 'failed';
          if (v.summary) r.summary = v.summary;
          if (v.error) r.error = v.error;
          if (a.result.task.commit) r.commit = a.result.task.commit;
        } else {
          r.status = 'failed';
          if (a.error) r.error = a.error;
        }
      },
    });
  }
  steps.sort((x, y) => x.at - y.at || x.seq - y.seq).forEach((s) => s.apply());
  // A gated task whose agent completed waits for a person until the run merges its branch (or the run ends).
  if (!closeStatus(events)) {
    const merged = mergedBranches(events);
    for (const t of (input?.plan ?? planByRef)?.tasks ?? []) {
      const r = rows.get(t.id);
      const branch = doneBranch.get(t.id);
      if (!t.gate || r?.status !== 'completed' || !branch || merged.has(branch)) continue;
      Object.assign(r, { status: 'waiting', waiting: approvalWaiting(t.gate.prompt) });
    }
  }
  // A pending task behind a failed (or blocked, cancelled) dependency will not start: shown blocked, as the run does.
  const deps = new Map(((input?.plan ?? planByRef)?.tasks ?? []).map((t) => [t.id, t.dependsOn ?? []]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of rows.values()) {
      if (r.status !== 'pending') continue;
      const bad = (deps.get(r.id) ?? []).filter((d) => ['failed', 'blocked', 'cancelled'].includes(rows.get(d)?.status ?? ''));
      if (bad.length) {
        Object.assign(r, { status: 'blocked', blockedBy: bad });
        changed = true;
      }
    }
  }
  return { input, tasks: [...rows.values()] };
}

/** The branches the run has asked to merge (its `mergeBranch` activities, scheduled). */
function mergedBranches(events: HistoryEvent[]): Set<string> {
  const out = new Set<string>();
  for (const e of events) {
    if (e.eventType !== T('ACTIVITY_TASK_SCHEDULED')) continue;
    const a = attrs(e, 'activityTaskScheduledEventAttributes');
    if (a.activityType?.name !== 'mergeBranch') continue;
    const branch = (first(a.input) as { branch?: unknown } | undefined)?.branch;
    if (typeof branch === 'string') out.add(branch);
  }
  return out;
}

/**
 * A running agent's status: the one its search attribute stores, except that `starting` with work under way (an
 * activity scheduled, or a child) reads `running`: a command agent stores no status change between the two. (An
 * activity's started event is written only when it ends, so scheduled is what shows work in flight.)
 */
export function liveAgentStatus(events: HistoryEvent[], stored: string | undefined): string {
  if (stored && stored !== 'starting') return stored;
  const working = events.some((e) => e.eventType === T('ACTIVITY_TASK_SCHEDULED') || e.eventType === T('START_CHILD_WORKFLOW_EXECUTION_INITIATED'));
  return working ? 'running' : (stored ?? 'starting');
}
