import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { commandTask, plan } from '../support/plans';
import { makeRepo, showFile } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { runResultOf } from '../../src/client/results';

describe('continue-as-new keeps long runs inside history limits', () => {
  it('an agent continues as new every few turns and carries its state, budget and pending results', async () => {
    const repo = makeRepo();
    const turns = Array.from({ length: 12 }, (_, i) => ({ tools: [{ write_file: { path: `f${i}.txt`, content: `${i}\n` } }], usage: { input: 100, output: 10 } }));
    const script = join(testDir('script'), 's.json');
    writeFileSync(script, JSON.stringify({ turns: [...turns, { tools: [{ finish: { summary: 'twelve files' } }], usage: { input: 100, output: 10 } }] }));
    const input: AgentInput = { repo, baseRef: 'HEAD', goal: 'write', backend: 'scripted', model: 'scripted', maxTokens: 100, maxTurns: 50, budget: { tokens: 1_000_000 }, depth: 0, limits: defaultLimits, script, continueAsNewEvery: 4 };
    const { result, runs, events } = await withWorker({}, async ({ client, taskQueue }) => {
      const id = uniqueId('can');
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [input] });
      const result = (await handle.result()) as AgentResult;
      let runs = 0;
      for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) if (w.workflowId === id) runs++;
      const events = (await client.workflow.getHandle(id).fetchHistory()).events!.length;
      return { result, runs, events };
    });
    expect(result.status).toBe('completed');
    expect(result.turns).toBe(13);
    expect(result.usage.inputTokens).toBe(1300);
    expect(result.returned.tokens).toBe(1_000_000 - 1430);
    expect(result.filesChanged).toHaveLength(12);
    expect(showFile(repo, result.branch, 'f11.txt')).toBe('11\n');
    expect(runs).toBe(4);
    expect(events).toBeLessThan(60);
  });

  it('a plan continues as new between batches of tasks and finishes every task once', async () => {
    const repo = makeRepo();
    const counts = join(testDir('counts'), 'log');
    writeFileSync(counts, '');
    const tasks = Array.from({ length: 12 }, (_, i) => commandTask(`t${i}`, `echo t${i} >> ${counts}; echo ${i} > t${i}.txt`, { dependsOn: i > 0 && i % 3 === 0 ? [`t${i - 3}`] : [] }));
    const { result, runs } = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('pcan');
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks), continueAsNewEvery: 4 }] });
      const result = await runResultOf(handle);
      let runs = 0;
      for await (const w of client.workflow.list({ query: `WorkflowId = '${runId}'` })) if (w.workflowId === runId) runs++;
      return { result, runs };
    });
    expect(result.status).toBe('completed');
    expect(result.counts.completed).toBe(12);
    expect(runs).toBeGreaterThanOrEqual(3);
    const lines = (await import('node:fs')).readFileSync(counts, 'utf8').trim().split('\n').sort();
    expect(lines).toEqual(tasks.map((t) => t.id).sort());
    expect(showFile(repo, result.integrationBranch, 't11.txt')).toBe('11\n');
  });
});
