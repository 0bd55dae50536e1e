/** Each worker process's share of the Updates one workflow may have in flight. */
import { describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { shareOf, updateBudget } from '../../src/activities/updateBudget';

function fakeClient(pollers: () => string[] | Error) {
  const asked: string[] = [];
  const client = {
    options: { namespace: 'default' },
    workflowService: {
      describeTaskQueue: async (req: { taskQueue: { name: string } }) => {
        asked.push(req.taskQueue.name);
        const p = pollers();
        if (p instanceof Error) throw p;
        return { pollers: p.map((identity) => ({ identity })) };
      },
    },
  } as unknown as Client;
  return { client, asked };
}

describe('update budget', () => {
  it('gives one or two processes 4 each and more processes less, so that together they stay under 10', () => {
    expect([1, 2, 3, 4, 5, 9, 10, 30].map(shareOf)).toEqual([4, 4, 3, 2, 1, 1, 0, 0]);
    for (let n = 1; n <= 30; n++) expect(n * shareOf(n)).toBeLessThan(10);
    // A caller counts itself even before the server has seen it poll.
    expect(shareOf(0)).toBe(4);
  });

  it('counts processes by identity, reads the pollers at most every 10 s per queue, and gives nothing when it cannot read them', async () => {
    let pollers: string[] | Error = ['1@a', '1@a', '2@b', '3@c'];
    const { client, asked } = fakeClient(() => pollers);
    let now = 0;
    const budget = updateBudget(() => client, { now: () => now });
    expect(await budget('q')).toBe(3);
    pollers = ['1@a'];
    now = 9_999;
    expect(await budget('q')).toBe(3);
    expect(await budget('other')).toBe(4);
    now = 10_000;
    expect(await budget('q')).toBe(4);
    pollers = new Error('unavailable');
    now = 20_000;
    expect(await budget('q')).toBe(0);
    expect(asked).toEqual(['q', 'other', 'q', 'q']);
  });

  it('counts only the processes of one machine when asked to', async () => {
    const { client } = fakeClient(() => ['1@a', '2@a', '3@a', '4@b', '5@b', '6@ab']);
    expect(await updateBudget(() => client, { host: 'a' })('q')).toBe(3);
    expect(await updateBudget(() => client, { host: 'b' })('q')).toBe(4);
    expect(await updateBudget(() => client)('q')).toBe(1);
  });
});
