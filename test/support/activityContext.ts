/** Run code inside an activity Context built from the SDK's own class and storage, the way the worker does. */
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';

export interface InContext<T> {
  result: Promise<T>;
  /** Cancels the activity like a cancellation delivered through a heartbeat response. */
  abort: (reason: unknown) => void;
  beats: () => number;
}

export function inActivityContext<T>(fn: () => Promise<T>, info: Partial<Info> = {}): InContext<T> {
  const controller = new AbortController();
  let beats = 0;
  const cancelled = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason)));
  cancelled.catch(() => undefined);
  const ctx = new Context(
    { activityType: 'test', ...info } as never,
    cancelled,
    controller.signal,
    () => {
      beats++;
    },
    undefined,
    console as never,
    undefined as never,
    undefined as never,
  );
  return { result: asyncLocalStorage.run(ctx, fn), abort: (reason) => controller.abort(reason), beats: () => beats };
}
