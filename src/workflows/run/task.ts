/**
 * One attempt at a task, in the run's shell: its lock (declared files), its agent or inline activity, its gate,
 * the merge of its completed work, and its row.
 */
import * as wf from '@temporalio/workflow';
import type { AgentResult } from '../../shared/agent';
import { ErrorType } from '../../shared/errors';
import { type TaskRow, type TaskStatus } from '../../shared/messages';
import { resultInFailure } from '../../shared/outcome';
import type { Plan, Task } from '../../shared/plan';
import type { RunPlanInput } from '../../shared/run';
import { CadreDepth, CadrePhase, CadreRole, CadreRun, CadreStatus, CadreTask } from '../../shared/searchAttributes';
import type { agent } from '../agent';
import { acquire, release, type LockGrant } from '../locks/holder';
import { runInline } from './inline';
import { type Merger } from './merge';
import { resolveConflict } from './resolve';
import { MERGE_RESOLVE, resolverOf } from './resolution';
import { agentIdFor, agentInputFor, isInline, sliceFor, slotFree } from './scheduler';
import * as table from './table';
import { patched } from '../patches';

export interface TaskDeps {
  input: RunPlanInput;
  plan: Plan;
  s: table.RunState;
  running: Map<string, wf.CancellationScope>;
  merger: Merger;
  setRow(r: TaskRow, status: TaskStatus, patch?: Partial<TaskRow>, exitCode?: number): Promise<void>;
  blockDependents(id: string): Promise<void>;
  stopAll(reason: string): void;
}

/**
 * One attempt at a task: its lock (declared files), its agent (or inline activity), the merge of a completed task,
 * and its row. The task holds its concurrency slot and its lock until its work is merged, so a task declaring the
 * same files branches from an integration branch that already has it.
 */
export async function runTask(d: TaskDeps, t: Task): Promise<void> {
  const { input, plan, s, running } = d;
  const r = table.rowOf(s, t.id)!;
  const scope = new wf.CancellationScope();
  running.set(t.id, scope);
  const attempt = r.attempts + 1;
  s.startedThisRun++;
  const agentId = agentIdFor(input.runId, t.id, attempt);
  // A task whose lock is not granted at once is shown waiting and holds no slot (runs recorded before held it).
  const lockWait = t.files.length > 0 && patched('lock-wait-is-waiting');
  await d.setRow(r, 'running', { attempts: attempt, agentId, startedAt: Date.now(), endedAt: undefined, error: undefined, resolutions: undefined });
  const { slice, fromPool } = sliceFor(plan, s, t);
  let result: AgentResult | undefined;
  /** The program's exit code, where the scheduler learns it (inline command tasks). */
  let exitCode: number | undefined;
  /** An inline command task merges in its own activity: the conflicts it met, if it got that far. */
  let mergedInline: string[] | undefined;
  let failure: string | undefined;
  let cancelled = false;
  let grant: LockGrant | undefined;
  let freed = false;
  const free = async (): Promise<void> => {
    if (freed) return;
    freed = true;
    if (grant) await release(grant);
    running.delete(t.id);
  };
  // Runs recorded before this change freed the slot and the lock before merging; they replay that way.
  const holdUntilMerged = patched('hold-task-until-merged');
  try {
    try {
      result = await scope.run(async () => {
        // Declared files are locked through the repository's fileLocks workflow, so tasks of other runs on the
        // same repository never write them at the same time (within this run the scheduler keeps them apart).
        if (t.files.length) {
          const request = acquire(input.repo, t.files, { label: `task ${t.id} of ${input.runId}` });
          grant = lockWait ? await waitForLock(d, t, r, request) : await request;
        }
        if (isInline(plan, t)) {
          const done = await runInline(s, t, agentInputFor(input, s, t, slice), agentId, t.gate !== undefined && patched(GATES), d.merger.moveIntegration);
          mergedInline = done.conflicts;
          exitCode = done.exitCode;
          return done.result;
        }
        const childInput = agentInputFor(input, s, t, slice);
        return wf.executeChild<typeof agent>('agent', {
          workflowId: agentId,
          args: [childInput],
          cancellationType: 'WAIT_CANCELLATION_COMPLETED',
          parentClosePolicy: 'REQUEST_CANCEL',
          staticSummary: `task ${t.id}: ${t.title}`.slice(0, 200),
          memo: { title: t.title },
          typedSearchAttributes: [
            { key: CadreRun, value: input.runId },
            { key: CadreTask, value: t.id },
            { key: CadreRole, value: 'task' },
            ...(t.phase ? [{ key: CadrePhase, value: t.phase }] : []),
            // The rest of the agent's identity, so that it upserts none of it (agent/workflow.ts, `showIdentity`).
            ...(patched(IDENTITY_AT_START) ? [{ key: CadreDepth, value: childInput.depth }, { key: CadreStatus, value: 'starting' }] : []),
          ],
        });
      });
    } catch (err) {
      // A task's agent that ended failed throws its result (TaskFailed): read it as if it had been returned.
      result = resultInFailure<AgentResult>(err, ErrorType.TaskFailed);
      if (!result) {
        cancelled = wf.isCancellation(err);
        failure = cancelled ? 'cancelled' : errText(err);
      }
    }
    if (!holdUntilMerged) await free();
    if (result) {
      table.recordAgentResult(s, r, result, fromPool ? slice : undefined);
      // The gate: a completed task waits for a person before it is merged and counts as completed.
      if (result.status === 'completed' && t.gate && patched(GATES)) {
        const answer = await waitAtGate(d, t, r, scope, () => {
          if (grant) {
            const g = grant;
            grant = undefined;
            return release(g);
          }
          return Promise.resolve();
        });
        if (answer === 'cancelled') result = { ...result, status: 'cancelled' };
        else if (!answer.approved) result = { ...result, status: 'failed', error: `rejected: ${answer.reason ?? ''}` };
      }
      if (result.status === 'completed') {
        const conflicts = mergedInline ?? (await d.merger.merge(t, result));
        // Merge conflicts (resolve.ts): a task with a resolver gets its conflict resolved and checked, then merged.
        const resolver = conflicts.length ? resolverOf(plan, t) : undefined;
        if (resolver && patched(MERGE_RESOLVE)) {
          failure = await resolveConflict(d, { t, r, result, agentId, files: conflicts, scope }, resolver);
          cancelled = failure === 'cancelled';
        } else if (conflicts.length) failure = `merge conflict in ${conflicts.join(', ')}`;
      } else if (result.status === 'cancelled') {
        cancelled = true;
        failure = 'cancelled';
      } else {
        failure = result.error ?? result.status;
      }
    }
  } finally {
    await free();
  }
  if (!failure) {
    await d.setRow(r, 'completed', { endedAt: Date.now() }, exitCode);
    return;
  }
  await d.setRow(r, cancelled ? 'cancelled' : 'failed', { endedAt: Date.now(), error: failure }, exitCode);
  await d.blockDependents(t.id);
  if (plan.failFast && !cancelled) d.stopAll(`fail-fast: ${t.id} failed`);
}

