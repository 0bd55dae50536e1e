import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { agentStatusQuery } from '../../src/shared/messages';
import { readTranscript } from '../../src/activities/model/transcript';
import { startMessagesStub } from '../support/messagesStub';
import { branches, git, makeRepo, showFile, sleepRunning, worktreesOutsidePool } from '../support/repo';
import { recordHistory } from '../support/histories';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { agentResultOf } from '../../src/client/results';

function agentInput(repo: string, extra: Partial<AgentInput>): AgentInput {
  return { repo, baseRef: 'HEAD', goal: 'test goal', backend: 'scripted', model: 'scripted', maxTokens: 1024, maxTurns: 20, budget: {}, depth: 0, limits: defaultLimits, ...extra };
}

export function writeScript(turns: unknown[]): string {
  const file = join(testDir('script'), 'script.json');
  writeFileSync(file, JSON.stringify({ turns }));
  return file;
}

describe('agent workflow', () => {
  it('a scripted agent writes and edits files over several turns; its branch holds exactly those changes', async () => {
    const repo = makeRepo({ 'README.md': '# r\n', 'src/keep.ts': 'export const keep = 1;\n' });
    const script = writeScript([
      { text: 'writing', tools: [{ write_file: { path: 'src/a.ts', content: 'export const a = 1;\n' } }] },
      { tools: [{ write_file: { path: 'notes.md', content: 'draft\n' } }, { edit_file: { path: 'src/a.ts', old_string: '= 1', new_string: '= 2' } }] },
      { tools: [{ edit_file: { path: 'notes.md', old_string: 'draft', new_string: 'final' } }] },
      { tools: [{ finish: { summary: 'wrote a.ts and notes.md' } }] },
    ]);
    const { result, stateDir } = await withWorker({}, async ({ client, taskQueue, stateDir }) => {
      const id = uniqueId('agent');
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [agentInput(repo, { script })] });
      const result = (await handle.result()) as AgentResult;
      await recordHistory(handle, 'agent-scripted-four-turns');
      return { result, stateDir };
    });
    expect(result.status).toBe('completed');
    expect(result.summary).toBe('wrote a.ts and notes.md');
    expect(result.turns).toBe(4);
    expect(result.filesChanged.sort()).toEqual(['notes.md', 'src/a.ts']);
    expect(showFile(repo, result.branch, 'src/a.ts')).toBe('export const a = 2;\n');
    expect(showFile(repo, result.branch, 'notes.md')).toBe('final\n');
    expect(showFile(repo, result.branch, 'src/keep.ts')).toBe('export const keep = 1;\n');
    expect(git(repo, 'diff', '--name-only', `${result.baseCommit}..${result.branch}`).split('\n').sort()).toEqual(['notes.md', 'src/a.ts']);
    // The worktree is gone, the branch stays; the user's checkout is untouched.
    expect(branches(repo)).toContain(result.branch);
    expect(worktreesOutsidePool(repo)).toHaveLength(1);
    expect(existsSync(join(repo, 'src/a.ts'))).toBe(false);
    // Every turn's reply is in the transcript store under the worker's state directory (what a retry reuses).
    const records = await readTranscript(stateDir, result.agentId);
    expect(records.filter((r) => r.kind === 'assistant').map((r) => r.turn)).toEqual([1, 2, 3, 4]);
  });

  it('a bad tool call comes back to the model as an error and the agent goes on', async () => {
    const repo = makeRepo();
    const script = writeScript([
      { tools: [{ read_file: { path: '../../etc/passwd' } }, { edit_file: { path: 'README.md', old_string: 'nope', new_string: 'x' } }] },
      { tools: [{ write_file: { path: 'ok.txt', content: 'ok\n' } }] },
      { tools: [{ finish: { summary: 'recovered' } }] },
    ]);
    const result = await withWorker({}, ({ client, taskQueue }) =>
      client.workflow.execute('agent', { workflowId: uniqueId('agent'), taskQueue, args: [agentInput(repo, { script })] }),
    ) as AgentResult;
    expect(result.status).toBe('completed');
    expect(result.filesChanged).toEqual(['ok.txt']);
  });

  it('stops at the turn limit with its work committed', async () => {
    const repo = makeRepo();
    const script = writeScript([
      { tools: [{ write_file: { path: 'one.txt', content: '1\n' } }] },
      { tools: [{ write_file: { path: 'two.txt', content: '2\n' } }] },
      { tools: [{ write_file: { path: 'three.txt', content: '3\n' } }] },
    ]);
    const result = (await withWorker({}, ({ client, taskQueue }) =>
      client.workflow.execute('agent', { workflowId: uniqueId('agent'), taskQueue, args: [agentInput(repo, { script, maxTurns: 2 })] }),
    )) as AgentResult;
    expect(result.status).toBe('max_turns');
    expect(result.filesChanged.sort()).toEqual(['one.txt', 'two.txt']);
  });

  it('prices its turns with the configured price table (CADRE_PRICES overrides travel in the input)', async () => {
    const repo = makeRepo();
    const script = writeScript([{ tools: [{ finish: { summary: 'priced' } }], usage: { input: 1_000_000, output: 100_000, cacheRead: 2_000_000 } }]);
    const prices = { scripted: { input: 2, output: 10, cacheRead: 0.5 } };
    const result = (await withWorker({}, ({ client, taskQueue }) =>
      client.workflow.execute('agent', { workflowId: uniqueId('price'), taskQueue, args: [agentInput(repo, { script, prices })] }),
    )) as AgentResult;
    // 1M input × $2 + 0.1M output × $10 + 2M cache reads × $0.5
    expect(result.costUsd).toBeCloseTo(2 + 1 + 1, 9);
  });

  it('eight agents creating worktrees on one repository at the same moment all succeed', async () => {
    const repo = makeRepo();
    const results = await withWorker({}, ({ client, taskQueue }) =>
      Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          client.workflow.execute('agent', {
            workflowId: uniqueId(`par${i}`),
            taskQueue,
            args: [agentInput(repo, { script: writeScript([{ tools: [{ write_file: { path: `f${i}.txt`, content: `${i}\n` } }] }, { tools: [{ finish: { summary: `agent ${i}` } }] }]) })],
          }) as Promise<AgentResult>,
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill('completed'));
    results.forEach((r, i) => expect(showFile(repo, r.branch, `f${i}.txt`)).toBe(`${i}\n`));
    expect(new Set(results.map((r) => r.branch)).size).toBe(8);
  });

  it('cancelling a running command agent kills its command, removes its worktree and ends as cancelled', async () => {
    const repo = makeRepo();
    const marker = join(testDir('marker'), 'pid');
    // A sleep of a length nobody else uses, to find the program on the host (it runs in its own PID namespace).
    const token = 300 + Math.floor(Math.random() * 100_000);
    await withWorker({}, async ({ client, taskQueue }) => {
      const id = uniqueId('cancel');
      const handle = await client.workflow.start('agent', {
        workflowId: id,
        taskQueue,
        args: [agentInput(repo, { backend: 'command', command: ['sh', '-c', `echo $$ > ${marker}; sleep ${token} & wait`], timeoutSeconds: 600 })],
      });
      // Wait until the command is running.
      for (let i = 0; i < 200 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(marker)).toBe(true);
      const status = await handle.query(agentStatusQuery);
      expect(status.status).toBe('running');
      const workspace = status.workspace!;
      expect(existsSync(workspace)).toBe(true);
      expect(sleepRunning(token)).toBe(true);
      await handle.cancel();
      const result = (await handle.result()) as AgentResult;
      expect(result.status).toBe('cancelled');
      expect(existsSync(workspace)).toBe(false);
      expect(sleepRunning(token)).toBe(false);
    });
  });
});

