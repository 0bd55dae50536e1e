/**
 * Port leases on a real server: agents running at the same time get different port blocks, every program they run
 * sees its block (command backend, verify, bootstrap setup, run_command), the blocks come back when the agents end,
 * and an agent that finds every block taken fails with a clear error. Each test has a port lock manager of its own
 * (a unique `portHost`) and a random base, so nothing else on the machine or in the run interferes.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentResultOf, runResultOf } from '../../src/client/results';
import { agentState } from '../../src/client/commands/inspect';
import type { AgentSnapshot } from '../../src/shared/messages';
import { plan, task } from '../support/plans';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { lockWorkflowId, locksQuery } from '../../src/shared/locks';
import { portLockKey } from '../../src/shared/ports';
import { firstPortBlock } from '../../src/workflows/locks/ports';
import { recordHistory } from '../support/histories';
import { makeRepo, showFile } from '../support/repo';
import { DUMP_ENV, portsFor, SERVE_AND_TEST, untilNoHolders } from '../support/ports';
import { testDir, uniqueId, withWorker } from '../support/temporal';

function agentInput(repo: string, extra: Partial<AgentInput>): AgentInput {
  return { repo, baseRef: 'HEAD', goal: 'test goal', backend: 'command', model: 'scripted', maxTokens: 1024, maxTurns: 20, budget: {}, depth: 0, limits: defaultLimits, timeoutSeconds: 300, ...extra };
}

function writeScript(turns: unknown[]): string {
  const file = join(testDir('script'), 'script.json');
  writeFileSync(file, JSON.stringify({ turns }));
  return file;
}

const range = (first: number) => `${first}-${first + 9}`;

/**
 * What a program of the agent that leased `leased` (its `tree.ports`, "first-last") sees. Agents start their scan of
 * the blocks where their id hashes to (src/workflows/locks/ports.ts), so which block an agent gets is not fixed.
 */
function envOf(leased: string | undefined): Record<string, string> {
  const first = (leased ?? '').split('-')[0]!;
  return { CADRE_PORT: first, PORT: first, CADRE_PORT_RANGE: leased ?? '' };
}

