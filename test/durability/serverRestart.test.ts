/**
 * Server restart: a dev server of this test's own, persisting to SQLite, is stopped in the middle of a run and
 * started again on the same port and database file. The worker (in this process) is left alone: it must reconnect
 * by itself, and the run must complete with every task done once.
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterEach, describe, expect, it, inject } from 'vitest';
import { startDevServer, serverAnswers, type DevServer } from '../../src/client/devServer';
import { requireTemporalBin } from '../../src/client/temporalBin';
import { runProgressQuery } from '../../src/shared/messages';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import { createCadreWorker } from '../../src/workers/worker';
import { freePort } from '../support/globalSetup';
import { commandTask, plan } from '../support/plans';
import { makeRepo } from '../support/repo';
import { testDir, uniqueId } from '../support/temporal';
import { countingCommand, readMarks, tally } from './support/counts';
import { activityAttempts, runsOf } from './support/history';
import { mergesPerTask, waitFor, within } from './support/scene';

let server: DevServer | undefined;
let worker: Worker | undefined;
afterEach(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await server?.stop();
  server = undefined;
  worker = undefined;
});

describe('the Temporal server restarted in the middle of a run', () => {
  it('the run completes after the restart (SQLite persistence) and the worker reconnects on its own', async () => {
    const dir = testDir('restart');
    const port = await freePort();
    const dbFile = join(dir, 'temporal.sqlite');
    const start = () => startDevServer({ bin: requireTemporalBin(process.env.CADRE_TEMPORAL_BIN), dbFile, port, headless: true, logFile: join(dir, 'temporal.log') });
    server = await start();
    const address = server.address;

    const repo = makeRepo();
    const counts = join(dir, 'counts');
    const ids = ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'];
    const tasks = [...ids.map((id) => commandTask(id, countingCommand(counts, id, 2))), commandTask('last', countingCommand(counts, 'last', 1), { dependsOn: ids })];
    const taskQueue = uniqueId('tq-restart');
    const runId = uniqueId('restart');

    const nativeConnection = await NativeConnection.connect({ address });
    worker = await createCadreWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      deps: { stateDir: testDir('restart-state') },
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    const running = worker.run();
    let workerError: unknown;
    running.catch((err: unknown) => (workerError = err));

    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { name: 'restart', maxConcurrency: 2 }) } satisfies RunPlanInput] });
    await waitFor('two tasks done', async () => (await handle.query(runProgressQuery)).counts.completed >= 2, 90_000);

    const stoppedAt = Date.now();
    await server.stop();
    expect(await serverAnswers(address)).toBe(false);
    await new Promise((r) => setTimeout(r, 3000));
    server = await start();
    const restartedAt = Date.now();

    const result = (await within(handle.result(), 100_000, 'the run completing after the server restart')) as RunPlanResult;
    const doneAt = Date.now();
    expect(workerError, `the worker stopped: ${String(workerError)}`).toBeUndefined();
    expect(worker.getState()).toBe('RUNNING');
    expect(result.status).toBe('completed');
    expect(result.counts.completed).toBe(tasks.length);
    const merges = mergesPerTask(repo, result.integrationBranch);
    for (const t of tasks) expect(merges.get(t.id), `merges of ${t.id}`).toBe(1);
    const starts = tally(readMarks(counts), 'start');
    for (const t of tasks) expect(starts.get(t.id), `starts of ${t.id}`).toBeLessThanOrEqual(2);

    const attempts = activityAttempts((await Promise.all([runId, ...tasks.map((t) => `${runId}/${t.id}`)].map((id) => runsOf(client, id)))).flat());
    const firstAfter = attempts.filter((a) => a.outcome === 'completed' && a.closedAt! > restartedAt).sort((a, b) => a.closedAt! - b.closedAt!)[0];
    const retried = attempts.filter((a) => (a.attempt ?? 1) > 1);
    console.log(
      [
        `[server restart] stopped ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s (stop + 3 s + start); run completed ${((doneAt - restartedAt) / 1000).toFixed(1)} s after the restart`,
        `  first activity completed ${firstAfter ? ((firstAfter.closedAt! - restartedAt) / 1000).toFixed(1) : '-'} s after the restart${firstAfter ? ` (${firstAfter.activityType})` : ''}`,
        `  commands run twice: ${[...starts].filter(([, n]) => n > 1).map(([id]) => id).join(', ') || 'none'}`,
        ...retried.map((a) => `  retried: ${a.activityType} of ${a.workflowId.slice(runId.length + 1) || 'run'}, attempt ${a.attempt}, completed ${((a.closedAt! - restartedAt) / 1000).toFixed(1)} s after the restart`),
      ].join('\n'),
    );
    worker.shutdown();
    await running.catch(() => undefined);
    await nativeConnection.close();
    await connection.close();
  }, 240_000);
});
