import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isDeadLocalProcess, processIdentity } from '../src/activities/processIdentity';

/** The pid of a process that has already exited. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

describe('telling a dead local worker from a live one by its identity', () => {
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8);

  it('names pid, host and boot', () => {
    expect(processIdentity(42)).toBe(`42@${os.hostname()}#${boot}`);
  });

  it('a process of this host that has exited is dead', () => {
    expect(isDeadLocalProcess(processIdentity(deadPid()))).toBe(true);
  });

  it('this process, and a live one, are not', () => {
    expect(isDeadLocalProcess(processIdentity())).toBe(false);
    expect(isDeadLocalProcess(processIdentity(process.ppid))).toBe(false);
  });

  it('a process of an earlier boot of this host is dead even if its pid runs again', () => {
    const other = boot === '00000000' ? '11111111' : '00000000';
    expect(isDeadLocalProcess(`${process.ppid}@${os.hostname()}#${other}`)).toBe(true);
  });

  it('another host, or an identity it cannot read, is left to the heartbeat timeout', () => {
    expect(isDeadLocalProcess(`${deadPid()}@not-${os.hostname()}#${boot}`)).toBe(false);
    expect(isDeadLocalProcess('worker-7')).toBe(false);
    expect(isDeadLocalProcess('')).toBe(false);
  });

  it('an identity without a boot id (SDK default) is judged by its pid alone', () => {
    expect(isDeadLocalProcess(`${deadPid()}@${os.hostname()}`)).toBe(true);
    expect(isDeadLocalProcess(`${process.ppid}@${os.hostname()}`)).toBe(false);
  });
});
