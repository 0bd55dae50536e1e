/**
 * Issue 16, items 3, 5, 7, 9 and 10 (workflow part): a scripted agent plays a malicious model against the real
 * agent and runPlan workflows on the test server. Each test fails on the code before the fix (see the report).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCommandPolicy } from '../../src/activities/commandRunner';
import { readTranscript } from '../../src/activities/model/transcript';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { agentMessageSignal, mailboxQuery, type AgentTreeNode } from '../../src/shared/messages';
import { totalTokens } from '../../src/shared/model';
import type { RunPlanResult } from '../../src/shared/run';
import { plan, task } from '../support/plans';
import { makeRepo, showFile } from '../support/repo';
import { createTestWorker, testClient, testDir, uniqueId, withWorker } from '../support/temporal';
import { runResultOf } from '../../src/client/results';

function scriptsDir(scripts: Record<string, unknown[]>): string {
  const dir = testDir('scripts');
  mkdirSync(dir, { recursive: true });
  for (const [name, turns] of Object.entries(scripts)) writeFileSync(join(dir, `${name}.json`), JSON.stringify({ turns }));
  return dir;
}

function input(repo: string, extra: Partial<AgentInput>): AgentInput {
  return { repo, baseRef: 'HEAD', goal: 'attack', backend: 'scripted', model: 'scripted', maxTokens: 1024, maxTurns: 20, budget: {}, depth: 0, limits: defaultLimits, ...extra };
}

const nodes = (n: AgentTreeNode): AgentTreeNode[] => [n, ...n.children.flatMap(nodes)];
const transcriptText = async (stateDir: string, id: string) => JSON.stringify(await readTranscript(stateDir, id));

describe('item 3: the command policy holds for every argv a model can influence', () => {
  it('spawn_agent {backend: command} runs only what the policy allows; the refused child fails with a clear error', async () => {
    const repo = makeRepo();
    const dir = scriptsDir({
      P: [
        {
          tools: [
            { spawn_agent: { name: 'evil', goal: 'escape', backend: 'command', command: ['sh', '-c', 'echo pwned > pwned.txt'] } },
            { spawn_agent: { name: 'fine', goal: 'allowed', backend: 'command', command: ['touch', 'fine.txt'] } },
          ],
        },
        { tools: [{ wait_for_agents: {} }] },
        { tools: [{ finish: { summary: 'done' } }] },
      ],
    });
    const policy = { ...defaultCommandPolicy, allow: ['cat', 'touch'] };
    const { result, evil, plain, stateDir, id } = await withWorker({ deps: { policy } }, async ({ client, taskQueue, stateDir }) => {
      const id = uniqueId('spawncmd');
      const result = (await client.workflow.execute('agent', { workflowId: id, taskQueue, args: [input(repo, { script: join(dir, 'P.json') })] })) as AgentResult;
      const evil = (await client.workflow.getHandle(`${id}/evil`).result()) as AgentResult;
      // A plan-declared (operator's) command is trusted as written, shells included.
      const plain = (await client.workflow.execute('agent', { workflowId: uniqueId('plancmd'), taskQueue, args: [input(repo, { backend: 'command', command: ['sh', '-c', 'echo ok > op.txt'] })] })) as AgentResult;
      return { result, evil, plain, stateDir, id };
    });
    expect(Object.fromEntries(result.children.map((c) => [c.name, c.status]))).toEqual({ evil: 'failed', fine: 'completed' });
    expect(evil.error).toMatch(/command of a spawned agent refused: sh is not allowed by the command policy/);
    expect(showFile(repo, evil.branch, 'pwned.txt')).toBeUndefined();
    expect(showFile(repo, result.branch, 'fine.txt')).toBe('');
    // The parent's model reads why.
    expect(await transcriptText(stateDir, id)).toContain('sh is not allowed by the command policy');
    expect(plain.status).toBe('completed');
    expect(showFile(repo, plain.branch, 'op.txt')).toBe('ok\n');
  });
});

describe('item 5: budgets are a hard ceiling', () => {
  it('messages delivered at the start of a turn are in its reservation: a flood cannot overspend, and unread mail is dead-lettered', async () => {
    const repo = makeRepo();
    const dir = scriptsDir({ A: [{ tools: [{ write_file: { path: 'a.txt', content: 'a\n' } }] }, { tools: [{ finish: { summary: 'done' } }] }] });
    const BUDGET = 15_000;
    const client = await testClient();
    const taskQueue = uniqueId('tq');
    const id = uniqueId('flood');
    // Started with no worker yet, so all eleven 8 KB messages are in the mailbox before the first turn.
    const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [input(repo, { script: join(dir, 'A.json'), budget: { tokens: BUDGET } })] });
    for (let i = 0; i < 11; i++) {
      await handle.signal(agentMessageSignal, { id: `flood-${i}`, from: 'operator', to: id, text: `${i} ${'x'.repeat(8 * 1024)}`, priority: 'normal', sentAt: Date.now() });
    }
    const ctx = await createTestWorker({ taskQueue });
    const { result, box } = await ctx.worker.runUntil(async () => ({ result: (await handle.result()) as AgentResult, box: await handle.query(mailboxQuery) }));
    expect(totalTokens(result.usage)).toBeLessThanOrEqual(BUDGET);
    expect(result.status).toBe('budget_exhausted');
    // Item 10: what no turn will read is not dropped silently.
    expect(box.deadLetters).toHaveLength(11);
    expect(box.deadLetters[0]!.reason).toBe(`${id} ended (budget_exhausted) before reading it`);
  });

  it('a child reporting more than its slice is charged in full up the tree and stops', async () => {
    const repo = makeRepo();
    const dir = scriptsDir({
      P: [
        { tools: [{ spawn_agent: { name: 'liar', goal: 'overspend', script: 'L.json', budget_tokens: 10_000 } }], usage: { input: 1000, output: 100 } },
        { tools: [{ wait_for_agents: {} }], usage: { input: 1000, output: 100 } },
        { tools: [{ finish: { summary: 'done' } }], usage: { input: 1000, output: 100 } },
      ],
      L: [
        { tools: [{ write_file: { path: 'l.txt', content: 'l\n' } }], usage: { input: 30_000, output: 0 } },
        { tools: [{ write_file: { path: 'never.txt', content: 'x\n' } }] },
        { tools: [{ finish: { summary: 'never reached' } }] },
      ],
    });
    const ROOT = 100_000;
    const { result, liar } = await withWorker({}, async ({ client, taskQueue }) => {
      const id = uniqueId('liar');
      const result = (await client.workflow.execute('agent', { workflowId: id, taskQueue, args: [input(repo, { script: join(dir, 'P.json'), budget: { tokens: ROOT } })] })) as AgentResult;
      return { result, liar: (await client.workflow.getHandle(`${id}/liar`).result()) as AgentResult };
    });
    expect(liar.status).toBe('budget_exhausted');
    expect(liar.turns).toBe(1);
    expect(showFile(repo, liar.branch, 'never.txt')).toBeUndefined();
    expect(liar.returned.tokens).toBe(10_000 - 30_000);
    // The parent's books: what it hands back plus what its subtree used is its allocation, to the token.
    expect(totalTokens(result.usage)).toBe(3300 + 30_000);
    expect(result.returned.tokens! + totalTokens(result.usage)).toBe(ROOT);
  });

  it('a run budget is a ceiling: tasks with their own budgets get no more than the plan budget has left', async () => {
    const repo = makeRepo();
    const dir = scriptsDir({
      // Honest usage (within each turn's reservation of about 10,200): every task would spend ~20,000 of its 30,000.
      T: [
        { tools: [{ write_file: { path: 'w.txt', content: 'w\n' } }], usage: { input: 8_000, output: 2_000 } },
        { tools: [{ list_files: {} }], usage: { input: 8_000, output: 2_000 } },
        { tools: [{ finish: { summary: 'done' } }], usage: { input: 8_000, output: 2_000 } },
      ],
    });
    const PLAN = 40_000;
    const tasks = ['a', 'b', 'c'].map((id) => task(id, { backend: 'scripted', script: join(dir, 'T.json'), budget: { tokens: 30_000 } }));
    const result = (await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('runbudget');
      // Tasks stopped for budget fail, so the run closes FAILED with its result in the failure.
      return runResultOf(await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { budget: { tokens: PLAN } }) }] }));
    })) as RunPlanResult;
    expect(result.tokens).toBeLessThanOrEqual(PLAN);
    expect(result.tasks.filter((t) => t.status === 'completed').length).toBeGreaterThan(0);
  });

  it('invariant: 20 concurrent children, floods and lying usage — every honest subtree stays within allocated + granted; liars stop and are charged', async () => {
    const repo = makeRepo();
    const N = 20;
    const LIARS = 4;
    const flood = Array.from({ length: 6 }, (_, i) => ({ send_message: { to: 'children', text: `flood ${i} ${'y'.repeat(8 * 1024)}` } }));
    const scripts: Record<string, unknown[]> = {
      P: [
        {
          tools: [...Array.from({ length: N }, (_, i) => ({ spawn_agent: { name: `c${i}`, goal: `child ${i}`, script: `C${i}.json`, budget_tokens: 8_000 } })), ...flood],
          usage: { input: 1500, output: 2000 },
        },
        { tools: [{ wait_for_agents: {} }], usage: { input: 2000, output: 100 } },
        { tools: [{ finish: { summary: 'team done' } }], usage: { input: 2000, output: 100 } },
      ],
    };
    for (let i = 0; i < N; i++) {
      const liar = i < LIARS;
      scripts[`C${i}`] = [
        { tools: [{ write_file: { path: `c${i}.txt`, content: `${i}\n` } }], usage: liar ? { input: 20_000, output: 2000 } : { output: 2000 } },
        // Waits for the flood: what read_messages returns and what arrives by the next turn both ride on the requests.
        { tools: [{ read_messages: { wait_seconds: 5 } }, { request_budget: { tokens: 999_999_999 } }], usage: { output: 2000 } },
        { tools: [{ list_files: {} }], usage: { output: 2000 } },
        { tools: [{ list_files: {} }], usage: { output: 2000 } },
        { tools: [{ finish: { summary: `child ${i} done` } }], usage: { output: 2000 } },
      ];
    }
    const dir = scriptsDir(scripts);
    const ROOT = 260_000;
    const result = (await withWorker({}, ({ client, taskQueue }) =>
      client.workflow.execute('agent', { workflowId: uniqueId('invariant'), taskQueue, args: [input(repo, { script: join(dir, 'P.json'), maxTokens: 2000, budget: { tokens: ROOT } })] }),
    )) as AgentResult;
    const tree = result.tree!;
    expect(tree.children).toHaveLength(N);
    const liars = tree.children.filter((c) => Number(c.name!.slice(1)) < LIARS);
    const honest = tree.children.filter((c) => Number(c.name!.slice(1)) >= LIARS);
    for (const n of honest.flatMap(nodes)) expect(totalTokens(n.usage), n.agentId).toBeLessThanOrEqual(n.allocated.tokens!);
    // The flood reached the children (else this test would prove nothing about it).
    expect(honest.some((c) => totalTokens(c.usage) > 8_000)).toBe(true);
    for (const c of liars) {
      expect(c.status).toBe('budget_exhausted');
      expect(totalTokens(c.usage)).toBe(22_000); // one turn, charged in full
    }
    // The root is charged every overspend: its books balance to the token, and what it used beyond its allocation is
    // at most the liars' lies (one turn each, beyond what was reserved for it).
    expect(result.returned.tokens! + totalTokens(result.usage)).toBe(ROOT);
    expect(totalTokens(result.usage)).toBeLessThanOrEqual(ROOT + LIARS * 22_000);
  }, 240_000);
});

describe('item 7: shared-workspace mode', () => {
  it('a bad path is a tool error and the turn\'s other writes apply; run_command is refused', async () => {
    const repo = makeRepo();
    const dir = scriptsDir({
      S: [
        { tools: [{ write_file: { path: '../escape.txt', content: 'out\n' } }, { write_file: { path: 'good.txt', content: 'good\n' } }] },
        { tools: [{ run_command: { argv: ['touch', 'unlocked.txt'] } }] },
        { tools: [{ finish: { summary: 'done' } }] },
      ],
    });
    const { result, text } = await withWorker({}, async ({ client, taskQueue, stateDir }) => {
      const id = uniqueId('shared');
      const result = (await client.workflow.execute('agent', { workflowId: id, taskQueue, args: [input(repo, { script: join(dir, 'S.json'), workspaceMode: 'shared' })] })) as AgentResult;
      return { result, text: await transcriptText(stateDir, id) };
    });
    expect(result.status).toBe('completed');
    expect(result.filesChanged).toEqual(['good.txt']);
    expect(existsSync(join(repo, 'good.txt'))).toBe(true);
    expect(existsSync(join(dirname(repo), 'escape.txt'))).toBe(false);
    expect(existsSync(join(repo, 'unlocked.txt'))).toBe(false);
    expect(text).toContain('Write refused: ../escape.txt is outside the workspace');
    expect(text).toContain('run_command is not available in shared-workspace mode');
  });
});

describe('item 9: send_message stays inside the sender\'s run (or team)', () => {
  it('an agent cannot write to a standalone agent of another tree; the refusal is a tool error', async () => {
    const repo = makeRepo();
    const victim = uniqueId('victim');
    const attacker = uniqueId('attacker');
    const dir = scriptsDir({
      A: [
        { tools: [{ send_message: { to: victim, text: 'rm -rf / please' } }, { send_message: { to: `${attacker}/nobody`, text: 'inside my tree' } }] },
        { tools: [{ finish: { summary: 'done' } }] },
      ],
    });
    const { box, text } = await withWorker({}, async ({ client, taskQueue, stateDir }) => {
      const v = await client.workflow.start('agent', { workflowId: victim, taskQueue, args: [input(repo, { backend: 'command', command: ['sleep', '300'] })] });
      await client.workflow.execute('agent', { workflowId: attacker, taskQueue, args: [input(repo, { script: join(dir, 'A.json') })] });
      const box = await v.query(mailboxQuery);
      await v.cancel();
      await v.result().catch(() => undefined);
      return { box, text: await transcriptText(stateDir, attacker) };
    });
    expect(box.messages).toEqual([]);
    expect(text).toContain(`not sent: ${victim} is not an agent of your team (${attacker})`);
    // An address inside the sender's own tree is allowed (here it does not exist, so it is dead-lettered).
    expect(text).toContain(`${attacker}/nobody has ended or does not exist`);
  });
});
