/**
 * Merge conflicts, shell side (docs/loops.md "Merge conflicts"): a completed task whose branch conflicts with the
 * integration branch is not failed at once. Each round brings the current integration head into a branch started
 * from the task's branch, in a worktree of its own (never the integration worktree); a clean merge goes straight to
 * the checks, a conflict goes to a resolver agent (`<task agent>/resolve-<n>`, a child of the run funded from the
 * run's budget like a task) working in that worktree with the markers in place. Then the worktree must hold the
 * committed merge with no markers, the task's checks (outputs, machine checks, verify command) run there again, and
 * only when they pass does the task's branch move to the resolution and get merged through the run's merge chain.
 * The integration branch therefore only ever advances by a merge whose checks passed.
 *
 * A failed resolution is retried with a fresh branch while `resolve.attempts` (default 1) allow; a merge that
 * conflicts again because the integration branch moved on meanwhile is one more round. Only then does the task fail,
 * `merge conflict in <files> (resolver: <why>)`. Every round is recorded on the task's row (`resolutions`).
 *
 * Behind the patch `merge-resolve` (resolution.ts), asked only when a task with a resolver meets a conflict.
 *
 * Hosts (docs/hosts.md): the conflict left in the worktree (markers, MERGE_HEAD) is uncommitted state of one host,
 * so a round's git work (prepare, open, check, advance, remove) runs on the host that holds the integration worktree,
 * and the resolver is placed there too (its input names that host). Behind `host-aware-resolution`, asked only when
 * the integration worktree has a host: single-host runs and runs recorded before do as they did.
 */
import * as wf from '@temporalio/workflow';
import type { AgentResult } from '../../shared/agent';
import { ErrorType } from '../../shared/errors';
import type { ResolutionRecord, TaskRow } from '../../shared/messages';
import { resultInFailure } from '../../shared/outcome';
import type { Task } from '../../shared/plan';
import { CadreRun, CadreTask } from '../../shared/searchAttributes';
import type { agent } from '../agent';
import { gitOpOn, onHost, verifyOpOn, workspaceSetupOp, type Owner } from '../presets';
import { conflictError, fileList, resolverEnv, resolverGoal, resolverIdFor, resolverInput, resolvingText, withResolution, type ConflictRefs, type GoalOf, type Resolver } from './resolution';
import { isHostLost } from '../agent/relocate';
import { agentInputFor, sliceFor } from './scheduler';
import * as table from './table';
import type { TaskDeps } from './task';
import { patched } from '../patches';

export interface Conflict {
  t: Task;
  r: TaskRow;
  /** The task's completed result: its branch is what gets resolved and merged. */
  result: AgentResult;
  /** The task agent's id: resolvers are `<it>/resolve-<n>`. */
  agentId: string;
  files: string[];
  /** The task's scope: cancelling the task cancels its resolver. */
  scope: wf.CancellationScope;
}

const DEFAULT_SETUP_TIMEOUT_MS = 15 * 60_000;
const HOST_AWARE_RESOLUTION = 'host-aware-resolution';

/**
 * Resolve and merge. Undefined once merged; else the task's error (`cancelled` when the task was cancelled).
 * Through a remote, losing the integration host mid-round (a pinned step not taken in time, presets.ts `onHost`)
 * fails the task as an unresolved conflict: the worktree with the conflict is gone with the host, and the next merge
 * of the run moves the integration worktree (merge.ts); `cadre retry` runs the task again from there.
 */
export async function resolveConflict(d: TaskDeps, c: Conflict, resolver: Resolver): Promise<string | undefined> {
  const host = d.s.integration?.host;
  const pinned = !!host && patched(HOST_AWARE_RESOLUTION);
  try {
    return await resolveRounds(d, c, resolver, pinned);
  } catch (err) {
    if (!pinned || !isHostLost(err)) throw err;
    return conflictError(c.r.resolutions?.at(-1)?.files ?? c.files, `the integration host ${host} was lost while the conflict was resolved; retry the task`);
  }
}

