/**
 * Reading what the server recorded: every run of a workflow (following continue-as-new), the sizes of the payloads
 * in it, and which worker completed which activity attempt when.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

export interface RunHistory {
  workflowId: string;
  runId: string;
  events: HistoryEvent[];
}

/** Every run of `workflowId`, first to last, following the continue-as-new chain from the first run. */
export async function runsOf(client: Client, workflowId: string): Promise<RunHistory[]> {
  const latest = await client.workflow.getHandle(workflowId).fetchHistory();
  const firstRunId = latest.events?.[0]?.workflowExecutionStartedEventAttributes?.firstExecutionRunId;
  const runs: RunHistory[] = [];
  let runId: string | undefined = firstRunId ?? undefined;
  while (runId) {
    const h: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = h.events ?? [];
    runs.push({ workflowId, runId, events });
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs.length ? runs : [{ workflowId, runId: '', events: latest.events ?? [] }];
}

/** Each activity of a run's history: its type, the queue it was scheduled on, who started it, and its result. */
export function activitiesOf(run: RunHistory): { type: string; queue: string; identity?: string; startedAt?: number; result?: unknown }[] {
  const byId = new Map<string, { type: string; queue: string; identity?: string; startedAt?: number; result?: unknown }>();
  for (const e of run.events) {
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) byId.set(String(e.eventId), { type: sched.activityType?.name ?? '?', queue: sched.taskQueue?.name ?? '?' });
    const started = e.activityTaskStartedEventAttributes;
    if (started) Object.assign(byId.get(String(started.scheduledEventId))!, { identity: started.identity ?? undefined, startedAt: eventMs(e) });
    const done = e.activityTaskCompletedEventAttributes;
    if (done?.result?.payloads?.[0]) byId.get(String(done.scheduledEventId))!.result = defaultPayloadConverter.fromPayload(done.result.payloads[0] as never);
  }
  return [...byId.values()];
}

export const eventTypeName = (e: HistoryEvent): string => EventType[e.eventType ?? 0] ?? String(e.eventType);
export const eventMs = (e: HistoryEvent): number => tsToMs(e.eventTime);

export interface PayloadSizes {
  /** The largest payload list (the unit Temporal's 2 MB blob limit applies to), in bytes, and where it was. */
  largestPayloads: number;
  largestAt: string;
  /** The largest whole event, protobuf-encoded. */
  largestEvent: number;
  /** All events of all runs, encoded. */
  totalBytes: number;
  events: number;
  /** Events of the longest single run. */
  maxEventsPerRun: number;
  runs: number;
}

interface WirePayload {
  data?: Uint8Array | null;
  metadata?: Record<string, Uint8Array> | null;
}

function payloadBytes(p: WirePayload): number {
  let n = p.data?.length ?? 0;
  for (const [k, v] of Object.entries(p.metadata ?? {})) n += k.length + (v?.length ?? 0);
  return n;
}

/** Walks an event for `{ payloads: [...] }` lists (inputs, results, details, memo and header fields alike). */
function payloadLists(node: unknown, path: string, out: { path: string; bytes: number }[]): void {
  if (!node || typeof node !== 'object' || node instanceof Uint8Array) return;
  if (Array.isArray(node)) {
    node.forEach((x, i) => payloadLists(x, `${path}[${i}]`, out));
    return;
  }
  const rec = node as Record<string, unknown>;
  if (Array.isArray(rec.payloads)) {
    out.push({ path, bytes: (rec.payloads as WirePayload[]).reduce((s, p) => s + payloadBytes(p), 0) });
    return;
  }
  if (rec.data instanceof Uint8Array && 'metadata' in rec) {
    out.push({ path, bytes: payloadBytes(rec as WirePayload) });
    return;
  }
  for (const [k, v] of Object.entries(rec)) payloadLists(v, path ? `${path}.${k}` : k, out);
}

