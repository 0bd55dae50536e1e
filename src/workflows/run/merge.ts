/**
 * Merging completed tasks into the run's integration branch: one merge at a time, in completion order (a chain of
 * promises), so two merges never race on the integration worktree. A failed merge does not break the chain.
 */
import type { AgentResult } from '../../shared/agent';
import type { Task } from '../../shared/plan';
import { gitOpOn } from '../presets';
import { mergeMessage } from './scheduler';
import type { RunState } from './table';

export interface Merger {
  /** Merge the task's branch; resolves to the conflicting files (empty when merged). */
  merge(t: Task, result: AgentResult): Promise<string[]>;
  /** Resolves when every merge asked for so far has ended. */
  drained(): Promise<void>;
}

export function createMerger(repo: string, s: RunState): Merger {
  let chain: Promise<void> = Promise.resolve();
  return {
    merge(t, result) {
      const next = chain.then(async () => {
        const m = await gitOpOn(s.integration!.host).mergeBranch.executeWithOptions({ summary: `merge ${t.id}` }, [
          { repo, worktree: s.integration!.path, branch: result.branch, message: mergeMessage(t) },
        ]);
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
  };
}
