/**
 * Per-test helpers over the run's one dev server: a fresh worker on a unique task queue, a state directory of its
 * own, ids that never collide, and a way to run a workflow to its end.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createCadreWorker, type CadreWorkerOptions } from '../../src/workers/worker';
import type { ActivityDeps } from '../../src/activities';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let clientPromise: Promise<Client> | undefined;
let nativePromise: Promise<NativeConnection> | undefined;

export function testAddress(): string {
  return inject('temporalAddress');
}

export function testClient(): Promise<Client> {
  clientPromise ??= Connection.connect({ address: testAddress() }).then((connection) => new Client({ connection }));
  return clientPromise;
}

export function nativeConnection(): Promise<NativeConnection> {
  nativePromise ??= NativeConnection.connect({ address: testAddress() });
  return nativePromise;
}

export function uniqueId(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function testDir(name: string): string {
  const dir = join(inject('testRoot'), uniqueId(name));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface TestWorkerContext {
  client: Client;
  taskQueue: string;
  stateDir: string;
  worker: Worker;
}

export async function createTestWorker(
  opts: { deps?: Partial<ActivityDeps>; extraActivities?: CadreWorkerOptions['extraActivities']; taskQueue?: string } = {},
): Promise<TestWorkerContext> {
  const taskQueue = opts.taskQueue ?? uniqueId('tq');
  const stateDir = opts.deps?.stateDir ?? testDir('state');
  const worker = await createCadreWorker({
    connection: await nativeConnection(),
    namespace: 'default',
    taskQueue,
    deps: { stateDir, ...opts.deps },
    workflowBundle: { codePath: inject('workflowBundlePath') },
    extraActivities: opts.extraActivities,
  });
  return { client: await testClient(), taskQueue, stateDir, worker };
}

/** Runs `fn` while a fresh worker polls a unique task queue; the worker is shut down afterwards. */
export async function withWorker<T>(
  opts: Parameters<typeof createTestWorker>[0],
  fn: (ctx: TestWorkerContext) => Promise<T>,
): Promise<T> {
  const ctx = await createTestWorker(opts);
  return ctx.worker.runUntil(fn(ctx));
}

