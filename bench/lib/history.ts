/**
 * Reading workflow histories for the benchmark: every event with its type, server timestamp and encoded size (the
 * protobuf bytes Temporal stores), plus the per-activity timing that the breakdowns are built from.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Timestamp = { seconds?: number | { toNumber(): number } | null; nanos?: number | null } | null | undefined;

export interface Ev {
  id: number;
  /** Short name: `ActivityTaskScheduled`, `WorkflowTaskCompleted`, … */
  type: string;
  /** Server time, ms since the epoch. */
  at: number;
  bytes: number;
  raw: HistoryEvent;
}

const EventType = temporal.api.enums.v1.EventType;

function shortType(t: number | null | undefined): string {
  const name = EventType[t ?? 0] ?? 'UNKNOWN';
  return name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _s: string, c: string) => c.toUpperCase());
}

export function tsMs(ts: Timestamp): number {
  if (!ts) return Number.NaN;
  const s = ts.seconds;
  const secs = typeof s === 'number' ? s : s ? s.toNumber() : 0;
  return secs * 1000 + (ts.nanos ?? 0) / 1e6;
}

export async function historyEvents(client: Client, workflowId: string, runId?: string): Promise<Ev[]> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? []).map((e) => ({
    id: Number(e.eventId ?? 0),
    type: shortType(e.eventType as number),
    at: tsMs(e.eventTime as Timestamp),
    bytes: temporal.api.history.v1.HistoryEvent.encode(e).finish().length,
    raw: e,
  }));
}

/**
 * Every event of every run of `workflowId` (a workflow that continued-as-new has one history per run), oldest run
 * first, and how many runs there were.
 */
export async function chainEvents(client: Client, workflowId: string): Promise<{ events: Ev[]; runs: number }> {
  const runs: { runId: string; start: number }[] = [];
  for await (const info of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs.push({ runId: info.runId, start: info.startTime.getTime() });
  }
  if (runs.length === 0) return { events: await historyEvents(client, workflowId), runs: 1 };
  runs.sort((a, b) => a.start - b.start);
  const events: Ev[] = [];
  for (const r of runs) events.push(...(await historyEvents(client, workflowId, r.runId)));
  return { events, runs: runs.length };
}

export const totalBytes = (events: readonly Ev[]): number => events.reduce((s, e) => s + e.bytes, 0);

export function countByType(events: readonly Ev[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) out[e.type] = (out[e.type] ?? 0) + 1;
  return out;
}

export interface ActivityTiming {
  name: string;
  scheduledAt: number;
  /** Time the (last) attempt started; written lazily by the server, so absent for an activity still running. */
  startedAt?: number;
  closedAt?: number;
  attempt?: number;
  lastFailure?: string;
  outcome?: 'completed' | 'failed' | 'timedOut' | 'canceled';
}

/** Every activity of a history, with schedule, start and close times. */
export function activityTimings(events: readonly Ev[]): ActivityTiming[] {
  const byScheduled = new Map<number, ActivityTiming>();
  for (const e of events) {
    const r = e.raw;
    if (r.activityTaskScheduledEventAttributes) {
      byScheduled.set(e.id, { name: r.activityTaskScheduledEventAttributes.activityType?.name ?? '?', scheduledAt: e.at });
    } else if (r.activityTaskStartedEventAttributes) {
      const a = byScheduled.get(Number(r.activityTaskStartedEventAttributes.scheduledEventId));
      if (a) {
        a.startedAt = e.at;
        a.attempt = r.activityTaskStartedEventAttributes.attempt ?? 1;
        a.lastFailure = r.activityTaskStartedEventAttributes.lastFailure?.message ?? undefined;
      }
    } else {
      const closed =
        (r.activityTaskCompletedEventAttributes && (['completed', r.activityTaskCompletedEventAttributes] as const)) ||
        (r.activityTaskFailedEventAttributes && (['failed', r.activityTaskFailedEventAttributes] as const)) ||
        (r.activityTaskTimedOutEventAttributes && (['timedOut', r.activityTaskTimedOutEventAttributes] as const)) ||
        (r.activityTaskCanceledEventAttributes && (['canceled', r.activityTaskCanceledEventAttributes] as const));
      if (closed) {
        const a = byScheduled.get(Number(closed[1].scheduledEventId));
        if (a) {
          a.closedAt = e.at;
          a.outcome = closed[0];
        }
      }
    }
  }
  return [...byScheduled.values()];
}

/** Workflow tasks: scheduled → started (queue wait) → completed (the worker's processing). */
export function workflowTaskTimings(events: readonly Ev[]): { scheduledAt: number; startedAt?: number; closedAt?: number }[] {
  const out: { scheduledAt: number; startedAt?: number; closedAt?: number }[] = [];
  const byId = new Map<number, (typeof out)[number]>();
  for (const e of events) {
    const r = e.raw;
    if (e.type === 'WorkflowTaskScheduled') {
      const t = { scheduledAt: e.at };
      out.push(t);
      byId.set(e.id, t);
    } else if (r.workflowTaskStartedEventAttributes) {
      const t = byId.get(Number(r.workflowTaskStartedEventAttributes.scheduledEventId));
      if (t) t.startedAt = e.at;
    } else if (r.workflowTaskCompletedEventAttributes) {
      const t = byId.get(Number(r.workflowTaskCompletedEventAttributes.scheduledEventId));
      if (t) t.closedAt = e.at;
    }
  }
  return out;
}