describe('port leases', () => {
  it('two agents serving on $PORT at the same time get different blocks; both pass; the blocks come back', async () => {
    const repo = makeRepo();
    const dir = testDir('rendezvous');
    const host = uniqueId('host');
    const ports = portsFor(3);
    await withWorker({ deps: { ports, portHost: host } }, async ({ client, taskQueue }) => {
      const run = (name: string, extra: Partial<AgentInput>) =>
        client.workflow.start('agent', { workflowId: uniqueId(name), taskQueue, args: [agentInput(repo, extra)] }).then((h) => agentResultOf(h));
      const serve = { command: ['node', '-e', SERVE_AND_TEST, dir, '2'] };
      const results: AgentResult[] = await Promise.all([run('serve-a', serve), run('serve-b', serve)]);
      expect(results.map((r) => [r.status, r.error])).toEqual([['completed', undefined], ['completed', undefined]]);
      const leased = results.map((r) => r.tree?.ports);
      expect(new Set(leased).size).toBe(2);
      for (const l of leased) expect([range(ports.base), range(ports.base + 10), range(ports.base + 20)]).toContain(l);
      // Each program saw its own agent's block.
      const seen = leased.map((l) => JSON.parse(readFileSync(join(dir, `up-${envOf(l).PORT}.json`), 'utf8')));
      expect(seen).toEqual(leased.map(envOf));
      await untilNoHolders(client, host, taskQueue);

      // A third agent gets a block again; its verify command sees the same block.
      const verifyFile = join(dir, 'verify.json');
      const thirdHandle = await client.workflow.start('agent', {
        workflowId: uniqueId('third'),
        taskQueue,
        args: [agentInput(repo, { command: ['node', '-e', DUMP_ENV, join(dir, 'third.json')], verify: ['node', '-e', DUMP_ENV, verifyFile] })],
      });
      const third = await agentResultOf(thirdHandle);
      await recordHistory(thirdHandle, 'agent-command-ports');
      expect(third.status).toBe('completed');
      const expected = envOf(third.tree?.ports);
      expect(third.tree?.ports).toMatch(/^\d+-\d+$/);
      expect(JSON.parse(readFileSync(join(dir, 'third.json'), 'utf8'))).toEqual(expected);
      expect(JSON.parse(readFileSync(verifyFile, 'utf8'))).toEqual(expected);
      await untilNoHolders(client, host, taskQueue);
    });
  });

  it('a running command agent shows the block its task leased (status from the heartbeat, tree once done); the agent leases none itself', async () => {
    const repo = makeRepo();
    const dir = testDir('running');
    const host = uniqueId('host');
    const ports = portsFor(2);
    const go = join(dir, 'go');
    // Writes its variables, then waits for `go`.
    const WAIT = `${DUMP_ENV}; const t = setInterval(() => { if (require('node:fs').existsSync(process.argv[2])) clearInterval(t); }, 50);`;
    await withWorker({ deps: { ports, portHost: host } }, async ({ client, taskQueue }) => {
      const id = uniqueId('running');
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [agentInput(repo, { command: ['node', '-e', WAIT, join(dir, 'env.json'), go] })] });
      let shown: string | undefined;
      for (let i = 0; i < 300 && !shown; i++) {
        shown = existsSync(join(dir, 'env.json')) ? (await agentState(client, id, true) as AgentSnapshot).ports : undefined;
        if (!shown) await new Promise((r) => setTimeout(r, 100));
      }
      expect(shown, 'cadre status of the running agent').toBe(JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8')).CADRE_PORT_RANGE);
      writeFileSync(go, '');
      const result = await agentResultOf(handle);
      expect(result.status).toBe('completed');
      expect(result.tree?.ports).toBe(shown);
      // No lease activities or grant signals in the agent's own history: the activity held the block.
      const events = (await handle.fetchHistory()).events ?? [];
      const names = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? e.workflowExecutionSignaledEventAttributes?.signalName).filter(Boolean);
      expect(names).toEqual(['createWorkspace', 'runCommandTask']);
      expect(events.filter((e) => e.markerRecordedEventAttributes)).toHaveLength(1);
      await untilNoHolders(client, host, taskQueue);
    });
  });

  for (const inlineCommands of [false, true]) {
    it(`a run's two parallel tasks serve on their own $PORT at the same time${inlineCommands ? ' (inline command tasks)' : ''}`, async () => {
      const repo = makeRepo();
      const dir = testDir('rendezvous');
      const host = uniqueId('host');
      const ports = portsFor(2);
      const serve = (id: string) => task(id, { backend: 'command', command: ['node', '-e', SERVE_AND_TEST, dir, '2'], timeoutSeconds: 300 });
      await withWorker({ deps: { ports, portHost: host } }, async ({ client, taskQueue }) => {
        const runId = uniqueId('run');
        const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan([serve('a'), serve('b')], { inlineCommands }) }] });
        const result = await runResultOf(handle);
        expect(result.tasks.map((t) => [t.id, t.status, t.error])).toEqual([['a', 'completed', undefined], ['b', 'completed', undefined]]);
        await untilNoHolders(client, host, taskQueue);
      });
      const up = readdirSync(dir).filter((f) => f.startsWith('up-')).sort();
      expect(up).toEqual([`up-${ports.base}.json`, `up-${ports.base + 10}.json`]);
    });
  }

  it('bootstrap setup and run_command see the workspace ports', async () => {
    const repo = makeRepo();
    const dir = testDir('env');
    const host = uniqueId('host');
    const ports = portsFor(2);
    const script = writeScript([
      { tools: [{ run_command: { argv: ['node', '-e', DUMP_ENV, 'from-run-command.json'] } }] },
      { tools: [{ finish: { summary: 'dumped' } }] },
    ]);
    const result = await withWorker({ deps: { ports, portHost: host } }, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('agent', {
        workflowId: uniqueId('env'),
        taskQueue,
        args: [agentInput(repo, { backend: 'scripted', script, bootstrap: { setup: ['node', '-e', DUMP_ENV, join(dir, 'setup.json')] } })],
      });
      const r = await agentResultOf(handle);
      await untilNoHolders(client, host, taskQueue);
      return r;
    });
    expect(result.status).toBe('completed');
    const expected = envOf(result.tree?.ports);
    expect([range(ports.base), range(ports.base + 10)]).toContain(result.tree?.ports);
    expect(JSON.parse(readFileSync(join(dir, 'setup.json'), 'utf8'))).toEqual(expected);
    expect(JSON.parse(showFile(repo, result.branch, 'from-run-command.json') ?? 'null')).toEqual(expected);
  });

  it('an agent keeps its block across continue-as-new and gives it back at the end', async () => {
    const repo = makeRepo();
    const host = uniqueId('host');
    const ports = portsFor(2);
    const script = writeScript([
      { tools: [{ run_command: { argv: ['node', '-e', DUMP_ENV, 'one.json'] } }] },
      { tools: [{ run_command: { argv: ['node', '-e', DUMP_ENV, 'two.json'] } }] },
      { tools: [{ finish: { summary: 'dumped twice' } }] },
    ]);
    const { result, runs } = await withWorker({ deps: { ports, portHost: host } }, async ({ client, taskQueue }) => {
      const id = uniqueId('can');
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [agentInput(repo, { backend: 'scripted', script, continueAsNewEvery: 1 })] });
      const result = await agentResultOf(handle);
      let runs = 0;
      for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) if (w.workflowId === id) runs++;
      await untilNoHolders(client, host, taskQueue);
      return { result, runs };
    });
    expect(result.status).toBe('completed');
    expect(runs).toBeGreaterThanOrEqual(3);
    const expected = envOf(result.tree?.ports);
    expect([range(ports.base), range(ports.base + 10)]).toContain(result.tree?.ports);
    expect(JSON.parse(showFile(repo, result.branch, 'one.json') ?? 'null')).toEqual(expected);
    expect(JSON.parse(showFile(repo, result.branch, 'two.json') ?? 'null')).toEqual(expected);
  });

  it('a block is renewed across continue-as-new: with a 3 s lease and turns of 3.5 s, it never expires', async () => {
    const repo = makeRepo();
    const host = uniqueId('host');
    const ports = portsFor(2);
    const slow = (file: string) => ({ run_command: { argv: ['node', '-e', `setTimeout(() => { ${DUMP_ENV} }, 3500)`, file] } });
    const script = writeScript([{ tools: [slow('one.json')] }, { tools: [slow('two.json')] }, { tools: [slow('three.json')] }, { tools: [{ finish: { summary: 'slow' } }] }]);
    const { result, stats } = await withWorker({ deps: { ports, portHost: host, portLeaseMs: 3000 } }, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('agent', { workflowId: uniqueId('renew'), taskQueue, args: [agentInput(repo, { backend: 'scripted', script, continueAsNewEvery: 1 })] });
      const result = await agentResultOf(handle);
      await recordHistory(handle, 'agent-ports-carried');
      await untilNoHolders(client, host, taskQueue);
      const view = await client.workflow.getHandle(lockWorkflowId(portLockKey(host, taskQueue))).query(locksQuery);
      return { result, stats: view.stats };
    });
    expect(result.status).toBe('completed');
    expect(stats).toEqual({ granted: 1, released: 1, expired: 0, refused: 0 });
    const first = envOf(result.tree?.ports).PORT;
    expect([String(ports.base), String(ports.base + 10)]).toContain(first);
    for (const f of ['one.json', 'two.json', 'three.json']) expect(JSON.parse(showFile(repo, result.branch, f) ?? 'null').PORT).toBe(first);
  });

  it('with every block taken an agent fails at once, naming the cause; a block that comes back is leased again', async () => {
    const repo = makeRepo();
    const dir = testDir('exhausted');
    const host = uniqueId('host');
    const ports = portsFor(1);
    const go = join(dir, 'go');
    // Holds the only block until the test creates `go`.
    const HOLD = `const fs = require('node:fs'); fs.writeFileSync(process.argv[1] + '.up', process.env.PORT); const t = setInterval(() => { if (fs.existsSync(process.argv[1])) { clearInterval(t); } }, 50);`;
    await withWorker({ deps: { ports, portHost: host } }, async ({ client, taskQueue }) => {
      const start = (name: string, extra: Partial<AgentInput>) => client.workflow.start('agent', { workflowId: uniqueId(name), taskQueue, args: [agentInput(repo, extra)] });
      const holder = await start('holder', { command: ['node', '-e', HOLD, go] });
      for (let i = 0; i < 600 && !existsSync(`${go}.up`); i++) await new Promise((r) => setTimeout(r, 100));
      expect(readFileSync(`${go}.up`, 'utf8')).toBe(String(ports.base));

      const refused = await agentResultOf(await start('refused', { command: ['node', '-e', DUMP_ENV, join(dir, 'never.json')] }));
      expect(refused.status).toBe('failed');
      expect(refused.error).toContain(`no free port block on ${host}: all 1 blocks of 10 ports (${range(ports.base)}) are leased`);
      expect(refused.error).toContain('CADRE_PORT_BLOCKS');
      expect(existsSync(join(dir, 'never.json'))).toBe(false);

      writeFileSync(go, '');
      expect((await agentResultOf(holder)).status).toBe('completed');
      await untilNoHolders(client, host, taskQueue);
      const after = await agentResultOf(await start('after', { command: ['node', '-e', DUMP_ENV, join(dir, 'after.json')] }));
      expect(after.status).toBe('completed');
      expect(JSON.parse(readFileSync(join(dir, 'after.json'), 'utf8')).PORT).toBe(String(ports.base));
      // The port lock manager's history: grants, a busy answer, releases.
      await recordHistory(client.workflow.getHandle(lockWorkflowId(portLockKey(host, taskQueue))), 'fileLocks-ports');
    });
  });

  it('a block in which another program already listens is skipped', async () => {
    const repo = makeRepo();
    const dir = testDir('bound');
    const host = uniqueId('host');
    const ports = portsFor(2);
    // The squatter listens in the block this agent tries first (its id decides which), so the agent must skip it.
    const agentId = uniqueId('skip');
    const squatted = firstPortBlock(agentId, ports.blocks);
    const { createServer } = await import('node:net');
    const squatter = createServer();
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.listen(ports.base + squatted * 10 + 3, '127.0.0.1', () => resolve());
    });
    try {
      await withWorker({ deps: { ports, portHost: host } }, async ({ client, taskQueue }) => {
        const h = await client.workflow.start('agent', { workflowId: agentId, taskQueue, args: [agentInput(repo, { command: ['node', '-e', DUMP_ENV, join(dir, 'env.json')] })] });
        expect((await agentResultOf(h)).status).toBe('completed');
        await untilNoHolders(client, host, taskQueue);
      });
    } finally {
      squatter.close();
    }
    expect(JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8')).CADRE_PORT_RANGE).toBe(range(ports.base + (1 - squatted) * 10));
  });
});
