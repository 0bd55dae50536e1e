/**
 * The session activity on a real worker against the run's Temporal dev server: an MCP spawn_agent call of a real
 * Claude Code session reaches the workflow as `orchestrationCallUpdate` (sent with the activity's own client), and
 * the workflow's answer reaches the program as the tool result.
 */
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { createSessionActivities } from '../../src/activities/backends/session';
import { startMessagesStub } from '../support/messagesStub';
import { nativeConnection, testClient, uniqueId } from '../support/temporal';
import { claudeBin, claudeStubEnv, tmpDir } from './support';

describe.skipIf(!claudeBin)('runAgentSession on a real worker', () => {
  it('forwards an MCP call to the workflow as an Update and gives the program its answer', async () => {
    const stub = await startMessagesStub();
    try {
      const workspace = tmpDir('wk-ws');
      stub.enqueue(
        { content: [{ type: 'tool_use', id: 'toolu_s1', name: 'mcp__cadre__spawn_agent', input: { name: 'kid', goal: 'write kid.txt' } }], usage: { input_tokens: 100, output_tokens: 10 } },
        { content: [{ type: 'text', text: 'spawned the kid' }], usage: { input_tokens: 200, output_tokens: 10 } },
      );
      const taskQueue = uniqueId('tq-session');
      const env = claudeStubEnv(stub.url);
      const worker = await Worker.create({
        connection: await nativeConnection(),
        taskQueue,
        workflowsPath: path.join(__dirname, 'fixtures', 'sessionWorkflow.ts'),
        activities: createSessionActivities({ stateDir: tmpDir('wk-state'), env }),
      });
      const client = await testClient();
      const out = await worker.runUntil(
        client.workflow.execute('sessionHarness', {
          taskQueue,
          workflowId: uniqueId('session'),
          args: [{ agentId: 'wk/t1', backend: 'claude-code', model: 'claude-haiku-4-5', workspace, goal: 'spawn a kid', budgetUsd: 1 }],
        }),
      ) as { result: { status: string; sessionId: string }; calls: { callId: string; name: string; input: unknown }[] };
      expect(out.result.status).toBe('completed');
      expect(out.calls).toHaveLength(1);
      expect(out.calls[0]).toMatchObject({ name: 'spawn_agent', input: { name: 'kid', goal: 'write kid.txt' } });
      expect(out.calls[0].callId.startsWith(`${out.result.sessionId}/spawn_agent/`)).toBe(true);
      // The program got the workflow's answer as the tool result.
      const followUp = JSON.stringify(stub.requests.filter((r) => r.method === 'POST')[1].body.messages);
      expect(followUp).toContain('started kid (call 1)');
    } finally {
      await stub.close();
    }
  });
});
