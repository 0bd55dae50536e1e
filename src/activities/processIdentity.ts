/**
 * Who a process is, in a form that another process on the same host can check: `<pid>@<hostname>` (the Temporal
 * SDK's own format for worker identities). Used for worker identities (src/workers/orphanSweep.ts) and for the
 * repository lock's owner (./repoMutex.ts). A pid that runs again after a reboot or a wrap-around counts as alive:
 * the callers then fall back to their timeouts, never the other way round.
 */
import * as os from 'node:os';

export function processIdentity(pid = process.pid): string {
  return `${pid}@${os.hostname()}`;
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
  const m = /^(\d+)@(.+)$/.exec(identity);
  if (!m || m[2] !== os.hostname()) return false;
  const pid = Number(m[1]);
  return pid !== process.pid && !processRuns(pid);
}
