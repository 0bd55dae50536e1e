/**
 * Merging completed tasks into the run's integration branch: one merge at a time, in completion order (a chain of
 * promises), so two merges never race on the integration worktree. A failed merge does not break the chain.
 */
import type { AgentResult } from '../../shared/agent';
import type { Task } from '../../shared/plan';
import { gitOpOn } from '../presets';
import { isHostLost } from '../agent/relocate';
import { mergeMessage } from './scheduler';
import type { RunState } from './table';

export interface Merger {
  /** Merge the task's branch; resolves to the conflicting files (empty when merged). */
  merge(t: Task, result: AgentResult): Promise<string[]>;
  /** Resolves when every merge asked for so far has ended. */
  drained(): Promise<void>;
  /** Through a remote: move the integration worktree off `from`, its lost host (once however many ask; workflow.ts). */
  moveIntegration?: (from: string | undefined) => Promise<void>;
}

/**
 * `moveIntegration`: the integration worktree's host was lost (relocate.ts, isHostLost): make it again on another
 * host from the remote's integration branch; the merge is then tried there once more.
 */
export function createMerger(repo: string, s: RunState, moveIntegration?: (from: string | undefined) => Promise<void>): Merger {
  let chain: Promise<void> = Promise.resolve();
  const mergeOnce = (t: Task, result: AgentResult) =>
    gitOpOn(s.integration).mergeBranch.executeWithOptions({ summary: `merge ${t.id}` }, [
      { repo, worktree: s.integration!.path, branch: result.branch, message: mergeMessage(t) },
    ]);
  return {
    merge(t, result) {
      const next = chain.then(async () => {
        const from = s.integration?.host;
        const m = await mergeOnce(t, result).catch(async (err: unknown) => {
          if (!moveIntegration || !isHostLost(err)) throw err;
          await moveIntegration(from);
          return mergeOnce(t, result);
        });
        if (m.ok) s.lastCommit = m.commit;
        return m.ok ? [] : m.conflicts;
      });
      chain = next.then(
        () => undefined,
        () => undefined,
      );
      return next;
    },
    drained: () => chain,
    ...(moveIntegration ? { moveIntegration } : {}),
  };
}
