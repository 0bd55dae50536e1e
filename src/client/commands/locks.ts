/** `cadre locks [--repo PATH] [--json]`: who holds which paths of a repository, who waits, and for how long. */
import { WorkflowNotFoundError } from '@temporalio/client';
import { lockWorkflowIdFor } from '../../activities/lockActivities';
import { CadreError } from '../../shared/errors';
import { locksQuery, type LocksView } from '../../shared/locks';
import { EXIT, fmtDuration, table } from '../output';
import { resolveRepo } from '../repo';
import { openRuntime } from '../runtime';
import { hasWorker, historyNotice, noPollerReason, readHistory } from '../view';
import { locksFromHistory } from '../view/locks';

/** How long to wait for a worker to answer the query before saying none is running. */
const QUERY_DEADLINE_MS = 15_000;

function pathList(paths: string[], max = 4): string {
  return paths.length > max ? `${paths.slice(0, max).join(', ')} +${paths.length - max} more` : paths.join(', ');
}

/** The table `cadre locks` prints; ages are measured against `now` (this machine's clock). */
export function renderLocks(view: LocksView, now: number = Date.now()): string {
  const lines = [`locks of ${view.repo ?? view.repoKey} (workflow ${view.lockWorkflowId}, next token ${view.nextToken})`];
  if (!view.holders.length && !view.waiters.length) {
    lines.push('no locks held, nobody waiting');
    return lines.join('\n');
  }
  if (view.holders.length) {
    lines.push(
      table([
        ['HOLDER', 'TOKEN', 'HELD', 'LEASE LEFT', 'FOR', 'PATHS'],
        ...view.holders.map((h) => [
          h.holderId,
          String(h.token),
          fmtDuration(Math.max(0, now - h.grantedAt)),
          h.expiresAt > now ? fmtDuration(h.expiresAt - now) : 'expired',
          h.label ?? '',
          pathList(h.paths),
        ]),
      ]),
    );
  } else {
    lines.push('no locks held');
  }
  if (view.waiters.length) {
    const holderOf = new Map([...view.holders, ...view.waiters].map((x) => [x.requestId, x.holderId]));
    lines.push(
      '',
      table([
        ['WAITER', 'WAITING', 'BEHIND', 'FOR', 'PATHS'],
        ...view.waiters.map((w) => [
          w.holderId,
          fmtDuration(Math.max(0, now - w.requestedAt)),
          [...new Set(w.blockedBy.map((id) => holderOf.get(id) ?? id))].join(', '),
          w.label ?? '',
          pathList(w.paths),
        ]),
      ]),
    );
  }
  return lines.join('\n');
}

export async function locksCommand(opts: { repo?: string; json?: boolean }): Promise<number> {
  const repo = await resolveRepo(opts.repo);
  const id = lockWorkflowIdFor(repo);
  const rt = await openRuntime();
  try {
    let running: boolean;
    let taskQueue = '';
    try {
      const d = await rt.client.workflow.getHandle(id).describe();
      running = d.status.name === 'RUNNING';
      taskQueue = d.taskQueue;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      running = false;
    }
    if (!running) {
      if (opts.json) process.stdout.write(JSON.stringify({ repo, lockWorkflowId: id, holders: [], waiters: [] }, null, 2) + '\n');
      else process.stdout.write(`no lock manager is running for ${repo}: no locks held\n`);
      return EXIT.ok;
    }
    if (!(await hasWorker(rt.client, taskQueue))) {
      // No worker to ask: the table replayed from the lock manager's history (its signals and lease timer).
      const view = locksFromHistory(await readHistory(rt.client, id), id);
      if (!view) throw new CadreError(`cannot read the state of the lock manager ${id} from its history`, EXIT.failed);
      const h = { source: 'history' as const, asOf: new Date(view.now).toISOString(), reason: noPollerReason(taskQueue) };
      process.stdout.write(opts.json ? JSON.stringify({ ...view, ...h }, null, 2) + '\n' : `${historyNotice(h)}\n${renderLocks(view, view.now)}\n`);
      return EXIT.ok;
    }
    let view: LocksView;
    try {
      view = await rt.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => rt.client.workflow.getHandle(id).query(locksQuery));
    } catch (err) {
      throw new CadreError(
        `the lock manager ${id} did not answer (${err instanceof Error ? err.message : String(err)}); is a worker running? start one with \`cadre worker\``,
        EXIT.unavailable,
      );
    }
    process.stdout.write(opts.json ? JSON.stringify(view, null, 2) + '\n' : renderLocks(view) + '\n');
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}
