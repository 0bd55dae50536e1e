/**
 * Keeps the API key out of everything cadre writes: error messages (which end up in workflow history), transcripts,
 * activity results and logs. The SDK's own error messages carry the response body, never the request headers, but
 * a proxy or a stub may echo the key back, so every string that crosses out of the model activity is scrubbed.
 */
const anthropicKeyPattern = /sk-ant-[A-Za-z0-9_-]{8,}/g;

export const redactedMarker = '[redacted]';

/** `text` with every given secret, and anything shaped like an Anthropic key, replaced by a marker. */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 8) out = out.split(secret).join(redactedMarker);
  }
  return out.replace(anthropicKeyPattern, redactedMarker);
}
