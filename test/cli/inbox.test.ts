/**
 * `cadre inbox` through the built CLI on the real dev server: nothing running says so (exit 0), an unreachable
 * server is one line and exit 69; a run makes one item of each kind — a task at its approval gate (`gate`), a quiet
 * task that stalls (`stalled`), two task agents out of budget (`budget`), an agent's question (`message`), the
 * operator's message to an ended task (`dead-letter`) — and answering each (approve, grant, refuse, reply, dismiss,
 * cancel; Updates that say what happened) takes it out of the inbox. A grant repeated with the same id counts once.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InboxItem } from '../../src/client/inbox';
import type { NotifyEvent } from '../../src/shared/notify';
import { cadre, startCadre } from '../support/cli';
import { makeRepo } from '../support/repo';
import { testAddress, testDir, uniqueId } from '../support/temporal';

const envFor = (name: string) => ({ TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir(`${name}-state`), CADRE_TASK_QUEUE: uniqueId(name) });

async function inbox(env: Record<string, string>): Promise<InboxItem[]> {
  const r = await cadre(['inbox', '--json'], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { items: InboxItem[] }).items;
}

describe('cadre inbox', () => {
  it('nothing running: "nothing waits for you", exit 0, and an empty JSON list', async () => {
    const env = envFor('inbox-empty');
    const text = await cadre(['inbox'], env);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('nothing waits for you\n');
    expect(await inbox(env)).toEqual([]);
  }, 120_000);

  it('Temporal unreachable: one line, exit 69', async () => {
    const r = await cadre(['inbox'], { TEMPORAL_ADDRESS: '127.0.0.1:1', CADRE_STATE_DIR: testDir('inbox-down') });
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/^cadre: cannot reach Temporal at 127\.0\.0\.1:1[^\n]*\n$/);
    expect(r.stdout).toBe('');
  }, 120_000);

  it('one item of each kind — gate, stalled, budget, dead letter, message — each with the command that answers it; answering clears it', async () => {
    const dir = testDir('inbox-plan');
    // Each item is also notified (docs/notifications.md): a receiver program appends the events to a file.
    const events = join(dir, 'events.jsonl');
    const receiver = join(dir, 'receiver.sh');
    writeFileSync(receiver, `#!/bin/sh\ncat >> '${events}'\n`);
    chmodSync(receiver, 0o755);
    const env = { ...envFor('inbox'), CADRE_NOTIFY: receiver };
    const file = join(dir, 'plan.yaml');
    writeFileSync(join(dir, 'asker.yaml'), `turns:
  - text: "I ask the operator."
    tools:
      - send_message: { to: operator, text: "Which database should I use?" }
  - text: "I wait for the answer."
    tools:
      - read_messages: { wait_seconds: 900 }
  - tools:
      - finish: { summary: "answered" }
`);
    writeFileSync(join(dir, 'spend.yaml'), `turns:
  - tools:
      - finish: { summary: "done with the budget granted" }
`);
    writeFileSync(
      file,
      `name: inboxed
maxConcurrency: 6
tasks:
  - { id: quick, title: Quick, command: ["true"] }
  - { id: verify, title: Verify by hand, dependsOn: [quick], approval: "Open b.txt and check it", command: ["sh", "-c", "echo b > b.txt"] }
  - { id: quiet, title: Quiet, stallAfter: 30, command: ["sleep", "900"] }
  - { id: asker, title: Asker, script: asker.yaml }
  - { id: spender, title: Spender, script: spend.yaml, budget: { tokens: 2000 } }
  - { id: refused, title: Refused, script: spend.yaml, budget: { tokens: 2000 } }
`,
    );
    const run = await startCadre(['run', file, '--repo', makeRepo()], env, /\] verify waiting for approval/, 240_000);
    try {
      const runId = /started run (\S+)/.exec(run.output())?.[1] ?? '';
      expect(runId).not.toBe('');
      const mine = (items: InboxItem[], kind: string) => items.filter((it) => it.kind === kind && (it.runId === runId || it.agentId?.startsWith(`${runId}/`)));
      let items: InboxItem[] = [];
      for (let i = 0; i < 200 && !(mine(items, 'stalled').length && mine(items, 'budget').length === 2 && mine(items, 'message').length); i++) items = await inbox(env);

      // ---- gate -----------------------------------------------------------------------------------------------
      const gate = mine(items, 'gate');
      expect(gate).toEqual([
        expect.objectContaining({ taskId: 'verify', summary: 'Verify by hand: Open b.txt and check it', command: `cadre approve ${runId} verify`, also: [`cadre reject ${runId} verify --reason '…'`] }),
      ]);
      expect(typeof gate[0].since).toBe('number');

      // ---- stalled ----------------------------------------------------------------------------------------------
      const stalled = mine(items, 'stalled');
      expect(stalled).toEqual([
        expect.objectContaining({ taskId: 'quiet', agentId: `${runId}/quiet`, command: `cadre send ${runId}/quiet '…'`, also: [`cadre cancel ${runId} quiet`], summary: expect.stringMatching(/^stalled: no progress for /) }),
      ]);
      // Answered at once: a stalled agent that stays quiet as long again is ended by its watch (docs/loops.md).
      const cancel = await cadre(stalled[0].also![0].split(' ').slice(1), env);
      expect([cancel.stdout, cancel.stderr, cancel.code]).toEqual(['cancelling quiet\n', '', 0]);

      // ---- message to the operator --------------------------------------------------------------------------------
      const message = mine(items, 'message');
      expect(message).toEqual([
        expect.objectContaining({ agentId: `${runId}/asker`, summary: `${runId}/asker#1 from ${runId}/asker: Which database should I use?`, command: `cadre send ${runId}/asker '…' --reply-to ${runId}/asker#1` }),
      ]);

      // ---- budget requests that reached the top ---------------------------------------------------------------------
      const budget = mine(items, 'budget');
      expect(budget.map((b) => b.agentId).sort()).toEqual([`${runId}/refused`, `${runId}/spender`]);
      const spend = budget.find((b) => b.agentId === `${runId}/spender`)!;
      const asked = spend.amount!.tokens!;
      expect(asked).toBeGreaterThan(0);
      expect(spend).toMatchObject({
        taskId: 'spender',
        requestId: `${runId}/spender#budget-1`,
        command: `cadre budget grant ${runId}/spender ${Math.ceil(asked)} --id ${runId}/spender#budget-1`,
        also: [`cadre budget refuse ${runId}/spender`],
        summary: expect.stringMatching(/^out of budget, asks for \d+ tokens \(refused if unanswered by /),
      });
      const status = await cadre(['status', `${runId}/spender`, '--json'], env);
      expect(JSON.parse(status.stdout)).toMatchObject({ budgetRequest: { requestId: `${runId}/spender#budget-1` }, doing: expect.stringMatching(/^waiting for the operator to grant/) });

      // ---- dead letter: the operator's message to an ended task ---------------------------------------------------
      const late = await cadre(['send', `${runId}/quick`, 'too late'], env);
      expect(late.code).toBe(1);
      const dead = mine(await inbox(env), 'dead-letter');
      expect(dead).toEqual([
        expect.objectContaining({ agentId: `${runId}/quick`, command: expect.stringMatching(new RegExp(`^cadre dismiss ${runId} operator#[0-9a-f]+$`)), also: [`cadre status ${runId}/quick`], summary: expect.stringMatching(new RegExp(`^your message \\S+ to ${runId}/quick not delivered \\(.*has ended.*\\): too late$`)) }),
      ]);

      const text = await cadre(['inbox'], env);
      expect(text.stdout).toContain(`→ cadre approve ${runId} verify`);
      expect(text.stdout).toContain(`→ ${spend.command}   (or cadre budget refuse ${runId}/spender)`);

      // ---- answers: each is an Update that says what happened; the item leaves the inbox -------------------------
      const answer = async (args: string[], stdout: string | RegExp) => {
        const r = await cadre(args, env);
        expect(r.stderr).toBe('');
        if (typeof stdout === 'string') expect(r.stdout).toBe(stdout);
        else expect(r.stdout).toMatch(stdout);
        expect(r.code).toBe(0);
      };
      await answer(gate[0].command.split(' ').slice(1), 'approved verify\n');

      // A grant repeated with the same id counts once: half, the same half again, then what the item asks.
      const agent = `${runId}/spender`;
      const half = Math.floor(asked / 2);
      await answer(['budget', 'grant', agent, String(half), '--id', 'g-half'], `granted ${half} tokens to ${agent}; it still waits for ${asked - half} tokens more (grant g-half)\n`);
      await answer(['budget', 'grant', agent, String(half), '--id', 'g-half'], `grant g-half was counted already: nothing more granted to ${agent} (grant g-half)\n`);
      expect(mine(await inbox(env), 'budget').map((b) => b.agentId)).toContain(agent);
      await answer(['budget', 'grant', agent, String(Math.ceil(asked)), '--id', spend.requestId!], `granted ${Math.ceil(asked)} tokens to ${agent}: the agent resumes (grant ${spend.requestId})\n`);

      // A refusal; refusing again (nothing waits any more) names the agent and exits 2.
      const refused = `${runId}/refused`;
      await answer(['budget', 'refuse', refused, '--reason', 'not this week'], new RegExp(`^refused ${refused}#budget-1: ${refused} goes on without it`));
      const again = await cadre(['budget', 'refuse', `${runId}/asker`], env);
      expect(again.code).toBe(2);
      expect(again.stderr).toBe(`cadre: ${runId}/asker has no budget request waiting for you\n`);

      // The run keeps the dead letter until it is dismissed (before the asker, the last task, ends the run).
      await answer(dead[0].command.split(' ').slice(1), /^operator#[0-9a-f]+ answered: it left the inbox\n$/);
      expect(mine(await inbox(env), 'dead-letter')).toEqual([]);
      // The reply is delivered to the asker (an Update) and takes the message out of the run's inbox.
      await answer(['send', `${runId}/asker`, 'Use SQLite.', '--reply-to', `${runId}/asker#1`], new RegExp(`^delivered operator#[0-9a-f]+ to ${runId}/asker\n${runId}/asker#1 answered: it left the inbox\n$`));

      let left: InboxItem[] = [];
      for (let i = 0; i < 100; i++) {
        left = (await inbox(env)).filter((it) => it.runId === runId || it.agentId?.startsWith(`${runId}/`));
        if (!left.length) break;
      }
      expect(left).toEqual([]);
      const tasks = JSON.parse((await cadre(['status', runId, '--json'], env)).stdout).tasks as { id: string; status: string }[];
      const statusOf = (id: string) => tasks.find((t) => t.id === id)?.status;
      for (let i = 0; i < 100 && !(statusOf('spender') === 'completed' && statusOf('asker') === 'completed'); i++) {
        tasks.splice(0, tasks.length, ...(JSON.parse((await cadre(['status', runId, '--json'], env)).stdout).tasks as { id: string; status: string }[]));
      }
      expect([statusOf('spender'), statusOf('asker'), statusOf('refused')]).toEqual(['completed', 'completed', 'failed']);

      // Every item was notified once, and the run's end.
      const ended = `${runId}/run-ended`;
      const read = () => (existsSync(events) ? readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as NotifyEvent) : []);
      for (let i = 0; i < 300 && !read().some((e) => e.id === ended); i++) await new Promise((r) => setTimeout(r, 100));
      const got = read();
      const counts = new Map<string, number>();
      for (const e of got) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
      expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
      const inboxIds = got.filter((e) => e.inbox).map((e) => e.id).sort();
      expect(inboxIds).toEqual(
        [
          `${runId}/gate/verify#1`,
          `${runId}/quiet/stalled/1`,
          `${runId}/message/${runId}/asker#1`,
          `${runId}/dead-letter/${dead[0].command.split(' ').at(-1)}`,
          `${runId}/spender/budget/1`,
          `${runId}/refused/budget/1`,
        ].sort(),
      );
      expect(got.find((e) => e.id === `${runId}/spender/budget/1`)).toMatchObject({ kind: 'budget', agentId: `${runId}/spender`, command: spend.command, amount: { tokens: asked } });
      expect(got.find((e) => e.id === ended)).toMatchObject({ kind: 'run-ended', status: 'failed', totals: { counts: expect.objectContaining({ completed: 4, failed: 1, cancelled: 1 }) } });
    } finally {
      run.child.kill('SIGTERM');
    }
  }, 600_000);
});
