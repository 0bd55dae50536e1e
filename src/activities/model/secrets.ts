/**
 * Keeps the API key out of everything cadre writes: error messages (which end up in workflow history), transcripts,
 * activity results and logs. The SDK's own error messages carry the response body, never the request headers, but
 * a proxy or a stub may echo the key back, so every string that crosses out of the model activity is scrubbed: the
 * given secrets in every form redact.ts knows (raw, base64 at any alignment, base64url, hex, URL-encoded), the
 * worker environment's secrets likewise, and anything shaped like an Anthropic key.
 */
import { redact, redactValues, MIN_SECRET_LENGTH, REDACTED } from '../../node/redact';

const anthropicKeyPattern = /sk-ant-[A-Za-z0-9_-]{8,}/g;

export const redactedMarker = REDACTED;

/** `text` with every given secret, every secret of the environment, and anything shaped like an Anthropic key replaced. */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  const given = secrets.filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH);
  return redact(redactValues(text, given)).replace(anthropicKeyPattern, redactedMarker);
}
