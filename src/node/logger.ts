/**
 * Structured logs (pino) to stderr, quiet by default (CADRE_LOG_LEVEL=warn); `-v`/CADRE_LOG_LEVEL=info or debug
 * for more. Every line carries the ids it concerns (run, task, agent) as fields. Secrets never reach a log: values
 * of secret-looking environment variables are redacted from messages.
 */
import pino, { type Logger } from 'pino';
import { redact } from './redact';

let root: Logger | undefined;

export function logger(level = process.env.CADRE_LOG_LEVEL ?? 'warn'): Logger {
  root ??= pino(
    {
      level,
      base: undefined,
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redact(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    pino.destination(2),
  );
  return root;
}
