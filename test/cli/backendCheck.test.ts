/**
 * `cadre run` on an imported plan whose tasks name no backend takes the configured default (CADRE_BACKEND); when
 * that backend cannot run here it exits 78 before anything starts, naming what is missing: no workflow, no run
 * recorded, no worker polling.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cadre } from '../support/cli';
import { makeRepo } from '../support/repo';
import { testAddress, testClient, testDir, uniqueId } from '../support/temporal';
import { claudeBin } from '../backends/support';

function specKit(): string {
  const dir = testDir('speckit');
  writeFileSync(join(dir, 'tasks.md'), ['# Tasks: notes', '', '## Phase 1: Setup', '', '- [ ] T001 Write the first note', '- [ ] T002 [P] Write the second note', ''].join('\n'));
  return join(dir, 'tasks.md');
}

/** PATH without any directory that holds a `claude` program. */
const pathWithoutClaude = (process.env.PATH ?? '').split(':').filter((d) => d && !existsSync(join(d, 'claude'))).join(':');

async function refused(env: Record<string, string | undefined>): Promise<{ stderr: string; stdout: string }> {
  const state = testDir('s');
  const taskQueue = uniqueId('tq-refused');
  const r = await cadre(['run', specKit(), '--repo', makeRepo()], {
    TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: state, CADRE_TASK_QUEUE: taskQueue, PATH: pathWithoutClaude, ANTHROPIC_API_KEY: undefined, ...env,
  });
  expect(r.code).toBe(78);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  // Nothing started: no run recorded, no workflow on the run's task queue, no worker ever polled it.
  expect(existsSync(join(state, 'runs.json'))).toBe(false);
  const client = await testClient();
  const started = [];
  for await (const w of client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) started.push(w.workflowId);
  expect(started).toEqual([]);
  const queue = await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 1 });
  expect(queue.pollers ?? []).toEqual([]);
  return r;
}

describe('cadre run: a backend that cannot run here is refused before anything starts (exit 78)', () => {
  it('claude-code (the default) with CADRE_CLAUDE_BIN pointing at nothing and no claude on PATH', async () => {
    const r = await refused({ CADRE_BACKEND: 'claude-code', CADRE_CLAUDE_BIN: '/nonexistent/claude', ANTHROPIC_API_KEY: 'sk-ant-test-key-000000000' });
    expect(r.stderr).toContain('CADRE_CLAUDE_BIN=/nonexistent/claude is not an executable file');
    expect(r.stderr).toContain('tasks T001, T002');
  });

  it.skipIf(!claudeBin)('claude-code with its program but no ANTHROPIC_API_KEY', async () => {
    const r = await refused({ CADRE_BACKEND: 'claude-code', CADRE_CLAUDE_BIN: claudeBin! });
    expect(r.stderr).toContain('the claude-code backend needs ANTHROPIC_API_KEY');
    expect(r.stderr).toContain('a personal login is never used');
  });

  it('CADRE_BACKEND unset: the default is claude-code, and it is checked the same way', async () => {
    const r = await refused({ CADRE_CLAUDE_BIN: '/nonexistent/claude', ANTHROPIC_API_KEY: 'sk-ant-test-key-000000000' });
    expect(r.stderr).toContain('CADRE_CLAUDE_BIN=/nonexistent/claude');
  });

  it('a default that needs what imported tasks do not have (scripted without a script)', async () => {
    const r = await refused({ CADRE_BACKEND: 'scripted' });
    expect(r.stderr).toContain('task T001: the scripted backend needs a script');
  });
});
