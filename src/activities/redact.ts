/**
 * Last line of defence for secrets: every tool result, command output and log line passes through `redact()` before
 * it reaches a model, a log file or workflow history. The first line of defence is that commands never see the
 * worker's secrets at all (see commandRunner's scrubbed environment); this catches what leaks anyway, e.g. a secret
 * a program read from a file and printed.
 */

/** Names of environment variables whose values are treated as secrets. */
export const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i;

/** Shorter values are too likely to occur by accident ("true", "8080") to be worth replacing. */
export const MIN_SECRET_LENGTH = 8;

export const REDACTED = '[redacted]';

/** The secret values in `env`, longest first so that a secret containing another is replaced whole. */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.length >= MIN_SECRET_LENGTH && SECRET_NAME.test(name)) values.add(value);
  }
  return [...values].sort((a, b) => b.length - a.length);
}

/**
 * Replace every occurrence of a secret-looking environment variable's value with `[redacted]`. The environment is
 * read on every call (it is small), so secrets added at run time are covered too.
 */
export function redact(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const secret of secretValues(env)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}
