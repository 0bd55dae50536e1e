/**
 * Worktree provisioning on a generated repository of `files` files: the time until an agent can edit.
 *
 * - plain: `git worktree add -b <branch> <dir> main`, the baseline.
 * - cadre createWorkspace: the function behind the `createWorkspace` activity (src/activities/workspace.ts), called
 *   in-process: repository lock, prune, listing, metadata, `git worktree add`.
 * - cadre agent: an agent workflow with real activities, from its start to its first activity after the workspace
 *   exists (when the agent can first act in it), from history.
 * - pool (bench prototype): worktrees checked out beforehand at the base commit; claiming one is `git branch` plus
 *   `git symbolic-ref HEAD` (same base: nothing to check out) or `git checkout -B <branch> <base>` when the base
 *   moved by one commit touching 10 files.
 * Every removal is followed by `sync`, so the write-back of 10,000 deleted files does not land in the next timing.
 * Removal (`removeWorkspace`) is timed too: every task pays it at its end.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorkspace, removeWorkspace } from '../../src/activities/workspace';
import { defaultLimits, type AgentInput } from '../../src/shared/agent';
import { log, startWorker, uniqueId, type BenchEnv } from '../lib/env';
import { activityTimings, historyEvents } from '../lib/history';
import { git, makeLargeRepo } from '../lib/repo';
import { round, summarize, type Summary } from '../lib/stats';

export interface WorktreeResult {
  files: number;
  samples: number;
  plainAddMs: Summary;
  cadreCreateWorkspaceMs: Summary;
  cadreAgentReadyMs: Summary;
  cadreRemoveWorkspaceMs: Summary;
  poolClaimSameBaseMs: Summary;
  poolClaimMovedBaseMs: Summary;
  poolRefillMs: Summary;
  /** plain add ÷ cadre createWorkspace, at p50 (the target asks for ≥ 10). */
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

export async function worktree(env: BenchEnv, o: { files: number; samples: number }): Promise<WorktreeResult> {
  const t0 = performance.now();
  const repo = makeLargeRepo(env.dir('repo-10k'), o.files);
  settle();
  log(`worktree: generated a ${o.files}-file repository in ${Math.round(performance.now() - t0)} ms`);
  const scratch = env.dir('wt-plain');

  // Plain and cadre samples alternate, so a change in the machine's load hits both alike.
  const stateDir = env.dir('state-wt');
  const plain: number[] = [];
  const create: number[] = [];
  const remove: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    const dir = join(scratch, `plain-${i}`);
    plain.push(timed(() => git(repo, 'worktree', 'add', '-q', '-b', `plain/${i}`, dir, 'main')));
    git(repo, 'worktree', 'remove', '--force', dir);
    settle();
    let t = performance.now();
    const w = await createWorkspace({ stateDir, repo, agentId: `wt-${i}`, baseRef: 'main' });
    create.push(performance.now() - t);
    t = performance.now();
    await removeWorkspace({ stateDir, repo, path: w.path });
    remove.push(performance.now() - t);
    settle();
  }

  // Through the agent workflow: start → the first activity after createWorkspace starts.
  const ready: number[] = [];
  const w = await startWorker(env);
  try {
    for (let i = 0; i < Math.min(o.samples, 3); i++) {
      const id = uniqueId('wt-agent');
      const input: AgentInput = {
        repo,
        baseRef: 'main',
        goal: 'edit',
        backend: 'command',
        command: ['true'],
        model: 'claude-sonnet-4-6',
        maxTokens: 8192,
        maxTurns: 1,
        budget: {},
        depth: 0,
        limits: defaultLimits,
      };
      await env.client.workflow.execute('agent', { workflowId: id, taskQueue: w.taskQueue, args: [input] });
      const ev = await historyEvents(env.client, id);
      const acts = activityTimings(ev);
      const next = acts[acts.findIndex((a) => a.name === 'createWorkspace') + 1];
      if (next) ready.push((next.startedAt ?? next.scheduledAt) - ev[0]!.at);
    }
  } finally {
    await w.stop();
  }

  // Prototype: a pool of worktrees checked out in advance at the base commit.
  const poolDir = env.dir('wt-pool');
  const refill: number[] = [];
  const same: number[] = [];
  const moved: number[] = [];
  const pooled = (i: number) => join(poolDir, `pool-${i}`);
  for (let i = 0; i < 2 * o.samples; i++) refill.push(timed(() => git(repo, 'worktree', 'add', '-q', '--detach', pooled(i), 'main')));
  // Same base: the checkout is already right, only the branch is new: create it and point HEAD at it (no index refresh).
  for (let i = 0; i < o.samples; i++) {
    same.push(
      timed(() => {
        git(pooled(i), 'branch', `pool/same-${i}`, 'HEAD');
        git(pooled(i), 'symbolic-ref', 'HEAD', `refs/heads/pool/same-${i}`);
      }),
    );
  }
  // The base moves by one commit that changes 10 files; a pooled worktree still at the old base is switched to it.
  const mover = join(poolDir, 'mover');
  git(repo, 'worktree', 'add', '-q', '-b', 'moved-base', mover, 'main');
  for (let k = 0; k < 10; k++) writeFileSync(join(mover, 'src', 'm000', `f${String(k).padStart(5, '0')}.ts`), `// changed ${k}\n`);
  git(mover, 'commit', '-q', '-am', 'move the base');
  const movedBase = git(mover, 'rev-parse', 'HEAD');
  for (let i = o.samples; i < 2 * o.samples; i++) moved.push(timed(() => git(pooled(i), 'checkout', '-q', '-B', `pool/moved-${i}`, movedBase)));
  execFileSync('git', ['worktree', 'prune'], { cwd: repo });

  const out: WorktreeResult = {
    files: o.files,
    samples: o.samples,
    plainAddMs: summarize(plain),
    cadreCreateWorkspaceMs: summarize(create),
    cadreAgentReadyMs: summarize(ready),
    cadreRemoveWorkspaceMs: summarize(remove),
    poolClaimSameBaseMs: summarize(same),
    poolClaimMovedBaseMs: summarize(moved),
    poolRefillMs: summarize(refill),
    speedupVsPlainP50: 0,
  };
  out.speedupVsPlainP50 = round(out.plainAddMs.p50 / out.cadreCreateWorkspaceMs.p50, 2);
  log(`worktree: plain add p50 ${out.plainAddMs.p50} ms, cadre createWorkspace p50 ${out.cadreCreateWorkspaceMs.p50} ms, pool claim p50 ${out.poolClaimSameBaseMs.p50} ms`);
  return out;
}
