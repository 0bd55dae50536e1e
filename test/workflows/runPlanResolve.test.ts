/**
 * Merge conflicts (docs/loops.md "Merge conflicts"): two tasks edit the same line in parallel; the second's merge
 * conflicts, a resolver agent (a command playing the model) resolves it in a worktree of the task's branch, the
 * task's verify command runs again on the resolution, and only then is it merged. A resolver that leaves markers,
 * fails, or whose resolution fails the task's checks fails the task with the files named; the integration branch
 * never takes an unchecked merge.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { taskTable } from '../../src/client/watch';
import { runResultOf } from '../../src/client/results';
import { runProgressQuery, type RunProgress, type TaskRow } from '../../src/shared/messages';
import type { Task } from '../../src/shared/plan';
import { recordHistory } from '../support/histories';
import { commandTask, plan } from '../support/plans';
import { git, makeRepo, showFile, worktreesOutsidePool } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { until } from '../support/wait';

const integrationOf = (runId: string) => `cadre/${runId}/integration`;

/**
 * left writes `left`; right waits until left is merged, then writes `right` over the same line, so its merge
 * conflicts every time (no declared files: the two run at once).
 */
function conflictingTasks(runId: string, resolve: Task['resolve'], extra: Partial<Task> = {}): Task[] {
  const leftMerged = `until git show ${integrationOf(runId)}:shared.txt 2>/dev/null | grep -q left; do sleep 0.1; done`;
  return [
    commandTask('left', 'echo left > shared.txt', { title: 'Say left', prompt: 'Write left into shared.txt' }),
    commandTask('right', `${leftMerged}; echo right > shared.txt`, { title: 'Say right', verify: ['sh', '-c', 'grep -q right shared.txt'], resolve, ...extra }),
  ];
}

const row = (tasks: TaskRow[], id: string): TaskRow => tasks.find((t) => t.id === id)!;

