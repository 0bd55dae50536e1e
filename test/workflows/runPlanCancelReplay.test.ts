/**
 * A cancelled run must replay its own history. Inline command tasks lease ports (local activities) around their
 * activity; cancelling the run while several are in flight used to record commands in an order the workflow did not
 * take again on replay ("Activity id of scheduled event … does not match").
 */
import { Worker } from '@temporalio/worker';
import { describe, expect, it, inject } from 'vitest';
import { runProgressQuery, type RunProgress } from '../../src/shared/messages';
import type { RunPlanResult } from '../../src/shared/run';
import { runResultOf } from '../../src/client/results';
import { commandTask, plan } from '../support/plans';
import { recordHistory } from '../support/histories';
import { makeRepo } from '../support/repo';
import { uniqueId, withWorker } from '../support/temporal';

describe('runPlan cancelled mid-run', () => {
  it('an inline-command run cancelled after 3 of 20 tasks replays its own history', async () => {
    const repo = makeRepo();
    const tasks = Array.from({ length: 20 }, (_, i) => commandTask(`t${String(i).padStart(2, '0')}`, `sleep 0.5; echo ${i} > f${i}.txt`));
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('cancel-replay');
      const handle = await client.workflow.start('runPlan', {
        workflowId: runId,
        taskQueue,
        args: [{ runId, repo, plan: plan(tasks, { inlineCommands: true, maxConcurrency: 4 }) }],
      });
      let done = 0;
      for (let i = 0; i < 1200 && done < 3; i++) {
        const p: RunProgress = await handle.query(runProgressQuery);
        done = p.counts.completed;
        if (done < 3) await new Promise((r) => setTimeout(r, 50));
      }
      expect(done).toBeGreaterThanOrEqual(3);
      await handle.cancel();
      const result: RunPlanResult = await runResultOf(handle);
      const statuses = result.tasks.map((t) => t.status);
      expect(statuses.filter((s) => s === 'completed').length).toBeGreaterThanOrEqual(3);
      expect(statuses.filter((s) => s === 'completed').length).toBeLessThan(20);
      expect(statuses).toContain('cancelled');

      await recordHistory(handle, 'runPlan-inline-cancelled');
      const history = await handle.fetchHistory();
      const replay = Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, runId);
      await expect(replay).resolves.toBeUndefined();
    });
  }, 180_000);
});
