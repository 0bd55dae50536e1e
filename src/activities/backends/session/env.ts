/**
 * The explicit environment of an agent program: the base a program needs to run (PATH, locale, temp dir, proxy and
 * CA settings), HOME pointing at the session's own directory under the state directory, and the variables its
 * backend names (provider keys and endpoints, Bedrock/Vertex settings when set). Nothing else of the worker's
 * environment — TEMPORAL_* credentials, other keys, CADRE_* — ever reaches it.
 */

const BASE = ['PATH', 'LANG', 'LC_ALL', 'TERM', 'TMPDIR', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS'] as const;

/** The variables of `names` that are set in `from`. */
export function pick(from: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = from[name];
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

export function agentProgramEnv(from: NodeJS.ProcessEnv, home: string, backendEnv: Record<string, string>): Record<string, string> {
  return { ...pick(from, BASE), HOME: home, ...backendEnv };
}
