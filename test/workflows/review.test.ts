/**
 * Review (docs/loops.md "Review") against the real dev server: after a task's checks pass, a reviewer sub-agent reads
 * the task's commit in a worktree of its own and approves or requests changes; requested changes go back to the
 * task's agent (CADRE_REVIEW_CHANGES for a command), bounded by `rounds`. Command reviewers play the reviewer.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTranscript } from '../../src/activities/model/transcript';
import { agentResultOf, runResultOf } from '../../src/client/results';
import { defaultLimits, type AgentInput } from '../../src/shared/agent';
import { agentStatusQuery } from '../../src/shared/messages';
import type { RunPlanResult } from '../../src/shared/run';
import { cadre } from '../support/cli';
import { recordHistory } from '../support/histories';
import { commandTask, plan } from '../support/plans';
import { makeRepo, showFile } from '../support/repo';
import { testAddress, testDir, uniqueId, withWorker } from '../support/temporal';

function agentInput(repo: string, extra: Partial<AgentInput>): AgentInput {
  return { repo, baseRef: 'HEAD', goal: 'test goal', backend: 'scripted', model: 'scripted', maxTokens: 1024, maxTurns: 20, budget: {}, depth: 0, limits: defaultLimits, ...extra };
}

function writeScript(name: string, turns: unknown[]): string {
  const file = join(testDir('review-script'), `${name}.json`);
  writeFileSync(file, JSON.stringify({ turns }));
  return file;
}

const row = (r: RunPlanResult, id: string) => r.tasks.find((t) => t.id === id)!;

describe('review', () => {
  it('a reviewer that requests changes once and then approves: the agent revises, its checks run again, and the task completes with both rounds recorded', async () => {
    const repo = makeRepo();
    // The agent writes reviewed.txt only when a review asked for changes; the reviewer wants it, and sees the commit.
    const sh = 'echo work >> work.log; echo ok > out.txt; if [ -n "$CADRE_REVIEW_CHANGES" ]; then printf "%s" "$CADRE_REVIEW_CHANGES" > reviewed.txt; fi';
    const reviewer = ['sh', '-c', 'test "$(git rev-parse HEAD)" = "$CADRE_REVIEW_COMMIT" || { echo "not at the reviewed commit"; exit 9; }; test -f reviewed.txt || { echo "please add reviewed.txt"; exit 3; }'];
    await withWorker({}, async ({ client, taskQueue, stateDir }) => {
      const runId = uniqueId('review');
      const tasks = [commandTask('gen', sh, { outputs: ['out.txt'], review: { backend: 'command', command: reviewer } }), commandTask('after', 'true', { dependsOn: ['gen'] })];
      await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks) }] });
      const result = await runResultOf(client.workflow.getHandle(runId));
      expect(result.status).toBe('completed');
      expect(row(result, 'gen').status).toBe('completed');
      const handle = client.workflow.getHandle(`${runId}/gen`);
      const agent = await agentResultOf(handle);
      await recordHistory(handle, 'agent-review-command');
      expect(agent.reviews).toHaveLength(2);
      expect(agent.reviews![0]).toMatchObject({ round: 1, verdict: 'changes', summary: 'command exited 3: please add reviewed.txt\n' });
      expect(agent.reviews![1]).toMatchObject({ round: 2, verdict: 'approve', commit: agent.commit });
      expect(agent.reviews![0]!.commit).not.toBe(agent.commit);
      // Checks ran on both attempts; the reviewer children are in the tree but never merged.
      expect(agent.attempts).toEqual([{ attempt: 1, ok: true, summary: 'passed' }, { attempt: 2, ok: true, summary: 'passed' }]);
      expect(agent.children.map((c) => [c.name, c.status, c.merged])).toEqual([['review-1', 'failed', false], ['review-2', 'completed', false]]);
      // Same worktree for both: the first run's line is still there; the request reached the program.
      expect(showFile(repo, result.integrationBranch, 'work.log')).toBe('work\nwork\n');
      const why = showFile(repo, result.integrationBranch, 'reviewed.txt')!;
      expect(why).toContain('Review requested changes (round 1 of 2):');
      expect(why).toContain('please add reviewed.txt');

      const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: stateDir, CADRE_TASK_QUEUE: taskQueue };
      const logs = await cadre(['logs', `${runId}/gen`], env);
      expect(logs.stdout).toContain('review 1: changes requested');
      expect(logs.stdout).toContain('review 2: approved');
      const status = await cadre(['status', `${runId}/gen`], env);
      expect(status.stdout).toContain(`review 1: changes requested @ ${agent.reviews![0]!.commit.slice(0, 10)}: command exited 3: please add reviewed.txt`);
      expect(status.stdout).toContain(`review 2: approved @ ${agent.commit!.slice(0, 10)}`);
      const json = JSON.parse((await cadre(['logs', `${runId}/gen`, '--json'], env)).stdout) as { reviews: unknown[] };
      expect(json.reviews).toEqual(agent.reviews);
    });
  });

  it('a reviewer that never approves fails the task after `rounds`, with its request in the error', async () => {
    const repo = makeRepo();
    const counter = join(testDir('review-never'), 'runs');
    const tasks = [commandTask('picky', `echo run >> ${counter}; echo x > x.txt`, { review: { backend: 'command', command: ['sh', '-c', 'echo "never good enough"; exit 1'], rounds: 3 } })];
    await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('picky');
      await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks) }] });
      const result = await runResultOf(client.workflow.getHandle(runId));
      expect(result.status).toBe('failed');
      expect(row(result, 'picky')).toMatchObject({ status: 'failed', error: 'review: changes requested: command exited 1: never good enough\n' });
      expect(readFileSync(counter, 'utf8')).toBe('run\nrun\nrun\n');
      const agent = await agentResultOf(client.workflow.getHandle(`${runId}/picky`));
      expect(agent.reviews!.map((r) => [r.round, r.verdict])).toEqual([[1, 'changes'], [2, 'changes'], [3, 'changes']]);
      expect(agent.attempts).toBeUndefined();
    });
  });

  it('model reviewers: APPROVE completes the agent; CHANGES: reaches a scripted agent as a message and, unapproved, fails it', async () => {
    const repo = makeRepo();
    const work = writeScript('work', [
      { tools: [{ write_file: { path: 'a.txt', content: 'a\n' } }] },
      { tools: [{ finish: { summary: 'first' } }] },
      { tools: [{ write_file: { path: 'b.txt', content: 'b\n' } }] },
      { tools: [{ finish: { summary: 'revised' } }] },
    ]);
    const approve = writeScript('approve', [{ tools: [{ finish: { summary: 'APPROVE looks right' } }] }]);
    const picky = writeScript('picky', [{ tools: [{ finish: { summary: 'CHANGES: add b.txt' } }] }]);
    await withWorker({}, async ({ client, taskQueue, stateDir }) => {
      const ok = await client.workflow.start('agent', { workflowId: uniqueId('rapprove'), taskQueue, args: [agentInput(repo, { script: work, budget: { tokens: 100_000 }, review: { backend: 'scripted', script: approve, rounds: 2 } })] });
      const okResult = await agentResultOf(ok);
      expect(okResult).toMatchObject({ status: 'completed', summary: 'first', turns: 2 });
      expect(okResult.reviews).toEqual([{ round: 1, verdict: 'approve', commit: okResult.commit, summary: 'APPROVE looks right' }]);
      expect((await ok.query(agentStatusQuery)).reviews).toEqual(okResult.reviews);

      const no = await client.workflow.start('agent', { workflowId: uniqueId('rpicky'), taskQueue, args: [agentInput(repo, { script: work, review: { backend: 'scripted', script: picky, rounds: 2 } })] });
      const noResult = await agentResultOf(no);
      expect(noResult).toMatchObject({ status: 'failed', error: 'review: changes requested: add b.txt', turns: 4 });
      expect(noResult.reviews!.map((r) => [r.round, r.verdict, r.summary])).toEqual([[1, 'changes', 'add b.txt'], [2, 'changes', 'add b.txt']]);
      expect(showFile(repo, noResult.branch, 'b.txt')).toBe('b\n');
      const turn3 = (await readTranscript(stateDir, noResult.agentId)).find((r) => r.kind === 'user' && r.turn === 3);
      expect(JSON.stringify(turn3)).toContain('Review requested changes (round 1 of 2):');
    });
  });
});
