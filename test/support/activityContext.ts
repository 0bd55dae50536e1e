/**
 * Run activity code the way a worker does, in a real activity Context from @temporalio/testing's
 * MockActivityEnvironment: heartbeats are counted, cancellation is delivered as the worker would deliver it.
 */
import type { Info } from '@temporalio/activity';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';

export interface InContext<T> {
  result: Promise<T>;
  /** Cancels the activity like a cancellation delivered through a heartbeat response. */
  abort: () => void;
  beats: () => number;
  /** Every heartbeat's details, in order. */
  details: unknown[];
}

const quiet = new DefaultLogger('ERROR', () => undefined);

export function mockEnvironment(info: Partial<Info> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment({ activityType: 'test', ...info }, { logger: quiet });
}

export function inActivityContext<T>(fn: () => Promise<T>, info: Partial<Info> = {}): InContext<T> {
  const env = mockEnvironment(info);
  const details: unknown[] = [];
  env.on('heartbeat', (d: unknown) => details.push(d));
  return { result: env.run(fn), abort: () => env.cancel(), beats: () => details.length, details };
}

/**
 * The same activities, each call run in a fresh activity Context (attempt 1 unless `info` says otherwise);
 * `onHeartbeat` sees every heartbeat of every call.
 */
export function inActivities<T extends object>(acts: T, info: Partial<Info> = {}, onHeartbeat?: (details: unknown) => void): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(acts)) {
    if (typeof fn !== 'function') continue;
    out[name] = (...args: unknown[]) => {
      const env = mockEnvironment({ activityType: name, ...info });
      if (onHeartbeat) env.on('heartbeat', onHeartbeat);
      return env.run(fn as (...a: unknown[]) => Promise<unknown>, ...args);
    };
  }
  return out as T;
}
