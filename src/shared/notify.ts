/**
 * Notifications (docs/notifications.md): what cadre tells the receiver named by CADRE_NOTIFY. Events are made by
 * the workflows (deterministically, so a replay makes the same event with the same id) and delivered by the
 * `notify` activity. The id is the idempotency key: `<workflow id>/<kind>/<what>` — a gate's task and attempt, a
 * message's id, a stall's number, a budget request's id, an alert's threshold — so a delivery repeated by a retry
 * or a replay is recognisable as the same event. Events carry ids, one-line summaries, amounts and totals; never a
 * secret, a file's contents or a transcript.
 */
import { z } from 'zod';

/** What waits for a person (the `cadre inbox` kinds), then the two that wait for nobody. */
export const NOTIFY_KINDS = ['gate', 'stalled', 'budget', 'dead-letter', 'message', 'run-ended', 'budget-alert'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

const amount = z.strictObject({ tokens: z.number().optional(), usd: z.number().optional() });

export const notifyEventSchema = z.strictObject({
  /** `<workflow id>/<kind>/<what>`: the same event always has the same id. */
  id: z.string().min(1).max(500),
  kind: z.enum(NOTIFY_KINDS),
  /** True for the kinds that are items of `cadre inbox` (they wait for a person). */
  inbox: z.boolean(),
  /** Workflow time the event happened (epoch ms). */
  at: z.number(),
  runId: z.string().optional(),
  taskId: z.string().optional(),
  agentId: z.string().optional(),
  /** One line. */
  summary: z.string().max(500),
  /** The command that answers an inbox item. */
  command: z.string().max(500).optional(),
  /** run-ended: how it ended. */
  status: z.string().optional(),
  /** run-ended: the run's totals. */
  totals: z.strictObject({ costUsd: z.number(), tokens: z.number(), counts: z.record(z.string(), z.number()) }).optional(),
  /** budget-alert: the threshold crossed (percent) and the budget it is of; budget: the amount asked. */
  threshold: z.number().optional(),
  budget: amount.optional(),
  amount: amount.optional(),
});
export type NotifyEvent = z.infer<typeof notifyEventSchema>;

/** What the activity did with one event. */
export interface NotifyOutcome {
  /** `off`: CADRE_NOTIFY unset; `repeat`: the delivered-ids record already holds the id. */
  result: 'delivered' | 'repeat' | 'off';
}

/** A notification that could not be delivered after its retries (kept by the workflow, shown by `cadre status`). */
export interface NotifyFailure {
  id: string;
  error: string;
  at: number;
}

/** Budget alerts notified (percent of a budget): fewer than the 50/80/95/100 the tree shows, enough to act on. */
export const NOTIFY_ALERT_THRESHOLDS = [80, 100] as const;
