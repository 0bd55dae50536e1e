/**
 * An inline command task (plan option `inlineCommands`): one activity of the scheduler does the workspace, the
 * program, the ending and the merge into the integration branch. It reports as an agent would (commandAgentResult),
 * so the rest of the scheduler treats both paths alike.
 */
import * as wf from '@temporalio/workflow';
import type { AgentInput, AgentResult } from '../../shared/agent';
import { commandAgentResult } from '../../shared/commandTask';
import type { Task } from '../../shared/plan';
import { commandTaskOp } from '../presets';
import { hasVerification, verifyAttemptsOf } from '../agent/attempts';
import { isHostLost } from '../agent/relocate';
import { mergeMessage } from './scheduler';
import type { RunState } from './table';
import { leasePorts, portPlan, releasePorts, type PortVia } from '../locks/ports';
import type { PortPlan } from '../../shared/ports';
import { patched } from '../patches';

const INLINE_PORTS_VIA_ACTIVITIES = 'inline-ports-via-activities';
const INLINE_PORTS_IN_TASK = 'inline-ports-in-task';

/** The arguments of an inline task's lease: the plan, the label and how the lease reaches the host. */
async function inlinePortPlan(s: RunState, label: string, spreadKey: string): Promise<[PortPlan, string, string, PortVia]> {
  const via: PortVia = patched(INLINE_PORTS_VIA_ACTIVITIES) ? { owner: s.integration } : 'local';
  return [await portPlan(via), label, spreadKey, via];
}

type Inline = { result: AgentResult; conflicts?: string[]; exitCode?: number };

/**
 * The activity merges into the integration worktree, so it runs on the host that owns it (docs/hosts.md).
 * `deferMerge`: leave the merge to the scheduler (a task with an approval gate is merged only once approved).
 * Returns the program's exit code too (null: killed by a signal or timed out), for the seed-003 status file.
 *
 * `moveIntegration` (runs through a remote): when the integration host is lost (its lease or its activity not taken
 * in time: relocate.ts isHostLost), the integration worktree moves to another host and the task runs there again
 * from its branch as the remote has it, its program once more, at most MAX_MOVES times (behind
 * `inline-moves-with-integration`, asked only then; runs recorded before failed the task).
 */
export async function runInline(
  s: RunState, t: Task, a: AgentInput, agentId: string, deferMerge = false, moveIntegration?: (from: string | undefined) => Promise<void>,
): Promise<Inline> {
  for (let moves = 0; ; moves++) {
    const from = s.integration?.host;
    try {
      return await runInlineOnce(s, t, a, agentId, deferMerge);
    } catch (err) {
      if (!moveIntegration || !from || !isHostLost(err) || moves >= MAX_MOVES || !patched(INLINE_MOVES)) throw err;
      await moveIntegration(from);
    }
  }
}

const INLINE_MOVES = 'inline-moves-with-integration';
const MAX_MOVES = 3;

async function runInlineOnce(s: RunState, t: Task, a: AgentInput, agentId: string, deferMerge: boolean): Promise<Inline> {
  if (!a.command?.length) throw new Error(`task ${t.id}: the command backend needs a command`);
  const timeout = a.timeoutSeconds ?? 3600;
  // The task's port block. Held by the activity itself while it runs (INLINE_PORTS_IN_TASK): no scheduler history
  // for it at all. Runs recorded before: held by the scheduler, leased through ordinary activities on the
  // integration's host (replay-safe, see PortVia), or before INLINE_PORTS_VIA_ACTIVITIES local activities; before
  // `port-lease`, none.
  const label = `ports of ${agentId}`.slice(0, 200);
  const leased = patched('port-lease');
  const inTask = leased && patched(INLINE_PORTS_IN_TASK);
  const hold = leased && !inTask ? await leasePorts(...(await inlinePortPlan(s, label, agentId))) : undefined;
  const leasePortsInTask = inTask
    ? { leasePorts: { holderId: agentId, requestId: `${agentId}#ports-${wf.uuid4()}`, spreadKey: agentId, taskQueue: wf.workflowInfo().taskQueue, label } }
    : {};
  const r = await commandTaskOp(timeout, s.integration).runInlineCommandTask.executeWithOptions({ summary: `task ${t.id}: ${a.command.join(' ')}`.slice(0, 100) }, [
    {
      agentId,
      repo: a.repo,
      baseRef: a.baseRef,
      argv: a.command,
      timeoutSeconds: timeout,
      outputs: a.outputs,
      verify: a.verify,
      ...(a.checks?.length ? { checks: a.checks } : {}),
      ...(hasVerification(a) && verifyAttemptsOf(a) > 1 ? { verifyAttempts: verifyAttemptsOf(a) } : {}),
      ...(deferMerge ? {} : { mergeInto: { worktree: s.integration!.path, message: mergeMessage(t) } }),
      ...(hold ? { ports: hold.ports } : {}),
      ...leasePortsInTask,
    },
  ]).finally(() => (hold ? releasePorts(hold) : undefined));
  if (r.merge?.ok) s.lastCommit = r.merge.commit;
  const result = commandAgentResult({ agentId, branch: r.branch, baseCommit: r.baseCommit, task: r.task, timeoutSeconds: timeout, returned: a.budget });
  if (r.attempts) Object.assign(result, { attempts: r.attempts, verifyAttempts: verifyAttemptsOf(a) });
  const exitCode = r.task.outcome.exitCode ?? undefined;
  return { result, conflicts: r.merge ? (r.merge.ok ? [] : r.merge.conflicts) : undefined, exitCode };
}
