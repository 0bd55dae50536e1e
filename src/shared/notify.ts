/**
 * Notifications (docs/notifications.md): what cadre tells the receiver named by CADRE_NOTIFY. Events are made by
 * the workflows (deterministically, so a replay makes the same event with the same id) and delivered by the
 * `notify` activity. The id is the idempotency key: `<workflow id>/<kind>/<what>` — a gate's task and attempt, a
 * message's id, a stall's number, a budget request's id, an alert's threshold — so a delivery repeated by a retry
 * or a replay is recognisable as the same event. Events carry ids, one-line summaries, amounts and totals; never a
 * secret, a file's contents or a transcript.
 */
/** What waits for a person (the `cadre inbox` kinds), then the two that wait for nobody. */
export const NOTIFY_KINDS = ['gate', 'stalled', 'budget', 'dead-letter', 'message', 'run-ended', 'budget-alert'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

// The event's schema lives apart (./notifyEvent.ts) so that the workflows making events load no zod.
export type { NotifyEvent } from './notifyEvent';

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
