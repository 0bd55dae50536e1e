/**
 * Stalls (docs/loops.md "Stalls"), the pure decisions: an agent with no progress for `stallAfterSeconds` is marked
 * stalled and nudged; as long again without progress, it is ended (`onStall: 'end'`, the default) or its backend is
 * restarted (`'restart'`, at most MAX_STALL_RESTARTS times, then it is ended). The shell is stallWatch.ts.
 *
 * Progress is what the workflow sees (`s.progressAt`: a model turn, a tool run, a status change, a child's report,
 * a session's orchestration call) or, inside a long activity, what its heartbeats carry (`progressAt`, read by the
 * `lastProgress` activity when the workflow saw nothing for a window). Heartbeats reach the server throttled (every
 * few seconds), so quiet counts only as far as the heartbeats are known: an activity is never declared stalled on
 * progress that has not reached the server yet.
 */
import { DEFAULT_STALL_AFTER_SECONDS } from '../../shared/planLimits';
import type { AgentInput } from '../../shared/agent';
import type { Mailbox } from './mailbox';

export const STALL_WATCH = 'stall-watch';
/** The shortest wait between two reads of the heartbeats (they reach the server every few seconds). */
export const MIN_RECHECK_MS = 1000;
export const MAX_STALL_RESTARTS = 2;

/** The watch's part of the agent's state (plain JSON). */
export interface StallState {
  /** Workflow time of the last progress seen. */
  progressAt: number;
  /** Set while the agent is stalled: since when nothing moved, when it was nudged, what it was doing. */
  stall?: { since: number; nudgedAt: number; doing: string };
  /** Stalls so far, and restarts they caused. */
  stalls: number;
  restarts: number;
}

export type StallStep =
  | { kind: 'wait'; ms: number }
  | { kind: 'stall'; quietMs: number }
  | { kind: 'end'; error: string }
  | { kind: 'restart' };

/** What the running activities' heartbeats say (the `lastProgress` activity): epoch ms, absent when unknown. */
export interface Probe {
  progressAt?: number;
  knownUntil?: number;
}

export function stallAfterMsOf(input: Pick<AgentInput, 'stallAfterSeconds'>): number {
  return Math.max(1, Math.round((input.stallAfterSeconds ?? DEFAULT_STALL_AFTER_SECONDS) * 1000));
}

/** Progress seen: the stall (if any) is over. True when it was stalled. */
export function noteProgress(w: StallState, at: number): boolean {
  if (at <= w.progressAt && !w.stall) return false;
  w.progressAt = Math.max(w.progressAt, at);
  const was = !!w.stall;
  w.stall = undefined;
  return was;
}

/** The id of the nudge of the agent's `n`th stall. */
export const nudgeId = (agentId: string, n: number): string => `${agentId}#stall-${n}`;

/** A stall that ended before its nudge was read: the nudge is stale, it is withdrawn (never shown, no dead letter). */
export function withdrawNudge(box: Mailbox, agentId: string, n: number): void {
  const m = box.messages.find((x) => x.id === nudgeId(agentId, n) && x.state === 'pending');
  if (m) m.state = 'processed';
}

/** When nothing the workflow sees has moved since `w.progressAt`, how long to wait before the next decision. */
export function nextCheckMs(w: StallState, stallMs: number, now: number): number {
  const due = w.stall ? w.stall.nudgedAt + stallMs : w.progressAt + stallMs;
  return Math.max(1, due - now);
}

/**
 * The decision once a window has passed without progress the workflow saw, given what the heartbeats say. A stall
 * (and its end) is declared only on quiet that is known: up to `knownUntil`, the oldest heartbeat of a running
 * activity (progress after it may still be on its way); until then the watch waits and asks again. Changes `w`
 * (the stall, its counters); the caller nudges, ends or restarts.
 */
export function stallStep(w: StallState, input: Pick<AgentInput, 'stallAfterSeconds' | 'onStall'>, now: number, doing: string, probe: Probe = {}): StallStep {
  const stallMs = stallAfterMsOf(input);
  // An activity's progress after what the workflow saw (or after the stall began) is progress.
  if (probe.progressAt !== undefined && probe.progressAt > (w.stall?.since ?? w.progressAt)) noteProgress(w, Math.min(probe.progressAt, now));
  const known = Math.min(now, probe.knownUntil ?? now);
  const wait = (due: number): StallStep => ({ kind: 'wait', ms: Math.max(MIN_RECHECK_MS, Math.min(stallMs, due - known)) });
  if (!w.stall) {
    if (known - w.progressAt < stallMs) return wait(w.progressAt + stallMs);
    w.stall = { since: w.progressAt, nudgedAt: now, doing };
    w.stalls++;
    return { kind: 'stall', quietMs: now - w.progressAt };
  }
  if (known - w.stall.nudgedAt < stallMs) return wait(w.stall.nudgedAt + stallMs);
  if (input.onStall === 'restart' && w.restarts < MAX_STALL_RESTARTS) {
    w.restarts++;
    w.stall = undefined;
    w.progressAt = now;
    return { kind: 'restart' };
  }
  return { kind: 'end', error: `stalled: no progress for ${formatQuiet(now - w.stall.since)}` };
}

/** The nudge: a message from cadre at the start of the agent's next turn (model loop) or in its mailbox. */
export function nudgeText(quietMs: number, input: Pick<AgentInput, 'stallAfterSeconds' | 'onStall'>, restarts: number): string {
  const then = input.onStall === 'restart' && restarts < MAX_STALL_RESTARTS ? 'restarted' : 'ended, with your work so far committed';
  return `You have made no progress for ${formatQuiet(quietMs)}. Report your status (send_message to your parent, or finish with a summary) or continue your work. Without progress in the next ${formatQuiet(stallAfterMsOf(input))} you will be ${then}.`;
}

/** What `doing` shows while stalled. */
export function stalledDoing(quietMs: number, doing: string): string {
  return `stalled: no progress for ${formatQuiet(quietMs)} (nudged)${doing ? ` — was: ${doing}` : ''}`.slice(0, 160);
}

/** "45 s", "12 min", "2 h 5 min". */
export function formatQuiet(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}
