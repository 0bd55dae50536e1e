/**
 * Who a process is, in a form that another process on the same host can check: `<pid>@<hostname>#<boot id>`. The
 * boot id tells a process of an earlier boot from a live one that got the same pid. Used for worker identities
 * (src/workers/orphanSweep.ts) and for the repository lock's owner (./repoMutex.ts).
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';

/** The first 8 characters of this boot's id (Linux), or '' where there is none. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8);
  } catch {
    return '';
  }
}

const BOOT = bootId();

/** `<pid>@<hostname>#<boot id>`: who a worker or a lock holder is. */
export function processIdentity(pid = process.pid): string {
  return `${pid}@${os.hostname()}${BOOT ? `#${BOOT}` : ''}`;
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // it runs, as someone else
  }
}

/** True only when `identity` names a process of this host that is certainly gone. */
export function isDeadLocalProcess(identity: string): boolean {
  const m = /^(\d+)@(.+?)(?:#([0-9a-f]{8}))?$/.exec(identity);
  if (!m || m[2] !== os.hostname()) return false;
  const pid = Number(m[1]);
  if (pid === process.pid) return false;
  if (m[3] && BOOT && m[3] !== BOOT) return true; // a process of an earlier boot of this host
  return !processRuns(pid);
}
