/**
 * A cancelled run must replay its own history. Inline command tasks lease ports (local activities) around their
 * activity; cancelling the run while several are in flight used to record commands in an order the workflow did not
 * take again on replay ("Activity id of scheduled event … does not match"); so did releasing the ports through a local
 * activity ("Activity type of scheduled event 'runInlineCommandTask' does not match … 'portPlan'", CI).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it, inject } from 'vitest';
import { runProgressQuery, type RunProgress } from '../../src/shared/messages';
import type { RunPlanResult } from '../../src/shared/run';
import { runResultOf } from '../../src/client/results';
import { commandTask, plan } from '../support/plans';
import { recordHistory } from '../support/histories';
import { makeRepo } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { createActivities } from '../../src/activities';
import { showFile } from '../support/repo';

const EventType = temporal.api.enums.v1.EventType;

async function until(what: string, ok: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

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
      // The scheduler leases and releases for several tasks at once: no local activities (their results are not
      // ordered with the other events on replay), only ordinary activities.
      const markers = (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED);
      expect(markers.map((e) => e.markerRecordedEventAttributes?.markerName).filter((n) => n !== 'core_patch')).toEqual([]);
      const replay = Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, runId);
      await expect(replay).resolves.toBeUndefined();
    });
  }, 180_000);

  it('a run cancelled while a completed task merges still merges it and ends with its table', async () => {
    const repo = makeRepo();
    const dir = testDir('cancel-merge');
    const [merging, go] = [join(dir, 'merging'), join(dir, 'go')];
    const stateDir = testDir('cancel-merge-state');
    const real = createActivities({ stateDir });
    // The merge of the finished task waits until the run's cancel has been handled by the workflow.
    const mergeBranch = async (input: Parameters<typeof real.mergeBranch>[0]) => {
      writeFileSync(merging, '');
      for (let i = 0; i < 1200 && !existsSync(go); i++) await new Promise((r) => setTimeout(r, 20));
      return real.mergeBranch(input);
    };
    const tasks = [commandTask('done', 'echo done > done.txt'), commandTask('slow', 'sleep 60')];
    await withWorker({ deps: { stateDir }, extraActivities: { mergeBranch } }, async ({ client, taskQueue }) => {
      const runId = uniqueId('cancel-merge');
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { maxConcurrency: 2 }) }] });
      await until('the merge of done', () => existsSync(merging));
      await handle.cancel();
      // Let the workflow handle the cancel request (a workflow task completed after it) before the merge returns.
      await until('the cancel to be handled', async () => {
        const events = (await handle.fetchHistory()).events ?? [];
        const at = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
        return at >= 0 && events.slice(at).some((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
      });
      writeFileSync(go, '');
      const result: RunPlanResult = await runResultOf(handle);
      await recordHistory(handle, 'runPlan-cancel-during-merge');
      expect(Object.fromEntries(result.tasks.map((t) => [t.id, t.status]))).toEqual({ done: 'completed', slow: 'cancelled' });
      expect(showFile(repo, result.integrationBranch, 'done.txt')).toBe('done\n');
      await expect(Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, await handle.fetchHistory(), runId)).resolves.toBeUndefined();
    });
  }, 180_000);
});
