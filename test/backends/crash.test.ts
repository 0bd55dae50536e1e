/**
 * kill -9 of the worker while the session waits for the model: the program outlives it (its own process group);
 * the next attempt kills that orphan, resumes the same session (the stub sees the earlier turns) and completes
 * without asking the answered turns again. Real CLIs, local stubs, a real worker process killed with SIGKILL.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSessionActivities } from '../../src/activities/backends/session';
import { readSessionRecord } from '../../src/activities/backends/session/store';
import { startMessagesStub, type MessagesStub } from '../support/messagesStub';
import { startResponsesStub, type ResponsesStub } from '../support/responsesStub';
import { claudeBin, claudeStubEnv, codexBin, processAlive, runInContext, tmpDir, waitFor } from './support';

const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
const workerScript = path.join(__dirname, 'fixtures', 'sessionWorker.ts');

function startWorker(arg: unknown) {
  const child = spawn(tsx, [workerScript, JSON.stringify(arg)], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  return { child, output: () => out, kill9: () => process.kill(-(child.pid as number), 'SIGKILL') };
}

const stubs: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of stubs.splice(0)) await s.close();
});

describe.skipIf(!claudeBin)('claude-code: worker killed mid-session', () => {
  it('kills the orphaned program, resumes the same session and does not re-ask answered turns', async () => {
    const stub: MessagesStub = await startMessagesStub();
    stubs.push(stub);
    const stateDir = tmpDir('crash-cc-state');
    const workspace = tmpDir('crash-cc-ws');
    const env = claudeStubEnv(stub.url);
    const input = { agentId: 'run-c/t1', backend: 'claude-code', model: 'claude-haiku-4-5', workspace, goal: 'Write a.txt', budgetUsd: 1 };
    stub.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_c1', name: 'Write', input: { file_path: path.join(workspace, 'a.txt'), content: 'one\n' } }], usage: { input_tokens: 100, output_tokens: 10 } },
      { kind: 'hold' },
    );
    const worker = startWorker({ stateDir, env, input });
    const posts = () => stub.requests.filter((r) => r.method === 'POST');
    await waitFor(() => posts().length === 2, 60_000, 'the second model request');
    const record = readSessionRecord(stateDir, 'run-c/t1');
    expect(record?.sessionId).toBeTruthy();
    const orphan = record?.pid as number;
    worker.kill9();
    await new Promise((r) => setTimeout(r, 300));
    expect(processAlive(orphan)).toBe(true); // the program outlived its worker

    stub.enqueue({ content: [{ type: 'text', text: 'finished after resume' }], usage: { input_tokens: 300, output_tokens: 10 } });
    const { runAgentSession } = createSessionActivities({ stateDir, env, forward: async () => ({ content: '' }) });
    const result = await runInContext(() => runAgentSession(input as never), { attempt: 2 }).result;
    expect(processAlive(orphan)).toBe(false);
    expect(result.status).toBe('completed');
    expect(result.resumed).toBe(true);
    expect(result.sessionId).toBe(record?.sessionId);
    expect(fs.readFileSync(path.join(workspace, 'a.txt'), 'utf8')).toBe('one\n');
    // Three model calls in all: the held one was not answered, the answered first one was not asked again.
    expect(posts()).toHaveLength(3);
    const resumed = JSON.stringify(posts()[2].body.messages);
    expect(resumed).toContain('toolu_c1');
    expect(resumed).toContain('Write a.txt');
    // Usage of both attempts is in the result (the killed attempt's first call included).
    expect(result.usage.inputTokens).toBe(400);
  });
});

describe.skipIf(!codexBin)('codex: worker killed mid-session', () => {
  it('kills the orphaned program, resumes the thread with `codex exec resume`, and the stub sees the earlier turns', async () => {
    const stub: ResponsesStub = await startResponsesStub();
    stubs.push(stub);
    const stateDir = tmpDir('crash-cx-state');
    const workspace = tmpDir('crash-cx-ws');
    const env = { PATH: process.env.PATH, CADRE_CODEX_BIN: codexBin, OPENAI_BASE_URL: `${stub.url}/v1`, OPENAI_API_KEY: 'sk-test-openai-0000000' };
    const input = { agentId: 'run-x/t1', backend: 'codex', model: 'gpt-5', workspace, goal: 'Write a.txt', budgetUsd: 1 };
    stub.enqueue(
      { output: [{ type: 'function_call', name: 'exec_command', arguments: { cmd: 'echo one > a.txt' }, callId: 'call_x1' }], usage: { input_tokens: 100, output_tokens: 10 } },
      { kind: 'hold' },
    );
    const worker = startWorker({ stateDir, env, input });
    const posts = () => stub.requests.filter((r) => r.method === 'POST');
    await waitFor(() => posts().length === 2, 60_000, 'the second model request');
    await waitFor(() => Boolean(readSessionRecord(stateDir, 'run-x/t1')?.sessionId), 10_000, 'the thread id in the record');
    const record = readSessionRecord(stateDir, 'run-x/t1');
    const orphan = record?.pid as number;
    worker.kill9();
    await new Promise((r) => setTimeout(r, 300));
    expect(processAlive(orphan)).toBe(true);

    stub.enqueue({ output: [{ type: 'message', text: 'finished after resume' }], usage: { input_tokens: 300, output_tokens: 10 } });
    const { runAgentSession } = createSessionActivities({ stateDir, env, forward: async () => ({ content: '' }) });
    const result = await runInContext(() => runAgentSession(input as never), { attempt: 2 }).result;
    expect(processAlive(orphan)).toBe(false);
    expect(result.status).toBe('completed');
    expect(result.resumed).toBe(true);
    expect(result.sessionId).toBe(record?.sessionId);
    expect(fs.readFileSync(path.join(workspace, 'a.txt'), 'utf8')).toBe('one\n');
    expect(posts()).toHaveLength(3);
    const resumedInput = JSON.stringify(posts()[2].body.input);
    expect(resumedInput).toContain('call_x1');
    expect(resumedInput).toContain('Write a.txt');
  });
});
