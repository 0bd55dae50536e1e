/**
 * Worktree provisioning on a generated repository of `files` files: the time until an agent can edit.
 *
 * - plain: `git worktree add -b <branch> <dir> main`, the baseline.
 * - cadre createWorkspace, cold: the function behind the `createWorkspace` activity (src/activities/workspace.ts),
 *   called in-process with the pool off (`worktreePool: 0`), which is exactly the path taken when the pool is empty:
 *   repository lock, prune, listing, metadata, a full `git worktree add`.
 * - cadre createWorkspace, warm: the same with the worktree pool on (src/activities/worktreePool.ts, 2 entries):
 *   claim a ready entry, `git worktree move` it into place, start the branch in it. Between samples the benchmark
 *   waits for the background refill to finish (timed as "refill"), so every sample finds a full pool at the base.
 * - warm, base moved: the base gains one commit changing 10 files after the refill, so the claimed entry is one
 *   commit behind and the claim checks out that difference (`git read-tree -m -u`).
 * - cadre agent: an agent workflow with real activities (pool on, warmed before each agent), from its start to its
 *   first activity after the workspace exists (when the agent can first act in it), from history.
 * Every removal is followed by `sync`, so the write-back of 10,000 deleted files does not land in the next timing.
 * Removal (`removeWorkspace`) is timed too: every task pays it at its end.
 */
import { execFileSync } from 'node:child_process';
import { realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorkspace, removeWorkspace, worktreesRoot } from '../../src/activities/workspace';
import { poolSettled } from '../../src/activities/worktreePool';
import { commandAgentInput } from '../lib/agent';
import { log, startWorker, uniqueId, type BenchEnv } from '../lib/env';
import { activityTimings, historyEvents } from '../lib/history';
import { git, makeLargeRepo } from '../lib/repo';
import { round, summarize, type Summary } from '../lib/stats';

export interface WorktreeResult {
  files: number;
  samples: number;
  plainAddMs: Summary;
  /** Empty pool: the full `git worktree add` path. */
  cadreColdMs: Summary;
  /** A ready pool entry at the base. */
  cadreWarmMs: Summary;
  /** A ready pool entry one commit (10 files) behind the base. */
  cadreWarmMovedBaseMs: Summary;
  /** From a claim's return until its background refill has finished (off the critical path). */
  poolRefillMs: Summary;
  cadreAgentReadyMs: Summary;
  cadreRemoveWorkspaceMs: Summary;
  /** plain add ÷ cadre createWorkspace with a warm pool, at p50 (the target asks for ≥ 10). */
  speedupVsPlainP50: number;
}

/** Flush what the last removal left to write (deleting 10,000 files), so it does not slow the next timed add. */
function settle(): void {
  execFileSync('sync');
}

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** A commit on `branch` (checked out in `mover`) that changes 10 files: the base moves on. */
function moveBase(mover: string, step: number): void {
  for (let k = 0; k < 10; k++) writeFileSync(join(mover, 'src', 'm000', `f${String(k).padStart(5, '0')}.ts`), `// changed ${step}.${k}\n`);
  git(mover, 'commit', '-q', '-am', `move the base (${step})`);
}

export async function worktree(env: BenchEnv, o: { files: number; samples: number }): Promise<WorktreeResult> {
  const t0 = performance.now();
  const repo = realpathSync(makeLargeRepo(env.dir('repo-10k'), o.files));
  settle();
  log(`worktree: generated a ${o.files}-file repository in ${Math.round(performance.now() - t0)} ms`);
  const scratch = env.dir('wt-plain');

  // Plain and cold cadre samples alternate, so a change in the machine's load hits both alike.
  const coldState = env.dir('state-wt-cold');
  const plain: number[] = [];
  const cold: number[] = [];
  const remove: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    const dir = join(scratch, `plain-${i}`);
    plain.push(timed(() => git(repo, 'worktree', 'add', '-q', '-b', `plain/${i}`, dir, 'main')));
    git(repo, 'worktree', 'remove', '--force', dir);
    settle();
    let t = performance.now();
    const w = await createWorkspace({ stateDir: coldState, repo, agentId: `cold-${i}`, baseRef: 'main', worktreePool: 0 });
    cold.push(performance.now() - t);
    t = performance.now();
    await removeWorkspace({ stateDir: coldState, repo, path: w.path });
    remove.push(performance.now() - t);
    settle();
  }

  // Warm: the pool is full before every sample (the refill after each claim is awaited and timed).
  const warmState = env.dir('state-wt-warm');
  const root = worktreesRoot(warmState, repo);
  const refill: number[] = [];
  const claim = async (agentId: string, baseRef: string): Promise<number> => {
    const t = performance.now();
    const w = await createWorkspace({ stateDir: warmState, repo, agentId, baseRef });
    const ms = performance.now() - t;
    const r = performance.now();
    await poolSettled(root);
    refill.push(performance.now() - r);
    await removeWorkspace({ stateDir: warmState, repo, path: w.path });
    settle();
    return ms;
  };
  await claim('warm-up', 'main'); // cold: fills the pool
  const warm: number[] = [];
  for (let i = 0; i < o.samples; i++) warm.push(await claim(`warm-${i}`, 'main'));
  // The base moves by one commit (10 files) before each claim; the pool's entries are still at the previous base.
  const mover = join(env.dir('wt-mover'), 'mover');
  git(repo, 'worktree', 'add', '-q', '-b', 'moving', mover, 'main');
  const moved: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    moveBase(mover, i);
    moved.push(await claim(`moved-${i}`, 'moving'));
  }
  git(repo, 'worktree', 'remove', '--force', mover);

  // Through the agent workflow: start → the first activity after createWorkspace starts, with the pool warm.
  const ready: number[] = [];
  const w = await startWorker(env);
  try {
    const agentRoot = worktreesRoot(w.stateDir, repo);
    for (let i = 0; i < Math.min(o.samples, 3) + 1; i++) {
      await poolSettled(agentRoot);
      settle();
      const id = uniqueId('wt-agent');
      await env.client.workflow.execute('agent', { workflowId: id, taskQueue: w.taskQueue, args: [commandAgentInput(repo, 'edit')] });
      if (i === 0) continue; // the first agent found the pool empty and filled it
      const ev = await historyEvents(env.client, id);
      const acts = activityTimings(ev);
      const next = acts[acts.findIndex((a) => a.name === 'createWorkspace') + 1];
      if (next) ready.push((next.startedAt ?? next.scheduledAt) - ev[0]!.at);
    }
    await poolSettled(agentRoot);
  } finally {
    await w.stop();
  }

  const out: WorktreeResult = {
    files: o.files,
    samples: o.samples,
    plainAddMs: summarize(plain),
    cadreColdMs: summarize(cold),
    cadreWarmMs: summarize(warm),
    cadreWarmMovedBaseMs: summarize(moved),
    poolRefillMs: summarize(refill),
    cadreAgentReadyMs: summarize(ready),
    cadreRemoveWorkspaceMs: summarize(remove),
    speedupVsPlainP50: 0,
  };
  out.speedupVsPlainP50 = round(out.plainAddMs.p50 / out.cadreWarmMs.p50, 2);
  log(`worktree: plain add p50 ${out.plainAddMs.p50} ms, cadre createWorkspace cold p50 ${out.cadreColdMs.p50} ms, warm p50 ${out.cadreWarmMs.p50} ms, base moved p50 ${out.cadreWarmMovedBaseMs.p50} ms`);
  return out;
}
