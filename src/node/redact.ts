/**
 * Last line of defence for secrets: every tool result, command output and log line passes through `redact()` before
 * it reaches a model, a log file or workflow history. The first line of defence is that programs never see the
 * worker's secrets at all (sandbox/agentProgram.ts: a scrubbed environment and no view of other processes); this
 * catches what leaks anyway, e.g. a secret a program read from a file and printed.
 *
 * What counts as a secret, taken from the worker's environment:
 * - the value of a variable whose name looks secret (KEY, TOKEN, SECRET, PASSWORD, …);
 * - a value that looks like a credential whatever its name (`sk-…`, `ghp_…`, `AKIA…`, a long random-looking token);
 * - the password of a URL (`postgres://user:pw@host/db` in DATABASE_URL), raw and URL-decoded.
 * Each is matched as is and in its common encodings: base64 and base64url (at every alignment inside a longer
 * encoded text), hex (either case) and URL-encoding.
 *
 * Residue: a value that looks like neither (`CANARY_PLAIN=hello-world-1`) is not recognised here; keeping the
 * environment away from programs is what protects it.
 */

/** Names of environment variables whose values are treated as secrets. */
export const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|PRIVATE/i;

/** Values shaped like a credential, whatever their variable is called. */
const SECRET_SHAPE = /^(?:sk-[A-Za-z0-9_-]{8,}|sk_(?:live|test)_[A-Za-z0-9]{8,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[A-Z0-9]{16}|AIza[A-Za-z0-9_-]{30,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*)$/;

/** Shorter values are too likely to occur by accident ("true", "8080") to be worth replacing. */
export const MIN_SECRET_LENGTH = 8;

export const REDACTED = '[redacted]';

/** A long token of letters and digits of both cases: entropy, not prose or a path. */
function looksRandom(value: string): boolean {
  return value.length >= 24 && /^[A-Za-z0-9_\-+=.~]+$/.test(value) && /[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value);
}

function urlPassword(value: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/\s]*:[^@/\s]*@/i.test(value)) return [];
  try {
    const pw = new URL(value).password;
    if (!pw) return [];
    const decoded = decodeURIComponent(pw);
    return decoded === pw ? [pw] : [pw, decoded];
  } catch {
    return [];
  }
}

/** The secret values in `env` (raw), longest first so that a secret containing another is replaced whole. */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    for (const pw of urlPassword(value)) if (pw.length >= MIN_SECRET_LENGTH) values.add(pw);
    if (value.length < MIN_SECRET_LENGTH) continue;
    if (SECRET_NAME.test(name) || SECRET_SHAPE.test(value) || looksRandom(value)) values.add(value);
  }
  return [...values].sort((a, b) => b.length - a.length);
}

/**
 * The base64 text that encodes `bytes` when they start at byte offset `shift` (0, 1, 2) of a longer input: only the
 * characters that depend on `bytes` alone, so it is found inside any encoding of a text that contains the secret.
 */
function base64Core(bytes: Buffer, shift: number): string {
  const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64').replace(/=+$/, '');
  const from = Math.ceil((8 * shift) / 6);
  const to = Math.floor((8 * (shift + bytes.length)) / 6);
  return encoded.slice(from, to);
}

const encodingsCache = new Map<string, string[]>();

/** `secret` and its encodings worth looking for (each at least MIN_SECRET_LENGTH long). */
export function secretForms(secret: string): string[] {
  const hit = encodingsCache.get(secret);
  if (hit) return hit;
  const bytes = Buffer.from(secret, 'utf8');
  const forms = new Set<string>([secret]);
  for (let shift = 0; shift < 3; shift++) {
    const b64 = base64Core(bytes, shift);
    forms.add(b64);
    forms.add(b64.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  const hex = bytes.toString('hex');
  forms.add(hex);
  forms.add(hex.toUpperCase());
  forms.add(encodeURIComponent(secret));
  const out = [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH);
  if (encodingsCache.size > 1000) encodingsCache.clear();
  encodingsCache.set(secret, out);
  return out;
}

/** Replace every form of every given secret in `text`; longer forms first. */
export function redactValues(text: string, secrets: readonly string[]): string {
  const forms = [...new Set(secrets.flatMap(secretForms))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const form of forms) {
    if (out.includes(form)) out = out.split(form).join(REDACTED);
  }
  return out;
}

/**
 * Replace every secret of the environment (see the top of this file), in every form, with `[redacted]`. The
 * environment is read on every call (it is small), so secrets added at run time are covered too.
 */
export function redact(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return redactValues(text, secretValues(env));
}
