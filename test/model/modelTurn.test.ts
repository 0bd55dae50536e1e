/**
 * The modelTurn activity driven through the real @anthropic-ai/sdk against a local Messages API stub: the tool-use
 * loop, idempotent retries, prompt caching layout, tool-call validation and secret hygiene.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inActivities } from '../support/activityContext';
import { createModelActivities, type FileToolExecutor, type ModelActivityDeps } from '../../src/activities/model/modelTurn';

import { ErrorType, TypedFailure } from '../../src/shared/errors';
import { readTranscript, transcriptPath } from '../../src/activities/model/transcript';
import type { ModelTurnInput } from '../../src/shared/model';
import type { ToolName } from '../../src/shared/tools';
import { startMessagesStub, type MessagesStub } from '../support/messagesStub';

const KEY = 'sk-ant-api03-FAKE-test-key-0123456789-do-not-leak';

let stub: MessagesStub;
let stateDir: string;
let workspace: string;
let executed: string[];

beforeEach(async () => {
  stub = await startMessagesStub();
  stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cadre-model-state-'));
  workspace = await fs.mkdtemp(path.join(os.tmpdir(), 'cadre-model-ws-'));
  executed = [];
});
afterEach(async () => {
  await stub.close();
  await fs.rm(stateDir, { recursive: true, force: true });
  await fs.rm(workspace, { recursive: true, force: true });
});

/** A minimal file-tool executor for these tests: really writes in the workspace, records what ran. */
const fakeExecutor: FileToolExecutor = async (ctx, name, raw) => {
  executed.push(name);
  const input = raw as { path: string; content?: string };
  if (name === 'write_file') {
    await fs.writeFile(path.join(ctx.root, input.path), input.content ?? '');
    return { content: `Wrote ${input.path}`, isError: false, summary: `write ${input.path}`, touched: input.path };
  }
  if (name === 'read_file') {
    const text = await fs.readFile(path.join(ctx.root, input.path), 'utf8');
    return { content: text, isError: false, summary: `read ${input.path}` };
  }
  return { content: `${name} is not supported by the fake`, isError: true, summary: name };
};

/** The activities, each call in its own activity Context; `onBeat` counts heartbeats. */
function activities(extra: Partial<ModelActivityDeps> = {}, onBeat?: () => void) {
  return inActivities(createModelActivities({
    stateDir,
    apiKey: KEY,
    anthropicBaseURL: stub.url,
    executeFileTool: fakeExecutor,
    clock: () => 1_700_000_000_000,
    ...extra,
  }), {}, onBeat);
}

const tools: ToolName[] = ['read_file', 'write_file', 'send_message', 'finish'];

function turnInput(turn: number, more: Partial<ModelTurnInput> = {}): ModelTurnInput {
  return {
    agentId: 'run-1/task-a',
    turn,
    backend: 'anthropic',
    model: 'claude-haiku-4-5',
    maxTokens: 1024,
    workspace,
    goal: 'Write hello.txt, then finish.',
    system: 'You are the greeter.',
    tools,
    ...more,
  };
}

const writeHello = {
  content: [
    { type: 'text' as const, text: 'Writing the greeting.' },
    { type: 'tool_use' as const, id: 'toolu_w1', name: 'write_file', input: { path: 'hello.txt', content: 'hello\n' } },
  ],
  usage: { input_tokens: 120, output_tokens: 30, cache_creation_input_tokens: 900, cache_read_input_tokens: 0 },
};
const finishDone = {
  content: [{ type: 'tool_use' as const, id: 'toolu_f1', name: 'finish', input: { summary: 'wrote hello.txt' } }],
  usage: { input_tokens: 40, output_tokens: 12, cache_creation_input_tokens: 60, cache_read_input_tokens: 900 },
};

