/**
 * The agent's stall watch (docs/loops.md "Stalls") cannot see inside a long activity of its own (a command, an
 * agent-program session, a model turn): those report their progress as `progressAt` (epoch ms of the last output or
 * stream event) in their heartbeat details. `lastProgress` reads them back: it describes its own workflow and
 * returns the newest `progressAt` among the running activities, and how far their heartbeats are known. It runs only when the watch found no progress of
 * its own for a whole window, so a healthy agent never calls it.
 */
import { Context } from '@temporalio/activity';
import { defaultPayloadConverter } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { defineActivity } from './boundary';

const { PENDING_ACTIVITY_STATE_STARTED: STARTED, PENDING_ACTIVITY_STATE_CANCEL_REQUESTED: CANCEL_REQUESTED } = temporal.api.enums.v1.PendingActivityState;

export const lastProgressInput = z.strictObject({});

/**
 * `progressAt`: the newest progress the running activities reported. `knownUntil`: how far their heartbeats are
 * known — the oldest `beatAt` (when the activity sent its last heartbeat's details; else its start) among them:
 * progress after it may not have reached the server yet (heartbeats are throttled).
 * Both epoch ms; absent when no running activity (besides this one) reports them.
 */
export interface LastProgress {
  progressAt?: number;
  knownUntil?: number;
}

export function createProgressActivities() {
  return {
    lastProgress: defineActivity('lastProgress', lastProgressInput, async (): Promise<LastProgress> => {
      const ctx = Context.current();
      const wf = ctx.info.workflowExecution;
      if (!wf) return {};
      const d = await ctx.client.workflow.getHandle(wf.workflowId, wf.runId).describe();
      let progressAt: number | undefined;
      let knownUntil: number | undefined;
      for (const a of d.raw.pendingActivities ?? []) {
        if (a.activityId === ctx.info.activityId || (a.state !== STARTED && a.state !== CANCEL_REQUESTED)) continue;
        const beat = beatOf(a.heartbeatDetails?.payloads ?? []);
        if (beat.progressAt !== undefined && (progressAt === undefined || beat.progressAt > progressAt)) progressAt = beat.progressAt;
        // What the activity knew when it heartbeated (its details are from then, not from when the server got
        // them); one that does not say is known only as far as its start.
        const known = beat.beatAt ?? optionalTsToMs(a.lastStartedTime);
        if (known !== undefined && (knownUntil === undefined || known < knownUntil)) knownUntil = known;
      }
      return { ...(progressAt !== undefined ? { progressAt } : {}), ...(knownUntil !== undefined ? { knownUntil } : {}) };
    }),
  };
}

/** The `progressAt` and `beatAt` of a heartbeat's details, when its first value is an object carrying them. */
export function beatOf(payloads: Parameters<typeof defaultPayloadConverter.fromPayload>[0][]): { progressAt?: number; beatAt?: number } {
  if (!payloads.length) return {};
  try {
    const v = defaultPayloadConverter.fromPayload<unknown>(payloads[0]!) as { progressAt?: unknown; beatAt?: unknown } | null;
    const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
    return { progressAt: num(v?.progressAt), beatAt: num(v?.beatAt) };
  } catch {
    return {};
  }
}
