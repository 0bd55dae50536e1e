/**
 * The agent's ending, whatever way it ended (finished, out of turns or budget, failed, cancelled, timed out). It
 * runs in a non-cancellable scope: children are waited for and merged, the work is committed by the system (not
 * trusted from the model's word), the outputs and verify command checked for a completed agent, the worktree
 * removed (the branch is kept), and the unused budget handed back to the parent, which is signalled even if it is
 * itself ending (a failed signal is ignored: the parent reads the same figures from our result).
 */
import * as wf from '@temporalio/workflow';
import type { AgentInput, AgentResult } from '../../shared/agent';
import { checksFailure, outputsFailure, verifyAttemptsOf, verifyCommandFailure, type VerifyFailure } from './attempts';
import { endCommitMessage } from '../../shared/commandTask';
import { ErrorType } from '../../shared/errors';
import { childEndedSignal } from '../../shared/messages';
import { failureCarrying } from '../../shared/outcome';
import { gitOpOn, verifyOpOn } from '../presets';
import type { AgentContext } from './context';
import * as ledger from './ledger';
import * as mail from './mailbox';
import { deadLetterUnread, errorMessage } from './messaging';
import { branchOf, subtreeCost, subtreeUsage, treeNode } from './reporting';
import type { AgentState } from './state';
import { mergeChildren } from './tools';
import { portsField } from './ports';
import { patched } from '../patches';

const DEAD_LETTER_UNREAD = 'dead-letter-unread';

export function endAgent(ctx: AgentContext): Promise<AgentResult> {
  const { input, s } = ctx;
  return wf.CancellationScope.nonCancellable(async () => {
    ctx.setDoing('finishing');
    // Children of a cancelled or failed agent were asked to cancel with it; wait for their endings.
    await Promise.all([...ctx.childPromises.values()]);
    let commit: string | undefined;
    let filesChanged: string[] = [];
    if (s.workspace && ctx.shared) {
      // Shared checkout: nothing to merge, commit or remove; what changed is what this agent wrote.
      filesChanged = [...s.written].sort();
      if (s.status === 'completed' && !s.settled) await verify(ctx);
    } else if (s.workspace && s.ended) {
      commit = s.ended.commit;
      filesChanged = s.ended.files;
    } else if (s.workspace) {
      // Fix-and-retry merged, committed and verified the work already (retry.ts): a second commit would take in
      // what the verify command left behind.
      commit = s.settled ? s.settled.commit : await commitAll(ctx);
      if (s.status === 'completed' && !s.settled) await verify(ctx);
      const diff = await gitOpOn(s.workspace).diffStat.executeWithOptions({ summary: 'diff stat' }, [
        { repo: input.repo, branch: s.workspace.branch, base: s.workspace.baseCommit },
      ]);
      filesChanged = diff.files;
      await gitOpOn(s.workspace).removeWorkspace.executeWithOptions({ summary: 'remove workspace' }, [{ repo: input.repo, path: s.workspace.path }]);
    }
    const result = agentResult(input, s, commit, filesChanged);
    ctx.setDoing('');
    result.tree = treeNode(input, s);
    if (input.parentId) {
      await wf
        .getExternalWorkflowHandle(input.parentId)
        .signal(childEndedSignal, { childId: s.agentId, status: s.status, usage: result.usage, costUsd: result.costUsd, returned: result.returned, node: treeNode(input, s) })
        .catch(() => undefined);
    }
    // Messages accepted after the last turn are never lost: they go to the dead letters (patched: recorded
    // histories end without these signals).
    if (mail.pending(s.mailbox).length && patched(DEAD_LETTER_UNREAD)) await deadLetterUnread(ctx);
    ctx.showBudgetUsed(result.costUsd);
    // A root agent (a task's, or a standalone one) that failed fails in Temporal's eyes, carrying its result;
    // sub-agents return theirs, which their parent reads as before.
    if (result.status === 'failed' && !input.parentId && patched('agent-failed-as-failure')) {
      throw failureCarrying(ErrorType.TaskFailed, `agent ${result.agentId} failed: ${result.error ?? result.summary}`, result);
    }
    return result;
  });
}

