/**
 * Notifications (docs/notifications.md) on the real dev server with the real `cadre worker` in a child process.
 * A receiver program (it appends its stdin to a file) gets a run's gate, then the worker is killed with SIGKILL
 * the moment the delivery is recorded (its activity may not have completed) and a new worker takes over; a dead letter arrives, the gate is approved, the run ends:
 * every expected event id arrives exactly once. A local HTTP receiver that answers 500 to each event's first
 * delivery gets each id accepted once (retries are harmless). A receiver that always fails (exit 1, HTTP 500)
 * fails no run: the run completes and its status lists the notifications not delivered.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { approveTaskUpdate, deadLetterSignal, runProgressQuery, type RunProgress } from '../../src/shared/messages';
import type { NotifyEvent } from '../../src/shared/notify';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import { commandTask, plan } from '../support/plans';
import { cadre } from '../support/cli';
import { makeRepo } from '../support/repo';
import { testAddress, testClient, testDir, uniqueId } from '../support/temporal';
import { killedAfterEach, startChildWorker } from './support/childWorker';
import { waitFor, within } from './support/scene';

const workers = killedAfterEach();

/** A plan with a quick task and one waiting at its approval gate after it. */
function gatedPlan() {
  return plan([commandTask('quick', 'true'), commandTask('verify', 'echo b > b.txt', { dependsOn: ['quick'], gate: { kind: 'approval', prompt: 'Check b.txt' } })], { name: 'notified' });
}

function envFor(name: string, notify: string) {
  return { TEMPORAL_ADDRESS: testAddress(), CADRE_TASK_QUEUE: uniqueId(`tq-${name}`), CADRE_STATE_DIR: testDir(`${name}-state`), CADRE_NOTIFY: notify };
}

async function startRun(client: Client, taskQueue: string, name: string) {
  const runId = uniqueId(name);
  const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo: makeRepo(), plan: gatedPlan() } satisfies RunPlanInput] });
  const atGate = () => waitFor('verify waiting at its gate', async () => ((await handle.query(runProgressQuery)) as RunProgress).tasks.find((t) => t.id === 'verify')?.status === 'waiting', 120_000);
  return { runId, handle, atGate };
}

/** A receiver program: appends each event (one JSON line on stdin) to `out`. Its environment holds no path: baked in. */
function receiverProgram(dir: string, out: string, exitCode = 0): string {
  const file = join(dir, exitCode ? 'failing-receiver.sh' : 'receiver.sh');
  writeFileSync(file, exitCode ? `#!/bin/sh\ncat > /dev/null\necho "receiver is down" >&2\nexit ${exitCode}\n` : `#!/bin/sh\ncat >> '${out}'\n`);
  chmodSync(file, 0o755);
  return file;
}

const eventsIn = (file: string): NotifyEvent[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as NotifyEvent) : []);

function tally(ids: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) out[id] = (out[id] ?? 0) + 1;
  return out;
}