/** How long a task keeps its slot while its lock request is answered; an uncontended lock comes back well within it. */
const LOCK_PATIENCE = '2s';

/**
 * A task's lock, when it may be held elsewhere (another run on the repository): if it is not granted within
 * LOCK_PATIENCE the row turns `waiting` ("lock on …") and gives up its slot; once granted, the task takes a free
 * slot again before it goes on (the claim is made inside the condition, so two granted tasks never take one slot).
 */
async function waitForLock(d: TaskDeps, t: Task, r: TaskRow, request: Promise<LockGrant>): Promise<LockGrant> {
  let answered = false;
  const answer = request.finally(() => void (answered = true));
  // Cancelled while waiting, the request fails where nobody awaits it any more: that is expected, not a crash.
  answer.catch(() => undefined);
  if (await wf.condition(() => answered, LOCK_PATIENCE)) return answer;
  await d.setRow(r, 'waiting', { waiting: `lock on ${t.files.slice(0, 3).join(', ')}${t.files.length > 3 ? ', …' : ''}` });
  const grant = await answer;
  await wf.condition(() => {
    if (!slotFree(d.plan, d.s, [...d.running.keys()], t)) return false;
    Object.assign(r, { status: 'running', waiting: undefined });
    return true;
  });
  await d.setRow(r, 'running', { startedAt: Date.now() });
  return grant;
}

/** Patch of approval gates: runs recorded before treated a gate task as an ordinary one. */
const GATES = 'approval-gates';
const IDENTITY_AT_START = 'identity-at-start';

/**
 * Waits at a task's gate for `cadre approve|reject`: the row is `waiting` (no slot), the task's lock is given back
 * first (a person may take days), and the wait is durable (a worker restart replays to the same wait). A cancel of
 * the task or the run ends the wait as cancelled.
 */
async function waitAtGate(d: TaskDeps, t: Task, r: TaskRow, scope: wf.CancellationScope, letGo: () => Promise<void>): Promise<table.GateAnswer | 'cancelled'> {
  const { s } = d;
  await letGo();
  await d.setRow(r, 'waiting', { waiting: table.approvalWaiting(t.gate!.prompt) });
  try {
    await scope.run(() => wf.condition(() => s.gateAnswers[t.id] !== undefined));
  } catch (err) {
    if (wf.isCancellation(err)) return 'cancelled';
    throw err;
  }
  const answer = s.gateAnswers[t.id]!;
  delete s.gateAnswers[t.id];
  await d.setRow(r, 'running');
  return answer;
}

function errText(err: unknown): string {
  if (err instanceof wf.ChildWorkflowFailure || err instanceof wf.ActivityFailure) return errText(err.cause);
  return err instanceof Error ? err.message : String(err);
}

