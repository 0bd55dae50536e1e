/**
 * CLI crash: `cadre run` (with its in-process worker) is killed with SIGKILL mid-run; the same command run again
 * re-attaches to the same run, which completes; completed tasks do not run again.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runProgressQuery } from '../../src/shared/messages';
import { cadre, startCadre } from '../support/cli';
import { makeRepo } from '../support/repo';
import { testAddress, testClient, testDir, uniqueId } from '../support/temporal';
import { countingCommand, readMarks, tally, unfinished } from './support/counts';
import { eventMs, runsOf } from './support/history';
import { gitActivities, mergesPerTask, pendingActivities, waitFor } from './support/scene';

let cli: ChildProcess | undefined;
afterEach(() => {
  if (cli && cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
});

describe('cadre run killed with SIGKILL', () => {
  it('running the same command again re-attaches to the same run, which completes', async () => {
    const client = await testClient();
    const repo = makeRepo();
    const dir = testDir('cli-crash');
    const counts = join(dir, 'counts');
    const ids = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    const planFile = join(dir, 'plan.yaml');
    writeFileSync(
      planFile,
      stringify({
        name: 'cli-crash',
        maxConcurrency: 2,
        tasks: [
          ...ids.map((id, i) => ({ id, title: `task ${id}`, backend: 'command', command: ['sh', '-c', countingCommand(counts, id, 2 + (i % 2))] })),
          { id: 'last', title: 'after all', dependsOn: ids, backend: 'command', command: ['sh', '-c', countingCommand(counts, 'last', 1)] },
        ],
      }),
    );
    const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_TASK_QUEUE: uniqueId('tq-cli'), CADRE_STATE_DIR: testDir('cli-state') };
    const args = ['run', planFile, '--repo', repo];

    const first = await startCadre(args, env, /started run (\S+)/);
    cli = first.child;
    const runId = /started run (\S+)/.exec(first.output())![1]!;
    const handle = client.workflow.getHandle(runId);
    await waitFor(
      'two tasks done and one running, with no git operation in flight',
      async () => {
        const p = await handle.query(runProgressQuery);
        if (p.counts.completed < 2 || unfinished(readMarks(counts)).length === 0) return false;
        const pending = await pendingActivities(client, [runId, ...p.tasks.filter((t) => t.status === 'running').map((t) => t.agentId!)]);
        return !pending.some((a) => gitActivities.has(a.type));
      },
      90_000,
      50,
    );
    const exited = new Promise((r) => first.child.once('exit', r));
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await exited;
    const runningAtKill = unfinished(readMarks(counts));

    const again = await cadre(args, env, 150_000);
    const elapsed = (Date.now() - killedAt) / 1000;
    expect(again.stdout, again.stderr).toContain(`re-attached to run ${runId}`);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`run ${runId} completed: 7 completed`));

    // Completed tasks did not run again; the one running at the kill ran at most once more.
    const events = (await runsOf(client, runId)).flatMap((r) => r.events);
    const doneBeforeKill = events
      .filter((e) => e.childWorkflowExecutionCompletedEventAttributes && eventMs(e) < killedAt)
      .map((e) => e.childWorkflowExecutionCompletedEventAttributes!.workflowExecution!.workflowId!.slice(runId.length + 1));
    const starts = tally(readMarks(counts), 'start');
    for (const id of [...ids, 'last']) {
      expect(starts.get(id), `starts of ${id}`).toBeGreaterThanOrEqual(1);
      expect(starts.get(id), `starts of ${id}`).toBeLessThanOrEqual(doneBeforeKill.includes(id) ? 1 : 2);
      if ((starts.get(id) ?? 0) > 1) expect(runningAtKill).toContain(id);
    }
    const merges = mergesPerTask(repo, `cadre/${runId}/integration`);
    for (const id of [...ids, 'last']) expect(merges.get(id), `merges of ${id}`).toBe(1);
    console.log(`[cli crash] killed cadre run with ${runningAtKill.join(', ')} running and ${doneBeforeKill.join(', ')} done; the second cadre run re-attached and exited 0 ${elapsed.toFixed(1)} s after the kill`);
  }, 240_000);
});
