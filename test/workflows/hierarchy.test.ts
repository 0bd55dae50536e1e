import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCommandPolicy } from '../../src/activities/commandRunner';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { agentStatusQuery, agentTreeQuery, budgetGrantSignal, type AgentTreeNode } from '../../src/shared/messages';
import { totalTokens } from '../../src/shared/model';
import { readTranscript } from '../../src/activities/model/transcript';
import { cadre } from '../support/cli';
import { recordHistory } from '../support/histories';
import { makeRepo, showFile } from '../support/repo';
import { testAddress, testDir, uniqueId, withWorker } from '../support/temporal';

function scriptsDir(scripts: Record<string, unknown[]>): string {
  const dir = testDir('scripts');
  mkdirSync(dir, { recursive: true });
  for (const [name, turns] of Object.entries(scripts)) writeFileSync(join(dir, `${name}.json`), JSON.stringify({ turns }));
  return dir;
}

function input(repo: string, extra: Partial<AgentInput>): AgentInput {
  return { repo, baseRef: 'HEAD', goal: 'lead the team', backend: 'scripted', model: 'scripted', maxTokens: 1024, maxTurns: 20, budget: {}, depth: 0, limits: defaultLimits, ...extra };
}

const branchOf = (agentId: string) => `cadre/${agentId.replace(/\//g, '.')}`;

function nodes(n: AgentTreeNode): AgentTreeNode[] {
  return [n, ...n.children.flatMap(nodes)];
}

/** Level i writes level<i>.txt, spawns level i+1, waits for it and finishes. */
function chain(levels: number): Record<string, unknown[]> {
  const scripts: Record<string, unknown[]> = {};
  for (let i = 0; i < levels; i++) {
    const last = i === levels - 1;
    scripts[`L${i}`] = [
      { tools: [{ write_file: { path: `level${i}.txt`, content: `level ${i}\n` } }, ...(last ? [] : [{ spawn_agent: { name: `l${i + 1}`, goal: `level ${i + 1}`, script: `L${i + 1}.json` } }])] },
      ...(last ? [] : [{ tools: [{ wait_for_agents: {} }] }]),
      { tools: [{ finish: { summary: `level ${i} done` } }] },
    ];
  }
  return scripts;
}

