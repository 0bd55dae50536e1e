/**
 * `cadre gc`: remove worktrees under the state directory whose workflow is no longer running (a worker that died
 * before its agent could clean up leaves them behind), and the repositories' worktree pools (ready checkouts for new
 * agents, disposable: a worker refills them on its next agent). Branches are kept: they hold the agents' work, and
 * uncommitted work or commits on no other branch are saved to refs/cadre/rescue/... first. `--list` shows those refs.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { listRescues } from '../../activities/rescue';
import { gcWorktrees, knownRepos } from '../../activities/workspace';
import { loadConfig } from '../../node/config';
import { resolveRepo } from '../repo';
import { openRuntime } from '../runtime';

export async function gcCommand(opts: { repo?: string; dryRun?: boolean; list?: boolean }): Promise<number> {
  if (opts.list) return listCommand(opts.repo);
  const rt = await openRuntime();
  try {
    const repos = await reposOf(opts.repo, rt.config.stateDir);
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
      process.stdout.write(`${repo}: ${r.removed.length} orphaned worktree(s), ${r.pool.length} pooled\n`);
      for (const o of r.removed) {
        process.stdout.write(`${opts.dryRun ? 'would remove' : 'removed'} ${o.path}${o.ownerId ? ` (${o.ownerId})` : ''}\n`);
        if (o.rescue) process.stdout.write(`  saved ${o.rescue.reason} to ${o.rescue.ref} (${o.rescue.commit.slice(0, 12)})\n`);
      }
      total += r.removed.length;
      pooled += r.pool.length;
    }
    process.stdout.write(`${total} orphaned worktree(s) ${opts.dryRun ? 'found' : 'removed'} in ${repositories(repos.length)}\n`);
    if (pooled > 0) process.stdout.write(`${pooled} pooled worktree(s) ${opts.dryRun ? 'would be removed' : 'removed'}\n`);
    return 0;
  } finally {
    await rt.close();
  }
}

/** `--list` reads only git: it needs neither the Temporal server nor a worker. */
async function listCommand(repo: string | undefined): Promise<number> {
  const repos = await reposOf(repo, loadConfig().stateDir);
  let n = 0;
  for (const r of repos) {
    for (const rescue of await listRescues(r)) {
      process.stdout.write(`${r}\t${rescue.ref}\t${rescue.branch ?? '(detached)'}\t${rescue.when}\t${rescue.commit}\t${rescue.reason}\n`);
      n++;
    }
  }
  process.stdout.write(`${n} rescue ref(s) in ${repositories(repos.length)}\n`);
  return 0;
}

async function reposOf(repo: string | undefined, stateDir: string): Promise<string[]> {
  return repo ? [await resolveRepo(repo)] : knownRepos(stateDir);
}

function repositories(n: number): string {
  return `${n} repositor${n === 1 ? 'y' : 'ies'}`;
}
