import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCommandPolicy } from '../../src/activities/commandRunner';
import { readTranscript } from '../../src/activities/model/transcript';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { agentMessageSignal, agentStatusQuery, mailboxQuery, type AgentMessage } from '../../src/shared/messages';
import { plan, task } from '../support/plans';
import { makeRepo } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { runResultOf } from '../../src/client/results';

function scripts(s: Record<string, unknown[]>): string {
  const dir = testDir('scripts');
  mkdirSync(dir, { recursive: true });
  for (const [name, turns] of Object.entries(s)) writeFileSync(join(dir, `${name}.json`), JSON.stringify({ turns }));
  return dir;
}

const input = (repo: string, script: string, extra: Partial<AgentInput> = {}): AgentInput => ({
  repo, baseRef: 'HEAD', goal: 'talk', backend: 'scripted', model: 'scripted', maxTokens: 1024, maxTurns: 20, budget: {}, depth: 0, limits: defaultLimits, script, ...extra,
});

describe('messages between agents', () => {
  it('100 messages of mixed priorities reach the model in priority-then-FIFO order, none lost or duplicated, though each is sent twice', async () => {
    const repo = makeRepo();
    const gate = join(testDir('gate'), 'open');
    const dir = scripts({
      A: [
        { tools: [{ spawn_agent: { name: 'gate', goal: 'hold', backend: 'command', command: ['sh', '-c', `while [ ! -f ${gate} ]; do sleep 0.1; done`] } }] },
        { tools: [{ wait_for_agents: {} }] },
        { tools: [{ read_messages: {} }] },
        { tools: [{ finish: { summary: 'read them all' } }] },
      ],
    });
    const priorities = ['low', 'high', 'normal'] as const;
    const sent: AgentMessage[] = Array.from({ length: 100 }, (_, i) => ({ id: `op-${i}`, from: 'operator', to: '', text: `message ${i}`, priority: priorities[(i * 7) % 3]!, sentAt: 0 }));
    // The gate is a shell a model chose: allowed here on purpose (model-chosen commands obey the command policy).
    const policy = { ...defaultCommandPolicy, allow: [...defaultCommandPolicy.allow, 'sh'] };
    const { stateDir, id, result } = await withWorker({ deps: { policy } }, async ({ client, taskQueue, stateDir }) => {
      const id = uniqueId('mbox');
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [input(repo, join(dir, 'A.json'))] });
      for (let i = 0; i < 200; i++) {
        if ((await handle.query(agentStatusQuery)).status === 'waiting') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const m of sent) {
        await handle.signal(agentMessageSignal, { ...m, to: id });
        await handle.signal(agentMessageSignal, { ...m, to: id });
      }
      const box = await handle.query(mailboxQuery);
      expect(box.messages).toHaveLength(100);
      expect(box.messages.every((m) => m.state === 'pending')).toBe(true);
      writeFileSync(gate, 'open');
      const result = (await handle.result()) as AgentResult;
      const after = await handle.query(mailboxQuery);
      expect(after.messages.every((m) => m.state === 'processed')).toBe(true);
      return { stateDir, id, result };
    });
    expect(result.status).toBe('completed');
    const records = await readTranscript(stateDir, id);
    const turn3 = records.find((r) => r.kind === 'user' && r.turn === 3)!;
    const text = JSON.stringify(turn3);
    const order = [...text.matchAll(/\[message (op-\d+) from operator/g)].map((m) => m[1]);
    const rank = { high: 0, normal: 1, low: 2 };
    const expected = [...sent].sort((a, b) => rank[a.priority] - rank[b.priority] || Number(a.id.slice(3)) - Number(b.id.slice(3))).map((m) => m.id);
    expect(order).toEqual(expected);
  });

  it('a scripted parent and child exchange a question and its answer in one thread', async () => {
    const repo = makeRepo();
    const dir = scripts({
      P: [
        { tools: [{ spawn_agent: { name: 'c', goal: 'ask first', script: 'C.json' } }] },
        { tools: [{ read_messages: { wait_seconds: 60 } }] },
        { tools: [{ send_message: { to: 'c', text: 'Edit notes.md, please.', reply_to: 'c#1' } }] },
        { tools: [{ wait_for_agents: {} }] },
        { tools: [{ finish: { summary: 'answered' } }] },
      ],
      C: [
        { tools: [{ send_message: { to: 'parent', text: 'Which file should I edit?', priority: 'high' } }] },
        { tools: [{ read_messages: { wait_seconds: 60 } }] },
        { tools: [{ write_file: { path: 'notes.md', content: 'edited as told\n' } }] },
        { tools: [{ finish: { summary: 'did as told' } }] },
      ],
    });
    const { parentBox, childBox, result, stateDir, id } = await withWorker({}, async ({ client, taskQueue, stateDir }) => {
      const id = uniqueId('qa');
      const handle = await client.workflow.start('agent', { workflowId: id, taskQueue, args: [input(repo, join(dir, 'P.json'))] });
      const result = (await handle.result()) as AgentResult;
      return { result, parentBox: await handle.query(mailboxQuery), childBox: await client.workflow.getHandle(`${id}/c`).query(mailboxQuery), stateDir, id };
    });
    expect(result.status).toBe('completed');
    const question = parentBox.messages.find((m) => m.from === `${id}/c`)!;
    expect(question).toMatchObject({ id: `${id}/c#1`, text: 'Which file should I edit?', priority: 'high', state: 'processed', thread: `${id}/c#1` });
    const answer = childBox.messages.find((m) => m.from === id)!;
    expect(answer).toMatchObject({ text: 'Edit notes.md, please.', replyTo: `${id}/c#1`, thread: `${id}/c#1`, state: 'processed' });
    // Both sides list the whole thread: the question, then the answer.
    for (const box of [parentBox, childBox]) expect(box.messages.filter((m) => m.thread === `${id}/c#1`).map((m) => m.text)).toEqual(['Which file should I edit?', 'Edit notes.md, please.']);
    expect(JSON.stringify(await readTranscript(stateDir, `${id}/c`))).toContain('Edit notes.md, please.');
  });

  it('a message to a finished agent lands in the run\'s dead-letter list with its reason', async () => {
    const repo = makeRepo();
    const runId = uniqueId('dl');
    const dir = scripts({
      P: [
        { tools: [{ spawn_agent: { name: 'quick', goal: 'be done', script: 'Q.json' } }] },
        { tools: [{ wait_for_agents: {} }] },
        { tools: [{ send_message: { to: 'quick', text: 'are you still there?' } }, { send_message: { to: `${runId}/nobody-ever`, text: 'hello?' } }, { send_message: { to: 'operator', text: 'all done here' } }] },
        { tools: [{ finish: { summary: 'done' } }] },
      ],
      Q: [{ tools: [{ finish: { summary: 'quick one' } }] }],
    });
    const result = await withWorker({}, async ({ client, taskQueue }) => {
      return await runResultOf(await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan([task('lead', { backend: 'scripted', script: join(dir, 'P.json') })]) }] }));
    });
    expect(result.status).toBe('completed');
    expect(result.deadLetters).toHaveLength(2);
    const [toQuick, toNobody] = result.deadLetters;
    expect(toQuick!.message).toMatchObject({ to: `${result.runId}/lead/quick`, text: 'are you still there?' });
    expect(toQuick!.reason).toMatch(/lead\/quick has ended or does not exist/);
    expect(toNobody!.message.to).toBe(`${runId}/nobody-ever`);
    expect(result.toOperator.map((m) => m.text)).toEqual(['all done here']);
    expect(existsSync(repo)).toBe(true);
  });
});
