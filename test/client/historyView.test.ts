/**
 * The read layer's pure part (src/client/view/history.ts): recorded histories turned into the task rows and child
 * records `cadre status` and `cadre tree` print when no worker answers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { describe, expect, it } from 'vitest';
import { childWorkflows, closeStatus, decodePayload, lastEventTime, runFromHistory, type HistoryEvent } from '../../src/client/view/history';
import { historiesDir } from '../support/histories';

const load = (name: string) => (JSON.parse(readFileSync(join(historiesDir, `${name}.json`), 'utf8')) as { events: HistoryEvent[] }).events;
const brief = (rows: ReturnType<typeof runFromHistory>['tasks']) => rows.map((t) => `${t.id}:${t.status}:${t.attempts}`);

describe('task rows from a run history', () => {
  it('a finished run of two agent tasks: both completed, with agent ids, times, summaries and commits', () => {
    const events = load('runPlan-two-tasks-v2');
    const { input, tasks } = runFromHistory(events);
    expect(input?.runId).toBe('hello-bcab69c1');
    expect(brief(tasks)).toEqual(['greet:completed:1', 'sign:completed:1']);
    expect(tasks[0]).toMatchObject({ agentId: 'hello-bcab69c1/greet', summary: 'command exited 0', commit: expect.stringMatching(/^[0-9a-f]{40}$/), costUsd: 0 });
    expect(tasks[0]!.endedAt! - tasks[0]!.startedAt!).toBeGreaterThan(0);
    expect(closeStatus(events)).toBe('completed');
    expect(new Date(lastEventTime(events)!).toISOString()).toBe('2026-11-21T07:20:13.262Z');
  });

  it('the same history cut after the second task started: the first completed, the second running, the run still open', () => {
    const all = load('runPlan-two-tasks-v2');
    const cut = all.slice(0, all.findIndex((e) => e.eventType === 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED' && JSON.stringify(e).includes('/sign')) + 1);
    const { tasks } = runFromHistory(cut);
    expect(brief(tasks)).toEqual(['greet:completed:1', 'sign:running:1']);
    expect(tasks[1]!.endedAt).toBeUndefined();
    expect(closeStatus(cut)).toBeUndefined();
    expect(lastEventTime(cut)).toBeLessThan(lastEventTime(all)!);
  });

  it('a gated task whose agent completed waits for its approval until the open run asks to merge its branch', () => {
    // The recorded run with a gate on its first task: its start input re-encoded.
    const all = structuredClone(load('runPlan-two-tasks-v2'));
    const payload = (all[0] as unknown as { workflowExecutionStartedEventAttributes: { input: { payloads: { data: string }[] } } }).workflowExecutionStartedEventAttributes.input.payloads[0]!;
    const input = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as { plan: { tasks: { id: string; gate?: { prompt: string } }[] } };
    input.plan.tasks[0]!.gate = { prompt: 'Check\nthe greeting' };
    payload.data = Buffer.from(JSON.stringify(input)).toString('base64');
    const ended = all.findIndex((e) => e.eventType === 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED');
    const merging = all.findIndex((e, i) => i > ended && e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED' && JSON.stringify(e).includes('"mergeBranch"'));
    expect(ended).toBeGreaterThan(0);
    expect(merging).toBeGreaterThan(ended);

    const atGate = runFromHistory(all.slice(0, ended + 1)).tasks[0]!;
    expect(atGate).toMatchObject({ status: 'waiting', waiting: 'approval: Check the greeting', tokens: 0 });
    expect(runFromHistory(all.slice(0, merging + 1)).tasks[0]!.status).toBe('completed');
    expect(runFromHistory(all).tasks[0]!.status).toBe('completed');
    // Without the gate the same cut reads completed.
    expect(runFromHistory(load('runPlan-two-tasks-v2').slice(0, ended + 1)).tasks[0]!.status).toBe('completed');
  });

  it('cut before anything started: every task of the plan pending', () => {
    const all = load('runPlan-two-tasks-v2');
    expect(brief(runFromHistory(all.slice(0, 3)).tasks)).toEqual(['greet:pending:0', 'sign:pending:0']);
  });

  it('inline command tasks (activities): completed, failed with the reason, and a dependent of a failed task blocked', () => {
    const { tasks } = runFromHistory(load('runPlan-inline'));
    expect(brief(tasks)).toEqual(['a:completed:1', 'b:completed:1', 'broken:failed:1', 'after-broken:blocked:0', 'no-output:failed:1']);
    expect(tasks.find((t) => t.id === 'broken')?.error).toMatch(/command exited 3/);
    expect(tasks.find((t) => t.id === 'no-output')?.error).toBe('missing outputs: dist/app.js');
    expect(tasks.find((t) => t.id === 'after-broken')?.blockedBy).toEqual(['broken']);
  });

  it('reads the same from the SDK\'s own JSON form of a history (what the CLI fetches) as from the recorded file', () => {
    const raw = JSON.parse(readFileSync(join(historiesDir, 'runPlan-two-tasks-v2.json'), 'utf8')) as unknown;
    const viaSdk = (JSON.parse(historyToJSON(historyFromJSON(raw))) as { events: HistoryEvent[] }).events;
    expect(runFromHistory(viaSdk).tasks).toEqual(runFromHistory(load('runPlan-two-tasks-v2')).tasks);
  });

  it('a history that is not a run (or has no input) gives no rows rather than an error', () => {
    expect(runFromHistory(load('fileLocks-two-holders-v2')).tasks).toEqual([]);
    expect(runFromHistory([]).tasks).toEqual([]);
  });
});

describe('children of an agent from its history', () => {
  it('five levels: the root started one agent child, which completed with its own tree in its result', () => {
    const kids = childWorkflows(load('agent-five-levels-v2'));
    expect(kids.length).toBeGreaterThan(0);
    expect(kids.every((k) => k.workflowType === 'agent' && k.end === 'completed')).toBe(true);
    expect((kids[0]!.result as { tree?: { agentId: string } }).tree?.agentId).toBe(kids[0]!.workflowId);
  });
});

describe('payloads', () => {
  it('decodes JSON payloads and refuses what is not one', () => {
    const json = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{"a":1}').toString('base64') };
    expect(decodePayload(json)).toEqual({ a: 1 });
    expect(decodePayload({ metadata: { encoding: Buffer.from('binary/null').toString('base64') } })).toBeUndefined();
    expect(decodePayload({ ...json, data: Buffer.from('{not json').toString('base64') })).toBeUndefined();
    expect(decodePayload(undefined)).toBeUndefined();
  });
});

describe('a running agent\'s status', () => {
  it('the stored status, except starting with work under way reads running', async () => {
    const { liveAgentStatus } = await import('../../src/client/view/history');
    const events = load('agent-command');
    expect(liveAgentStatus(events, 'starting')).toBe('running');
    expect(liveAgentStatus(events.slice(0, 3), 'starting')).toBe('starting');
    expect(liveAgentStatus(events, 'waiting')).toBe('waiting');
    expect(liveAgentStatus([], undefined)).toBe('starting');
  });
});

describe('a lock manager\'s table from its history', () => {
  it('replays the recorded requests and releases: one holder and one waiter, then the second holder, then none', async () => {
    const { locksFromHistory } = await import('../../src/client/view/locks');
    const events = load('fileLocks-two-holders-v2');
    const at = (signals: number) => {
      let seen = 0;
      const i = events.findIndex((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED' && ++seen === signals);
      return locksFromHistory(events.slice(0, i + 1), 'locks/x')!;
    };
    const two = at(2);
    expect(two.holders.map((h) => [h.holderId, h.paths])).toEqual([['runa-bcb71d4a', ['shared.txt']]]);
    expect(two.waiters.map((w) => [w.holderId, w.blockedBy.length])).toEqual([['runb-1f4265d0', 1]]);
    expect(two.repo).toBe('/tmp/cadre-test-YYSUAU/repo-870843e1');
    const three = at(3);
    expect(three.holders.map((h) => h.holderId)).toEqual(['runb-1f4265d0']);
    expect(three.holders[0]!.token).toBe(two.holders[0]!.token + 1);
    expect(three.waiters).toEqual([]);
    const end = locksFromHistory(events, 'locks/x')!;
    expect([end.holders, end.waiters]).toEqual([[], []]);
    expect(end.stats).toMatchObject({ granted: 2, released: 2 });
    expect(end.now).toBe(lastEventTime(events));
  });

  it('replays requests asked in the call (acquire Updates) as the lock manager applied them', async () => {
    const { locksFromHistory } = await import('../../src/client/view/locks');
    const events = load('fileLocks-two-holders');
    const upTo = (id: number) => locksFromHistory(events.slice(0, events.findIndex((e) => Number(e.eventId) === id) + 1), 'locks/x')!;
    const both = upTo(11);
    expect(both.holders.map((h) => [h.holderId, h.paths])).toEqual([['runa-5228a6d2', ['shared.txt']]]);
    expect(both.waiters.map((w) => w.holderId)).toEqual(['runb-51da0f9f']);
    const released = upTo(13);
    expect(released.holders.map((h) => h.holderId)).toEqual(['runb-51da0f9f']);
    expect(released.holders[0]!.token).toBe(both.holders[0]!.token + 1);
    const end = locksFromHistory(events, 'locks/x')!;
    expect([end.holders, end.waiters]).toEqual([[], []]);
    expect(end.stats).toMatchObject({ granted: 2, released: 2 });
  });

  it('a history that is not a lock manager\'s gives nothing', async () => {
    const { locksFromHistory } = await import('../../src/client/view/locks');
    expect(locksFromHistory(load('runPlan-two-tasks-v2'), 'locks/x')).toBeUndefined();
  });
});
