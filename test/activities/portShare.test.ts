/**
 * Port leases ask their machine's port lock manager by Update; the processes of one machine share the server's
 * in-flight Updates (src/activities/updateBudget.ts). Here one process, with a client that records how many asks are
 * in flight at once and reports the queue's pollers.
 */
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { portBlockHolder } from '../../src/activities/portActivities';
import { recordingUpdates } from '../support/updateRecorder';

function recordingClient(pollers: () => string[] | Error) {
  const updates = recordingUpdates();
  const client = {
    options: { namespace: 'default' },
    workflow: { getHandle: () => ({ executeUpdate: updates.executeUpdate, signal: async () => undefined }) },
    workflowService: {
      describeTaskQueue: async () => {
        const p = pollers();
        if (p instanceof Error) throw p;
        return { pollers: p.map((identity) => ({ identity })) };
      },
    },
  } as unknown as Client;
  return { client, most: updates.most };
}

async function leaseMany(client: Client, n: number): Promise<void> {
  const hold = portBlockHolder({ client: () => client, host: 'test-host', ports: { base: 41200, block: 2, blocks: 40 } });
  const held = await Promise.all(Array.from({ length: n }, (_, i) => hold({ holderId: `h${i}`, requestId: `r${i}`, spreadKey: `k${i}`, taskQueue: 'q' })));
  expect(held.every((h) => h.ports !== undefined)).toBe(true);
  await Promise.all(held.map((h) => h.release()));
}

describe('port leases share the in-flight Updates of their machine', () => {
  it('keeps this process to its share when three processes of this machine poll the queue', async () => {
    const me = hostname();
    const { client, most } = recordingClient(() => [`1@${me}`, `2@${me}`, `3@${me}`, '4@another-machine']);
    await leaseMany(client, 8);
    expect(most()).toBe(3);
  });

  it('takes 4 when alone, and 1 when the pollers cannot be read', async () => {
    const alone = recordingClient(() => [`1@${hostname()}`]);
    await leaseMany(alone.client, 8);
    expect(alone.most()).toBe(4);
    const unknown = recordingClient(() => new Error('unavailable'));
    await leaseMany(unknown.client, 4);
    expect(unknown.most()).toBe(1);
  });
});
