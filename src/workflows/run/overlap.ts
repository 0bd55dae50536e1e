/**
 * Seeing conflicts coming, pure: a task about to start is compared with what the running tasks have actually
 * changed so far (their live diffs), not only with their declared files. A task whose declared files overlap a
 * running task's changed paths is held back until that task has ended (merged), or until the next check.
 * Paths conflict by the lock manager's rule: equal, or one is a directory above the other (docs/locks.md).
 */
import { pathsConflict } from '../locks/lockTable';

/** What one running task has changed since its base (committed on its branch plus uncommitted in its worktree). */
export interface LiveChange {
  taskId: string;
  paths: string[];
  /** More paths changed than the list holds. */
  truncated?: boolean;
}

export interface LiveOverlap {
  task: string;
  /** The running task's changed paths that overlap the declared files (at most a few). */
  paths: string[];
}

/** How long a held task waits before the live diffs are looked at again, when no running task has ended. */
export const LIVE_RECHECK_MS = 15_000;
/** How many overlapping paths an overlap keeps (they end up in the row's text). */
const MAX_PATHS = 5;

/** A path as the lock manager compares it: no `./`, no trailing `/`. */
const norm = (p: string) => p.replace(/^(\.\/)+/, '').replace(/\/+$/, '');

/** The running tasks whose live changes overlap `declared`, each with the overlapping changed paths. */
export function liveOverlap(declared: readonly string[], live: readonly LiveChange[]): LiveOverlap[] {
  const mine = declared.map(norm).filter((p) => p.length > 0);
  if (mine.length === 0) return [];
  const out: LiveOverlap[] = [];
  for (const c of live) {
    const paths = c.paths.filter((p) => mine.some((d) => pathsConflict(d, norm(p))));
    if (paths.length) out.push({ task: c.taskId, paths: paths.slice(0, MAX_PATHS) });
  }
  return out;
}

/** The row's `waiting` text for a held task: `overlaps live changes of t3 in src/a.ts`. */
export function overlapText(overlaps: readonly LiveOverlap[]): string {
  const parts = overlaps.slice(0, 3).map((o) => `${o.task} in ${o.paths.slice(0, 3).join(', ')}${o.paths.length > 3 ? ', …' : ''}`);
  return `overlaps live changes of ${parts.join('; ')}${overlaps.length > 3 ? '; …' : ''}`.slice(0, 200);
}

/** A task held back: the running tasks it was compared with, and when. */
export interface Hold {
  /** The running task ids at the check, sorted and joined: a change means one ended (or another started). */
  running: string;
  at: number;
}

export const runningKey = (ids: Iterable<string>): string => [...ids].sort().join('\n');

/**
 * The held tasks to look at again: a running task ended or started since the check, or the check is older than
 * LIVE_RECHECK_MS. They are removed from `holds` (so the scheduler considers them again) and returned.
 */
export function releaseHolds(holds: Map<string, Hold>, running: string, now: number): string[] {
  const out: string[] = [];
  for (const [id, h] of holds) {
    if (h.running !== running || now - h.at >= LIVE_RECHECK_MS) {
      holds.delete(id);
      out.push(id);
    }
  }
  return out;
}
