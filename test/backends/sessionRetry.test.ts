/**
 * Fix-and-retry on a session backend (docs/loops.md), on the real Temporal server with the real Claude Code CLI and
 * a local Messages API stub playing the model: a session whose work misses a declared output is resumed — same
 * session, same worktree — with the failure as its prompt, writes the output, and the agent completes; usage is
 * settled once per request, not once per attempt.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSessionLog } from '../../src/activities/backends/session';
import { readSessionRecord } from '../../src/activities/backends/session/store';
import { defaultLimits, type AgentInput } from '../../src/shared/agent';
import { agentResultOf } from '../../src/client/results';
import { startMessagesStub, type MessagesStub } from '../support/messagesStub';
import { makeRepo, showFile } from '../support/repo';
import { uniqueId, withWorker } from '../support/temporal';
import { claudeBin, claudeStubEnv } from './support';

const model = 'claude-haiku-4-5';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const cwdOf = (body: any): string | undefined => /Primary working directory: ([^\\"]+?)\\n/.exec(JSON.stringify(body))?.[1];

describe.skipIf(!claudeBin)('fix-and-retry on claude-code (real CLI, stub API, real worker)', () => {
  let stub: MessagesStub;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    stub = await startMessagesStub();
    env = claudeStubEnv(stub.url);
  });
  afterAll(() => stub.close());

  it('a session that forgot an output is resumed with the failure, writes it, and the agent completes', async () => {
    const repo = makeRepo();
    stub.respondWith((body) => {
      const text = JSON.stringify(body.messages ?? []);
      if (!text.includes('Verification failed')) return { content: [{ type: 'text', text: 'all done' }], usage: { input_tokens: 500, output_tokens: 10 } };
      if (!text.includes('toolu_fix')) return { content: [{ type: 'tool_use', id: 'toolu_fix', name: 'Write', input: { file_path: join(cwdOf(body)!, 'out.txt'), content: 'out\n' } }], usage: { input_tokens: 700, output_tokens: 20 } };
      return { content: [{ type: 'text', text: 'fixed' }], usage: { input_tokens: 800, output_tokens: 10 } };
    });
    const before = stub.requests.length;
    const { result, record, log } = await withWorker({ deps: { sessionEnv: env } }, async ({ client, taskQueue, stateDir }) => {
      const id = uniqueId('cc-fix');
      const input: AgentInput = { repo, baseRef: 'HEAD', goal: 'write out.txt', backend: 'claude-code', model, maxTokens: 4096, maxTurns: 20, budget: { usd: 2 }, depth: 0, limits: defaultLimits, outputs: ['out.txt'] };
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [input] });
      const result = await agentResultOf(handle);
      return { result, record: readSessionRecord(stateDir, id), log: readSessionLog(stateDir, id) };
    });
    expect(result.status).toBe('completed');
    expect(result.attempts).toEqual([
      { attempt: 1, ok: false, check: 'outputs', summary: 'missing outputs: out.txt' },
      { attempt: 2, ok: true, summary: 'passed' },
    ]);
    expect(showFile(repo, result.branch, 'out.txt')).toBe('out\n');
    // One session, resumed: the second attempt's requests carry the first one's conversation.
    const posts = stub.requests.slice(before).filter((r) => r.method === 'POST' && JSON.stringify(r.body).includes('Verification failed'));
    expect(posts.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(posts[0]!.body)).toContain('all done');
    expect(record!.fixAttempt).toBe(2);
    expect(log.filter((e) => (e as { type?: string }).type === 'cadre.attempt').map((e) => (e as { fix?: number }).fix ?? 1)).toEqual([1, 2]);
    // The session's totals over both attempts are settled once: the agent's usage is the record's.
    expect(result.usage.inputTokens).toBe(record!.usage.inputTokens);
    expect(result.costUsd).toBeCloseTo(record!.costUsd, 12);
  }, 240_000);

  it('review: a session whose reviewer requests changes is resumed with the request, and the second review approves', async () => {
    const repo = makeRepo();
    stub.respondWith((body) => {
      const text = JSON.stringify(body.messages ?? []);
      if (!text.includes('Review requested changes')) return { content: [{ type: 'text', text: 'all done' }], usage: { input_tokens: 500, output_tokens: 10 } };
      if (!text.includes('toolu_rev')) return { content: [{ type: 'tool_use', id: 'toolu_rev', name: 'Write', input: { file_path: join(cwdOf(body)!, 'reviewed.txt'), content: 'yes\n' } }], usage: { input_tokens: 700, output_tokens: 20 } };
      return { content: [{ type: 'text', text: 'revised' }], usage: { input_tokens: 800, output_tokens: 10 } };
    });
    const { result, record } = await withWorker({ deps: { sessionEnv: env } }, async ({ client, taskQueue, stateDir }) => {
      const id = uniqueId('cc-review');
      const review = { backend: 'command' as const, command: ['sh', '-c', 'test -f reviewed.txt || { echo "please add reviewed.txt"; exit 3; }'], rounds: 2 };
      const input: AgentInput = { repo, baseRef: 'HEAD', goal: 'write something', backend: 'claude-code', model, maxTokens: 4096, maxTurns: 20, budget: { usd: 2 }, depth: 0, limits: defaultLimits, review };
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [input] });
      return { result: await agentResultOf(handle), record: readSessionRecord(stateDir, id) };
    });
    expect(result.status).toBe('completed');
    expect(result.reviews!.map((r) => [r.round, r.verdict])).toEqual([[1, 'changes'], [2, 'approve']]);
    expect(showFile(repo, result.branch, 'reviewed.txt')).toBe('yes\n');
    // Resumed, not started afresh: the session's record is on its second attempt.
    expect(record!.fixAttempt).toBe(2);
  }, 240_000);
});