/** Merge the finished children, then commit everything in the worktree (the system commits, not the model). */
export async function commitAll(ctx: AgentContext): Promise<string> {
  const { s } = ctx;
  await mergeChildren(ctx, s.children).catch((err: unknown) => {
    s.error ??= `merging children: ${errorMessage(err)}`;
  });
  const c = await gitOpOn(s.workspace).commitWorkspace.executeWithOptions({ summary: 'commit work' }, [
    { path: s.workspace!.path, message: endCommitMessage(s.agentId, s.summary || s.status) },
  ]);
  return c.commit;
}

/** The agent's result: ids, counts and short texts only (it lives in history). */
export function agentResult(input: AgentInput, s: AgentState, commit: string | undefined, filesChanged: string[]): AgentResult {
  return {
    agentId: s.agentId,
    status: s.status,
    summary: s.summary.slice(0, 2000),
    branch: s.workspace?.branch ?? branchOf(s.agentId),
    baseCommit: s.workspace?.baseCommit,
    commit,
    filesChanged: filesChanged.slice(0, 200),
    usage: subtreeUsage(s),
    costUsd: subtreeCost(s),
    turns: s.turn,
    error: s.error,
    returned: ledger.unused(s.book),
    children: s.children.map((c) => ({ name: c.name, agentId: c.agentId, status: c.status, merged: c.merged, conflicts: c.conflicts })),
    // Only agents verified under fix-and-retry have attempts: other results stay as they were.
    ...(s.attempts.length ? { attempts: s.attempts, verifyAttempts: verifyAttemptsOf(input) } : {}),
    ...(s.watch.stalls ? { stalls: s.watch.stalls } : {}),
    ...(s.reviews.length ? { reviews: s.reviews } : {}),
    ...(s.workspace?.host ? { host: s.workspace.host } : {}),
  };
}

/** A completed agent's checks, as without fix-and-retry: any failing fails it. */
async function verify(ctx: AgentContext): Promise<void> {
  const failure = await checkWork(ctx);
  if (failure) failWith(ctx, failure);
}

export function failWith(ctx: AgentContext, failure: VerifyFailure): void {
  ctx.setStatus('failed');
  ctx.s.error = failure.error;
}

/**
 * The agent's verification: declared outputs exist, then its machine checks pass, then the verify command exits 0.
 * The first failing part is the verdict; undefined when all pass.
 */
export async function checkWork(ctx: AgentContext): Promise<VerifyFailure | undefined> {
  const { input, s } = ctx;
  if (input.outputs?.length) {
    const r = await verifyOpOn(s.workspace).verifyOutputs.executeWithOptions({ summary: 'verify outputs' }, [{ path: s.workspace!.path, outputs: input.outputs }]);
    if (r.missing.length) return outputsFailure(r.missing);
  }
  // Checks are a later addition: only agents that have them call the activity, behind a patch for replay.
  if (input.checks?.length && patched('verify-checks')) {
    const r = await verifyOpOn(s.workspace).verifyChecks.executeWithOptions({ summary: 'verify checks' }, [{ path: s.workspace!.path, checks: input.checks }]);
    if (r.failures.length) return checksFailure(r.failures);
  }
  if (input.verify?.length) {
    const r = await verifyOpOn(s.workspace).runVerify.executeWithOptions({ summary: `verify ${input.verify.join(' ')}`.slice(0, 100) }, [
      { path: s.workspace!.path, argv: input.verify, timeoutMs: 10 * 60_000, ...portsField(ctx) },
    ]);
    if (r.exitCode !== 0) return verifyCommandFailure(input.verify, r.exitCode, r.tail, r.timedOut);
  }
  return undefined;
}