describe('modelTurn with the anthropic backend (real SDK, local stub)', () => {
  it('runs a multi-turn tool-use loop: write_file in the workspace, then finish', async () => {
    stub.enqueue(writeHello, finishDone);
    let beats = 0;
    const { modelTurn } = activities({}, () => beats++);

    const first = await modelTurn(turnInput(1));
    expect(first).toMatchObject({
      stopReason: 'tool_use',
      text: 'Writing the greeting.',
      orchestrationCalls: [],
      toolRuns: [{ name: 'write_file', summary: 'write hello.txt', isError: false }],
      usage: { inputTokens: 120, outputTokens: 30, cacheWriteTokens: 900, cacheReadTokens: 0 },
      model: 'claude-haiku-4-5',
      replayed: false,
    });
    expect(await fs.readFile(path.join(workspace, 'hello.txt'), 'utf8')).toBe('hello\n');
    expect(first.nextInputEstimate).toBeGreaterThan(0);

    const second = await modelTurn(turnInput(2));
    expect(second.stopReason).toBe('tool_use');
    expect(second.orchestrationCalls).toEqual([{ id: 'toolu_f1', name: 'finish', input: { summary: 'wrote hello.txt' } }]);
    expect(second.toolRuns).toEqual([]);
    expect(second.usage).toEqual({ inputTokens: 40, outputTokens: 12, cacheWriteTokens: 60, cacheReadTokens: 900 });

    expect(stub.requests).toHaveLength(2);
    const [r1, r2] = stub.requests.map((r) => r.body);
    expect(r1.stream).toBe(true);
    expect(r1.model).toBe('claude-haiku-4-5');
    expect(r1.max_tokens).toBe(1024);
    expect(r1.tools.map((t: { name: string }) => t.name)).toEqual(['read_file', 'write_file', 'send_message', 'finish']);
    expect(r1.tools[0].input_schema.$schema).toBeUndefined();
    expect(r1.tools[0].input_schema.type).toBe('object');
    expect(r1.system[0].text).toContain('You are the greeter.');
    expect(r1.messages).toHaveLength(1);
    expect(r1.messages[0].content[0].text).toBe('Write hello.txt, then finish.');
    // Turn 2 carries turn 1's reply and the file tool's result.
    expect(r2.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(r2.messages[1].content[1]).toMatchObject({ type: 'tool_use', id: 'toolu_w1', name: 'write_file' });
    expect(r2.messages[2].content[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_w1', content: 'Wrote hello.txt' });
    expect(r2.messages[2].content[0].is_error).toBeUndefined();
    expect(beats).toBeGreaterThan(2);

    const records = await readTranscript(stateDir, 'run-1/task-a');
    expect(records.map((r) => `${r.kind}:${r.turn}`)).toEqual(['user:1', 'assistant:1', 'tool_result:1', 'user:2', 'assistant:2']);
  });

  it('reuses the stored reply on a retry: the model is called once, the tool runs once', async () => {
    stub.enqueue(writeHello);
    const { modelTurn } = activities();
    const first = await modelTurn(turnInput(1));
    const retry = await modelTurn(turnInput(1));
    expect(stub.requests).toHaveLength(1);
    expect(executed).toEqual(['write_file']);
    expect(retry.replayed).toBe(true);
    expect({ ...retry, replayed: false }).toEqual(first);
    // The turn's records are not duplicated by the retry.
    const records = await readTranscript(stateDir, 'run-1/task-a');
    expect(records.map((r) => r.kind)).toEqual(['user', 'assistant', 'tool_result']);
  });

  it('after a crash while tools run, the retry reuses the reply and runs only the tools not yet done', async () => {
    stub.enqueue({
      content: [
        { type: 'tool_use', id: 'toolu_a', name: 'write_file', input: { path: 'a.txt', content: 'a' } },
        { type: 'tool_use', id: 'toolu_b', name: 'write_file', input: { path: 'b.txt', content: 'b' } },
      ],
      usage: { input_tokens: 10, output_tokens: 10 },
    });
    let failOnce = true;
    const flaky: FileToolExecutor = async (ctx, name, raw) => {
      if ((raw as { path: string }).path === 'b.txt' && failOnce) {
        failOnce = false;
        throw new Error('worker lost its disk for a moment');
      }
      return fakeExecutor(ctx, name, raw);
    };
    const { modelTurn } = activities({ executeFileTool: flaky });
    await expect(modelTurn(turnInput(1))).rejects.toThrow(/disk/);
    const retry = await modelTurn(turnInput(1));
    expect(stub.requests).toHaveLength(1);
    expect(retry.replayed).toBe(true);
    expect(executed).toEqual(['write_file', 'write_file']); // a.txt once, b.txt once (the failed call never ran)
    expect(retry.toolRuns.map((r) => r.summary)).toEqual(['write a.txt', 'write b.txt']);
    expect(retry.usage).toEqual({ inputTokens: 10, outputTokens: 10, cacheWriteTokens: 0, cacheReadTokens: 0 });
  });

  it('places cache breakpoints on the last tool, the system block and the latest message, and keeps the prefix stable', async () => {
    stub.enqueue(writeHello, {
      content: [{ type: 'tool_use', id: 'toolu_r1', name: 'read_file', input: { path: 'hello.txt' } }],
    }, finishDone);
    const { modelTurn } = activities();
    await modelTurn(turnInput(1));
    await modelTurn(turnInput(2));
    await modelTurn(turnInput(3));
    const [r1, r2, r3] = stub.requests.map((r) => r.body);

    const breakpoints = (body: { tools: object[]; system: object[]; messages: { content: object[] }[] }): string[] => {
      const where: string[] = [];
      body.tools.forEach((t, i) => 'cache_control' in t && where.push(`tool${i}`));
      body.system.forEach((s, i) => 'cache_control' in s && where.push(`system${i}`));
      body.messages.forEach((m, i) => m.content.forEach((b, j) => 'cache_control' in b && where.push(`m${i}.${j}`)));
      return where;
    };
    expect(breakpoints(r1)).toEqual(['tool3', 'system0', 'm0.0']);
    expect(breakpoints(r2)).toEqual(['tool3', 'system0', 'm0.0', 'm2.0']);
    expect(breakpoints(r3)).toEqual(['tool3', 'system0', 'm2.0', 'm4.0']);
    for (const body of [r1, r2, r3]) {
      expect(breakpoints(body).length).toBeLessThanOrEqual(4);
      expect(body.tools[3].cache_control).toEqual({ type: 'ephemeral' });
    }

    // Each request repeats the previous one's prefix exactly: tools, system, and every earlier message.
    const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (k, v) => (k === 'cache_control' ? undefined : v)));
    expect(r2.tools).toEqual(r1.tools);
    expect(r3.tools).toEqual(r1.tools);
    expect(r2.system).toEqual(r1.system);
    expect(r2.messages.slice(0, 1)).toEqual(r1.messages);
    expect(strip(r3.messages.slice(0, 3))).toEqual(strip(r2.messages));
    // The breakpoint that turn 2 wrote (end of its latest message) is where turn 3 reads from.
    expect(r3.messages[2].content.at(-1).cache_control).toEqual({ type: 'ephemeral' });
  });

  it('answers invalid, unknown and unavailable tool calls with is_error results and does not pass them on', async () => {
    stub.enqueue(
      {
        content: [
          { type: 'tool_use', id: 'toolu_bad_write', name: 'write_file', input: { path: 'x.txt' } },
          { type: 'tool_use', id: 'toolu_spawn', name: 'spawn_agent', input: { name: 'helper', goal: 'help' } },
          { type: 'tool_use', id: 'toolu_rm', name: 'rm_rf', input: {} },
          { type: 'tool_use', id: 'toolu_bad_finish', name: 'finish', input: { summary: '' } },
          { type: 'tool_use', id: 'toolu_msg', name: 'send_message', input: { to: 'parent', text: 'hi' } },
        ],
      },
      finishDone,
    );
    const { modelTurn } = activities();
    const first = await modelTurn(turnInput(1));
    expect(executed).toEqual([]);
    expect(first.orchestrationCalls).toEqual([{ id: 'toolu_msg', name: 'send_message', input: { to: 'parent', text: 'hi' } }]);
    expect(first.toolRuns.map((r) => [r.name, r.isError])).toEqual([
      ['write_file', true],
      ['spawn_agent', true],
      ['rm_rf', true],
      ['finish', true],
    ]);

    await modelTurn(turnInput(2, { toolResults: [{ toolUseId: 'toolu_msg', content: 'delivered to parent' }] }));
    const results = stub.requests[1]!.body.messages[2].content;
    expect(results.map((b: { tool_use_id: string }) => b.tool_use_id)).toEqual([
      'toolu_bad_write',
      'toolu_spawn',
      'toolu_rm',
      'toolu_bad_finish',
      'toolu_msg',
    ]);
    expect(results[0]).toMatchObject({ type: 'tool_result', is_error: true });
    expect(results[0].content).toMatch(/Invalid input for write_file.*content/);
    expect(results[1].content).toMatch(/not available/);
    expect(results[2].content).toMatch(/Unknown tool "rm_rf"/);
    expect(results[3].content).toMatch(/Invalid input for finish.*summary/);
    expect(results[4]).toEqual({ type: 'tool_result', tool_use_id: 'toolu_msg', content: 'delivered to parent', cache_control: { type: 'ephemeral' } });
  });

  it('puts orchestration results in reply order, fills in a missing one, and appends the inbox', async () => {
    stub.enqueue(
      {
        content: [
          { type: 'tool_use', id: 'toolu_m1', name: 'send_message', input: { to: 'parent', text: 'one' } },
          { type: 'tool_use', id: 'toolu_w', name: 'write_file', input: { path: 'w.txt', content: 'w' } },
          { type: 'tool_use', id: 'toolu_m2', name: 'send_message', input: { to: 'parent', text: 'two' } },
        ],
      },
      finishDone,
    );
    const { modelTurn } = activities();
    await modelTurn(turnInput(1));
    await modelTurn(
      turnInput(2, { toolResults: [{ toolUseId: 'toolu_m1', content: 'sent' }], inbox: ['parent: please hurry'] }),
    );
    const content = stub.requests[1]!.body.messages[2].content;
    expect(content.map((b: { type: string; tool_use_id?: string }) => b.tool_use_id ?? b.type)).toEqual([
      'toolu_m1',
      'toolu_w',
      'toolu_m2',
      'text',
    ]);
    expect(content[2]).toMatchObject({ is_error: true, content: expect.stringMatching(/No result/) });
    expect(content[3].text).toContain('parent: please hurry');
  });

  it('never lets the API key into errors, transcripts or outputs', async () => {
    stub.enqueue(
      { content: [{ type: 'text', text: `I saw the key ${KEY} somewhere.` }, writeHello.content[1]!] },
      { kind: 'error', status: 401, message: `invalid x-api-key: ${KEY}` },
    );
    const { modelTurn } = activities();
    const out = await modelTurn(turnInput(1));
    const failure = (await modelTurn(turnInput(2)).then(
      () => new Error('expected the turn to fail'),
      (e: unknown) => e,
    )) as Error;
    // The key really was sent (so the checks below are not vacuous) ...
    expect(stub.requests[0]!.headers['authorization'] ?? stub.requests[0]!.headers['x-api-key']).toContain(KEY);
    // ... and appears nowhere cadre writes.
    expect(failure).toBeInstanceOf(Error);
    expect(failure.message).not.toContain(KEY);
    expect(failure.message).toContain('[redacted]');
    expect(JSON.stringify(failure)).not.toContain(KEY);
    expect(String(failure.stack)).not.toContain(KEY);
    expect(JSON.stringify(out)).not.toContain(KEY);
    const transcript = await fs.readFile(transcriptPath(stateDir, 'run-1/task-a'), 'utf8');
    expect(transcript).not.toContain(KEY);
    expect(transcript).toContain('[redacted]');
  });

  it('truncates the text that goes to history; the transcript keeps it whole', async () => {
    const long = 'x'.repeat(5000);
    stub.enqueue({ content: [{ type: 'text', text: long }] });
    const { modelTurn } = activities();
    const out = await modelTurn(turnInput(1));
    expect(out.stopReason).toBe('end_turn');
    expect(out.text.length).toBeLessThanOrEqual(300);
    expect(JSON.stringify(out).length).toBeLessThan(1000);
    const records = await readTranscript(stateDir, 'run-1/task-a');
    expect(records[1]).toMatchObject({ kind: 'assistant', content: [{ type: 'text', text: long }] });
  });

  it('refuses a turn whose earlier turns are not in the transcript', async () => {
    const { modelTurn } = activities();
    const err = await modelTurn(turnInput(3)).catch((e: unknown) => e as { type?: string; nonRetryable?: boolean });
    expect(err).toMatchObject({ type: 'TranscriptMissing', nonRetryable: true });
    expect(stub.requests).toHaveLength(0);
  });

  it('keeps heartbeating while the model has not answered yet', async () => {
    let beats = 0;
    const slow = {
      name: 'slow',
      call: async () => {
        await new Promise((r) => setTimeout(r, 120));
        return { content: [{ type: 'text' as const, text: 'late' }], stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1, cacheWriteTokens: 0, cacheReadTokens: 0 }, model: 'm' };
      },
    };
    const { modelTurn } = activities({ backends: { anthropic: slow }, heartbeatIntervalMs: 10 }, () => beats++);
    const out = await modelTurn(turnInput(1));
    expect(out.text).toBe('late');
    expect(beats).toBeGreaterThanOrEqual(5);
  });

  it('fails the attempt with the stable type when a file tool hits a system fault', async () => {
    stub.enqueue(writeHello);
    const broken: FileToolExecutor = async () => {
      throw new TypedFailure(ErrorType.WorkspaceError, 'workspace root is not accessible', false);
    };
    const { modelTurn } = activities({ executeFileTool: broken });
    await expect(modelTurn(turnInput(1))).rejects.toMatchObject({ type: 'WorkspaceError', nonRetryable: true });
  });
});
