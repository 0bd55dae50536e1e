/**
 * Imported plans run end to end on the claude-code backend: the real Claude Code CLI, driven by cadre's runPlan and
 * agent workflows on the real Temporal server, against a local Messages API stub that plays the model. Each task's
 * session writes one file in its own worktree; cadre commits it and merges it into the run's integration branch.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseBackends } from '../../src/client/backends/choice';
import { loadPlan } from '../../src/client/plans';
import { agentTreeQuery } from '../../src/shared/messages';
import type { RunPlanWorkflow } from '../../src/shared/run';
import { startMessagesStub, type MessagesStub, type StubResponse } from '../support/messagesStub';
import { makeRepo } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { claudeBin, claudeStubEnv } from './support';

/**
 * The model: a first request (no tool result yet) writes `<task>.txt` in the session's working directory, named
 * after the task id in the goal; the request after the tool result ends the turn.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function playModel(body: any): StubResponse {
  const text = JSON.stringify(body);
  const cwd = /Primary working directory: ([^\\"]+?)\\n/.exec(text)?.[1];
  const task = /\b(T\d{3}|0\d-0\d)\b/.exec(JSON.stringify(body.messages?.[0] ?? ''))?.[1] ?? 'unknown';
  const lastUser = body.messages?.[body.messages.length - 1];
  const answered = JSON.stringify(lastUser?.content ?? '').includes('tool_result');
  if (answered || !cwd) return { content: [{ type: 'text', text: `done with ${task}` }], usage: { input_tokens: 1200, output_tokens: 20 } };
  return {
    content: [{ type: 'text', text: `writing ${task}` }, { type: 'tool_use', id: `toolu_${task.replace(/\W/g, '')}`, name: 'Write', input: { file_path: join(cwd, `${task}.txt`), content: `${task} done\n` } }],
    usage: { input_tokens: 1000, output_tokens: 40 },
  };
}

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();

describe.skipIf(!claudeBin)('imported plans on the claude-code backend (real CLI, stub API)', () => {
  let stub: MessagesStub;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    stub = await startMessagesStub();
    stub.respondWith(playModel);
    env = claudeStubEnv(stub.url);
  });
  afterAll(() => stub.close());

  async function runImported(planPath: string): Promise<{ result: Awaited<ReturnType<RunPlanWorkflow>>; repo: string; costs: number[] }> {
    const repo = makeRepo();
    const plan = chooseBackends(await loadPlan(planPath), { configured: 'claude-code', model: 'claude-haiku-4-5' }, env);
    expect(plan.tasks.every((t) => t.backend === 'claude-code')).toBe(true);
    return withWorker({ deps: { sessionEnv: env } }, async ({ client, taskQueue }) => {
      const runId = uniqueId('cc-run');
      const handle = await client.workflow.start<RunPlanWorkflow>('runPlan', { workflowId: runId, taskQueue, args: [{ runId, plan, repo }] });
      const result = await handle.result();
      const costs = await Promise.all(result.tasks.map(async (t) => (await client.workflow.getHandle(t.agentId!).query(agentTreeQuery).catch(() => undefined))?.costUsd ?? t.costUsd ?? 0));
      return { result, repo, costs };
    });
  }

  it('runs a spec-kit tasks.md: every task completes, its work is on the integration branch, usage and cost add up', async () => {
    const dir = testDir('speckit');
    writeFileSync(join(dir, 'tasks.md'), [
      '# Tasks: greeting', '', '## Phase 1: Setup', '', '- [ ] T001 Write the first note', '- [ ] T002 [P] Write the second note', '',
      '## Phase 2: Core', '', '- [ ] T003 Write the third note', '',
    ].join('\n'));
    const { result, repo, costs } = await runImported(join(dir, 'tasks.md'));
    expect(result.status).toBe('completed');
    expect(result.tasks.map((t) => `${t.id}:${t.status}`)).toEqual(['T001:completed', 'T002:completed', 'T003:completed']);
    const files = git(repo, 'ls-tree', '--name-only', result.integrationBranch).split('\n');
    expect(files).toEqual(expect.arrayContaining(['T001.txt', 'T002.txt', 'T003.txt']));
    expect(git(repo, 'show', `${result.integrationBranch}:T003.txt`)).toBe('T003 done');
    // Usage and cost came from what Claude Code reported, and the run's total is the sum of its tasks.
    expect(result.tokens).toBe(3 * (1000 + 40 + 1200 + 20));
    expect(result.costUsd).toBeGreaterThan(0);
    expect(result.costUsd).toBeCloseTo(costs.reduce((a, b) => a + b, 0), 9);
  }, 240_000);

  it('runs a GSD project: plans in waves, each plan\'s work merged', async () => {
    const dir = testDir('gsd');
    const phase = join(dir, '.planning', 'phases', '01-notes');
    mkdirSync(phase, { recursive: true });
    writeFileSync(join(dir, '.planning', 'ROADMAP.md'), '# Roadmap\n\n- Phase 1: notes\n');
    writeFileSync(join(phase, '01-01-PLAN.md'), '---\nphase: 01-notes\nplan: 01\nwave: 1\ndepends_on: []\n---\n\n<objective>Write the note of plan 01-01.</objective>\n\n<tasks>\n<task type="auto">\n  <name>Task 1: note 01-01</name>\n  <action>Write the note of 01-01.</action>\n</task>\n</tasks>\n');
    writeFileSync(join(phase, '01-02-PLAN.md'), '---\nphase: 01-notes\nplan: 02\nwave: 2\ndepends_on: ["01-01"]\n---\n\n<objective>Write the note of plan 01-02.</objective>\n\n<tasks>\n<task type="auto">\n  <name>Task 1: note 01-02</name>\n  <action>Write the note of 01-02.</action>\n</task>\n</tasks>\n');
    const { result, repo } = await runImported(join(dir, '.planning'));
    expect(result.status).toBe('completed');
    expect(result.tasks).toHaveLength(2);
    expect(result.tasks.every((t) => t.status === 'completed')).toBe(true);
    const files = git(repo, 'ls-tree', '--name-only', result.integrationBranch).split('\n');
    expect(files).toEqual(expect.arrayContaining(['01-01.txt', '01-02.txt']));
  }, 240_000);
});
