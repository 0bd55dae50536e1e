/**
 * Error mapping of the anthropic backend, through the real SDK against the local stub: every API failure becomes an
 * ApplicationFailure with a stable type that says whether Temporal should retry, and when.
 */
import { ApplicationFailure } from '@temporalio/common';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createModelActivities } from '../../src/activities/model/modelTurn';
import { inActivities } from '../support/activityContext';
import { readTranscript } from '../../src/activities/model/transcript';
import type { ModelTurnInput } from '../../src/shared/model';
import { startMessagesStub, type MessagesStub, type StubResponse } from '../support/messagesStub';

const KEY = 'sk-ant-api03-ERRORS-fake-key-abcdefghijklmnop';
const NOW = Date.parse('2030-01-01T00:00:00Z');

let stub: MessagesStub;
let stateDir: string;
let workspace: string;

beforeEach(async () => {
  stub = await startMessagesStub();
  stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cadre-err-state-'));
  workspace = await fs.mkdtemp(path.join(os.tmpdir(), 'cadre-err-ws-'));
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await stub.close();
  await fs.rm(stateDir, { recursive: true, force: true });
  await fs.rm(workspace, { recursive: true, force: true });
});

const turn1 = (): ModelTurnInput => ({
  agentId: 'err-agent',
  turn: 1,
  backend: 'anthropic',
  model: 'claude-haiku-4-5',
  maxTokens: 256,
  workspace,
  goal: 'Say hi.',
  tools: ['finish'],
});

async function failureFor(response: StubResponse, baseURL = stub.url): Promise<ApplicationFailure> {
  stub.enqueue(response);
  const { modelTurn } = inActivities(createModelActivities({ stateDir, apiKey: KEY, anthropicBaseURL: baseURL, clock: () => NOW }));
  const err = await modelTurn(turn1()).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  const failure = err as ApplicationFailure;
  expect(failure.message).not.toContain(KEY);
  expect(JSON.stringify(failure.details ?? [])).not.toContain(KEY);
  return failure;
}

describe('anthropic error mapping', () => {
  it('429 with retry-after: 2 → ModelRateLimited, retryable after 2 s', async () => {
    const f = await failureFor({ kind: 'error', status: 429, headers: { 'retry-after': '2' }, message: 'Number of request tokens has exceeded your per-minute rate limit' });
    expect(f.type).toBe('ModelRateLimited');
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(2000);
    expect(f.message).toMatch(/429 rate_limit_error/);
    expect(stub.requests).toHaveLength(1); // the SDK did not retry on its own
  });

  it('honours retry-after-ms and retry-after as an HTTP date', async () => {
    const ms = await failureFor({ kind: 'error', status: 429, headers: { 'retry-after-ms': '1500' } });
    expect(ms.nextRetryDelay).toBe(1500);
    const date = await failureFor({ kind: 'error', status: 429, headers: { 'retry-after': new Date(NOW + 7000).toUTCString() } });
    expect(date.nextRetryDelay).toBe(7000);
    const none = await failureFor({ kind: 'error', status: 429 });
    expect(none.nextRetryDelay).toBeUndefined();
  });

  it('429 for a spend limit → ModelSpendLimit, not retryable', async () => {
    const f = await failureFor({ kind: 'error', status: 429, message: 'You have reached your specified API usage limits (spend limit).' });
    expect(f.type).toBe('ModelSpendLimit');
    expect(f.nonRetryable).toBe(true);
    const credit = await failureFor({ kind: 'error', status: 400, message: 'Your credit balance is too low to access the Anthropic API.' });
    expect(credit).toMatchObject({ type: 'ModelSpendLimit', nonRetryable: true });
  });

  it('529 overloaded → ModelOverloaded, retryable', async () => {
    const f = await failureFor({ kind: 'error', status: 529, message: 'Overloaded' });
    expect(f).toMatchObject({ type: 'ModelOverloaded', nonRetryable: false });
  });

  it('an overloaded error event in the middle of the stream → ModelOverloaded, retryable', async () => {
    const f = await failureFor({ kind: 'stream_error', errorType: 'overloaded_error', message: 'Overloaded' });
    expect(f).toMatchObject({ type: 'ModelOverloaded', nonRetryable: false });
  });

  it.each([500, 502, 503])('%i → ModelServerError, retryable', async (status) => {
    const f = await failureFor({ kind: 'error', status, errorType: 'api_error', message: 'Internal server error' });
    expect(f).toMatchObject({ type: 'ModelServerError', nonRetryable: false });
  });

  it.each([
    [400, 'ModelBadRequest'],
    [404, 'ModelBadRequest'],
    [413, 'ModelBadRequest'],
    [401, 'ModelAuth'],
    [403, 'ModelAuth'],
  ])('%i → %s, not retryable', async (status, type) => {
    const f = await failureFor({ kind: 'error', status, message: `stub says ${status}` });
    expect(f).toMatchObject({ type, nonRetryable: true });
    expect(f.message).toContain(`stub says ${status}`);
  });

  it('a connection failure → ModelServerError, retryable', async () => {
    const dead = await startMessagesStub();
    const deadURL = dead.url;
    await dead.close();
    const f = await failureFor({ content: [] }, deadURL);
    expect(f).toMatchObject({ type: 'ModelServerError', nonRetryable: false });
  });

  it('a missing API key → ModelAuth, not retryable, before any request', async () => {
    vi.stubEnv('ANTHROPIC_API_KEY', '');
    const { modelTurn } = inActivities(createModelActivities({ stateDir, anthropicBaseURL: stub.url }));
    await expect(modelTurn(turn1())).rejects.toMatchObject({ type: 'ModelAuth', nonRetryable: true });
    expect(stub.requests).toHaveLength(0);
  });

  it('a retried turn after a 429 sends the same request and stores its user message once', async () => {
    stub.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '0' } }, { content: [{ type: 'text', text: 'hi' }] });
    const { modelTurn } = inActivities(createModelActivities({ stateDir, apiKey: KEY, anthropicBaseURL: stub.url }));
    await expect(modelTurn(turn1())).rejects.toMatchObject({ type: 'ModelRateLimited' });
    const out = await modelTurn(turn1());
    expect(out).toMatchObject({ text: 'hi', replayed: false });
    expect(stub.requests).toHaveLength(2);
    expect(stub.requests[1]!.body).toEqual(stub.requests[0]!.body);
    const records = await readTranscript(stateDir, 'err-agent');
    expect(records.map((r) => r.kind)).toEqual(['user', 'assistant']);
  });

  it('rejects an invalid activity input as a bad request', async () => {
    const { modelTurn } = inActivities(createModelActivities({ stateDir, apiKey: KEY, anthropicBaseURL: stub.url }));
    await expect(modelTurn({ ...turn1(), workspace: 'relative/dir' })).rejects.toMatchObject({ type: 'ModelBadRequest', nonRetryable: true });
    await expect(modelTurn({ ...turn1(), turn: 0 })).rejects.toMatchObject({ type: 'ModelBadRequest' });
  });
});