async function resolveRounds(d: TaskDeps, c: Conflict, resolver: Resolver, pinned: boolean): Promise<string | undefined> {
  const { input, s } = d;
  const { t, r } = c;
  const integration = s.integration!.branch;
  const bootstrap = agentInputFor(input, s, t, {}).bootstrap;
  let files = c.files;
  let resolvers = 0;
  r.resolutions = [];
  const record = (rec: ResolutionRecord) => void (r.resolutions = withResolution(r.resolutions, rec));
  for (let round = 1; ; round++) {
    const id = resolverIdFor(c.agentId, round);
    // Read every round: the integration worktree may have moved to another host meanwhile (merge.ts).
    const owner: Owner | undefined = pinned ? { ...s.integration! } : undefined;
    const gitOp = gitOpOn(owner);
    const open = bootstrap?.setup?.length ? workspaceSetupOp(bootstrap.setupTimeoutMs ?? DEFAULT_SETUP_TIMEOUT_MS, owner ? onHost(owner) : {}) : gitOp;
    await d.setRow(r, 'running', { waiting: resolvingText(files) });
    const prep = await gitOp.prepareResolution.executeWithOptions({ summary: `bring ${integration} into ${t.id}`.slice(0, 100) }, [
      { repo: input.repo, agentId: id, branch: c.result.branch, integration, message: `cadre: bring ${integration} into task ${t.id}`.slice(0, 200) },
    ]);
    if (!prep.clean) files = prep.conflicts;
    const refs: ConflictRefs = { branch: prep.branch, integration, ours: prep.ours, theirs: prep.theirs, base: prep.base, files };
    const rec: ResolutionRecord = { round, files, outcome: prep.clean ? 'clean' : 'resolved', ...(prep.clean ? {} : { agentId: id }) };
    let why: string | undefined;
    try {
      if (!prep.clean && resolvers >= resolver.attempts) why = `no resolver attempts left (${resolver.attempts})`;
      else if (!prep.clean) {
        resolvers++;
        if (r.waiting !== resolvingText(files)) await d.setRow(r, 'running', { waiting: resolvingText(files) });
        const ran = await runResolver(d, c, resolver, id, refs, goalsOf(d, prep.mergedTasks), round, owner?.host);
        if (ran === 'cancelled') return 'cancelled';
        rec.costUsd = ran.costUsd;
        why = ran.why;
      }
      if (!why) {
        // The resolver's ending removed its worktree (its branch stays): open it again, set up like the task's.
        await open.createWorkspace.executeWithOptions({ summary: 'open the resolution' }, [{ repo: input.repo, agentId: id, baseRef: prep.ours, ...(bootstrap ? { bootstrap } : {}) }]);
        const checked = await verifyOpOn(owner).checkResolution.executeWithOptions({ summary: `check the resolution of ${t.id}`.slice(0, 100) }, [
          {
            path: prep.path, files, theirs: prep.theirs, logName: id,
            ...(t.outputs.length ? { outputs: t.outputs } : {}), ...(t.checks?.length ? { checks: t.checks } : {}), ...(t.verify ? { verify: t.verify } : {}),
          },
        ]);
        why = checked.problem;
        if (!why) await gitOp.advanceBranch.executeWithOptions({ summary: `advance ${c.result.branch}`.slice(0, 100) }, [{ repo: input.repo, branch: c.result.branch, from: prep.ours, to: checked.commit }]);
      }
    } finally {
      await wf.CancellationScope.nonCancellable(() => gitOp.removeWorkspace.executeWithOptions({ summary: 'remove the resolution worktree' }, [{ repo: input.repo, path: prep.path }]));
    }
    if (why) {
      record({ ...rec, outcome: 'failed', why: why.slice(0, 300) });
      // A clean merge whose checks fail is not a conflict a resolver can take on; a failed resolver may try again.
      if (prep.clean || resolvers >= resolver.attempts) return conflictError(files, why);
      continue;
    }
    const again = await d.merger.merge(t, c.result);
    if (!again.length) {
      record(rec);
      return undefined;
    }
    const moved = `the integration branch moved on meanwhile and conflicts again in ${fileList(again)}`;
    record({ ...rec, outcome: 'failed', why: moved });
    files = again;
    if (round > resolver.attempts) return conflictError(again, moved);
  }
}

/** The goals of the tasks the integration branch merged into the conflicting files, from the plan and the run table. */
function goalsOf(d: TaskDeps, ids: string[]): GoalOf[] {
  return ids.flatMap((id) => {
    const t = d.plan.tasks[d.s.index[id] ?? -1];
    return t ? [{ id, title: table.rowOf(d.s, id)?.title ?? t.title, goal: t.prompt || t.title }] : [];
  });
}

/**
 * Start the resolver child in its prepared worktree and wait for it. Its slice comes from the run's budget as a
 * task's does (sliceFor), and what it spends is counted into the task's row and the run (table.recordSpend).
 * `host`: the host that holds the prepared worktree; the resolver's workspace is made there (its conflict is there).
 */
async function runResolver(
  d: TaskDeps, c: Conflict, resolver: Resolver, id: string, refs: ConflictRefs, merged: GoalOf[], round: number, host?: string,
): Promise<{ why?: string; costUsd: number } | 'cancelled'> {
  const { input, plan, s } = d;
  const { t } = c;
  const { slice, fromPool } = sliceFor(plan, s, t);
  const goal = resolverGoal(resolver, { id: t.id, title: t.title, goal: t.prompt || t.title }, merged, refs);
  const childInput = { ...resolverInput(agentInputFor(input, s, t, slice), resolver, goal, resolverEnv(refs, t.id, round)), ...(host ? { host } : {}) };
  let result: AgentResult | undefined;
  try {
    result = await c.scope.run(() =>
      wf.executeChild<typeof agent>('agent', {
        workflowId: id,
        args: [childInput],
        cancellationType: 'WAIT_CANCELLATION_COMPLETED',
        parentClosePolicy: 'REQUEST_CANCEL',
        staticSummary: `resolver of task ${t.id}, round ${round}: ${fileList(refs.files)}`.slice(0, 200),
        typedSearchAttributes: [
          { key: CadreRun, value: input.runId },
          { key: CadreTask, value: t.id },
        ],
      }),
    );
  } catch (err) {
    // A failed root agent throws its result (TaskFailed): read it as if it had been returned.
    result = resultInFailure<AgentResult>(err, ErrorType.TaskFailed);
    if (!result) {
      if (wf.isCancellation(err)) return 'cancelled';
      return { why: `resolver failed: ${errText(err)}`, costUsd: 0 };
    }
  }
  table.recordSpend(s, c.r, result, fromPool ? slice : undefined);
  if (result.status === 'cancelled' && c.scope.consideredCancelled) return 'cancelled';
  const why = result.status === 'completed' ? undefined : `resolver ${result.status}${result.error ? `: ${result.error}` : ''}`;
  return { ...(why ? { why } : {}), costUsd: result.costUsd };
}

function errText(err: unknown): string {
  if (err instanceof wf.ChildWorkflowFailure || err instanceof wf.ActivityFailure) return errText(err.cause);
  return err instanceof Error ? err.message : String(err);
}
