/**
 * Connecting to Temporal, with one-line errors for the ways it goes wrong (unreachable address, unknown namespace,
 * unwritable state directory). With no TEMPORAL_ADDRESS the embedded dev server is reused or started first.
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../node/config';
import { CadreError } from '../shared/errors';
import { ensureEmbeddedServer, type DevServer } from './devServer';
import { requireTemporalBin } from './temporalBin';

/**
 * Make the state directory, one level at a time: Node's `mkdirSync(…, { recursive: true })` loops for ever (at full
 * CPU, deaf to SIGTERM) on a path under a file system that refuses new directories with ENOENT, such as /proc.
 */
function mkdirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    if (d === dirname(d)) break;
    missing.unshift(d);
  }
  for (const d of missing) mkdirSync(d);
}

export function ensureStateDir(stateDir: string): void {
  try {
    mkdirs(stateDir);
    accessSync(stateDir, constants.W_OK);
  } catch (err) {
    throw new CadreError(`state directory ${stateDir} is not writable (${(err as NodeJS.ErrnoException).code ?? String(err)}); set CADRE_STATE_DIR`, 73);
  }
}

function tlsOptions(config: Config) {
  if (!config.tls) return undefined;
  const { certPath, keyPath } = config.tls;
  if (certPath && keyPath) {
    // Read lazily: only a hosted cluster with mTLS needs these files.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { readFileSync } = require('node:fs') as typeof import('node:fs');
    return { clientCertPair: { crt: readFileSync(certPath), key: readFileSync(keyPath) } };
  }
  return true;
}

/** Start (or reuse) the embedded server when no TEMPORAL_ADDRESS is configured. */
export async function prepareServer(config: Config, opts: { detached: boolean }): Promise<{ started: boolean; server?: DevServer }> {
  ensureStateDir(config.stateDir);
  if (!config.embedded) return { started: false };
  return ensureEmbeddedServer({
    bin: () => requireTemporalBin(config.temporalBin),
    stateDir: config.stateDir,
    port: config.devPort,
    uiPort: config.uiPort,
    namespace: config.namespace,
    detached: opts.detached,
  });
}

function describeConnectError(config: Config, err: unknown): CadreError {
  const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new CadreError(`cannot reach Temporal at ${config.address}: ${msg}`, 69);
}

export async function connectClient(config: Config): Promise<{ client: Client; connection: Connection }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: config.address,
      tls: tlsOptions(config),
      apiKey: config.temporalApiKey,
      connectTimeout: '5s',
    });
  } catch (err) {
    throw describeConnectError(config, err);
  }
  try {
    await connection.workflowService.describeNamespace({ namespace: config.namespace });
  } catch (err) {
    await connection.close();
    const code = (err as { code?: number }).code;
    if (code === 5) throw new CadreError(`namespace "${config.namespace}" not found at ${config.address}`, 69);
    throw describeConnectError(config, err);
  }
  return { client: new Client({ connection, namespace: config.namespace }), connection };
}

export async function connectWorkerConnection(config: Config): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ address: config.address, tls: tlsOptions(config), apiKey: config.temporalApiKey });
  } catch (err) {
    throw describeConnectError(config, err);
  }
}
