/**
 * Command tasks run inline (plan option `inlineCommands`): as activities of the scheduler, without a child agent
 * workflow each. The plan's behaviour must be the same as with agents: dependencies, merges into the integration
 * branch, failures blocking dependents, missing outputs, cancellation keeping the work.
 */
import { existsSync } from 'node:fs';
import { WorkflowNotFoundError } from '@temporalio/client';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cancelTaskUpdate, runProgressQuery, type RunProgress } from '../../src/shared/messages';
import type { RunPlanResult } from '../../src/shared/run';
import { commandTask, plan } from '../support/plans';
import { recordHistory } from '../support/histories';
import { makeRepo, showFile, worktreesOutsidePool } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { runResultOf } from '../../src/client/results';

const statusOf = (r: RunPlanResult) => Object.fromEntries(r.tasks.map((t) => [t.id, t.status]));

describe('runPlan with inline command tasks', () => {
  it('runs the DAG without agent workflows: merged work, blocked dependents, named missing outputs', async () => {
    const repo = makeRepo();
    const tasks = [
      commandTask('a', 'echo a > a.txt'),
      commandTask('b', 'cat a.txt > b.txt; echo b >> b.txt', { dependsOn: ['a'] }),
      commandTask('broken', 'echo partial > broken.txt; exit 3'),
      commandTask('after-broken', 'echo never > never.txt', { dependsOn: ['broken'] }),
      commandTask('no-output', 'echo x > x.txt', { outputs: ['dist/app.js'] }),
    ];
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('inline');
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { inlineCommands: true }) }] });
      const result = await runResultOf(handle);
      await recordHistory(handle, 'runPlan-inline');

      expect(statusOf(result)).toEqual({ a: 'completed', b: 'completed', broken: 'failed', 'after-broken': 'blocked', 'no-output': 'failed' });
      const row = (id: string) => result.tasks.find((t) => t.id === id)!;
      expect(row('broken').error).toMatch(/^command exited 3/);
      expect(row('no-output').error).toBe('missing outputs: dist/app.js');
      // b branched from the integration branch after a was merged, and both are on it now.
      expect(showFile(repo, result.integrationBranch, 'b.txt')).toBe('a\nb\n');
      expect(showFile(repo, result.integrationBranch, 'broken.txt')).toBeUndefined();
      // The failed task's work is kept on its own branch.
      expect(showFile(repo, `cadre/${runId}.broken`, 'broken.txt')).toBe('partial\n');
      // No agent workflow was started for any task, and no task worktree is left.
      for (const t of tasks) {
        await expect(client.workflow.getHandle(`${runId}/${t.id}`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      }
      expect(worktreesOutsidePool(repo)).toHaveLength(1);
    });
  }, 120_000);

  it('a cancelled inline task stops its program, keeps its work on its branch and blocks its dependents', async () => {
    const repo = makeRepo();
    const started = join(testDir('inline-cancel'), 'started');
    const tasks = [
      commandTask('slow', `echo begun > begun.txt; touch ${started}; sleep 60; echo late > late.txt`),
      commandTask('after-slow', 'echo x > x.txt', { dependsOn: ['slow'] }),
    ];
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('inline-cancel');
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { inlineCommands: true }) }] });
      for (let i = 0; i < 600 && !existsSync(started); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(started)).toBe(true);
      expect(await handle.executeUpdate(cancelTaskUpdate, { args: ['slow'] })).toBe('cancelling slow');
      const result = await runResultOf(handle);
      expect(statusOf(result)).toEqual({ slow: 'cancelled', 'after-slow': 'blocked' });
      expect(showFile(repo, `cadre/${runId}.slow`, 'begun.txt')).toBe('begun\n');
      expect(showFile(repo, `cadre/${runId}.slow`, 'late.txt')).toBeUndefined();
      expect(showFile(repo, result.integrationBranch, 'begun.txt')).toBeUndefined();
      expect(worktreesOutsidePool(repo)).toHaveLength(1);
      const p: RunProgress = await handle.query(runProgressQuery);
      expect(p.counts.cancelled).toBe(1);
    });
  }, 120_000);
});
