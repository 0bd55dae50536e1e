/**
 * The claude-code backend against the REAL Claude Code CLI and a local Messages API stub (ANTHROPIC_BASE_URL).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSessionActivities } from '../../src/activities/backends/session';
import { readSessionLog, readSessionRecord } from '../../src/activities/backends/session/store';
import { renderSessionEvent } from '../../src/client/commands/logs';
import type { OrchestrationCall, ToolResultLike } from '../../src/shared/session';
import { startMessagesStub, type MessagesStub } from '../support/messagesStub';
import { claudeBin, runInContext, tmpDir } from './support';

const CANARY = 'sk-canary-worker-secret-0123456789';

describe.skipIf(!claudeBin)('claude-code session (real CLI, stub API)', () => {
  let stub: MessagesStub;
  let stateDir: string;
  let workspace: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    stub = await startMessagesStub();
    stateDir = tmpDir('cc-state');
    workspace = tmpDir('cc-ws');
    env = {
      PATH: process.env.PATH,
      CADRE_CLAUDE_BIN: claudeBin,
      ANTHROPIC_BASE_URL: stub.url,
      ANTHROPIC_API_KEY: 'sk-ant-test-key-000000000',
      TEMPORAL_API_KEY: CANARY,
      SOME_WORKER_TOKEN: CANARY,
    };
  });
  afterEach(async () => {
    await stub.close();
  });

  const input = (over: Record<string, unknown> = {}) => ({
    agentId: 'run-1/t1',
    backend: 'claude-code' as const,
    model: 'claude-haiku-4-5',
    workspace,
    goal: 'Write hello.txt containing hi',
    budgetUsd: 1,
    ...over,
  });

  it('edits a file with Write, completes with usage and cost, and records the session id at once', async () => {
    stub.enqueue(
      { content: [{ type: 'text', text: 'Writing it' }, { type: 'tool_use', id: 'toolu_w1', name: 'Write', input: { file_path: path.join(workspace, 'hello.txt'), content: 'hi\n' } }], usage: { input_tokens: 1000, output_tokens: 50, cache_read_input_tokens: 200 } },
      { content: [{ type: 'text', text: 'Wrote hello.txt' }], usage: { input_tokens: 1100, output_tokens: 10 } },
    );
    const { runAgentSession } = createSessionActivities({ stateDir, env, forward: async () => ({ content: 'unused' }) });
    const run = runInContext(() => runAgentSession(input()));
    const result = await run.result;

    expect(result.status).toBe('completed');
    expect(fs.readFileSync(path.join(workspace, 'hello.txt'), 'utf8')).toBe('hi\n');
    expect(result.usage).toEqual({ inputTokens: 2100, outputTokens: 60, cacheWriteTokens: 0, cacheReadTokens: 200 });
    // haiku 4.5: 1 $/M in, 5 $/M out, 0.1 $/M cache read
    expect(result.costUsd).toBeCloseTo((2100 * 1 + 60 * 5 + 200 * 0.1) / 1e6, 9);
    expect(result.summary).toBe('Wrote hello.txt');
    expect(result.turns).toBe(2);
    expect(result.filesTouched).toEqual(['hello.txt']);
    expect(result.resumed).toBe(false);
    // The id cadre chose is in the very first heartbeat, before any event of the program.
    expect(run.beats[0].sessionId).toBe(result.sessionId);
    expect(run.beats[0].pid).toBeTypeOf('number');
    expect(readSessionRecord(stateDir, 'run-1/t1')?.sessionId).toBe(result.sessionId);
    // The stream log exists, under the state dir, and holds no key.
    const log = fs.readFileSync(path.join(stateDir, result.transcriptRef), 'utf8');
    expect(log).toContain('"type":"result"');
    expect(log).not.toContain('sk-ant-test-key');
    // `cadre logs` renders it.
    const shown = readSessionLog(stateDir, 'run-1/t1').flatMap((e) => renderSessionEvent(e));
    expect(shown).toContain('assistant: Writing it');
    expect(shown.some((l) => l.startsWith('→ Write '))).toBe(true);
    expect(shown.some((l) => l.startsWith('result: success (2 turns'))).toBe(true);
    expect(JSON.stringify(result)).not.toContain('hi\\n'); // no file contents in the result
    // The requests went to the stub, streaming.
    const posts = stub.requests.filter((r) => r.method === 'POST');
    expect(posts.length).toBe(2);
    expect(posts[0].body.stream).toBe(true);
  });

  it('gives the CLI an explicit environment: provider settings yes, the worker\'s other secrets no', async () => {
    const dump = path.join(tmpDir('cc-env'), 'env.txt');
    const wrapper = path.join(path.dirname(dump), 'claude-wrapper.sh');
    fs.writeFileSync(wrapper, `#!/bin/sh\nenv > '${dump}'\nexec '${claudeBin}' "$@"\n`, { mode: 0o755 });
    stub.enqueue({ content: [{ type: 'text', text: 'ok' }] });
    const { runAgentSession } = createSessionActivities({ stateDir, env: { ...env, CADRE_CLAUDE_BIN: wrapper }, forward: async () => ({ content: '' }) });
    const result = await runInContext(() => runAgentSession(input())).result;
    expect(result.status).toBe('completed');
    const seen = fs.readFileSync(dump, 'utf8');
    expect(seen).not.toContain(CANARY);
    expect(seen).not.toMatch(/^TEMPORAL_/m);
    expect(seen).toContain(`ANTHROPIC_BASE_URL=${stub.url}`);
    expect(seen).toMatch(new RegExp(`^HOME=${stateDir}/sessions/`, 'm'));
  });

  it('scrubs a secret the program prints from the log and the result, and starts afresh for a new workflow run', async () => {
    stub.enqueue({ content: [{ type: 'text', text: `the token is ${CANARY}` }] });
    const { runAgentSession } = createSessionActivities({ stateDir, env, forward: async () => ({ content: '' }) });
    const first = await runInContext(() => runAgentSession(input())).result;
    expect(first.summary).toBe('the token is [redacted]');
    const log = fs.readFileSync(path.join(stateDir, first.transcriptRef), 'utf8');
    expect(log).toContain('[redacted]');
    expect(log).not.toContain(CANARY);
    // Same run again (a retry after the end): the stored result, nothing runs.
    const again = await runInContext(() => runAgentSession(input()), { attempt: 2 }).result;
    expect(again).toEqual(first);
    expect(stub.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    // Another workflow run of the same agent id: a new session, not a resume of the old one.
    stub.enqueue({ content: [{ type: 'text', text: 'fresh' }] });
    const other = await runInContext(() => runAgentSession(input()), { runId: 'run-2' }).result;
    expect(other.resumed).toBe(false);
    expect(other.sessionId).not.toBe(first.sessionId);
  });

  it('stops a session that reaches its slice: budget_exhausted, with the work it did on disk', async () => {
    stub.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_b1', name: 'Write', input: { file_path: path.join(workspace, 'partial.txt'), content: 'part\n' } }], usage: { input_tokens: 1000, output_tokens: 10 } },
      // 600k input tokens of haiku = 0.60 USD: this reply crosses the 0.5 USD slice.
      { content: [{ type: 'tool_use', id: 'toolu_b2', name: 'Write', input: { file_path: path.join(workspace, 'over.txt'), content: 'no\n' } }], usage: { input_tokens: 600_000, output_tokens: 10 } },
      { content: [{ type: 'text', text: 'more' }], usage: { input_tokens: 10, output_tokens: 10 } },
    );
    const { runAgentSession } = createSessionActivities({ stateDir, env, forward: async () => ({ content: '' }) });
    const result = await runInContext(() => runAgentSession(input({ budgetUsd: 0.5 }))).result;
    expect(result.status).toBe('budget_exhausted');
    expect(result.costUsd).toBeGreaterThanOrEqual(0.5);
    expect(result.costUsd).toBeLessThan(0.61);
    expect(fs.readFileSync(path.join(workspace, 'partial.txt'), 'utf8')).toBe('part\n');
  });

  it('forwards an MCP spawn_agent call with a stable callId; the call repeated after resume carries the same id', async () => {
    const spawnInput = { name: 'child-a', goal: 'write child.txt' };
    stub.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_m1', name: 'mcp__cadre__spawn_agent', input: spawnInput }], usage: { input_tokens: 100, output_tokens: 10 } },
    );
    const calls: OrchestrationCall[] = [];
    let release: ((r: ToolResultLike) => void) | undefined;
    // Attempt 1: the workflow never answers (the worker dies while the call is in flight).
    const first = createSessionActivities({ stateDir, env, pollMs: 200, forward: (call) => { calls.push(call); return new Promise((r) => { release = r; }); } });
    const a1 = runInContext(() => first.runAgentSession(input()));
    const deadline = Date.now() + 30_000;
    while (calls.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(calls).toHaveLength(1);
    expect(calls[0].name).toBe('spawn_agent');
    expect(calls[0].input).toEqual(spawnInput);
    // A call the workflow takes long to answer (wait_for_agents) keeps the activity heartbeating, and says so.
    const beatsBefore = a1.beats.length;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(a1.beats.length - beatsBefore).toBeGreaterThanOrEqual(5);
    expect(a1.beats[a1.beats.length - 1].lastTool).toBe('spawn_agent (waiting for cadre)');
    a1.abort(new Error('worker lost'));
    await expect(a1.result).rejects.toThrow();
    void release;

    // Attempt 2 resumes; the model repeats the call (a new tool-use id, the same input).
    stub.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_m2', name: 'mcp__cadre__spawn_agent', input: spawnInput }], usage: { input_tokens: 200, output_tokens: 10 } },
      { content: [{ type: 'text', text: 'spawned' }], usage: { input_tokens: 300, output_tokens: 10 } },
    );
    const second = createSessionActivities({ stateDir, env, forward: async (call) => { calls.push(call); return { content: 'spawned child-a (agent run-1/t1/child-a)' }; } });
    const result = await runInContext(() => second.runAgentSession(input()), { attempt: 2 }).result;
    expect(result.status).toBe('completed');
    expect(result.resumed).toBe(true);
    expect(calls).toHaveLength(2);
    expect(calls[1].callId).toBe(calls[0].callId);
    expect(calls[0].callId).toContain(result.sessionId);
    // The resumed request carried the earlier turn.
    const posts = stub.requests.filter((r) => r.method === 'POST');
    const resumedReq = posts[posts.length - 2].body;
    expect(JSON.stringify(resumedReq.messages)).toContain('toolu_m1');
  });
});
