/**
 * A Claude Code or Codex session on a lost host resumes on another (docs/hosts.md, "Losing a host"): two real
 * `cadre worker` processes with distinct CADRE_HOST and state directories, one bare remote, one task on the session
 * backend (the real CLI against a local stub of its model API). The session writes a.txt, then waits for the model;
 * once a checkpoint has pushed a.txt and saved the session's state to the remote, its host is `kill -9`ed (its
 * program too, as a machine going down takes it) and its state directory deleted. Checked: the run completes on the
 * other host, in the same session (same id, restored from the remote, the resumed request carries the earlier
 * turns, the first request was never asked again), and a.txt — written before the checkpoint, never rewritten — is
 * on the remote's integration branch.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sessionStateKey } from '../../src/activities/backends/session/checkpoint';
import { readSessionRecord } from '../../src/activities/backends/session/store';
import { sanitizeRef } from '../../src/activities/paths';
import { stateRef } from '../../src/activities/remoteState';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import type { AgentProgramBackend, SessionResult } from '../../src/shared/session';
import { claudeBin, codexBin } from '../backends/support';
import { startMessagesStub } from '../support/messagesStub';
import { plan, task } from '../support/plans';
import { git, showFile } from '../support/repo';
import { startResponsesStub } from '../support/responsesStub';
import { testClient, uniqueId } from '../support/temporal';
import { killedAfterEach, type ChildWorkerEnv } from './support/childWorker';
import { runsOf } from './support/history';
import { activitiesOf, bareRemote, startHosts } from './support/hosts';
import { describeStuck, pendingActivities, waitFor, within } from './support/scene';

const HOSTS = ['s1', 's2'];
const workers = killedAfterEach();

interface Scene {
  backend: AgentProgramBackend;
  model: string;
  env: Partial<ChildWorkerEnv>;
  /** The id of the tool call the session made before the checkpoint: in its transcript and in the resumed request. */
  callId: string;
  /** Model requests so far, and what each sent (the conversation). */
  requests(): string[];
  /** The session's host is gone: the model may answer the held request's successor. */
  release(): void;
}

async function loseTheSessionsHost(scene: Scene): Promise<void> {
  const client = await testClient();
  const remote = bareRemote();
  const taskQueue = uniqueId(`tq-sess-${scene.backend}`);
  const { started, stateDirs, hostOfIdentity } = await startHosts(taskQueue, (w) => workers.push(w), { hosts: HOSTS, env: { ...scene.env, CADRE_SESSION_CHECKPOINT_SECONDS: '1' } });
  const runId = uniqueId(`sess-${scene.backend}`);
  const agentId = `${runId}/t1`;
  const branch = `cadre/${sanitizeRef(agentId)}`;
  const handle = await client.workflow.start('runPlan', {
    workflowId: runId,
    taskQueue,
    args: [{ runId, repo: remote, plan: plan([task('t1', { backend: scene.backend, model: scene.model, prompt: 'Write a.txt' })], { name: 'sess' }) } satisfies RunPlanInput],
  });

  // The session's host, once it waits for its second answer and a checkpoint has a.txt and the answered turn.
  const victimHost = await waitFor('the session running on a host', async () => {
    const [a] = (await pendingActivities(client, [agentId])).filter((p) => p.type === 'runAgentSession' && p.state === 2 && p.identity);
    return a ? hostOfIdentity.get(a.identity!) : undefined;
  }, 120_000);
  await waitFor('the second (held) model request', () => scene.requests().length >= 2, 120_000);
  await waitFor('a checkpoint with a.txt and the answered turn', () => {
    if (showFile(remote, branch, 'a.txt')?.trim() !== 'one') return false;
    try {
      return git(remote, 'log', '-p', '-1', stateRef(sessionStateKey(agentId))).includes(scene.callId);
    } catch {
      return false;
    }
  }, 60_000);
  const victimDir = stateDirs.get(victimHost)!;
  const before = readSessionRecord(victimDir, agentId)!;
  expect(before.sessionId).toBeTruthy();

  // The host goes down: its worker and its program, then its disk.
  await started[HOSTS.indexOf(victimHost)]!.kill();
  if (before.pid) {
    try {
      process.kill(-before.pid, 'SIGKILL');
    } catch {
      // gone with its worker
    }
  }
  rmSync(victimDir, { recursive: true, force: true });
  scene.release();

  const result = (await within(handle.result(), 240_000, 'the run completing on the host left').catch(async (err: unknown) => {
    throw new Error(`${String(err)}\n${await describeStuck(client, runId, remote)}\n${started.map((w) => w.output()).join('\n')}`);
  })) as RunPlanResult;
  expect(result.status).toBe('completed');
  expect(result.tasks.map((t) => [t.id, t.status, t.attempts])).toEqual([['t1', 'completed', 1]]);

  // The workspace moved to the other host, and the session ran there, resumed.
  const survivor = HOSTS.find((h) => h !== victimHost)!;
  const acts = (await runsOf(client, agentId)).flatMap(activitiesOf);
  expect(acts.filter((a) => a.type === 'createWorkspace' && a.result).map((a) => (a.result as { host: string }).host)).toEqual([victimHost, survivor]);
  const sessions = acts.filter((a) => a.type === 'runAgentSession' && a.result);
  expect(sessions).toHaveLength(1);
  expect(hostOfIdentity.get(sessions[0]!.identity!)).toBe(survivor);
  const session = sessions[0]!.result as SessionResult;
  expect(session.status).toBe('completed');
  expect(session.resumed, 'the session was resumed, not started again').toBe(true);
  expect(session.sessionId, 'the same session id').toBe(before.sessionId);
  const after = readSessionRecord(stateDirs.get(survivor)!, agentId)!;
  expect(after.starts).toBe(2);
  expect(after.restoredFrom, 'restored from the remote').toBeTruthy();

  // Not from scratch: the task's first request was asked once; the resumed one carries the earlier turns.
  const sent = scene.requests();
  expect(sent).toHaveLength(3);
  expect(sent.filter((r) => !r.includes(scene.callId))).toHaveLength(1);
  expect(sent[2]).toContain(scene.callId);
  expect(sent[2]).toContain('Write a.txt');
  // Usage of both hosts' parts, each answered response once. (Codex's result reports the resumed turn's usage
  // only, on one host as on two: not checked here.)
  if (scene.backend === 'claude-code') expect(session.usage.inputTokens).toBe(1000 + 1300);

  // The file written before the checkpoint is on the remote's integration branch.
  expect(showFile(remote, result.integrationBranch, 'a.txt')?.trim()).toBe('one');
  console.log(`[session moved] ${scene.backend}: ${victimHost} -> ${survivor}, session ${before.sessionId}`);
}