/** An HTTP receiver: `answer(event, nth delivery of its id)` is the status it replies with. */
async function startReceiver(answer: (e: NotifyEvent, nth: number) => number): Promise<{ url: string; accepted: NotifyEvent[]; tries: Map<string, number>; server: Server }> {
  const accepted: NotifyEvent[] = [];
  const tries = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const e = JSON.parse(body) as NotifyEvent;
      const nth = (tries.get(e.id) ?? 0) + 1;
      tries.set(e.id, nth);
      expect(req.headers['x-cadre-event-id']).toBe(e.id);
      const status = answer(e, nth);
      if (status < 300) accepted.push(e);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/secret-path`, accepted, tries, server };
}

describe('notifications', () => {
  it('a receiver program gets every event exactly once across a worker killed with SIGKILL', async () => {
    const client = await testClient();
    const dir = testDir('notify-program');
    const out = join(dir, 'events.jsonl');
    const env = envFor('notify-kill', receiverProgram(dir, out));
    const w1 = await startChildWorker(env);
    workers.push(w1);
    const { runId, handle, atGate } = await startRun(client, env.CADRE_TASK_QUEUE, 'notify-kill');
    await atGate();
    const gateId = `${runId}/gate/verify#1`;
    // Killed as soon as the delivered-ids record holds the gate: its activity may not have completed yet, and a retry
    // on the new worker then finds the id there and does not send again (a kill before the record is written sends
    // twice: the documented edge, docs/notifications.md).
    const delivered = join(env.CADRE_STATE_DIR, 'notify', 'delivered');
    await waitFor('the gate delivered and recorded', () => existsSync(delivered) && readdirSync(delivered).length === 1, 60_000, 5);
    await w1.kill();
    expect(eventsIn(out).map((e) => e.id)).toEqual([gateId]);

    const w2 = await startChildWorker(env);
    workers.push(w2);
    const letter = { id: 'nobody#1', from: `${runId}/quick`, to: `${runId}/gone`, text: 'hello?', priority: 'normal' as const, sentAt: Date.now() };
    await handle.signal(deadLetterSignal, { message: letter, reason: 'recipient has ended', at: Date.now() });
    // Delivered twice (signals may be): one dead letter, one event.
    await handle.signal(deadLetterSignal, { message: letter, reason: 'recipient has ended', at: Date.now() });
    expect(await handle.executeUpdate(approveTaskUpdate, { args: ['verify'] })).toBe('approved verify');
    const result = (await within(handle.result(), 120_000, 'the run ending on the new worker')) as RunPlanResult;
    expect(result.status).toBe('completed');

    const events = eventsIn(out);
    expect(tally(events.map((e) => e.id))).toEqual({ [gateId]: 1, [`${runId}/dead-letter/nobody#1`]: 1, [`${runId}/run-ended`]: 1 });
    const byId = new Map(events.map((e) => [e.id, e]));
    expect(byId.get(gateId)).toMatchObject({ kind: 'gate', inbox: true, runId, taskId: 'verify', summary: 'verify: Check b.txt', command: `cadre approve ${runId} verify` });
    expect(byId.get(`${runId}/dead-letter/nobody#1`)).toMatchObject({ kind: 'dead-letter', inbox: true, command: `cadre send ${runId}/quick '…' --reply-to nobody#1` });
    expect(byId.get(`${runId}/run-ended`)).toMatchObject({ kind: 'run-ended', inbox: false, status: 'completed', totals: { counts: expect.objectContaining({ completed: 2 }) } });
    // The delivered-ids record (docs/notifications.md) holds the three ids.
    expect(readdirSync(join(env.CADRE_STATE_DIR, 'notify', 'delivered'))).toHaveLength(3);
  }, 400_000);

  it('a webhook that answers 500 to each first delivery accepts each event id once', async () => {
    const client = await testClient();
    const receiver = await startReceiver((_e, nth) => (nth === 1 ? 500 : 204));
    try {
      const env = envFor('notify-http', receiver.url);
      workers.push(await startChildWorker(env));
      const { runId, handle, atGate } = await startRun(client, env.CADRE_TASK_QUEUE, 'notify-http');
      await atGate();
      await handle.executeUpdate(approveTaskUpdate, { args: ['verify'] });
      const result = (await within(handle.result(), 120_000, 'the run ending')) as RunPlanResult;
      expect(result.status).toBe('completed');
      expect(tally(receiver.accepted.map((e) => e.id))).toEqual({ [`${runId}/gate/verify#1`]: 1, [`${runId}/run-ended`]: 1 });
      expect([...receiver.tries.values()]).toEqual([2, 2]);
    } finally {
      receiver.server.close();
    }
  }, 400_000);

  it('a receiver that always fails (exit 1, HTTP 500) fails no run: the run completes and lists what was not delivered', async () => {
    const client = await testClient();
    const receiver = await startReceiver(() => 500);
    try {
      const dir = testDir('notify-failing');
      const cases = [envFor('notify-exit1', receiverProgram(dir, join(dir, 'never.jsonl'), 1)), envFor('notify-500', receiver.url)];
      for (const env of cases) workers.push(await startChildWorker(env));
      await Promise.all(
        cases.map(async (env) => {
          const { runId, handle, atGate } = await startRun(client, env.CADRE_TASK_QUEUE, 'notify-fail');
          await atGate();
          const gateId = `${runId}/gate/verify#1`;
          const failed = await waitFor('the gate recorded as not delivered', async () => ((await handle.query(runProgressQuery)) as RunProgress).notifyFailures, 120_000);
          expect(failed).toEqual([{ id: gateId, error: expect.stringMatching(env.CADRE_NOTIFY.startsWith('http') ? /answered 500/ : /exited 1.*receiver is down/), at: expect.any(Number) }]);
          // The secret part of a webhook's URL is not in what the run records.
          expect(JSON.stringify(failed)).not.toContain('secret-path');
          const status = await cadre(['status', runId], env);
          expect(status.stdout).toContain(`notifications not delivered (1):\n  ${gateId}: `);
          await handle.executeUpdate(approveTaskUpdate, { args: ['verify'] });
          const result = (await within(handle.result(), 180_000, 'the run ending')) as RunPlanResult;
          expect(result.status).toBe('completed');
        }),
      );
      expect(receiver.accepted).toEqual([]);
    } finally {
      receiver.server.close();
    }
  }, 600_000);
});
