import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processIdentity } from '../../src/activities/processIdentity';
import { repoLockPath, withRepoLock } from '../../src/activities/repoMutex';
import { tmp } from '../support/tmp';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('withRepoLock', () => {
  it('runs callers for one repository one at a time, in arrival order', async () => {
    const stateDir = tmp('state');
    const repo = tmp('repo');
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        withRepoLock(stateDir, repo, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await sleep(10);
          order.push(i);
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('does not serialise different repositories against each other', async () => {
    const stateDir = tmp('state');
    const [a, b] = [tmp('repo'), tmp('repo')];
    let inside = 0;
    let maxInside = 0;
    const hold = async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await sleep(100);
      inside--;
    };
    await Promise.all([withRepoLock(stateDir, a, hold), withRepoLock(stateDir, b, hold)]);
    expect(maxInside).toBe(2);
  });

  it('releases its turn when the function throws', async () => {
    const stateDir = tmp('state');
    const repo = tmp('repo');
    await expect(withRepoLock(stateDir, repo, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(withRepoLock(stateDir, repo, async () => 'next')).resolves.toBe('next');
  });

  it('waits for another process holding the lock', async () => {
    const stateDir = tmp('state');
    const repo = tmp('repo');
    const target = repoLockPath(stateDir, repo);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const marker = path.join(stateDir, 'child-released');
    const script = `
      const lockfile = require(${JSON.stringify(require.resolve('proper-lockfile'))});
      const fs = require('node:fs');
      lockfile.lock(${JSON.stringify(target)}, { realpath: false }).then(async (release) => {
        process.stdout.write('locked\\n');
        await new Promise((r) => setTimeout(r, 800));
        fs.writeFileSync(${JSON.stringify(marker)}, String(Date.now()));
        await release();
      });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const t0 = Date.now();
    const sawMarker = await withRepoLock(stateDir, repo, async () => fs.existsSync(marker));
    expect(sawMarker).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    await exited;
  });

  it('takes over a lock abandoned by a dead process', async () => {
    const stateDir = tmp('state');
    const repo = tmp('repo');
    const lockDir = `${repoLockPath(stateDir, repo)}.lock`;
    fs.mkdirSync(lockDir, { recursive: true });
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lockDir, old, old);
    const t0 = Date.now();
    await expect(withRepoLock(stateDir, repo, async () => 'ok', { staleMs: 5_000 })).resolves.toBe('ok');
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('gives up with a retryable failure when the lock stays held', async () => {
    const stateDir = tmp('state');
    const repo = tmp('repo');
    const lockDir = `${repoLockPath(stateDir, repo)}.lock`;
    fs.mkdirSync(lockDir, { recursive: true });
    const err = await withRepoLock(stateDir, repo, async () => 'never', { waitMs: 300, staleMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'WorkspaceError', retryable: true });
  });

  describe('a holder that died on this host', () => {
    /** The lock as a holder leaves it when killed: the lock directory, its owner file, no refresh for 5 s. */
    function abandonedLock(stateDir: string, repo: string, owner: string): string {
      const target = repoLockPath(stateDir, repo);
      fs.mkdirSync(`${target}.lock`, { recursive: true });
      fs.writeFileSync(`${target}.owner`, owner);
      const past = new Date(Date.now() - 5_000);
      fs.utimesSync(`${target}.lock`, past, past);
      return target;
    }
    const deadPid = () => Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());

    it('is broken at once instead of after the stale time', async () => {
      const stateDir = tmp('state');
      const repo = tmp('repo');
      const target = abandonedLock(stateDir, repo, processIdentity(deadPid()));
      // Stale only after 10 minutes and a 5 s wait: only breaking the dead owner's lock lets this in.
      const ran = await withRepoLock(stateDir, repo, async () => fs.readFileSync(`${target}.owner`, 'utf8'), { staleMs: 600_000, waitMs: 5_000 });
      expect(ran).toBe(processIdentity());
      expect(fs.existsSync(`${target}.owner`)).toBe(false); // removed on release
      expect(fs.existsSync(`${target}.lock`)).toBe(false);
    });

    it('is not broken while its owner process runs', async () => {
      const stateDir = tmp('state');
      const repo = tmp('repo');
      abandonedLock(stateDir, repo, processIdentity(process.ppid));
      await expect(withRepoLock(stateDir, repo, async () => 'in', { staleMs: 600_000, waitMs: 1_000 })).rejects.toThrow(/held by another process/);
    });

    it('is not broken when the owner is on another host: that waits for the stale time', async () => {
      const stateDir = tmp('state');
      const repo = tmp('repo');
      abandonedLock(stateDir, repo, `${deadPid()}@elsewhere-not-this-host`);
      await expect(withRepoLock(stateDir, repo, async () => 'in', { staleMs: 600_000, waitMs: 1_000 })).rejects.toThrow(/held by another process/);
    });
  });
});
