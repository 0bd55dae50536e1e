/**
 * Worker crash in the worst spot: in the middle of a git operation on the shared repository, holding the
 * cross-process repository lock. The new worker must notice the dead attempt and take the lock over within seconds,
 * and the retried operation must not double anything (merges, commits, worktrees).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoLockPath } from '../../src/activities/repoMutex';
import { runProgressQuery } from '../../src/shared/messages';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import { commandTask, plan } from '../support/plans';
import { makeRepo } from '../support/repo';
import { testAddress, testClient, testDir, uniqueId } from '../support/temporal';
import { killedAfterEach, startChildWorker } from './support/childWorker';
import { activityAttempts, runsOf } from './support/history';
import { agentCommits, gitActivities, mergesPerTask, pendingActivities, waitFor, within, worktreeDirs, worktrees } from './support/scene';

const workers = killedAfterEach();

describe('a worker killed while a git operation holds the repository lock', () => {
  it('is noticed and the operation retried on the new worker within a minute, without doubling anything', async () => {
    const client = await testClient();
    const repo = makeRepo();
    const stateDir = testDir('gitcrash-state');
    const taskQueue = uniqueId('tq-gitcrash');
    const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_TASK_QUEUE: taskQueue, CADRE_STATE_DIR: stateDir };
    const tasks = Array.from({ length: 12 }, (_, i) => commandTask(`g${i}`, `echo g${i} > g${i}.txt`));
    const runId = uniqueId('gitcrash');
    const agentIds = tasks.map((t) => `${runId}/${t.id}`);
    const lockDir = `${repoLockPath(stateDir, repo)}.lock`;

    const w1 = await startChildWorker(env);
    workers.push(w1);
    const handle = await client.workflow.start('runPlan', {
      workflowId: runId,
      taskQueue,
      args: [{ runId, repo, plan: plan(tasks, { name: 'gitcrash', maxConcurrency: 4 }) } satisfies RunPlanInput],
    });
    const atKill = await waitFor(
      'a git operation running on the first worker with the repository lock held',
      async () => {
        const p = await handle.query(runProgressQuery);
        if (p.counts.completed < 1) return undefined;
        const pending = await pendingActivities(client, [runId, ...p.tasks.filter((t) => t.status === 'running').map((t) => t.agentId!)]);
        const git = pending.filter((a) => a.state === 2 && gitActivities.has(a.type));
        return git.length > 0 && existsSync(lockDir) ? git : undefined;
      },
      90_000,
      20,
    );
    const killedAt = await w1.kill();
    const w2 = await startChildWorker(env);
    workers.push(w2);
    const result = (await within(handle.result(), 170_000, 'the run completing after the kill')) as RunPlanResult;
    const doneAfter = (Date.now() - killedAt) / 1000;

    expect(result.status).toBe('completed');
    expect(result.counts.completed).toBe(tasks.length);
    const merges = mergesPerTask(repo, result.integrationBranch);
    for (const t of tasks) expect(merges.get(t.id), `merges of ${t.id}`).toBe(1);
    for (const id of agentIds) expect(agentCommits(repo, id), `commits of ${id}`).toBe(1);
    // The integration worktree is removed at the end of the run too: only the main checkout remains.
    expect(worktrees(repo)).toHaveLength(1);
    expect(worktreeDirs(stateDir)).toEqual([]);

    const attempts = activityAttempts((await Promise.all([runId, ...agentIds].map((id) => runsOf(client, id)))).flat());
    const retried = attempts.filter((a) => (a.attempt ?? 1) > 1);
    const onNew = attempts.filter((a) => a.identity === w2.identity && a.outcome === 'completed').sort((a, b) => a.closedAt! - b.closedAt!);
    console.log(
      [
        `[git op crash] killed ${w1.identity} during ${atKill.map((a) => `${a.type} (${a.workflowId.slice(runId.length + 1) || 'run'})`).join(', ')}, repository lock held`,
        `  new worker polling ${((w2.readyAt - killedAt) / 1000).toFixed(1)} s after the kill; run completed ${doneAfter.toFixed(1)} s after the kill`,
        `  kill → first activity completed on the new worker: ${onNew[0] ? ((onNew[0].closedAt! - killedAt) / 1000).toFixed(1) : '-'} s`,
        ...retried.map((a) => `  retried: ${a.activityType} of ${a.workflowId.slice(runId.length + 1) || 'run'}, attempt ${a.attempt}, completed ${((a.closedAt! - killedAt) / 1000).toFixed(1)} s after the kill`),
      ].join('\n'),
    );
    // The dead attempt is retried in seconds, not after the 2-minute start-to-close timeout.
    for (const a of retried) expect(a.closedAt! - killedAt, `${a.activityType} retried ${((a.closedAt! - killedAt) / 1000).toFixed(0)} s after the kill`).toBeLessThan(60_000);
  }, 300_000);
});
