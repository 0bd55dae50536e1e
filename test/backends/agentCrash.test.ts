/**
 * kill -9 of a whole cadre worker process while an agent's session (the agent workflow, backend claude-code or
 * codex) waits for the model. A new worker process on the same task queue takes the activity's retry: it resumes
 * the same session (the stub's next request carries the earlier turns), the answered turn is not asked again, and
 * the agent completes with its work committed. Real CLIs, local stubs, the real Temporal server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { readSessionRecord } from '../../src/activities/backends/session/store';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { startMessagesStub } from '../support/messagesStub';
import { startResponsesStub } from '../support/responsesStub';
import { makeRepo, showFile } from '../support/repo';
import { testAddress, testClient, testDir, uniqueId } from '../support/temporal';
import { claudeBin, claudeStubEnv, codexBin, processAlive, waitFor } from './support';

const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
const workerScript = path.join(__dirname, 'fixtures', 'cadreWorker.ts');

interface WorkerProcess {
  child: ChildProcess;
  kill9(): Promise<void>;
}

const running: WorkerProcess[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const w of running.splice(0)) await w.kill9();
  for (const c of closers.splice(0)) await c();
});

/** Starts the fixture worker in its own process group; resolves when it polls. */
async function startWorker(taskQueue: string, stateDir: string, sessionEnv: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const arg = { address: testAddress(), taskQueue, stateDir, sessionEnv, bundlePath: inject('workflowBundlePath') };
  const child = spawn(tsx, [workerScript, JSON.stringify(arg)], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const w: WorkerProcess = {
    child,
    kill9: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(-(child.pid as number), 'SIGKILL');
      await exited;
    },
  };
  running.push(w);
  await waitFor(() => out.includes('polling') || child.exitCode !== null, 120_000, 'the worker to poll');
  if (!out.includes('polling')) throw new Error(`worker exited before polling:\n${out}`);
  return w;
}

function agentInput(repo: string, extra: Partial<AgentInput>): AgentInput {
  return { repo, baseRef: 'HEAD', goal: 'Write a.txt', backend: 'claude-code', model: 'claude-haiku-4-5', maxTokens: 4096, maxTurns: 20, budget: {}, depth: 0, limits: defaultLimits, ...extra };
}

/** Activity attempts of runAgentSession in the agent's history: how often it was scheduled, the highest attempt. */
async function sessionAttempts(id: string): Promise<{ scheduled: number; maxAttempt: number }> {
  const events = (await (await testClient()).workflow.getHandle(id).fetchHistory()).events ?? [];
  const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAgentSession');
  const ids = new Set(scheduled.map((e) => String(e.eventId)));
  const attempts = events.filter((e) => e.activityTaskStartedEventAttributes && ids.has(String(e.activityTaskStartedEventAttributes.scheduledEventId))).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
  return { scheduled: scheduled.length, maxAttempt: Math.max(0, ...attempts) };
}

