/**
 * Budget requests that reach the top (src/workflows/agent/operatorBudget.ts): a root agent out of budget with
 * `budgetWaitSeconds` waits for the operator — its status shows the request, a refusal names it, a grant smaller than
 * asked keeps it waiting, a repeated grant id counts once — and an unanswered request ends it `budget_exhausted`
 * when the wait is over. Without `budgetWaitSeconds` it is refused at once, as before.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { agentStatusQuery, budgetGrantUpdate, budgetRefuseUpdate, type AgentSnapshot } from '../../src/shared/messages';
import { makeRepo } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';

function script(): string {
  const dir = testDir('scripts');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'finish.json');
  writeFileSync(file, JSON.stringify({ turns: [{ tools: [{ finish: { summary: 'done' } }], usage: { input: 100, output: 10 } }] }));
  return file;
}

const input = (repo: string, extra: Partial<AgentInput>): AgentInput => ({
  repo, baseRef: 'HEAD', goal: 'finish', backend: 'scripted', model: 'scripted', maxTokens: 1024, maxTurns: 5, budget: { tokens: 500 }, depth: 0, limits: defaultLimits, script: script(), ...extra,
});

async function waiting(h: { query: (q: typeof agentStatusQuery) => Promise<AgentSnapshot> }): Promise<AgentSnapshot> {
  for (let i = 0; i < 300; i++) {
    const s = await h.query(agentStatusQuery).catch(() => undefined);
    if (s?.budgetRequest) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no budget request waiting');
}

describe('budget requests that reach the operator', () => {
  it('without a wait it is refused at once; unanswered it ends budget_exhausted when the wait is over', async () => {
    const repo = makeRepo();
    await withWorker({}, async ({ client, taskQueue }) => {
      const now = (await client.workflow.execute('agent', { workflowId: uniqueId('broke-now'), taskQueue, args: [input(repo, {})] })) as AgentResult;
      expect(now.status).toBe('budget_exhausted');
      const h = await client.workflow.start('agent', { workflowId: uniqueId('broke-later'), taskQueue, args: [input(repo, { budgetWaitSeconds: 3 })] });
      const s = await waiting(h);
      expect(s.budgetRequest).toMatchObject({ requestId: `${h.workflowId}#budget-1`, tokens: expect.any(Number) });
      expect(s.budgetRequest!.until - s.budgetRequest!.since).toBe(3000);
      const later = (await h.result()) as AgentResult;
      expect(later.status).toBe('budget_exhausted');
      expect(later.turns).toBe(0);
    });
  }, 120_000);

  it('grants count once per id and resume the agent once they cover the request; refusing nothing waiting is refused', async () => {
    const repo = makeRepo();
    await withWorker({}, async ({ client, taskQueue }) => {
      const h = await client.workflow.start('agent', { workflowId: uniqueId('granted'), taskQueue, args: [input(repo, { budgetWaitSeconds: 600 })] });
      const asked = (await waiting(h)).budgetRequest!.tokens!;
      const grant = (grantId: string, tokens: number) => h.executeUpdate(budgetGrantUpdate, { args: [{ grantId, tokens, from: 'operator' }] });
      expect(await grant('g1', 1)).toBe(`granted 1 tokens to ${h.workflowId}; it still waits for ${asked - 1} tokens more`);
      expect(await grant('g1', 1)).toBe(`grant g1 was counted already: nothing more granted to ${h.workflowId}`);
      const bad = await grant('g0', -5).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((bad as WorkflowUpdateFailedError).cause?.message).toBe(`a grant to ${h.workflowId} is a positive number of tokens or dollars`);
      expect(await grant('g2', asked)).toBe(`granted ${asked} tokens to ${h.workflowId}: the agent resumes`);
      const result = (await h.result()) as AgentResult;
      expect(result.status).toBe('completed');
      expect(result.turns).toBe(1);

      const idle = await client.workflow.start('agent', { workflowId: uniqueId('idle'), taskQueue, args: [input(repo, { budget: {}, backend: 'command', command: ['sleep', '30'], script: undefined })] });
      for (let i = 0; i < 100 && (await idle.query(agentStatusQuery).catch(() => undefined))?.status !== 'running'; i++) await new Promise((r) => setTimeout(r, 100));
      const refused = await idle.executeUpdate(budgetRefuseUpdate, { args: [{ reason: 'no' }] }).catch((e: unknown) => e);
      expect((refused as WorkflowUpdateFailedError).cause?.message).toBe(`${idle.workflowId} has no budget request waiting for you`);
      await idle.cancel();
    });
  }, 120_000);
});