describe('runPlan: merge conflicts go to a resolver', () => {
  it.each([
    ['command agents', false],
    ['inline command tasks', true],
  ])('resolves the second task\'s conflict, checks it, and merges both changes (%s)', async (_name, inlineCommands) => {
    const repo = makeRepo({ 'README.md': '# r\n', 'shared.txt': 'base\n' });
    const dir = testDir('resolve');
    const [resolving, release, seen] = [join(dir, 'resolving'), join(dir, 'release'), join(dir, 'seen')];
    // The resolver: note what it was told, wait until the test has looked at the row, then write both lines.
    const script = [
      `printf '%s|%s|%s' "$CADRE_RESOLVE_FILES" "$CADRE_RESOLVE_TASK" "$(grep -c '^<<<<<<<' shared.txt)" > ${seen}`,
      `touch ${resolving}`,
      `while [ ! -f ${release} ]; do sleep 0.1; done`,
      `printf 'left\\nright\\n' > shared.txt`,
    ].join('; ');
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('resolve');
      const tasks = conflictingTasks(runId, { backend: 'command', command: ['sh', '-c', script] });
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { inlineCommands }) }] });
      try {
        await until('the resolver to run', async () => (existsSync(resolving) ? true : undefined));
        const p: RunProgress = await handle.query(runProgressQuery);
        expect(row(p.tasks, 'right')).toMatchObject({ status: 'running', waiting: 'resolving conflict in shared.txt' });
        expect(taskTable(p)).toMatch(/right\s+running.*resolving conflict in shared\.txt/);
        // The integration branch has not moved past left while right is being resolved.
        expect(showFile(repo, integrationOf(runId), 'shared.txt')).toBe('left\n');
      } finally {
        writeFileSync(release, '');
      }
      const result = await runResultOf(handle);
      if (!inlineCommands) await recordHistory(handle, 'runPlan-merge-resolved');
      expect(result.status).toBe('completed');
      expect(readFileSync(seen, 'utf8')).toBe('shared.txt|right|1');
      const right = row(result.tasks, 'right');
      expect(right.status).toBe('completed');
      expect(right.waiting).toBeUndefined();
      expect(right.resolutions).toEqual([{ round: 1, files: ['shared.txt'], outcome: 'resolved', agentId: `${right.agentId}/resolve-1`, costUsd: 0 }]);
      // Both changes are on the integration branch, and the task's branch is what was merged.
      expect(showFile(repo, result.integrationBranch, 'shared.txt')).toBe('left\nright\n');
      const taskBranch = `cadre/${right.agentId!.replace(/\//g, '.')}`;
      expect(git(repo, 'merge-base', '--is-ancestor', taskBranch, result.integrationBranch)).toBe('');
      expect(worktreesOutsidePool(repo).filter((w) => w.includes('resolve'))).toEqual([]);
    });
  }, 180_000);

  it('a scripted (model-loop) resolver resolves with its file tools, funded and counted like a task', async () => {
    const repo = makeRepo({ 'README.md': '# r\n', 'shared.txt': 'base\n' });
    const script = join(testDir('resolve-script'), 'script.json');
    writeFileSync(script, JSON.stringify({ turns: [
      { tools: [{ write_file: { path: 'shared.txt', content: 'left\nright\n' } }] },
      { tools: [{ finish: { summary: 'kept both lines' } }] },
    ] }));
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('scripted-resolve');
      const tasks = conflictingTasks(runId, { backend: 'scripted', script });
      const result = await runResultOf(await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { budget: { usd: 5 } }) }] }));
      const right = row(result.tasks, 'right');
      expect(result.status).toBe('completed');
      expect(right.resolutions).toMatchObject([{ round: 1, outcome: 'resolved', agentId: `${right.agentId}/resolve-1` }]);
      const spent = right.resolutions![0]!.costUsd!;
      expect(spent).toBeGreaterThan(0);
      expect(right.costUsd).toBeCloseTo(spent, 10);
      expect(result.costUsd).toBeCloseTo(spent, 10);
      expect(showFile(repo, result.integrationBranch, 'shared.txt')).toBe('left\nright\n');
    });
  }, 180_000);

  it.each([
    ['leaves the markers', 'true', 'conflict markers left in shared.txt'],
    ['exits non-zero', 'echo cannot decide; exit 3', 'resolver failed'],
  ])('fails the task with the files named when the resolver %s', async (_name, sh, why) => {
    const repo = makeRepo({ 'README.md': '# r\n', 'shared.txt': 'base\n' });
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('unresolved');
      const tasks = conflictingTasks(runId, { backend: 'command', command: ['sh', '-c', sh] });
      const result = await runResultOf(await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks) }] }));
      const right = row(result.tasks, 'right');
      expect(right.status).toBe('failed');
      expect(right.error).toMatch(/^merge conflict in shared\.txt \(resolver: /);
      expect(right.error).toContain(why);
      expect(right.resolutions).toMatchObject([{ round: 1, files: ['shared.txt'], outcome: 'failed', agentId: `${right.agentId}/resolve-1` }]);
      expect(showFile(repo, result.integrationBranch, 'shared.txt')).toBe('left\n');
      expect(row(result.tasks, 'left').status).toBe('completed');
    });
  }, 180_000);

  it('fails the task when the resolution fails its verify command, after every attempt', async () => {
    const repo = makeRepo({ 'README.md': '# r\n', 'shared.txt': 'base\n' });
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('badfix');
      // Drops right's line: no markers, a committed merge, but right's verify (grep right) fails on it.
      const tasks = conflictingTasks(runId, { backend: 'command', command: ['sh', '-c', 'echo left > shared.txt'], attempts: 2 });
      const result = await runResultOf(await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks) }] }));
      const right = row(result.tasks, 'right');
      expect(right.status).toBe('failed');
      expect(right.error).toMatch(/^merge conflict in shared\.txt \(resolver: verify failed \(exit 1\)/);
      expect(right.resolutions?.map((x) => [x.round, x.outcome, x.agentId])).toEqual([
        [1, 'failed', `${right.agentId}/resolve-1`],
        [2, 'failed', `${right.agentId}/resolve-2`],
      ]);
      expect(showFile(repo, result.integrationBranch, 'shared.txt')).toBe('left\n');
    });
  }, 180_000);

  it('a merge that conflicts again because the integration branch moved on meanwhile is one more round', async () => {
    const repo = makeRepo({ 'README.md': '# r\n', 'shared.txt': 'base\n' });
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('moved');
      const integration = integrationOf(runId);
      // Round 1 waits until mid has been merged (after its own resolution started), so its merge conflicts again;
      // round 2 sees mid's line too and keeps all three.
      const resolver = [
        'if [ "$CADRE_RESOLVE_ROUND" = 1 ]; then',
        `  until git show ${integration}:shared.txt | grep -q mid; do sleep 0.1; done; printf 'left\\nright\\n' > shared.txt;`,
        `else printf 'left\\nmid\\nright\\n' > shared.txt; fi`,
      ].join(' ');
      const tasks = [
        ...conflictingTasks(runId, { backend: 'command', command: ['sh', '-c', resolver], attempts: 2 }),
        // mid starts from left's work and appends after it once right's first resolver is running.
        commandTask('mid', `until git branch -a | grep -q 'resolve-1'; do sleep 0.1; done; printf 'left\\nmid\\n' > shared.txt`, { dependsOn: ['left'] }),
      ];
      const result = await runResultOf(await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks) }] }));
      const right = row(result.tasks, 'right');
      expect(result.status).toBe('completed');
      expect(right.resolutions?.map((x) => [x.round, x.outcome, x.why])).toEqual([
        [1, 'failed', 'the integration branch moved on meanwhile and conflicts again in shared.txt'],
        [2, 'resolved', undefined],
      ]);
      expect(showFile(repo, result.integrationBranch, 'shared.txt')).toBe('left\nmid\nright\n');
    });
  }, 180_000);

  it('a command task without a resolver fails on its conflict as before', async () => {
    const repo = makeRepo({ 'README.md': '# r\n', 'shared.txt': 'base\n' });
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('noresolver');
      const result = await runResultOf(await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(conflictingTasks(runId, undefined)) }] }));
      const right = row(result.tasks, 'right');
      expect(right).toMatchObject({ status: 'failed', error: 'merge conflict in shared.txt' });
      expect(right.resolutions).toBeUndefined();
    });
  }, 180_000);
});
