/**
 * Requests answered in the call: a free lock is granted in the answer of the acquire Update (no grant signal), a
 * request that waits is granted by signal, repeats are answered alike, and a lock workflow that cannot answer in the
 * call still gets the request by signal. Real dev server.
 */
import { describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { createLockActivities, lockWorkflowIdFor } from '../../src/activities/lockActivities';
import { repoKey } from '../../src/activities/paths';
import { lockAcquireUpdate, lockReleaseSignal, type LockRequest } from '../../src/shared/locks';
import { inActivities } from '../support/activityContext';
import { testDir, uniqueId } from '../support/temporal';
import { queryLocks, waitForLocks, withLocksWorker } from './support';
import { goSignal, standInRequestsQuery, type CyclesInput, type HolderInput } from './workflows';

async function signalNames(client: Client, workflowId: string): Promise<string[]> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events.map((e) => e.workflowExecutionSignaledEventAttributes?.signalName).filter((n): n is string => !!n);
}

async function lockEventCounts(client: Client, repo: string) {
  const events = (await client.workflow.getHandle(lockWorkflowIdFor(repo)).fetchHistory()).events ?? [];
  return {
    updatesAccepted: events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length,
    grantSignalsSent: events.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'cadre.locks.grant').length,
  };
}

describe('lock requests answered in the call', () => {
  it('grants a free lock in the answer of the request; a request that has to wait is granted by signal', async () => {
    const repo = testDir('repo-incall');
    await withLocksWorker(async ({ client, taskQueue }) => {
      const first = await client.workflow.start('holdUntilGo', { workflowId: uniqueId('first'), taskQueue, args: [{ repo, paths: ['a.ts'], ending: 'return' } satisfies HolderInput] });
      await waitForLocks(client, repo, (v) => v.holders.length === 1);
      const second = await client.workflow.start('lockCycles', { workflowId: uniqueId('second'), taskQueue, args: [{ repo, rounds: [['a.ts']] } satisfies CyclesInput] });
      await waitForLocks(client, repo, (v) => v.waiters.length === 1);
      await first.signal(goSignal);
      await Promise.all([first.result(), second.result()]);

      expect(await signalNames(client, first.workflowId)).toEqual(['test.go']);
      expect(await signalNames(client, second.workflowId)).toEqual(['cadre.locks.grant']);
      // Both asked by Update; only the one that waited was answered by a signal.
      expect(await lockEventCounts(client, repo)).toEqual({ updatesAccepted: 2, grantSignalsSent: 1 });
      const v = await queryLocks(client, repo);
      expect(v.holders).toEqual([]);
      expect(v.stats.granted).toBe(2);
    });
  });

  it('answers a repeat with the same grant, a request that has ended and a malformed one with a refusal', async () => {
    const repo = testDir('repo-incall-repeat');
    await withLocksWorker(async ({ client, taskQueue }) => {
      const lockId = lockWorkflowIdFor(repo);
      await client.workflow.start('fileLocks', { workflowId: lockId, taskQueue, args: [{ repoKey: repoKey(repo), repo }] });
      const handle = client.workflow.getHandle(lockId);
      const req: LockRequest = { requestId: uniqueId('req'), holderId: uniqueId('nobody'), paths: ['x.ts'], leaseMs: 60_000 };
      const granted = await handle.executeUpdate(lockAcquireUpdate, { args: [req] });
      expect(granted.grant).toMatchObject({ requestId: req.requestId, lockWorkflowId: lockId, paths: ['x.ts'] });
      const again = await handle.executeUpdate(lockAcquireUpdate, { args: [req] });
      expect(again.grant?.token).toBe(granted.grant!.token);

      const other: LockRequest = { requestId: uniqueId('req'), holderId: uniqueId('nobody'), paths: ['x.ts'], leaseMs: 60_000 };
      expect(await handle.executeUpdate(lockAcquireUpdate, { args: [other] })).toEqual({ queued: true });
      expect(await handle.executeUpdate(lockAcquireUpdate, { args: [other] })).toEqual({ queued: true });

      await handle.signal(lockReleaseSignal, { holderId: req.holderId, requestIds: [req.requestId] });
      expect(await handle.executeUpdate(lockAcquireUpdate, { args: [req] })).toEqual({ refused: `lock request ${req.requestId} has ended already` });
      const malformed = await handle.executeUpdate(lockAcquireUpdate, { args: [{ ...req, requestId: uniqueId('req'), paths: [] }] });
      expect(malformed.refused).toMatch(/^lock request refused: /);
      // The waiter got the path when the first was released (its grant went by signal, to a holder id that names no
      // workflow, so the lock workflow freed it again).
      const v = await waitForLocks(client, repo, (x) => x.waiters.length === 0 && x.holders.length === 0);
      expect(v.stats.granted).toBe(2);
    });
  });

  it('sends the request by signal when the lock workflow cannot answer in the call', async () => {
    const repo = testDir('repo-incall-old');
    await withLocksWorker(async ({ client, taskQueue }) => {
      const lockId = lockWorkflowIdFor(repo);
      const standIn = await client.workflow.start('signalOnlyLockManager', { workflowId: lockId, taskQueue });
      const acts = inActivities(createLockActivities({ client: () => client }));
      const requestId = uniqueId('req');
      const result = await acts.requestLocks({ repo, holderId: uniqueId('h'), requestId, paths: ['./b.ts'], leaseMs: 60_000, taskQueue, inCall: true });
      expect(result).toEqual({ lockWorkflowId: lockId, repoKey: repoKey(repo), paths: ['b.ts'] });
      expect(await standIn.query(standInRequestsQuery)).toEqual([requestId]);
      await standIn.terminate('test over');
    });
  });
});
