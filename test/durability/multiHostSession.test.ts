/**
 * A Claude Code session on a lost host resumes on another (docs/hosts.md, "Losing a host"): two real `cadre worker`
 * processes with distinct CADRE_HOST and state directories, one bare remote, one claude-code task (the real CLI
 * against the Messages API stub). The session writes a.txt, then waits for the model; once a checkpoint has pushed
 * a.txt and saved the session's state to the remote, its host is `kill -9`ed (its program too, as a machine going
 * down takes it) and its state directory deleted. Checked: the run completes on the other host, in the same session
 * (same id, the resumed request carries the earlier turns, the first request was never asked again), and a.txt —
 * written before the checkpoint, never rewritten — is on the remote's integration branch.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSessionRecord } from '../../src/activities/backends/session/store';
import { sanitizeRef } from '../../src/activities/paths';
import { stateRef } from '../../src/activities/remoteState';
import { sessionStateKey } from '../../src/activities/backends/session/checkpoint';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import type { SessionResult } from '../../src/shared/session';
import { claudeBin } from '../backends/support';
import { startMessagesStub } from '../support/messagesStub';
import { plan, task } from '../support/plans';
import { git, showFile } from '../support/repo';
import { testClient, uniqueId } from '../support/temporal';
import { killedAfterEach } from './support/childWorker';
import { runsOf } from './support/history';
import { activitiesOf, bareRemote, startHosts } from './support/hosts';
import { describeStuck, pendingActivities, waitFor, within } from './support/scene';

const HOSTS = ['s1', 's2'];
const workers = killedAfterEach();

describe.skipIf(!claudeBin)('a claude-code session on a lost host', () => {
  it('resumes on another host from its last checkpoint: same session, earlier turns kept, its file merged', async () => {
    const client = await testClient();
    const stub = await startMessagesStub();
    let released = false;
    stub.respondWith((body) => {
      const text = JSON.stringify(body.messages ?? []);
      if (!text.includes('tool_result')) {
        const cwd = /Primary working directory: ([^\\"]+?)\\n/.exec(JSON.stringify(body))?.[1];
        return { content: [{ type: 'tool_use', id: 'toolu_m1', name: 'Write', input: { file_path: path.join(cwd!, 'a.txt'), content: 'before the checkpoint\n' } }], usage: { input_tokens: 1000, output_tokens: 10 } };
      }
      // The session waits for the model until its host is gone; the host it moved to gets the answer.
      if (!released) return { kind: 'hold' };
      return { content: [{ type: 'text', text: 'finished on another host' }], usage: { input_tokens: 1300, output_tokens: 10 } };
    });
    try {
      const remote = bareRemote();
      const taskQueue = uniqueId('tq-sess');
      const { started, stateDirs, hostOfIdentity } = await startHosts(HOSTS, taskQueue, workers, {
        CADRE_ANTHROPIC_BASE_URL: stub.url,
        ANTHROPIC_API_KEY: 'sk-ant-test-key-000000000',
        CADRE_SESSION_CHECKPOINT_SECONDS: '1',
      });
      const runId = uniqueId('sess');
      const agentId = `${runId}/t1`;
      const branch = `cadre/${sanitizeRef(agentId)}`;
      const handle = await client.workflow.start('runPlan', {
        workflowId: runId,
        taskQueue,
        args: [{ runId, repo: remote, plan: plan([task('t1', { backend: 'claude-code', model: 'claude-haiku-4-5', prompt: 'Write a.txt' })], { name: 'sess' }) } satisfies RunPlanInput],
      });
      const posts = () => stub.requests.filter((r) => r.method === 'POST');

      // The session's host, once it waits for its second answer and a checkpoint has a.txt and the session's turns.
      const victimHost = await waitFor('the session running on a host', async () => {
        const [a] = (await pendingActivities(client, [agentId])).filter((p) => p.type === 'runAgentSession' && p.state === 2 && p.identity);
        return a ? hostOfIdentity.get(a.identity!) : undefined;
      }, 120_000);
      await waitFor('the second (held) model request', () => posts().length >= 2, 120_000);
      await waitFor('a checkpoint with a.txt and the answered turn', () => {
        if (showFile(remote, branch, 'a.txt') !== 'before the checkpoint\n') return false;
        try {
          return git(remote, 'log', '-p', '-1', stateRef(sessionStateKey(agentId))).includes('toolu_m1');
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
      released = true;

      const result = (await within(handle.result(), 240_000, 'the run completing on the host left').catch(async (err: unknown) => {
        throw new Error(`${String(err)}\n${await describeStuck(client, runId, remote)}\n${started.map((w) => w.output()).join('\n')}`);
      })) as RunPlanResult;
      expect(result.status).toBe('completed');
      expect(result.tasks.map((t) => [t.id, t.status, t.attempts])).toEqual([['t1', 'completed', 1]]);

      // The workspace moved to the other host, and the session ran there, resumed.
      const survivor = HOSTS.find((h) => h !== victimHost)!;
      const acts = (await runsOf(client, agentId)).flatMap(activitiesOf);
      const creations = acts.filter((a) => a.type === 'createWorkspace' && a.result).map((a) => a.result as { host: string });
      expect(creations.map((c) => c.host)).toEqual([victimHost, survivor]);
      const sessions = acts.filter((a) => a.type === 'runAgentSession' && a.result);
      expect(sessions).toHaveLength(1);
      expect(hostOfIdentity.get(sessions[0]!.identity!)).toBe(survivor);
      const session = sessions[0]!.result as SessionResult;
      expect(session.status).toBe('completed');
      expect(session.resumed, 'the session was resumed, not started again').toBe(true);
      expect(session.sessionId, 'the same session id').toBe(before.sessionId);
      const after = readSessionRecord(stateDirs.get(survivor)!, agentId)!;
      expect(after.sessionId).toBe(before.sessionId);
      expect(after.starts).toBe(2);
      expect(after.restoredFrom, 'restored from the remote').toBeTruthy();

      // Not from scratch: the first request (the task's start) was asked once; the resumed one carries the earlier turns.
      const first = posts().filter((r) => !JSON.stringify(r.body.messages ?? []).includes('tool_result'));
      expect(first).toHaveLength(1);
      const resumed = JSON.stringify(posts().at(-1)!.body.messages);
      expect(resumed).toContain('toolu_m1');
      expect(resumed).toContain('Write a.txt');
      expect(posts()).toHaveLength(3);
      // Usage of both hosts' parts, each answered response once.
      expect(session.usage.inputTokens).toBe(1000 + 1300);

      // The file written before the checkpoint is on the remote's integration branch.
      expect(showFile(remote, result.integrationBranch, 'a.txt')).toBe('before the checkpoint\n');
      console.log(`[session moved] ${victimHost} -> ${survivor}, session ${before.sessionId}`);
    } finally {
      await stub.close();
    }
  }, 400_000);
});
