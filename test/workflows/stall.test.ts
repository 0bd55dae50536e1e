/**
 * Stalls (docs/loops.md "Stalls") against the real dev server: an agent with no progress for `stallAfterSeconds`
 * is marked stalled (status query), then ended with its work committed, or restarted (`onStall: 'restart'`); an
 * agent whose program keeps printing is never marked stalled. Command agents: their progress is their output, seen
 * by the workflow only through the activity's heartbeats; a scripted agent's silent tool call is seen the same way,
 * through its model turn's heartbeats.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentResultOf } from '../../src/client/results';
import { defaultLimits, type AgentInput } from '../../src/shared/agent';
import { agentStatusQuery, type AgentSnapshot } from '../../src/shared/messages';
import { recordHistory } from '../support/histories';
import { makeRepo, showFile, sleepRunning } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import type { WorkflowHandle } from '@temporalio/client';

function commandAgent(repo: string, sh: string, extra: Partial<AgentInput> = {}): AgentInput {
  return { repo, baseRef: 'HEAD', goal: 'stall test', backend: 'command', command: ['sh', '-c', sh], model: 'none', maxTokens: 1024, maxTurns: 1, budget: {}, depth: 0, limits: defaultLimits, timeoutSeconds: 600, stallAfterSeconds: 2, ...extra };
}

/** Poll the status query until the agent shows as stalled (or it has ended). */
async function untilStalled(handle: WorkflowHandle): Promise<AgentSnapshot | undefined> {
  for (let i = 0; i < 600; i++) {
    const snap = await handle.query(agentStatusQuery).catch(() => undefined);
    if (snap?.stalled) return snap;
    if (snap && ['completed', 'failed', 'cancelled'].includes(snap.status)) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

describe('stalls', () => {
  it('a silent command agent is marked stalled, then ended: it fails "stalled", its work committed on its branch', async () => {
    const repo = makeRepo();
    const token = Math.floor(Math.random() * 1e6) + 6000;
    const { result, stalled } = await withWorker({}, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('agent', { workflowId: uniqueId('stall'), taskQueue, args: [commandAgent(repo, `echo draft > before.txt; sleep ${token}`)] });
      const stalled = await untilStalled(handle);
      const result = await agentResultOf(handle);
      await recordHistory(handle, 'agent-stall-ended');
      return { result, stalled };
    });
    expect(stalled).toMatchObject({ status: 'running', stalls: 1 });
    expect(stalled!.doing).toMatch(/^stalled: no progress for \d+ s \(nudged\) — was: run sh -c echo draft/);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^stalled: no progress for \d+ s$/);
    expect(result.stalls).toBe(1);
    expect(showFile(repo, result.branch, 'before.txt')).toBe('draft\n');
    expect(sleepRunning(token)).toBe(false);
  });

  it('a command agent that keeps printing is never marked stalled', async () => {
    const repo = makeRepo();
    const result = await withWorker({}, async ({ client, taskQueue }) => {
      const sh = 'i=0; while [ $i -lt 24 ]; do echo tick $i; i=$((i+1)); sleep 0.5; done; echo done > out.txt';
      const handle = await client.workflow.start('agent', { workflowId: uniqueId('nostall'), taskQueue, args: [commandAgent(repo, sh)] });
      return agentResultOf(handle);
    });
    expect(result.status).toBe('completed');
    expect(result.stalls).toBeUndefined();
    expect(showFile(repo, result.branch, 'out.txt')).toBe('done\n');
  });

  it('onStall restart: the stalled program is stopped and run again in the same worktree', async () => {
    const repo = makeRepo();
    // The first run writes its mark and goes silent; the second finds the mark and completes.
    const sh = 'if [ -f first.txt ]; then echo second > second.txt; exit 0; fi; echo first > first.txt; sleep 700';
    const result = await withWorker({}, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('agent', { workflowId: uniqueId('restart'), taskQueue, args: [commandAgent(repo, sh, { onStall: 'restart' })] });
      return agentResultOf(handle);
    });
    expect(result.status).toBe('completed');
    expect(result.stalls).toBe(1);
    expect(showFile(repo, result.branch, 'first.txt')).toBe('first\n');
    expect(showFile(repo, result.branch, 'second.txt')).toBe('second\n');
  });

  it('onStall restart of a model agent: the stalled turn is done again, and the agent goes on to its next turns', async () => {
    const repo = makeRepo();
    const script = join(testDir('stall-restart-script'), 'script.json');
    // Turn 2's command goes silent the first time (it leaves a mark); run again after the restart it returns at once.
    const quietOnce = "const f=require('fs');if(f.existsSync('.mark'))process.exit(0);f.writeFileSync('.mark','');setTimeout(()=>{},600000)";
    writeFileSync(script, JSON.stringify({ turns: [
      { tools: [{ write_file: { path: 'notes.md', content: 'turn 1\n' } }] },
      { tools: [{ run_command: { argv: ['node', '-e', quietOnce] } }] },
      { tools: [{ write_file: { path: 'after.md', content: 'turn 3\n' } }] },
      { tools: [{ finish: { summary: 'went on after the restart' } }] },
    ] }));
    const input: AgentInput = { repo, baseRef: 'HEAD', goal: 'stall restart test', backend: 'scripted', model: 'scripted', script, maxTokens: 1024, maxTurns: 10, budget: {}, depth: 0, limits: defaultLimits, stallAfterSeconds: 2, onStall: 'restart' };
    const result = await withWorker({}, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('agent', { workflowId: uniqueId('stallrestartmodel'), taskQueue, args: [input] });
      return agentResultOf(handle);
    });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('completed');
    expect(result.stalls).toBe(1);
    expect(result.summary).toBe('went on after the restart');
    expect(showFile(repo, result.branch, 'after.md')).toBe('turn 3\n');
  });

  it('a scripted agent whose tool call goes silent inside its model turn is stalled and ended, its earlier write committed', async () => {
    const repo = makeRepo();
    const script = join(testDir('stall-script'), 'script.json');
    writeFileSync(script, JSON.stringify({ turns: [
      { tools: [{ write_file: { path: 'notes.md', content: 'before going quiet\n' } }] },
      { tools: [{ run_command: { argv: ['node', '-e', 'setTimeout(() => {}, 600000)'] } }] },
      { tools: [{ finish: { summary: 'never reached' } }] },
    ] }));
    const input: AgentInput = { repo, baseRef: 'HEAD', goal: 'stall test', backend: 'scripted', model: 'scripted', script, maxTokens: 1024, maxTurns: 10, budget: {}, depth: 0, limits: defaultLimits, stallAfterSeconds: 2 };
    const { result, stalled } = await withWorker({}, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('agent', { workflowId: uniqueId('stallmodel'), taskQueue, args: [input] });
      const stalled = await untilStalled(handle);
      return { result: await agentResultOf(handle), stalled };
    });
    expect(stalled).toMatchObject({ turn: 2, stalls: 1 });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^stalled: no progress for \d+ s$/);
    expect(showFile(repo, result.branch, 'notes.md')).toBe('before going quiet\n');
  });
});
