/**
 * Helpers for the lock tests: one workflow bundle per test file (cadre's workflows plus the test holders of
 * ./workflows.ts), workers on fresh task queues that also run the probes, and polling the lock manager.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { lockWorkflowIdFor } from '../../src/activities/lockActivities';
import { locksQuery, type LocksView } from '../../src/shared/locks';
import { createCadreWorker } from '../../src/workers/worker';
import { nativeConnection, testClient, testDir, uniqueId } from '../support/temporal';
import { probes } from './probes';

let bundlePath: Promise<string> | undefined;

/** The test bundle, built once per test file and written to a file a child process can load too. */
export function locksBundlePath(): Promise<string> {
  bundlePath ??= (async () => {
    const noop = () => undefined;
    const bundle = await bundleWorkflowCode({
      workflowsPath: resolve(__dirname, 'workflows.ts'),
      logger: { trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => console.error(m), log: noop },
    });
    const file = join(inject('testRoot'), `${uniqueId('locks-bundle')}.js`);
    writeFileSync(file, bundle.code);
    return file;
  })();
  return bundlePath;
}

export interface LocksWorker {
  client: Client;
  taskQueue: string;
  worker: Worker;
}

export async function startLocksWorker(taskQueue = uniqueId('tq-locks')): Promise<LocksWorker> {
  const worker = await createCadreWorker({
    connection: await nativeConnection(),
    namespace: 'default',
    taskQueue,
    deps: { stateDir: testDir('state') },
    workflowBundle: { codePath: await locksBundlePath() },
    extraActivities: probes,
  });
  return { client: await testClient(), taskQueue, worker };
}

/** Runs `fn` while a fresh worker (cadre's workflows, the test holders, the probes) polls a unique task queue. */
export async function withLocksWorker<T>(fn: (ctx: LocksWorker) => Promise<T>): Promise<T> {
  const ctx = await startLocksWorker();
  return ctx.worker.runUntil(fn(ctx));
}

export async function queryLocks(client: Client, repo: string): Promise<LocksView> {
  return client.workflow.getHandle(lockWorkflowIdFor(repo)).query(locksQuery);
}

/** Polls the lock manager of `repo` until `ok(view)` holds; throws after `timeoutMs`. */
export async function waitForLocks(client: Client, repo: string, ok: (v: LocksView) => boolean, timeoutMs = 30_000): Promise<LocksView> {
  const deadline = Date.now() + timeoutMs;
  let last: LocksView | undefined;
  for (;;) {
    try {
      last = await queryLocks(client, repo);
      if (ok(last)) return last;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`lock state never matched; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
