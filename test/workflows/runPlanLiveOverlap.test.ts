/**
 * Seeing conflicts coming: a task whose declared files a running task has already changed (its live diff, not its
 * declared files) waits, says why in its row, and starts only once that task is merged. A task whose declared
 * files nobody has touched starts beside it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { taskTable } from '../../src/client/watch';
import { runProgressQuery, type RunProgress, type TaskRow } from '../../src/shared/messages';
import { commandTask, plan } from '../support/plans';
import { makeRepo, showFile } from '../support/repo';
import { recordHistory } from '../support/histories';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { until } from '../support/wait';
import { runResultOf } from '../../src/client/results';

const waitFor = (file: string) => `while [ ! -f ${file} ]; do sleep 0.1; done`;

describe('runPlan: live overlap', () => {
  it.each([
    ['inline command tasks', true],
    ['command agents', false],
  ])('holds back a task whose declared files a running task has changed, until that task is merged (%s)', async (_name, inlineCommands) => {
    const repo = makeRepo({ 'README.md': '# r\n', 'src/shared.ts': 'base\n' });
    const dir = testDir('live-overlap');
    const [written, release] = [join(dir, 'written'), join(dir, 'release')];
    const tasks = [
      // a declares nothing, edits src/shared.ts and stays running (uncommitted) until the test lets it go.
      commandTask('a', `echo a >> src/shared.ts; touch ${written}; ${waitFor(release)}`),
      // x frees its slot once a has written: b then could start beside a.
      commandTask('x', waitFor(written)),
      commandTask('b', 'echo b >> src/shared.ts', { files: ['src/shared.ts'] }),
    ];
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('live');
      const handle = await client.workflow.start('runPlan', {
        workflowId: runId, taskQueue, args: [{ runId, repo, maxConcurrency: 2, plan: plan(tasks, { inlineCommands }) }],
      });
      try {
        const held = await until('b held back', async () => {
          const p: RunProgress = await handle.query(runProgressQuery);
          const row = (id: string) => p.tasks.find((t) => t.id === id)!;
          return row('x').status === 'completed' && row('b').waiting ? p : undefined;
        });
        const b = held.tasks.find((t) => t.id === 'b')!;
        expect(b).toMatchObject({ status: 'pending', attempts: 0, waiting: 'overlaps live changes of a in src/shared.ts' });
        expect(held.tasks.find((t) => t.id === 'a')!.status).toBe('running');
        expect(taskTable(held)).toMatch(/b\s+pending.*waiting: overlaps live changes of a in src\/shared\.ts/);
      } finally {
        writeFileSync(release, '');
      }
      const result = await runResultOf(handle);
      if (inlineCommands) await recordHistory(handle, 'runPlan-live-overlap');
      const row = (id: string): TaskRow => result.tasks.find((t) => t.id === id)!;
      expect(result.status).toBe('completed');
      // b started only after a's work was merged (a's row ends after its merge), and branched from it.
      expect(row('b').startedAt!).toBeGreaterThanOrEqual(row('a').endedAt!);
      expect(row('b').waiting).toBeUndefined();
      expect(showFile(repo, result.integrationBranch, 'src/shared.ts')).toBe('base\na\nb\n');
      // One git activity per check, not a poll: a handful in all.
      const history = await handle.fetchHistory();
      const checks = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'liveChangedPaths');
      expect(checks.length).toBeGreaterThanOrEqual(1);
      expect(checks.length).toBeLessThanOrEqual(5);
    });
  }, 180_000);

  it('starts a task beside a running one when their changes do not overlap', async () => {
    const repo = makeRepo({ 'README.md': '# r\n', 'src/shared.ts': 'base\n' });
    const dir = testDir('live-apart');
    const [written, cDone, release] = [join(dir, 'written'), join(dir, 'c-done'), join(dir, 'release')];
    const tasks = [
      commandTask('a', `echo a >> src/shared.ts; touch ${written}; ${waitFor(release)}`),
      commandTask('x', waitFor(written)),
      commandTask('c', `echo c > src/other.ts; touch ${cDone}`, { files: ['src/other.ts'] }),
    ];
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('live-apart');
      const handle = await client.workflow.start('runPlan', {
        workflowId: runId, taskQueue, args: [{ runId, repo, maxConcurrency: 2, plan: plan(tasks, { inlineCommands: true }) }],
      });
      try {
        // c runs while a is still running with its change to src/shared.ts uncommitted.
        await until('c to run', async () => (existsSync(cDone) ? true : undefined));
        const p: RunProgress = await handle.query(runProgressQuery);
        expect(p.tasks.find((t) => t.id === 'a')!.status).toBe('running');
        expect(p.tasks.find((t) => t.id === 'c')!.waiting).toBeUndefined();
      } finally {
        writeFileSync(release, '');
      }
      const result = await runResultOf(handle);
      expect(result.status).toBe('completed');
      const row = (id: string): TaskRow => result.tasks.find((t) => t.id === id)!;
      expect(row('c').startedAt!).toBeLessThan(row('a').endedAt!);
      expect(showFile(repo, result.integrationBranch, 'src/shared.ts')).toBe('base\na\n');
      expect(showFile(repo, result.integrationBranch, 'src/other.ts')).toBe('c\n');
    });
  }, 180_000);

  it('a failed check holds nothing back: the task starts, its lock and the merge still stand guard', async () => {
    const repo = makeRepo({ 'README.md': '# r\n', 'src/shared.ts': 'base\n' });
    const dir = testDir('live-broken');
    const [written, bDone, release] = [join(dir, 'written'), join(dir, 'b-done'), join(dir, 'release')];
    const tasks = [
      commandTask('a', `echo a >> src/shared.ts; touch ${written}; ${waitFor(release)}`),
      commandTask('x', waitFor(written)),
      commandTask('b', `echo b > src/b.ts; touch ${bDone}`, { files: ['src/shared.ts'] }),
    ];
    let asked = 0;
    const liveChangedPaths = () => {
      asked++;
      return Promise.reject(ApplicationFailure.nonRetryable('git is broken here', 'WorkspaceError'));
    };
    await withWorker({ extraActivities: { liveChangedPaths } }, async ({ client, taskQueue }) => {
      const runId = uniqueId('live-broken');
      const handle = await client.workflow.start('runPlan', {
        workflowId: runId, taskQueue, args: [{ runId, repo, maxConcurrency: 2, plan: plan(tasks, { inlineCommands: true }) }],
      });
      try {
        await until('b to run', async () => (existsSync(bDone) ? true : undefined));
      } finally {
        writeFileSync(release, '');
      }
      const result = await runResultOf(handle);
      expect(result.status).toBe('completed');
      expect(asked).toBeGreaterThanOrEqual(1);
      const row = (id: string): TaskRow => result.tasks.find((t) => t.id === id)!;
      expect(row('b').startedAt!).toBeLessThan(row('a').endedAt!);
      expect(showFile(repo, result.integrationBranch, 'src/b.ts')).toBe('b\n');
    });
  }, 180_000);
});