describe('agent workflow with the anthropic backend against a local Messages API stub', () => {
  it('completes a tool-use loop through the real SDK, honouring retry-after on 429, retrying 529', async () => {
    const stub = await startMessagesStub();
    try {
      const repo = makeRepo();
      stub.enqueue(
        { kind: 'error', status: 429, headers: { 'retry-after': '2' } },
        { content: [{ type: 'text', text: 'I will write it' }, { type: 'tool_use', name: 'write_file', input: { path: 'out.txt', content: 'from claude\n' } }], usage: { input_tokens: 100, output_tokens: 20 } },
        { kind: 'error', status: 529 },
        { content: [{ type: 'tool_use', name: 'finish', input: { summary: 'wrote out.txt' } }], usage: { input_tokens: 20, output_tokens: 10, cache_read_input_tokens: 100 } },
      );
      const result = (await withWorker({ deps: { anthropicBaseURL: stub.url, anthropicApiKey: 'sk-ant-test-SECRETKEY-123456' } }, ({ client, taskQueue }) =>
        client.workflow.execute('agent', {
          workflowId: uniqueId('claude'),
          taskQueue,
          args: [agentInput(repo, { backend: 'anthropic', model: 'claude-sonnet-4-5' })],
        }),
      )) as AgentResult;
      expect(result.status).toBe('completed');
      expect(showFile(repo, result.branch, 'out.txt')).toBe('from claude\n');
      expect(stub.requests).toHaveLength(4);
      // The 429 said retry-after: 2 — the retry came no sooner.
      expect(stub.requests[1]!.at! - stub.requests[0]!.at!).toBeGreaterThanOrEqual(1900);
      expect(result.usage.inputTokens).toBe(120);
      expect(result.usage.cacheReadTokens).toBe(100);
      // Cache breakpoints: last tool and the system prompt carry cache_control.
      const body = stub.requests[3]!.body;
      expect(body.tools.at(-1).cache_control).toEqual({ type: 'ephemeral' });
      expect(JSON.stringify(body.system)).toContain('ephemeral');
      expect(stub.requests.every((r) => r.headers['x-stainless-retry-count'] === undefined || r.headers['x-stainless-retry-count'] === '0')).toBe(true);
    } finally {
      await stub.close();
    }
  });

  it('a 400 fails the turn without retry and the agent ends failed', async () => {
    const stub = await startMessagesStub();
    try {
      const repo = makeRepo();
      stub.enqueue({ kind: 'error', status: 400, message: 'messages: bad request shape' });
      const result = (await withWorker({ deps: { anthropicBaseURL: stub.url, anthropicApiKey: 'sk-ant-test-key-abcdef' } }, ({ client, taskQueue }) =>
        // A standalone agent that ends failed fails as a workflow (TaskFailed), carrying its result.
        client.workflow.start('agent', { workflowId: uniqueId('claude400'), taskQueue, args: [agentInput(repo, { backend: 'anthropic', model: 'claude-sonnet-4-5' })] }).then((h) => agentResultOf(h)),
      )) as AgentResult;
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/bad request shape/);
      expect(stub.requests).toHaveLength(1);
    } finally {
      await stub.close();
    }
  });
});

export { WorkflowFailedError };