describe.skipIf(!claudeBin)('claude-code agent: the worker process killed mid-session', () => {
  it('a new worker resumes the same session; the answered turn is not asked again; the agent completes', async () => {
    const stub = await startMessagesStub();
    closers.push(() => stub.close());
    let killed = false;
    stub.respondWith((body) => {
      const text = JSON.stringify(body.messages ?? []);
      if (!text.includes('tool_result')) {
        const cwd = /Primary working directory: ([^\\"]+?)\\n/.exec(JSON.stringify(body))?.[1];
        return { content: [{ type: 'tool_use', id: 'toolu_c1', name: 'Write', input: { file_path: path.join(cwd!, 'a.txt'), content: 'one\n' } }], usage: { input_tokens: 1000, output_tokens: 10 } };
      }
      if (!killed) return { kind: 'hold' };
      return { content: [{ type: 'text', text: 'finished after resume' }], usage: { input_tokens: 1300, output_tokens: 10 } };
    });
    const env = claudeStubEnv(stub.url);
    const repo = makeRepo();
    const stateDir = testDir('cc-crash-state');
    const taskQueue = uniqueId('tq-cc-crash');
    const id = uniqueId('cc-crash');
    const posts = () => stub.requests.filter((r) => r.method === 'POST');

    const w1 = await startWorker(taskQueue, stateDir, env);
    const handle = await (await testClient()).workflow.start('agent', { workflowId: id, taskQueue, args: [agentInput(repo, {})] });
    await waitFor(() => posts().length === 2, 120_000, 'the second (held) model request');
    const before = readSessionRecord(stateDir, id);
    expect(before?.sessionId).toBeTruthy();
    const orphan = before!.pid!;
    killed = true;
    await w1.kill9();
    expect(processAlive(orphan)).toBe(true); // the program outlived its worker, still waiting for the model

    await startWorker(taskQueue, stateDir, env);
    const result = (await handle.result()) as AgentResult;
    expect(result.status).toBe('completed');
    expect(processAlive(orphan)).toBe(false);
    expect(showFile(repo, result.branch, 'a.txt')).toBe('one\n');
    // Same session, resumed by the activity's retry (one activity, a second attempt), not a new one.
    const after = readSessionRecord(stateDir, id);
    expect(after?.sessionId).toBe(before!.sessionId);
    expect(after?.starts).toBe(2);
    expect(await sessionAttempts(id)).toEqual({ scheduled: 1, maxAttempt: 2 });
    // Three model requests: the held one was never answered, the answered first one was not asked again, and the
    // resumed request carries the earlier turns.
    expect(posts()).toHaveLength(3);
    const resumed = JSON.stringify(posts()[2]!.body.messages);
    expect(resumed).toContain('toolu_c1');
    expect(resumed).toContain('Write a.txt');
    // Usage: the answered responses, each once (the held request produced none).
    expect(result.usage.inputTokens).toBe(1000 + 1300);
  }, 300_000);
});

describe.skipIf(!codexBin)('codex agent: the worker process killed mid-session', () => {
  it('a new worker resumes the same thread with `codex exec resume`; the agent completes', async () => {
    const stub = await startResponsesStub();
    closers.push(() => stub.close());
    stub.enqueue(
      { output: [{ type: 'function_call', name: 'exec_command', arguments: { cmd: 'echo one > a.txt' }, callId: 'call_x1' }], usage: { input_tokens: 1000, output_tokens: 10 } },
      { kind: 'hold' },
    );
    const env = { PATH: process.env.PATH, CADRE_CODEX_BIN: codexBin, OPENAI_BASE_URL: `${stub.url}/v1`, OPENAI_API_KEY: 'sk-test-openai-0000000' };
    const repo = makeRepo();
    const stateDir = testDir('cx-crash-state');
    const taskQueue = uniqueId('tq-cx-crash');
    const id = uniqueId('cx-crash');
    const posts = () => stub.requests.filter((r) => r.method === 'POST');

    const w1 = await startWorker(taskQueue, stateDir, env);
    const handle = await (await testClient()).workflow.start('agent', { workflowId: id, taskQueue, args: [agentInput(repo, { backend: 'codex', model: 'gpt-5' })] });
    await waitFor(() => posts().length === 2, 120_000, 'the second (held) model request');
    await waitFor(() => Boolean(readSessionRecord(stateDir, id)?.sessionId), 10_000, 'the thread id in the record');
    const before = readSessionRecord(stateDir, id)!;
    const orphan = before.pid!;
    await w1.kill9();
    expect(processAlive(orphan)).toBe(true);

    stub.enqueue({ output: [{ type: 'message', text: 'finished after resume' }], usage: { input_tokens: 1300, output_tokens: 10 } });
    await startWorker(taskQueue, stateDir, env);
    const result = (await handle.result()) as AgentResult;
    expect(result.status).toBe('completed');
    expect(processAlive(orphan)).toBe(false);
    expect(showFile(repo, result.branch, 'a.txt')).toBe('one\n');
    const after = readSessionRecord(stateDir, id);
    expect(after?.sessionId).toBe(before.sessionId);
    expect(after?.starts).toBe(2);
    expect(await sessionAttempts(id)).toEqual({ scheduled: 1, maxAttempt: 2 });
    expect(posts()).toHaveLength(3);
    const resumedInput = JSON.stringify(posts()[2]!.body.input);
    expect(resumedInput).toContain('call_x1');
    expect(resumedInput).toContain('Write a.txt');
  }, 300_000);
});