describe('agents that spawn agents', () => {
  it('a 5-level hierarchy runs to completion and the root branch holds every descendant\'s work', async () => {
    const repo = makeRepo();
    const dir = scriptsDir(chain(5));
    const { result, tree } = await withWorker({}, async ({ client, taskQueue }) => {
      const id = uniqueId('tree5');
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [input(repo, { script: join(dir, 'L0.json') })] });
      const result = (await handle.result()) as AgentResult;
      await recordHistory(handle, 'agent-five-levels');
      return { result, tree: await handle.query(agentTreeQuery) };
    });
    expect(result.status).toBe('completed');
    for (let i = 0; i < 5; i++) expect(showFile(repo, result.branch, `level${i}.txt`)).toBe(`level ${i}\n`);
    const all = nodes(tree);
    expect(all.map((n) => n.depth)).toEqual([0, 1, 2, 3, 4]);
    expect(all.every((n) => n.status === 'completed')).toBe(true);
    // Usage aggregates up: each agent's subtree usage is its own plus its child's.
    expect(tree.usage).toEqual(result.usage);
    for (const n of all.slice(0, -1)) expect(totalTokens(n.usage)).toBeGreaterThan(totalTokens(n.children[0]!.usage));
  });

  it('refuses to spawn beyond the depth limit, with a clear tool error', async () => {
    const repo = makeRepo();
    const dir = scriptsDir(chain(4));
    const { result, stateDir, id } = await withWorker({}, async ({ client, taskQueue, stateDir }) => {
      const id = uniqueId('deep');
      const result = (await client.workflow.execute('agent', { workflowId: id, taskQueue, args: [input(repo, { script: join(dir, 'L0.json'), limits: { maxDepth: 2, maxChildren: 5 } })] })) as AgentResult;
      return { result, stateDir, id };
    });
    expect(result.status).toBe('completed');
    expect(showFile(repo, result.branch, 'level2.txt')).toBe('level 2\n');
    expect(showFile(repo, result.branch, 'level3.txt')).toBeUndefined();
    const transcript = JSON.stringify(await readTranscript(stateDir, `${id}/l1/l2`));
    expect(transcript).toContain('depth limit reached: agents may nest at most 2 levels');
  });

  it('20 children reserving at once under a parent that can cover only some: spend never exceeds the root budget; the refused end budget_exhausted with their work committed', async () => {
    const repo = makeRepo();
    const scripts: Record<string, unknown[]> = {
      P: [
        { tools: Array.from({ length: 20 }, (_, i) => ({ spawn_agent: { name: `c${i}`, goal: `child ${i}`, script: `C${i}.json`, budget_tokens: 25_000 } })), usage: { input: 1500, output: 500 } },
        { tools: [{ wait_for_agents: {} }], usage: { input: 1500, output: 100 } },
        { tools: [{ finish: { summary: 'team done' } }], usage: { input: 1500, output: 100 } },
      ],
    };
    for (let i = 0; i < 20; i++) {
      scripts[`C${i}`] = [
        { tools: [{ write_file: { path: `c${i}.txt`, content: `child ${i}\n` } }], usage: { input: 20_000, output: 1_000 } },
        // A granted child spends most of its grant, so little flows back to the parent for the others.
        { tools: [{ finish: { summary: `child ${i} done` } }], usage: { input: 17_000, output: 50 } },
      ];
    }
    const dir = scriptsDir(scripts);
    const ROOT = 600_000;
    const result = (await withWorker({}, ({ client, taskQueue }) =>
      client.workflow.execute('agent', { workflowId: uniqueId('team'), taskQueue, args: [input(repo, { script: join(dir, 'P.json'), maxTokens: 20_000, budget: { tokens: ROOT } })] }),
    )) as AgentResult;
    const byStatus = (s: string) => result.tree!.children.filter((c) => c.status === s);
    expect(result.tree!.children).toHaveLength(20);
    expect(byStatus('budget_exhausted').length).toBeGreaterThan(0);
    expect(byStatus('completed').length).toBeGreaterThan(0);
    expect(byStatus('budget_exhausted').length + byStatus('completed').length).toBe(20);
    // Checked on the settled ledgers: what the whole tree used never exceeds the root's budget…
    const childSpend = result.tree!.children.reduce((s, c) => s + totalTokens(c.usage), 0);
    expect(childSpend).toBeLessThan(totalTokens(result.usage));
    expect(totalTokens(result.usage)).toBeLessThanOrEqual(ROOT);
    // …and the root's books balance to the token: returned + used by the subtree = allocated.
    expect(result.returned.tokens! + totalTokens(result.usage)).toBe(ROOT);
    // Refused children committed their first turn's work, which reached the root's branch.
    for (const c of byStatus('budget_exhausted')) {
      const i = c.name!.slice(1);
      expect(showFile(repo, branchOf(c.agentId), `c${i}.txt`)).toBe(`child ${i}\n`);
      expect(showFile(repo, result.branch, `c${i}.txt`)).toBe(`child ${i}\n`);
    }
  });

  it('a child that fails or is cancelled returns its unused budget: the parent\'s ledger balances to the token', async () => {
    const repo = makeRepo();
    const dir = scriptsDir({
      P: [
        {
          tools: [
            { spawn_agent: { name: 'bad', goal: 'break', script: 'broken.yaml', budget_tokens: 40_000 } },
            { spawn_agent: { name: 'slow', goal: 'wait', backend: 'command', command: ['sleep', '300'], budget_tokens: 30_000 } },
          ],
          usage: { input: 1000, output: 200 },
        },
        { tools: [{ wait_for_agents: {} }], usage: { input: 1000, output: 100 } },
        { tools: [{ finish: { summary: 'done' } }], usage: { input: 1000, output: 100 } },
      ],
    });
    writeFileSync(join(dir, 'broken.yaml'), 'turns: [ { text: "unclosed"\n');
    const ROOT = 200_000;
    // `sleep` is a command a model chose: allowed here on purpose (model-chosen commands obey the command policy).
    const policy = { ...defaultCommandPolicy, allow: [...defaultCommandPolicy.allow, 'sleep'] };
    const result = await withWorker({ deps: { policy } }, async ({ client, taskQueue }) => {
      const id = uniqueId('refund');
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [input(repo, { script: join(dir, 'P.json'), budget: { tokens: ROOT } })] });
      // Wait until the slow child runs, then cancel it from outside.
      const slow = client.workflow.getHandle(`${id}/slow`);
      for (let i = 0; i < 100; i++) {
        const s = await slow.query(agentStatusQuery).catch(() => undefined);
        if (s?.status === 'running') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await slow.cancel();
      return (await handle.result()) as AgentResult;
    });
    const st = Object.fromEntries(result.children.map((c) => [c.name, c.status]));
    expect(st).toEqual({ bad: 'failed', slow: 'cancelled' });
    expect(totalTokens(result.usage)).toBe(1200 + 1100 + 1100);
    expect(result.returned.tokens).toBe(ROOT - 3400);
  });

  it('the same grant delivered twice raises the budget once', async () => {
    const repo = makeRepo();
    await withWorker({}, async ({ client, taskQueue }) => {
      const id = uniqueId('grant');
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [input(repo, { backend: 'command', command: ['sleep', '300'], budget: { tokens: 1000 } })] });
      const grant = { grantId: 'g-1', tokens: 500, from: 'operator' };
      await handle.signal(budgetGrantSignal, grant);
      await handle.signal(budgetGrantSignal, grant);
      await handle.signal(budgetGrantSignal, { ...grant, grantId: 'g-2', tokens: 7 });
      const s = await handle.query(agentStatusQuery);
      expect(s.ledger.granted.tokens).toBe(507);
      expect(s.ledger.available.tokens).toBe(1507);
      // The operator's top-up from the CLI: a fresh grant id each time.
      const cli = await cadre(['budget', 'grant', id, '2k'], { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('cli') });
      expect(cli.code).toBe(0);
      // An Update: the workflow's answer is printed (docs/cli.md "Answers are Updates").
      expect(cli.stdout).toMatch(new RegExp(`^granted 2000 tokens to ${id}: added to its budget \\(grant operator-[0-9a-f]{12}\\)\\n$`));
      expect((await handle.query(agentStatusQuery)).ledger.available.tokens).toBe(3507);
      await handle.cancel();
      expect(((await handle.result()) as AgentResult).status).toBe('cancelled');
    });
  });

  it('each budget threshold alert fires once and shows in `cadre tree`', async () => {
    const repo = makeRepo();
    const dir = scriptsDir({
      A: [
        { tools: [{ write_file: { path: 'a.txt', content: 'a\n' } }], usage: { input: 50_000, output: 0 } },
        { tools: [{ write_file: { path: 'b.txt', content: 'b\n' } }], usage: { input: 30_000, output: 0 } },
        { tools: [{ write_file: { path: 'c.txt', content: 'c\n' } }], usage: { input: 15_000, output: 0 } },
        { tools: [{ write_file: { path: 'd.txt', content: 'd\n' } }], usage: { input: 5_000, output: 0 } },
        { tools: [{ finish: { summary: 'never reached' } }] },
      ],
    });
    const id = uniqueId('alerts');
    const { result, memoUpserts } = await withWorker({}, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [input(repo, { script: join(dir, 'A.json'), maxTokens: 100, budget: { tokens: 100_000 } })] });
      const result = (await handle.result()) as AgentResult;
      const history = await handle.fetchHistory();
      const memoUpserts = history.events!.filter((e) => e.workflowPropertiesModifiedEventAttributes).length;
      return { result, memoUpserts };
    });
    expect(result.status).toBe('budget_exhausted');
    expect(result.tree!.alerts).toEqual([50, 80, 95, 100]);
    expect(memoUpserts).toBe(4);
    expect(result.filesChanged.sort()).toEqual(['a.txt', 'b.txt', 'c.txt', 'd.txt']);
    const cli = await cadre(['tree', id], { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('cli') });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('budget_exhausted');
    expect(cli.stdout).toContain('alerts 50% 80% 95% 100%');
  });
});
