/** The pure lock table: grant rules, fairness, leases, fencing tokens, idempotency. No server needed. */
import { describe, expect, it } from 'vitest';
import type { LockRequest } from '../../src/shared/locks';
import * as lt from '../../src/workflows/locks/lockTable';

const req = (requestId: string, paths: string[], holderId = `h-${requestId}`, leaseMs = 10_000): LockRequest => ({ requestId, holderId, paths, leaseMs });
const granted = (effects: lt.LockEffect[]) => effects.filter((e) => e.kind === 'grant').map((e) => (e.kind === 'grant' ? e.holder.requestId : ''));

describe('lock table', () => {
  it('grants a request whole or not at all, and sorts its paths', () => {
    const t = lt.newLockTable();
    expect(granted(lt.request(t, req('r1', ['b']), 0))).toEqual(['r1']);
    // r2 wants a and b: b is taken, so it gets neither (a stays free for others that do not conflict with r2)
    expect(granted(lt.request(t, req('r2', ['c', 'b', 'a']), 1))).toEqual([]);
    expect(t.waiters[0]!.paths).toEqual(['a', 'b', 'c']);
    expect(t.holders.map((h) => h.paths)).toEqual([['b']]);
    expect(granted(lt.release(t, 'h-r1', ['r1'], 2))).toEqual(['r2']);
  });

  it('is first come, first served: a later conflicting request never overtakes an earlier waiting one', () => {
    const t = lt.newLockTable();
    lt.request(t, req('r1', ['a']), 0);
    lt.request(t, req('r2', ['a', 'b']), 1); // waits for a
    // r3 wants only b, which is free, but r2 came first and wants b too: r3 waits behind it
    expect(granted(lt.request(t, req('r3', ['b']), 2))).toEqual([]);
    // r4 conflicts with nobody ahead: it goes
    expect(granted(lt.request(t, req('r4', ['z']), 3))).toEqual(['r4']);
    expect(lt.waiterViews(t, 5).find((w) => w.requestId === 'r3')!.blockedBy).toEqual(['r2']);
    expect(granted(lt.release(t, 'h-r1', ['r1'], 4))).toEqual(['r2']);
    expect(granted(lt.release(t, 'h-r2', ['r2'], 5))).toEqual(['r3']);
  });

  it('treats a directory and a path below it as one lock', () => {
    expect(lt.pathsConflict('src', 'src/a.ts')).toBe(true);
    expect(lt.pathsConflict('src/a.ts', 'src')).toBe(true);
    expect(lt.pathsConflict('src', 'srcx/a.ts')).toBe(false);
    const t = lt.newLockTable();
    lt.request(t, req('r1', ['src/a.ts']), 0);
    expect(granted(lt.request(t, req('r2', ['src']), 1))).toEqual([]);
  });

  it('hands out fencing tokens that only grow', () => {
    const t = lt.newLockTable(100);
    const tokens: number[] = [];
    for (let i = 0; i < 20; i++) {
      const e = lt.request(t, req(`r${i}`, ['a']), i);
      for (const x of e) if (x.kind === 'grant') tokens.push(x.holder.token);
      for (const x of lt.release(t, `h-r${i}`, [`r${i}`], i)) if (x.kind === 'grant') tokens.push(x.holder.token);
    }
    expect(tokens).toHaveLength(20);
    expect(tokens[0]).toBe(100);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
  });

  it('expires a lease that is not renewed, tells the holder, and grants the next waiter', () => {
    const t = lt.newLockTable();
    lt.request(t, req('r1', ['a'], 'h1', 1000), 0);
    lt.request(t, req('r2', ['a'], 'h2', 1000), 10);
    expect(lt.nextDeadline(t)).toBe(1000);
    expect(lt.renew(t, 'h1', ['r1'], 900)).toEqual([]);
    expect(lt.nextDeadline(t)).toBe(1900);
    expect(lt.expire(t, 1899)).toEqual([]);
    const e = lt.expire(t, 1900);
    expect(e.map((x) => x.kind)).toEqual(['lost', 'grant']);
    expect(e[0]).toMatchObject({ kind: 'lost', holderId: 'h1', requestId: 'r1', reason: 'expired' });
    expect(granted(e)).toEqual(['r2']);
    // the stale holder renews: it is told it holds nothing
    expect(lt.renew(t, 'h1', ['r1'], 2000)).toMatchObject([{ kind: 'lost', requestId: 'r1', reason: 'unknown' }]);
    // ...and its late release does not touch the new holder's grant
    lt.release(t, 'h1', ['r1'], 2001);
    expect(t.holders.map((h) => h.requestId)).toEqual(['r2']);
  });

  it('ignores repeated requests and releases; a request arriving after its own release is ignored', () => {
    const t = lt.newLockTable();
    expect(granted(lt.request(t, req('r1', ['a']), 0))).toEqual(['r1']);
    // a repeat of a granted request is answered with the same grant, not a second one
    const again = lt.request(t, req('r1', ['a']), 1);
    expect(again).toHaveLength(1);
    expect(again[0]!.kind === 'grant' && again[0]!.holder.token).toBe(t.holders[0]!.token);
    expect(t.holders).toHaveLength(1);
    lt.release(t, 'h-r1', ['r1'], 2);
    lt.release(t, 'h-r1', ['r1'], 3);
    expect(lt.request(t, req('r1', ['a']), 4)).toEqual([]);
    expect(t.holders).toHaveLength(0);
    // withdrawn before it arrived (the holder gave up): the late request is ignored too
    lt.release(t, 'h-late', ['late'], 5);
    expect(lt.request(t, req('late', ['a'], 'h-late'), 6)).toEqual([]);
    expect(t.stats.granted).toBe(1);
  });

  it('releases everything of a holder at once, and only that holder’s', () => {
    const t = lt.newLockTable();
    lt.request(t, req('r1', ['a'], 'h1'), 0);
    lt.request(t, req('r2', ['b'], 'h1'), 0);
    lt.request(t, req('r3', ['c'], 'h2'), 0);
    lt.request(t, req('r4', ['a', 'c'], 'h1'), 0);
    lt.release(t, 'h2', ['r1'], 1); // not h2's: ignored
    expect(t.holders).toHaveLength(3);
    lt.release(t, 'h1', undefined, 2);
    expect(t.holders.map((h) => h.requestId)).toEqual(['r3']);
    expect(t.waiters).toEqual([]);
  });

  it('refuses malformed requests', () => {
    const t = lt.newLockTable();
    expect(lt.request(t, req('r1', ['../x']), 0)).toMatchObject([{ kind: 'lost', reason: 'refused' }]);
    expect(lt.request(t, req('r2', []), 0)).toMatchObject([{ kind: 'lost', reason: 'refused' }]);
    expect(lt.request(t, req('r3', ['/abs']), 0)).toMatchObject([{ kind: 'lost', reason: 'refused' }]);
    expect(lt.request(t, req('r4', ['a'], 'h', 5), 0)).toMatchObject([{ kind: 'lost', reason: 'refused' }]);
    expect(t.stats.refused).toBe(4);
  });

  it('keeps its de-duplication window bounded', () => {
    const t = lt.newLockTable();
    for (let i = 0; i < lt.FINISHED_CAP + 500; i++) {
      lt.request(t, req(`r${i}`, ['a'], 'h'), i);
      lt.release(t, 'h', [`r${i}`], i);
    }
    expect(t.finished).toHaveLength(lt.FINISHED_CAP);
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });

  it('never grants two conflicting holds at once and always drains: random simulation', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const universe = ['a', 'b', 'c', 'd', 'e', 'src', 'src/x', 'src/y'];
    for (let trial = 0; trial < 50; trial++) {
      const t = lt.newLockTable();
      let now = 0;
      const total = 40;
      let issued = 0;
      let finished = 0;
      const check = () => {
        for (let i = 0; i < t.holders.length; i++)
          for (let j = i + 1; j < t.holders.length; j++) expect(lt.setsConflict(t.holders[i]!.paths, t.holders[j]!.paths)).toBe(false);
      };
      let steps = 0;
      while (finished < total) {
        if (++steps > 100_000) throw new Error(`simulation stuck: ${JSON.stringify(t)}`);
        now += 1;
        const r = rand();
        if (issued < total && (r < 0.5 || t.holders.length === 0)) {
          const n = 1 + Math.floor(rand() * 3);
          const paths = Array.from({ length: n }, () => universe[Math.floor(rand() * universe.length)]!);
          lt.request(t, req(`q${issued}`, paths, `h${issued}`, 5000), now);
          issued++;
        } else if (t.holders.length) {
          const h = t.holders[Math.floor(rand() * t.holders.length)]!;
          if (rand() < 0.1) {
            now = Math.max(now, h.expiresAt); // this holder stops renewing
            finished += t.holders.filter((x) => x.expiresAt <= now).length;
            lt.expire(t, now);
          } else {
            for (const x of t.holders) if (x !== h) lt.renew(t, x.holderId, [x.requestId], now);
            lt.release(t, h.holderId, [h.requestId], now);
            finished++;
          }
        }
        check();
        // nobody waits while nothing is held: the queue always drains (no deadlock, no lost wake-up)
        if (t.holders.length === 0) expect(t.waiters).toEqual([]);
      }
      expect(t.stats.granted).toBe(total);
    }
  });
});
