/**
 * Through the built CLI, with no worker left polling: `cadre status` and `cadre tree` of a run stopped partway read
 * what Temporal stores (history, search attributes, memo), say so, and exit 0; an unknown id is still an error.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgressQuery, type RunProgress } from '../../src/shared/messages';
import { cadre } from '../support/cli';
import { commandTask, plan } from '../support/plans';
import { makeRepo } from '../support/repo';
import { createTestWorker, testAddress, testClient, testDir, uniqueId } from '../support/temporal';

// The worker stopped a moment ago: its poller is stale after a second, not the default 70 s.
const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('noworker-state'), CADRE_POLLER_STALE_SECONDS: '1' };
let runId = '';
let taskQueue = '';
let repo = '';

beforeAll(async () => {
  const gate = join(testDir('noworker-gate'), 'open');
  const ctx = await createTestWorker({});
  taskQueue = ctx.taskQueue;
  runId = uniqueId('nowk');
  repo = makeRepo();
  const running = ctx.worker.run();
  const handle = await ctx.client.workflow.start('runPlan', {
    workflowId: runId,
    taskQueue,
    args: [{ runId, repo, plan: plan([commandTask('quick', 'echo q > q.txt'), commandTask('hold', `while [ ! -f ${gate} ]; do sleep 0.1; done`, { dependsOn: ['quick'], files: ['held.txt'] })]) }],
  });
  let st: Record<string, string> = {};
  for (let i = 0; i < 600 && !(st.quick === 'completed' && st.hold === 'running'); i++) {
    const p: RunProgress = await handle.query(runProgressQuery);
    st = Object.fromEntries(p.tasks.map((t) => [t.id, t.status]));
    if (!(st.quick === 'completed' && st.hold === 'running')) await new Promise((r) => setTimeout(r, 100));
  }
  expect(st).toEqual({ quick: 'completed', hold: 'running' });
  // The row says running from the lock request on; wait for the task's agent workflow itself to be under way.
  for (let i = 0; i < 600; i++) {
    const h = await ctx.client.workflow.getHandle(`${runId}/hold`).fetchHistory().catch(() => undefined);
    if (h?.events?.some((e) => e.activityTaskScheduledEventAttributes)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  ctx.worker.shutdown();
  await running;
  // Longer than CADRE_POLLER_STALE_SECONDS since the worker's last poll.
  await new Promise((r) => setTimeout(r, 1500));
}, 180_000);

afterAll(async () => {
  if (runId) await (await testClient()).workflow.getHandle(runId).terminate('test over').catch(() => undefined);
});

describe('without a worker', () => {
  it('`cadre status <run>` prints the task rows from history with the no-poller notice, exit 0', async () => {
    const r = await cadre(['status', runId], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^run ${runId} — running\\n`));
    expect(r.stdout).toMatch(new RegExp(`as of \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\(no worker is running: task queue "${taskQueue}" has no poller; read from history\\)`));
    expect(r.stdout).toMatch(/quick\s+completed\s/);
    expect(r.stdout).toMatch(/hold\s+running\s/);
    expect(r.stdout).not.toMatch(/no worker answered/);
  });

  it('`cadre status <run> --json` says source history, with as-of and reason', async () => {
    const r = await cadre(['status', runId, '--json'], env);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as RunProgress & { source: string; asOf: string; reason: string };
    expect(j).toMatchObject({ runId, status: 'running', source: 'history', reason: `task queue "${taskQueue}" has no poller` });
    expect(Number.isNaN(Date.parse(j.asOf))).toBe(false);
    expect(j.tasks.map((t) => `${t.id}:${t.status}:${t.agentId}`)).toEqual([`quick:completed:${runId}/quick`, `hold:running:${runId}/hold`]);
  });

  it('`cadre status <run>/<task>` of the running task answers from history too', async () => {
    const r = await cadre(['status', `${runId}/hold`], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no worker is running: task queue ".*" has no poller; read from history/);
    expect(r.stdout).toMatch(new RegExp(`agent ${runId}/hold — running`));
  });

  it('`cadre tree <run>` shows both agents, the running one rebuilt from history, with the notice', async () => {
    const r = await cadre(['tree', runId], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no worker is running: task queue ".*" has no poller; read from history/);
    expect(r.stdout).toMatch(new RegExp(`(quick|${runId}/quick)\\s+completed`));
    expect(r.stdout).toMatch(/hold\S*\s+running/);
  });

  it('`cadre locks` replays the lock manager\'s history: the running task holds its file', async () => {
    const r = await cadre(['locks', '--repo', repo], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^as of .* \(no worker is running: task queue ".*" has no poller; read from history\)\n/);
    expect(r.stdout).toMatch(new RegExp(`${runId}\\s+\\d+\\s.*task hold of ${runId}\\s+held\\.txt`));
    const j = JSON.parse((await cadre(['locks', '--repo', repo, '--json'], env)).stdout) as { source: string; holders: { holderId: string; paths: string[] }[]; waiters: unknown[] };
    expect(j.source).toBe('history');
    expect(j.holders.map((h) => [h.holderId, h.paths])).toEqual([[runId, ['held.txt']]]);
    expect(j.waiters).toEqual([]);
  });

  it('a run terminated while no worker runs: its rows from history, its status terminated, exit 0', async () => {
    await (await testClient()).workflow.getHandle(runId).terminate('stopped by the test');
    const r = await cadre(['status', runId, '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as RunProgress & { source: string; workflowStatus: string };
    expect(j).toMatchObject({ status: 'terminated', source: 'history' });
    expect(j.tasks.map((t) => `${t.id}:${t.status}`)).toEqual(['quick:completed', 'hold:running']);
  });

  it('an unknown id is still the clear error (exit 2)', async () => {
    const r = await cadre(['status', 'no-such-run-xyz'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cadre: no run or agent with id "no-such-run-xyz"\n');
  });
});