export function payloadSizes(runs: RunHistory[]): PayloadSizes {
  const s: PayloadSizes = { largestPayloads: 0, largestAt: '', largestEvent: 0, totalBytes: 0, events: 0, maxEventsPerRun: 0, runs: runs.length };
  for (const run of runs) {
    s.maxEventsPerRun = Math.max(s.maxEventsPerRun, run.events.length);
    for (const e of run.events) {
      s.events++;
      const size = temporal.api.history.v1.HistoryEvent.encode(temporal.api.history.v1.HistoryEvent.fromObject(e)).finish().length;
      s.totalBytes += size;
      s.largestEvent = Math.max(s.largestEvent, size);
      const lists: { path: string; bytes: number }[] = [];
      payloadLists(e, '', lists);
      for (const l of lists) {
        if (l.bytes > s.largestPayloads) {
          s.largestPayloads = l.bytes;
          s.largestAt = `${run.workflowId} (run …${run.runId.slice(-8)}) event ${String(e.eventId)} ${eventTypeName(e)} ${l.path}`;
        }
      }
    }
  }
  return s;
}

export function mergeSizes(all: PayloadSizes[]): PayloadSizes {
  return all.reduce(
    (a, b) => ({
      largestPayloads: Math.max(a.largestPayloads, b.largestPayloads),
      largestAt: b.largestPayloads > a.largestPayloads ? b.largestAt : a.largestAt,
      largestEvent: Math.max(a.largestEvent, b.largestEvent),
      totalBytes: a.totalBytes + b.totalBytes,
      events: a.events + b.events,
      maxEventsPerRun: Math.max(a.maxEventsPerRun, b.maxEventsPerRun),
      runs: a.runs + b.runs,
    }),
    { largestPayloads: 0, largestAt: '', largestEvent: 0, totalBytes: 0, events: 0, maxEventsPerRun: 0, runs: 0 },
  );
}

export interface ActivityAttempt {
  workflowId: string;
  activityType: string;
  summary?: string;
  scheduledAt: number;
  /** The worker of the attempt that closed the activity, and which attempt that was (1 = first). */
  identity?: string;
  attempt?: number;
  /** Why the attempt before it ended (heartbeat timeout, a dead worker's sweep, an error). */
  lastFailure?: string;
  startedAt?: number;
  closedAt?: number;
  outcome: 'completed' | 'failed' | 'timed_out' | 'cancelled' | 'open';
}

/** Every activity of these runs, with the worker and attempt that closed it. */
export function activityAttempts(runs: RunHistory[]): ActivityAttempt[] {
  const out: ActivityAttempt[] = [];
  for (const run of runs) {
    const bySched = new Map<string, ActivityAttempt>();
    for (const e of run.events) {
      const id = String(e.eventId);
      const sched = e.activityTaskScheduledEventAttributes;
      if (sched) {
        const summary = e.userMetadata?.summary?.data ? JSON.parse(Buffer.from(e.userMetadata.summary.data).toString('utf8')) as string : undefined;
        const a: ActivityAttempt = { workflowId: run.workflowId, activityType: sched.activityType?.name ?? '?', summary, scheduledAt: eventMs(e), outcome: 'open' };
        bySched.set(id, a);
        out.push(a);
        continue;
      }
      const started = e.activityTaskStartedEventAttributes;
      if (started) {
        const a = bySched.get(String(started.scheduledEventId));
        if (a) Object.assign(a, { identity: started.identity ?? undefined, attempt: started.attempt ?? undefined, lastFailure: started.lastFailure?.message ?? undefined, startedAt: eventMs(e) });
        continue;
      }
      const closed =
        (e.activityTaskCompletedEventAttributes && (['completed', e.activityTaskCompletedEventAttributes] as const)) ||
        (e.activityTaskFailedEventAttributes && (['failed', e.activityTaskFailedEventAttributes] as const)) ||
        (e.activityTaskTimedOutEventAttributes && (['timed_out', e.activityTaskTimedOutEventAttributes] as const)) ||
        (e.activityTaskCanceledEventAttributes && (['cancelled', e.activityTaskCanceledEventAttributes] as const));
      if (closed) {
        const a = bySched.get(String(closed[1].scheduledEventId));
        if (a) Object.assign(a, { outcome: closed[0], closedAt: eventMs(e) });
      }
    }
  }
  return out;
}
