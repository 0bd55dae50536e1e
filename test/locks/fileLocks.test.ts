/** The `fileLocks` workflow and the holder API against the real dev server. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { assertFence, canonicalLockPath } from '../../src/activities/lockActivities';
import { locksCommand, renderLocks } from '../../src/client/commands/locks';
import { setsConflict } from '../../src/workflows/locks/lockTable';
import { makeRepo } from '../support/repo';
import { testAddress, testDir, uniqueId } from '../support/temporal';
import { timeline } from './probes';
import { queryLocks, waitForLocks, withLocksWorker } from './support';
import { goSignal, type CyclesInput, type HolderInput } from './workflows';

function rng(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('fileLocks on a real Temporal server', () => {
  it('never lets two holders hold one path at once: recorded timeline and lost-update counters', { timeout: 300_000 }, async () => {
    const repo = testDir('repo-mx');
    const counterDir = testDir('counters');
    const rand = rng(7);
    const universe = ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'src/e.ts', 'src'];
    const spell = (p: string) => [p, `./${p}`, join(repo, p), `x/../${p}`][Math.floor(rand() * 4)]!;
    const holders = 12;
    const rounds = 5;
    const ids: string[] = [];
    await withLocksWorker(async ({ client, taskQueue }) => {
      const handles: WorkflowHandle[] = [];
      for (let h = 0; h < holders; h++) {
        const input: CyclesInput = {
          repo,
          rounds: Array.from({ length: rounds }, () => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => spell(universe[Math.floor(rand() * universe.length)]!))),
          holdMs: Math.floor(rand() * 60),
          counterDir,
          lock: { leaseMs: 30_000, label: `holder ${h}` },
        };
        const workflowId = uniqueId('mx');
        ids.push(workflowId);
        handles.push(await client.workflow.start('lockCycles', { workflowId, taskQueue, args: [input] }));
      }
      await Promise.all(handles.map((h) => h.result()));
      const end = await queryLocks(client, repo);
      expect(end.holders).toEqual([]);
      expect(end.waiters).toEqual([]);
    });

    const mine = timeline.filter((m) => ids.includes(m.holder));
    const holds = new Map<string, { paths: string[]; token: number; start: number; end: number }>();
    for (const m of mine) {
      const key = `${m.holder}#${m.round}`;
      const h = holds.get(key) ?? { paths: m.paths, token: m.token, start: NaN, end: NaN };
      if (m.phase === 'acquired') h.start = m.at!;
      else h.end = m.at!;
      holds.set(key, h);
    }
    const all = [...holds.values()];
    expect(all).toHaveLength(holders * rounds);
    let conflictingPairs = 0;
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        const [a, b] = [all[i]!, all[j]!];
        if (!setsConflict(a.paths, b.paths)) continue;
        conflictingPairs++;
        // the recorded interval lies inside the true hold, so any overlap here is a real violation
        expect(a.end <= b.start || b.end <= a.start, `${JSON.stringify(a)} overlaps ${JSON.stringify(b)}`).toBe(true);
        // and whoever held first got the smaller fencing token
        expect(a.start < b.start ? a.token < b.token : b.token < a.token).toBe(true);
      }
    }
    expect(conflictingPairs).toBeGreaterThan(100);
    for (const p of universe) {
      const file = join(counterDir, `${p.replace(/[^A-Za-z0-9_.-]/g, '_')}.count`);
      const expected = all.filter((h) => h.paths.includes(p)).length;
      expect(existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0, `counter of ${p}`).toBe(expected);
    }
  });

  it('finishes 50 pairs that ask for {a,b} and {b,a} at the same moment', { timeout: 300_000 }, async () => {
    const repo = testDir('repo-dl');
    const started = Date.now();
    const tokens = await withLocksWorker(async ({ client, taskQueue }) => {
      const starts: Promise<WorkflowHandle>[] = [];
      for (let i = 0; i < 50; i++) {
        const g = `g${i % 5}`;
        const pair: string[][] = [[`${g}/a.ts`, `${g}/b.ts`], [`./${g}/b.ts`, `${g}/a.ts`]];
        for (const [k, paths] of pair.entries()) {
          starts.push(client.workflow.start('lockCycles', { workflowId: uniqueId(`dl${i}-${k}`), taskQueue, args: [{ repo, rounds: [paths], holdMs: 5 } satisfies CyclesInput] }));
        }
      }
      const handles = await Promise.all(starts);
      const results = await Promise.all(handles.map((h) => h.result() as Promise<{ tokens: number[] }>));
      return results.flatMap((r) => r.tokens);
    });
    expect(tokens).toHaveLength(100);
    expect(new Set(tokens).size).toBe(100);
    expect(Date.now() - started).toBeLessThan(240_000);
  });

  const endings: { name: string; ending: HolderInput['ending']; end: (h: WorkflowHandle) => Promise<void> }[] = [
    { name: 'throws inside withLocks', ending: 'throw-in-withLocks', end: (h) => h.signal(goSignal) },
    { name: 'throws inside withLockCleanup', ending: 'throw-in-cleanup', end: (h) => h.signal(goSignal) },
    { name: 'is cancelled while holding', ending: 'wait-forever', end: async (h) => {
      await h.cancel();
    } },
  ];

  it.each(endings)('a holder that $name releases at once, long before its lease would end', async ({ ending, end }) => {
    const repo = testDir('repo-rel');
    await withLocksWorker(async ({ client, taskQueue }) => {
      const holder = await client.workflow.start('holdUntilGo', {
        workflowId: uniqueId('holder'),
        taskQueue,
        args: [{ repo, paths: ['x.ts'], ending, lock: { leaseMs: 10 * 60_000 } } satisfies HolderInput],
      });
      await waitForLocks(client, repo, (v) => v.holders.some((h) => h.holderId === holder.workflowId));
      const waiter = await client.workflow.start('lockCycles', { workflowId: uniqueId('waiter'), taskQueue, args: [{ repo, rounds: [['./x.ts']] } satisfies CyclesInput] });
      await waitForLocks(client, repo, (v) => v.waiters.some((w) => w.holderId === waiter.workflowId));
      const t0 = Date.now();
      await end(holder);
      await expect(holder.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      await waiter.result();
      expect(Date.now() - t0).toBeLessThan(15_000);
      const v = await queryLocks(client, repo);
      expect(v.holders).toEqual([]);
      expect(v.stats.expired).toBe(0);
    });
  });

  it('withdraws the request of a waiter that is cancelled or times out', async () => {
    const repo = testDir('repo-wd');
    await withLocksWorker(async ({ client, taskQueue }) => {
      const holder = await client.workflow.start('holdUntilGo', {
        workflowId: uniqueId('holder'),
        taskQueue,
        args: [{ repo, paths: ['src'], ending: 'return' } satisfies HolderInput],
      });
      await waitForLocks(client, repo, (v) => v.holders.length === 1);
      const impatient = await client.workflow.execute('acquireOnce', {
        workflowId: uniqueId('impatient'),
        taskQueue,
        args: [{ repo, paths: ['src/a.ts'], lock: { timeout: '1s' } }],
      });
      expect(impatient).toMatchObject({ error: 'LockTimeout' });
      const cancelled = await client.workflow.start('lockCycles', { workflowId: uniqueId('cancelled'), taskQueue, args: [{ repo, rounds: [['src/b.ts']] } satisfies CyclesInput] });
      await waitForLocks(client, repo, (v) => v.waiters.some((w) => w.holderId === cancelled.workflowId));
      await cancelled.cancel();
      await expect(cancelled.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      const v = await waitForLocks(client, repo, (x) => x.waiters.length === 0);
      expect(v.holders.map((h) => h.holderId)).toEqual([holder.workflowId]);
      await holder.signal(goSignal);
      await holder.result();
      expect((await queryLocks(client, repo)).holders).toEqual([]);
    });
  });

  it('frees at once what a holder that closed without releasing was granted', async () => {
    const repo = testDir('repo-gone');
    await withLocksWorker(async ({ client, taskQueue }) => {
      const holder = await client.workflow.start('holdUntilGo', {
        workflowId: uniqueId('holder'),
        taskQueue,
        args: [{ repo, paths: ['x.ts'], ending: 'return' } satisfies HolderInput],
      });
      await waitForLocks(client, repo, (v) => v.holders.length === 1);
      // A waiter that is terminated runs no cleanup: its request stays queued, with a lease of ten minutes.
      const gone = await client.workflow.start('lockCycles', {
        workflowId: uniqueId('gone'),
        taskQueue,
        args: [{ repo, rounds: [['x.ts']], lock: { leaseMs: 10 * 60_000 } } satisfies CyclesInput],
      });
      await waitForLocks(client, repo, (v) => v.waiters.length === 1);
      await gone.terminate('simulated crash');
      const next = await client.workflow.start('lockCycles', { workflowId: uniqueId('next'), taskQueue, args: [{ repo, rounds: [['x.ts']] } satisfies CyclesInput] });
      await waitForLocks(client, repo, (v) => v.waiters.length === 2);
      const t0 = Date.now();
      await holder.signal(goSignal);
      await holder.result();
      // The grant to the terminated waiter cannot be delivered, so it is released and the next one goes.
      await next.result();
      expect(Date.now() - t0).toBeLessThan(15_000);
      const v = await queryLocks(client, repo);
      expect(v.holders).toEqual([]);
      expect(v.waiters).toEqual([]);
    });
  });

  it('refuses paths outside the repository and treats every spelling of a path as one lock', async () => {
    const repo = testDir('repo-canon');
    await withLocksWorker(async ({ client, taskQueue }) => {
      const outside = await client.workflow.execute('acquireOnce', { workflowId: uniqueId('outside'), taskQueue, args: [{ repo, paths: ['ok.ts', '../escape.ts'] }] });
      expect(outside).toMatchObject({ error: 'PathOutsideWorkspace' });
      const holder = await client.workflow.start('holdUntilGo', {
        workflowId: uniqueId('holder'),
        taskQueue,
        args: [{ repo, paths: ['./a/../b.ts'], ending: 'return' } satisfies HolderInput],
      });
      const held = await waitForLocks(client, repo, (v) => v.holders.length === 1);
      expect(held.holders[0]!.paths).toEqual(['b.ts']);
      const w1 = await client.workflow.start('lockCycles', { workflowId: uniqueId('w'), taskQueue, args: [{ repo, rounds: [[join(repo, 'b.ts')]] } satisfies CyclesInput] });
      await waitForLocks(client, repo, (x) => x.waiters.length === 1);
      const w2 = await client.workflow.start('lockCycles', { workflowId: uniqueId('w'), taskQueue, args: [{ repo, rounds: [['b.ts']] } satisfies CyclesInput] });
      const v = await waitForLocks(client, repo, (x) => x.waiters.length === 2);
      expect(v.waiters.map((w) => w.holderId)).toEqual([w1.workflowId, w2.workflowId]);
      expect(v.waiters[1]!.blockedBy).toEqual([v.holders[0]!.requestId, v.waiters[0]!.requestId]);
      await holder.signal(goSignal);
      await Promise.all([holder.result(), w1.result(), w2.result()]);
    });
  });

  describe('query, CLI and fencing', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
      vi.restoreAllMocks();
    });

    it('lists holders and waiters with their ages; `cadre locks` prints them; a stale token is refused', async () => {
      const repo = makeRepo();
      await withLocksWorker(async ({ client, taskQueue }) => {
        const holder = await client.workflow.start('holdUntilGo', {
          workflowId: uniqueId('holder'),
          taskQueue,
          args: [{ repo, paths: ['src/a.ts', 'README.md'], ending: 'return', lock: { label: 'task t07' } } satisfies HolderInput],
        });
        await waitForLocks(client, repo, (v) => v.holders.length === 1);
        const waiter = await client.workflow.start('lockCycles', { workflowId: uniqueId('waiter'), taskQueue, args: [{ repo, rounds: [['src']] } satisfies CyclesInput] });
        await new Promise((r) => setTimeout(r, 1200));
        const v = await waitForLocks(client, repo, (x) => x.waiters.length === 1);
        expect(v.holders[0]).toMatchObject({ holderId: holder.workflowId, label: 'task t07', paths: ['README.md', 'src/a.ts'] });
        expect(v.waiters[0]).toMatchObject({ holderId: waiter.workflowId, paths: ['src'], blockedBy: [v.holders[0]!.requestId] });
        const text = renderLocks(v, v.now + 65_000);
        expect(text).toContain(holder.workflowId);
        expect(text).toContain(waiter.workflowId);
        expect(text).toMatch(/1m0[5-9]s/);

        process.env.TEMPORAL_ADDRESS = testAddress();
        process.env.CADRE_STATE_DIR = testDir('cli-state');
        let out = '';
        vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
          out += String(chunk);
          return true;
        });
        expect(await locksCommand({ repo })).toBe(0);
        expect(out).toContain(`HOLDER`);
        expect(out).toContain(holder.workflowId);
        expect(out).toContain('task t07');
        expect(out).toContain('WAITER');
        out = '';
        expect(await locksCommand({ repo, json: true })).toBe(0);
        expect(JSON.parse(out).holders[0].holderId).toBe(holder.workflowId);
        vi.restoreAllMocks();

        const token = v.holders[0]!.token;
        await assertFence(client, { repo, paths: ['./src/a.ts'], token });
        await expect(assertFence(client, { repo, paths: ['src/a.ts'], token: token - 1 })).rejects.toMatchObject({ type: 'LockLost' });
        await expect(assertFence(client, { repo, paths: ['src/other.ts'], token })).rejects.toMatchObject({ type: 'LockLost' });
        // a lease that ran out by the writer's clock is refused even before the lock workflow notices
        await expect(assertFence(client, { repo, paths: ['src/a.ts'], token }, v.holders[0]!.expiresAt + 1)).rejects.toMatchObject({ type: 'LockLost' });
        await holder.signal(goSignal);
        await holder.result();
        await waiter.result();
        await expect(assertFence(client, { repo, paths: ['src/a.ts'], token })).rejects.toMatchObject({ type: 'LockLost' });
        expect(canonicalLockPath(repo, 'src/a.ts')).toBe('src/a.ts');
      });
    });
  });
});
