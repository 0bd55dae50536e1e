/**
 * The one activity boundary. Every activity cadre registers is made with `defineActivity`: its input is parsed with
 * its zod schema (workflow inputs are a trust boundary too; the input type is derived from the schema), it heartbeats
 * while it runs when asked to (so a dead worker is noticed within the heartbeat timeout, not the start-to-close
 * timeout), and whatever it throws leaves through `toFailure`: one conversion to `ApplicationFailure` with a stable
 * type from src/shared/errors.ts, non-retryable where retrying cannot help, its message redacted of secrets.
 * Cancellation passes through untouched, so the workflow sees a cancellation, not a failure.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { z } from 'zod';
import { ErrorType, TypedFailure } from '../shared/errors';
import { redact } from '../node/redact';

export interface BoundaryOptions {
  /** Heartbeat this often for the whole call (for activities that can outlive a heartbeat timeout). */
  heartbeatEveryMs?: number;
  /** The type of an unexpected error (default `WorkspaceError`); unexpected errors are retryable. */
  fallbackType?: ErrorType;
  /** The type of input that fails the schema (default `InvalidToolInput`); never retried. */
  invalidInputType?: ErrorType;
}

export function defineActivity<S extends z.ZodType, R>(
  name: string,
  schema: S,
  body: (input: z.output<S>) => Promise<R>,
  opts: BoundaryOptions = {},
): (input: z.input<S>) => Promise<R> {
  const fn = async (raw: z.input<S>): Promise<R> => {
    // The timer repeats the details last given with heartbeatWith: a bare heartbeat would wipe them.
    const ctx = opts.heartbeatEveryMs ? Context.current() : undefined;
    const beat = ctx ? setInterval(() => ctx.heartbeat(lastDetails.get(ctx)), opts.heartbeatEveryMs) : undefined;
    try {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw invalidInput(name, parsed.error, opts.invalidInputType);
      return await body(parsed.data);
    } catch (err) {
      throw toFailure(err, opts.fallbackType);
    } finally {
      if (beat) clearInterval(beat);
    }
  };
  Object.defineProperty(fn, 'name', { value: name });
  return fn;
}

const lastDetails = new WeakMap<Context, unknown>();

/**
 * Heartbeat with details that must survive the boundary's own timer (a command's pid for the orphan check, its
 * progress for the stall watch): the timer's heartbeats repeat them.
 */
export function heartbeatWith(ctx: Context, details: unknown): void {
  lastDetails.set(ctx, details);
  ctx.heartbeat(details);
}

/** The conversion at the boundary: typed where understood, cancellation and ApplicationFailure untouched. */
export function toFailure(err: unknown, fallbackType: ErrorType = ErrorType.WorkspaceError): unknown {
  if (err instanceof CancelledFailure || err instanceof ApplicationFailure) return err;
  if (err instanceof z.ZodError) return ApplicationFailure.create({ type: ErrorType.InvalidToolInput, message: redact(z.prettifyError(err)), nonRetryable: true });
  if (err instanceof TypedFailure) return ApplicationFailure.create({ type: err.type, message: redact(err.message), nonRetryable: !err.retryable });
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({ type: fallbackType, message: redact(message), nonRetryable: false });
}

function invalidInput(name: string, error: z.ZodError, type: ErrorType = ErrorType.InvalidToolInput): ApplicationFailure {
  return ApplicationFailure.create({ type, message: redact(`${name}: ${z.prettifyError(error)}`), nonRetryable: true });
}
