/**
 * The codex backend against the REAL Codex CLI and a local Responses API stub (custom model provider `cadre`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSessionActivities } from '../../src/activities/backends/session';
import type { OrchestrationCall } from '../../src/shared/session';
import { startResponsesStub, type ResponsesStub } from '../support/responsesStub';
import { codexBin, runInContext, tmpDir } from './support';

describe.skipIf(!codexBin)('codex session (real CLI, stub API)', () => {
  let stub: ResponsesStub;
  let stateDir: string;
  let workspace: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    stub = await startResponsesStub();
    stateDir = tmpDir('cx-state');
    workspace = tmpDir('cx-ws');
    env = { PATH: process.env.PATH, CADRE_CODEX_BIN: codexBin, OPENAI_BASE_URL: `${stub.url}/v1`, OPENAI_API_KEY: 'sk-test-openai-0000000', TEMPORAL_API_KEY: 'sk-canary-0123456789' };
  });
  afterEach(async () => {
    await stub.close();
  });
  const input = (over: Record<string, unknown> = {}) => ({ agentId: 'run-2/t1', backend: 'codex' as const, model: 'gpt-5', workspace, goal: 'Write b.txt', budgetUsd: 1, ...over });

  it('edits a file in the workspace-write sandbox and completes with usage and cost priced by cadre', async () => {
    stub.enqueue(
      { output: [{ type: 'function_call', name: 'exec_command', arguments: { cmd: 'echo hi > b.txt; env > env.txt' } }], usage: { input_tokens: 1000, cached_tokens: 400, output_tokens: 50 } },
      { output: [{ type: 'message', text: 'Wrote b.txt' }], usage: { input_tokens: 1200, output_tokens: 20 } },
    );
    const { runAgentSession } = createSessionActivities({ stateDir, env, forward: async () => ({ content: '' }) });
    const run = runInContext(() => runAgentSession(input()));
    const result = await run.result;
    expect(result.status).toBe('completed');
    expect(fs.readFileSync(path.join(workspace, 'b.txt'), 'utf8')).toBe('hi\n');
    expect(result.usage).toEqual({ inputTokens: 1800, outputTokens: 70, cacheWriteTokens: 0, cacheReadTokens: 400 });
    expect(result.costUsd).toBeCloseTo((1800 * 1.25 + 70 * 10 + 400 * 0.125) / 1e6, 9);
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.summary).toBe('Wrote b.txt');
    expect(run.beats.some((b) => b.sessionId === result.sessionId)).toBe(true);
    // The program (and what it runs) sees none of the worker's other secrets.
    const seen = fs.readFileSync(path.join(workspace, 'env.txt'), 'utf8');
    expect(seen).not.toContain('sk-canary');
    expect(seen).not.toMatch(/^TEMPORAL_/m);
  });

  it('is stopped by cadre once its priced usage reaches the slice: budget_exhausted', async () => {
    stub.enqueue(
      // 400k input tokens of gpt-5 = 0.50 USD, the whole 0.4 USD slice and more.
      { output: [{ type: 'function_call', name: 'exec_command', arguments: { cmd: 'echo part > p.txt; sleep 20' } }], usage: { input_tokens: 400_000, output_tokens: 10 } },
      { output: [{ type: 'message', text: 'never' }], usage: { input_tokens: 10, output_tokens: 10 } },
    );
    const { runAgentSession } = createSessionActivities({ stateDir, env, forward: async () => ({ content: '' }), pollMs: 200 });
    const started = Date.now();
    const result = await runInContext(() => runAgentSession(input({ budgetUsd: 0.4 }))).result;
    expect(result.status).toBe('budget_exhausted');
    expect(result.costUsd).toBeGreaterThanOrEqual(0.4);
    expect(Date.now() - started).toBeLessThan(15_000); // stopped, not waited for
  });

  it('serves the cadre MCP tools: a spawn_agent call reaches the forwarder', async () => {
    stub.enqueue(
      { output: [{ type: 'function_call', namespace: 'mcp__cadre', name: 'spawn_agent', arguments: { name: 'child-b', goal: 'do b' } }], usage: { input_tokens: 100, output_tokens: 10 } },
      { output: [{ type: 'message', text: 'spawned' }], usage: { input_tokens: 100, output_tokens: 10 } },
    );
    const calls: OrchestrationCall[] = [];
    const { runAgentSession } = createSessionActivities({ stateDir, env, forward: async (c) => { calls.push(c); return { content: 'child-b started' }; } });
    const result = await runInContext(() => runAgentSession(input())).result;
    const ns = (stub.requests[0].body.tools as { name?: string; tools?: { name: string }[] }[]).find((t) => t.name === 'mcp__cadre');
    expect(ns?.tools?.map((t) => t.name).sort()).toEqual(['finish', 'read_messages', 'request_budget', 'send_message', 'spawn_agent', 'wait_for_agents']);
    expect(result.status).toBe('completed');
    expect(calls.map((c) => c.name)).toEqual(['spawn_agent']);
    expect(calls[0].callId.startsWith(`${result.sessionId}/spawn_agent/`)).toBe(true);
  });
});
