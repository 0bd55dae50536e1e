/**
 * `cadre gc`: remove worktrees under the state directory whose workflow is no longer running (a worker that died
 * before its agent could clean up leaves them behind), and the repositories' worktree pools (ready checkouts for new
 * agents, disposable: a worker refills them on its next agent). Branches are kept: they hold the agents' work.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { gcWorktrees, knownRepos } from '../../activities/workspace';
import { resolveRepo } from '../repo';
import { openRuntime } from '../runtime';

export async function gcCommand(opts: { repo?: string; dryRun?: boolean }): Promise<number> {
  const rt = await openRuntime();
  try {
    const repos = opts.repo ? [await resolveRepo(opts.repo)] : await knownRepos(rt.config.stateDir);
    const isLive = async (id: string) => {
      try {
        return (await rt.client.workflow.getHandle(id).describe()).status.name === 'RUNNING';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    };
    let total = 0;
    let pooled = 0;
    for (const repo of repos) {
      const r = await gcWorktrees(rt.config.stateDir, repo, isLive, { dryRun: opts.dryRun });
      for (const o of r.removed) process.stdout.write(`${opts.dryRun ? 'would remove' : 'removed'} ${o.path}${o.ownerId ? ` (${o.ownerId})` : ''}\n`);
      total += r.removed.length;
      pooled += r.pool.length;
    }
    process.stdout.write(`${total} orphaned worktree(s) ${opts.dryRun ? 'found' : 'removed'} in ${repos.length} repositor${repos.length === 1 ? 'y' : 'ies'}\n`);
    if (pooled > 0) process.stdout.write(`${pooled} pooled worktree(s) ${opts.dryRun ? 'would be removed' : 'removed'}\n`);
    return 0;
  } finally {
    await rt.close();
  }
}
