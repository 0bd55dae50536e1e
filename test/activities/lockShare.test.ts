/**
 * In-call lock requests keep this process to its share of the lock workflow's in-flight Updates
 * (src/activities/updateBudget.ts); the others go by signal at once. A client that records the Updates in flight.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { createLockActivities } from '../../src/activities/lockActivities';
import { inActivities } from '../support/activityContext';
import { recordingUpdates } from '../support/updateRecorder';

function recordingClient(pollers: string[]) {
  const updates = recordingUpdates();
  const signalled: string[] = [];
  const client = {
    options: { namespace: 'default' },
    workflow: {
      getHandle: () => ({ executeUpdate: updates.executeUpdate }),
      signalWithStart: async (_w: unknown, o: { signalArgs: [{ requestId: string }] }) => void signalled.push(o.signalArgs[0].requestId),
    },
    workflowService: { describeTaskQueue: async () => ({ pollers: pollers.map((identity) => ({ identity })) }) },
  } as unknown as Client;
  return { client, most: updates.most, signalled };
}

describe('in-call lock requests share the server\'s in-flight Updates', () => {
  it('asks at most its share in the call at once and sends the rest by signal', async () => {
    const repo = join(tmpdir(), `cadre-lockshare-${process.pid}`);
    mkdirSync(repo, { recursive: true });
    const { client, most, signalled } = recordingClient(['1@a', '2@b', '3@c']);
    const acts = inActivities(createLockActivities({ client: () => client }));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => acts.requestLocks({ repo, holderId: `h${i}`, requestId: `r${i}`, paths: [`f${i}.ts`], leaseMs: 60_000, taskQueue: 'q', inCall: true })),
    );
    expect(most()).toBe(3);
    expect(results.filter((r) => r.grant).length).toBe(3);
    expect(signalled).toHaveLength(5);
    expect(results.filter((r) => !r.grant).map((r) => r.paths[0])).toEqual(signalled.map((id) => `f${id.slice(1)}.ts`));
  });
});
