/**
 * Crash test: the holder's worker is a separate process killed with SIGKILL while it holds a lock. Its lease runs
 * out, the next waiter gets the lock, and when the holder resumes (on a new worker) its write is refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testAddress, testDir, uniqueId } from '../support/temporal';
import { locksBundlePath, queryLocks, startLocksWorker, waitForLocks, withLocksWorker } from './support';
import { goSignal, type WriterInput, type WriterResult } from './workflows';

const LEASE_MS = 3000;

function startChildWorker(taskQueue: string, bundle: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(__dirname, 'holderWorker.ts'), testAddress(), taskQueue, bundle, testDir('child-state')], {
    cwd: resolve(__dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`child worker not ready after 60s: ${err}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        ok(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`child worker exited with ${code}: ${err}`));
    });
  });
}

describe('a holder whose worker is killed', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('loses its locks when its lease expires, the next waiter gets them, and its later write is refused', { timeout: 240_000 }, async () => {
    const repo = testDir('repo-kill');
    const holderQueue = uniqueId('tq-holder');
    child = await startChildWorker(holderQueue, await locksBundlePath());

    await withLocksWorker(async ({ client, taskQueue }) => {
      // The stale holder runs on the child's queue; the lock workflow on ours, which survives the kill.
      const stale = await client.workflow.start('fencedWriter', {
        workflowId: uniqueId('stale'),
        taskQueue: holderQueue,
        args: [{ repo, path: 'shared.txt', text: 'stale', waitForGo: true, lock: { leaseMs: LEASE_MS, lockTaskQueue: taskQueue } } satisfies WriterInput],
      });
      const held = await waitForLocks(client, repo, (v) => v.holders.some((h) => h.holderId === stale.workflowId), 60_000);
      const staleToken = held.holders[0]!.token;

      const next = await client.workflow.start('fencedWriter', {
        workflowId: uniqueId('next'),
        taskQueue,
        args: [{ repo, path: './shared.txt', text: 'next', waitForGo: false, lock: { leaseMs: 60_000 } } satisfies WriterInput],
      });
      // While the holder's worker lives it renews: the waiter stays waiting well past one lease.
      await new Promise((r) => setTimeout(r, LEASE_MS * 2));
      const alive = await queryLocks(client, repo);
      expect(alive.holders.map((h) => h.holderId)).toEqual([stale.workflowId]);
      expect(alive.waiters.map((w) => w.holderId)).toEqual([next.workflowId]);

      const killedAt = Date.now();
      child!.kill('SIGKILL');
      const nextResult = (await next.result()) as WriterResult;
      const waitedMs = Date.now() - killedAt;
      expect(nextResult.write).toBe('written');
      expect(nextResult.token).toBeGreaterThan(staleToken);
      expect(waitedMs).toBeLessThan(LEASE_MS + 15_000);
      expect(readFileSync(join(repo, 'shared.txt'), 'utf8')).toBe('next');

      // The holder's worker comes back (a new process would do the same); the holder, told go, tries to write.
      const restarted = await startLocksWorker(holderQueue);
      const staleResult = (await restarted.worker.runUntil(async () => {
        await stale.signal(goSignal);
        return stale.result();
      })) as WriterResult;
      expect(staleResult.write).toBe('refused');
      expect(staleResult.refusal).toMatch(/token/);
      expect(staleResult.heldAtWrite).toBe(false);
      expect(readFileSync(join(repo, 'shared.txt'), 'utf8')).toBe('next');

      const end = await queryLocks(client, repo);
      expect(end.holders).toEqual([]);
      expect(end.stats.expired).toBe(1);
      console.log(`killed holder: lock passed to the next waiter ${waitedMs} ms after SIGKILL (lease ${LEASE_MS} ms)`);
    });
  });
});
