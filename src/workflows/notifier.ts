/**
 * Notifications, workflow side (docs/notifications.md): a workflow hands an event to `send`, which schedules the
 * `notify` activity (notifyOp: retried, heartbeating) so delivery is durable — a worker crash retries it, a replay
 * does not repeat it. Behind the patch `notify`: recorded histories schedule nothing.
 *
 * Decision (docs/notifications.md, "History cost"): the workflow calls the activity even when CADRE_NOTIFY is unset
 * (the activity returns at once). Only the worker knows CADRE_NOTIFY, and the worker that delivers may not be the
 * one that started the run; each event costs three small history events, and events are few per run (gates, stalls,
 * budget requests, messages to the operator, two alerts, the end), never per turn.
 *
 * Hazards: delivery runs in a non-cancellable scope, so a cancelled run still reports that it ended; a receiver that
 * keeps failing never fails the workflow: after the preset's retries the event is logged and kept in `failures`
 * (shown by `cadre status`). Not carried across continue-as-new: a new run of the workflow starts an empty list.
 */
import * as wf from '@temporalio/workflow';
import type { NotifyEvent, NotifyFailure } from '../shared/notify';
import { notifyOp } from './presets';
import { patched } from './patches';

export const NOTIFY = 'notify';
/** Failures kept for status: the latest ones. */
const KEEP_FAILURES = 20;

export interface Notifier {
  /** Deliver `event` (its `at` defaults to now); an id already sent by this run of the workflow is not sent again. */
  send(event: Omit<NotifyEvent, 'at'> & { at?: number }): Promise<void>;
  /** Wait for every delivery in flight: before the workflow completes or continues as new. */
  flush(): Promise<void>;
  readonly failures: NotifyFailure[];
}

export function createNotifier(): Notifier {
  const sent = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const failures: NotifyFailure[] = [];
  return {
    failures,
    send(event) {
      if (sent.has(event.id) || !patched(NOTIFY)) return Promise.resolve();
      sent.add(event.id);
      const full: NotifyEvent = { ...event, at: event.at ?? Date.now() };
      const p: Promise<void> = wf.CancellationScope.nonCancellable(() => notifyOp.notify.executeWithOptions({ summary: `notify ${full.id}`.slice(0, 200) }, [{ event: full }]))
        .then(() => undefined)
        .catch((err: unknown) => {
          const error = errorText(err);
          wf.log.warn('notification not delivered after its retries', { eventId: full.id, error });
          failures.push({ id: full.id, error: error.slice(0, 300), at: Date.now() });
          if (failures.length > KEEP_FAILURES) failures.splice(0, failures.length - KEEP_FAILURES);
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      return p;
    },
    async flush() {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
  };
}

function errorText(err: unknown): string {
  if (err instanceof wf.ActivityFailure) return errorText(err.cause);
  return err instanceof Error ? err.message : String(err);
}
