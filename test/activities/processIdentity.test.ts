import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import { isDeadLocalProcess, processIdentity } from '../../src/activities/processIdentity';

/** The pid of a process that has already exited. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

describe('telling a dead local worker from a live one by its identity', () => {
  it('names pid and host, as the SDK does', () => {
    expect(processIdentity(42)).toBe(`42@${os.hostname()}`);
  });

  it('a process of this host that has exited is dead', () => {
    expect(isDeadLocalProcess(processIdentity(deadPid()))).toBe(true);
  });

  it('this process, and a live one, are not', () => {
    expect(isDeadLocalProcess(processIdentity())).toBe(false);
    expect(isDeadLocalProcess(processIdentity(process.ppid))).toBe(false);
  });

  it('another host, or an identity it cannot read, is left to the timeouts', () => {
    expect(isDeadLocalProcess(`${deadPid()}@not-${os.hostname()}`)).toBe(false);
    expect(isDeadLocalProcess('worker-7')).toBe(false);
    expect(isDeadLocalProcess('')).toBe(false);
  });
});
