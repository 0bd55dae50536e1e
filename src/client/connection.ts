/**
 * Connecting to Temporal, with one-line errors for the ways it goes wrong (unreachable address, unknown namespace,
 * unwritable state directory). With no TEMPORAL_ADDRESS the embedded dev server is reused or started first.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
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

/** A PEM file named by a TLS setting, read now: a missing or unreadable one is a configuration error naming both. */
function pemFile(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CadreError(`bad configuration: ${variable}=${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 78);
  }
}

/** TLS toward a cluster (docs/cluster.md): plain TLS, mTLS with a client pair, a private CA, a server name override. */
export function tlsOptions(config: Config): boolean | TLSConfig | undefined {
  if (!config.tls) return undefined;
  const { certPath, keyPath, caPath, serverName } = config.tls;
  if (!certPath && !caPath && !serverName) return true;
  return {
    ...(certPath && keyPath ? { clientCertPair: { crt: pemFile('TEMPORAL_TLS_CERT', certPath), key: pemFile('TEMPORAL_TLS_KEY', keyPath) } } : {}),
    ...(caPath ? { serverRootCACertificate: pemFile('TEMPORAL_TLS_CA', caPath) } : {}),
    ...(serverName ? { serverNameOverride: serverName } : {}),
  };
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
  const tls = tlsOptions(config);
  try {
    connection = await Connection.connect({
      address: config.address,
      tls,
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
  const tls = tlsOptions(config);
  try {
    return await NativeConnection.connect({ address: config.address, tls, apiKey: config.temporalApiKey });
  } catch (err) {
    throw describeConnectError(config, err);
  }
}