describe.skipIf(!claudeBin)('a claude-code session on a lost host', () => {
  it('resumes on another host from its last checkpoint: same session, earlier turns kept, its file merged', async () => {
    const stub = await startMessagesStub();
    let released = false;
    stub.respondWith((body) => {
      const text = JSON.stringify(body.messages ?? []);
      if (!text.includes('tool_result')) {
        const cwd = /Primary working directory: ([^\\"]+?)\\n/.exec(JSON.stringify(body))?.[1];
        return { content: [{ type: 'tool_use', id: 'toolu_m1', name: 'Write', input: { file_path: path.join(cwd!, 'a.txt'), content: 'one\n' } }], usage: { input_tokens: 1000, output_tokens: 10 } };
      }
      // The session waits for the model until its host is gone; the host it moved to gets the answer.
      if (!released) return { kind: 'hold' };
      return { content: [{ type: 'text', text: 'finished on another host' }], usage: { input_tokens: 1300, output_tokens: 10 } };
    });
    try {
      await loseTheSessionsHost({
        backend: 'claude-code',
        model: 'claude-haiku-4-5',
        env: { CADRE_ANTHROPIC_BASE_URL: stub.url, ANTHROPIC_API_KEY: 'sk-ant-test-key-000000000' },
        callId: 'toolu_m1',
        requests: () => stub.requests.filter((r) => r.method === 'POST').map((r) => JSON.stringify(r.body.messages ?? [])),
        release: () => (released = true),
      });
    } finally {
      await stub.close();
    }
  }, 400_000);
});

describe.skipIf(!codexBin)('a codex session on a lost host', () => {
  it('resumes on another host from its last checkpoint with `codex exec resume`: same thread, earlier turns kept', async () => {
    const stub = await startResponsesStub();
    stub.enqueue(
      { output: [{ type: 'function_call', name: 'exec_command', arguments: { cmd: 'echo one > a.txt' }, callId: 'call_m1' }], usage: { input_tokens: 1000, output_tokens: 10 } },
      { kind: 'hold' },
    );
    try {
      await loseTheSessionsHost({
        backend: 'codex',
        model: 'gpt-5',
        env: { OPENAI_BASE_URL: `${stub.url}/v1`, OPENAI_API_KEY: 'sk-test-openai-0000000' },
        callId: 'call_m1',
        requests: () => stub.requests.filter((r) => r.method === 'POST').map((r) => JSON.stringify(r.body.input ?? [])),
        release: () => stub.enqueue({ output: [{ type: 'message', text: 'finished on another host' }], usage: { input_tokens: 1300, output_tokens: 10 } }),
      });
    } finally {
      await stub.close();
    }
  }, 400_000);
});
