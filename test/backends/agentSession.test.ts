/**
 * The agent workflow on the claude-code backend, on the real Temporal server with a real worker, the real Claude Code
 * CLI and a local Messages API stub that plays the model:
 * - a session spawns a child through cadre's MCP tools; the child gets its own worktree and budget slice, its work
 *   is merged into the parent's branch by wait_for_agents, and the call repeated with the same call id (what a
 *   resumed session sends) is answered from the first answer: one child, never two;
 * - a session that reaches its slice ends `budget_exhausted` with its work committed, and the ledger is exact.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { WorkflowClient } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSessionRecord } from '../../src/activities/backends/session/store';
import { callKey } from '../../src/activities/mcp/callId';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { agentTreeQuery } from '../../src/shared/messages';
import { costUsd } from '../../src/shared/pricing';
import { orchestrationCallUpdate } from '../../src/shared/session';
import { startMessagesStub, type MessagesStub, type StubResponse } from '../support/messagesStub';
import { makeRepo, showFile } from '../support/repo';
import { uniqueId, withWorker } from '../support/temporal';
import { defaultCommandPolicy } from '../../src/activities/commandRunner';
import { claudeBin, claudeStubEnv, waitFor } from './support';

const model = 'claude-haiku-4-5';

function agentInput(repo: string, extra: Partial<AgentInput>): AgentInput {
  return { repo, baseRef: 'HEAD', goal: 'do the job', backend: 'claude-code', model, maxTokens: 4096, maxTurns: 20, budget: {}, depth: 0, limits: defaultLimits, ...extra };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const cwdOf = (body: any): string | undefined => /Primary working directory: ([^\\"]+?)\\n/.exec(JSON.stringify(body))?.[1];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toolResults = (body: any): string => JSON.stringify(body.messages?.filter((m: any) => m.role === 'user').map((m: any) => m.content) ?? []);

async function historyEvents(client: WorkflowClient, id: string) {
  const history = await client.getHandle(id).fetchHistory();
  return history.events ?? [];
}

describe.skipIf(!claudeBin)('the agent workflow on claude-code (real CLI, stub API, real worker)', () => {
  let stub: MessagesStub;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    stub = await startMessagesStub();
    env = claudeStubEnv(stub.url);
  });
  afterAll(() => stub.close());

  it('spawns a child through MCP: own worktree and slice, its work merged by wait_for_agents, a repeated call id spawns nothing', async () => {
    const repo = makeRepo();
    const spawnInput = { name: 'kid', goal: 'write kid.txt', backend: 'command', command: ['sh', '-c', 'sleep 4; echo kid > kid.txt'], budget_usd: 0.5 };
    // Parent: spawn the child, wait for it, write its own file, end. Chosen by what the conversation holds so far.
    stub.respondWith((body) => {
      const seen = toolResults(body);
      if (!seen.includes('tool_result')) return { content: [{ type: 'tool_use', id: 'toolu_spawn', name: 'mcp__cadre__spawn_agent', input: spawnInput }], usage: { input_tokens: 500, output_tokens: 20 } };
      if (!seen.includes('toolu_wait')) return { content: [{ type: 'tool_use', id: 'toolu_wait', name: 'mcp__cadre__wait_for_agents', input: {} }], usage: { input_tokens: 600, output_tokens: 20 } };
      if (!seen.includes('toolu_write')) return { content: [{ type: 'tool_use', id: 'toolu_write', name: 'Write', input: { file_path: join(cwdOf(body)!, 'parent.txt'), content: 'parent\n' } }], usage: { input_tokens: 700, output_tokens: 20 } };
      return { content: [{ type: 'text', text: 'parent done' }], usage: { input_tokens: 800, output_tokens: 10 } };
    });
    // `sh` is a command the model chose for its child: allowed here on purpose (model-chosen commands obey the policy).
    const policy = { ...defaultCommandPolicy, allow: [...defaultCommandPolicy.allow, 'sh'] };
    const { result, tree, events, again, first, stateDir } = await withWorker({ deps: { sessionEnv: env, policy } }, async ({ client, taskQueue, stateDir }) => {
      const id = uniqueId('cc-mcp');
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [agentInput(repo, { goal: 'lead: spawn kid', budget: { usd: 4 } })] });
      // While the parent waits for its child (the command sleeps), repeat the spawn call with its call id, as a
      // resumed session does for a call whose answer it never got.
      await waitFor(() => stub.requests.some((r) => toolResults(r.body).includes('toolu_spawn')), 90_000, 'the spawn answer in a model request');
      const sessionId = readSessionRecord(stateDir, id)?.sessionId;
      expect(sessionId).toBeTruthy();
      const callId = `${sessionId}/${callKey('spawn_agent', spawnInput)}#1`;
      const again = await handle.executeUpdate(orchestrationCallUpdate, { args: [{ callId, name: 'spawn_agent', input: spawnInput }], updateId: `${callId}/test-repeat` });
      const first = stub.requests.map((r) => toolResults(r.body)).find((t) => t.includes('toolu_spawn'))!;
      const result = (await handle.result()) as AgentResult;
      return { result, tree: await handle.query(agentTreeQuery), events: await historyEvents(client.workflow, id), again, first, stateDir };
    });
    expect(result.status).toBe('completed');
    // The repeat got the first answer, and there is one child: one child workflow started, one node in the tree.
    expect(again.isError).toBeFalsy();
    expect(first).toContain(JSON.stringify(again.content).slice(1, -1).slice(0, 40));
    expect(events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toHaveLength(1);
    expect(tree.children).toHaveLength(1);
    const kid = tree.children[0]!;
    expect(kid.name).toBe('kid');
    expect(kid.status).toBe('completed');
    expect(kid.allocated.usd).toBe(0.5);
    expect(result.children).toEqual([expect.objectContaining({ name: 'kid', merged: true })]);
    // The child worked on its own branch (its own worktree); its work reached the parent's branch.
    const kidBranch = `cadre/${kid.agentId.replace(/\//g, '.')}`;
    expect(kidBranch).not.toBe(result.branch);
    expect(showFile(repo, kidBranch, 'kid.txt')).toBe('kid\n');
    expect(showFile(repo, result.branch, 'kid.txt')).toBe('kid\n');
    expect(showFile(repo, result.branch, 'parent.txt')).toBe('parent\n');
    expect(readSessionRecord(stateDir, kid.agentId)).toBeUndefined(); // a command child has no session
  }, 240_000);

  it('a session stopped at its slice ends budget_exhausted with its work committed; the ledger is exact', async () => {
    const repo = makeRepo();
    // Allocation $0.04, so the session's slice is $0.03. The first response writes big.txt and is cheap; the second
    // alone costs ~$0.035: over the slice, within the allocation. The session is stopped there.
    const usage = { input_tokens: 35_000, output_tokens: 10 };
    stub.respondWith((body) => {
      if (toolResults(body).includes('toolu_big')) return { content: [{ type: 'text', text: 'thinking a lot' }, { type: 'tool_use', id: 'toolu_more', name: 'Write', input: { file_path: join(cwdOf(body)!, 'more.txt'), content: 'more\n' } }], usage };
      return { content: [{ type: 'tool_use', id: 'toolu_big', name: 'Write', input: { file_path: join(cwdOf(body)!, 'big.txt'), content: 'big\n' } }], usage: { input_tokens: 1000, output_tokens: 10 } } satisfies StubResponse;
    });
    const before = stub.requests.length;
    const { result, record } = await withWorker({ deps: { sessionEnv: env } }, async ({ client, taskQueue, stateDir }) => {
      const id = uniqueId('cc-budget');
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [agentInput(repo, { goal: 'write big.txt', budget: { usd: 0.04 } })] });
      const result = (await handle.result()) as AgentResult;
      return { result, record: readSessionRecord(stateDir, id) };
    });
    expect(result.status).toBe('budget_exhausted');
    expect(showFile(repo, result.branch, 'big.txt')).toBe('big\n');
    expect(result.commit).toBeTruthy();
    // Usage and cost are what the CLI reported (the session record holds the activity's figures), and the budget
    // handed back is the allocation minus that cost, to the cent and below.
    const posts = stub.requests.slice(before).filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThanOrEqual(1);
    expect(result.usage.inputTokens).toBe(record!.usage.inputTokens);
    expect(result.usage.outputTokens).toBe(record!.usage.outputTokens);
    expect(result.usage.inputTokens).toBe(36_000);
    expect(result.usage.outputTokens).toBe(20);
    expect(result.costUsd).toBeCloseTo(record!.costUsd, 12);
    expect(result.costUsd).toBeGreaterThan(0.03);
    expect(result.costUsd).toBeCloseTo(costUsd(result.usage, model), 9);
    expect(result.returned.usd).toBeCloseTo(0.04 - result.costUsd, 12);
    expect(execFileSync('git', ['-C', repo, 'log', '--format=%s', '-1', result.branch], { encoding: 'utf8' })).toMatch(/cadre/);
  }, 240_000);
});
