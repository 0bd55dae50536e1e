/**
 * The `agent` workflow: one model-driven loop (or one command) in a git worktree of its own. This file is the
 * shell: it wires the handlers (status, tree, mailbox, budget grants and requests, child reports), creates the
 * workspace, runs the backend (modelLoop.ts or commandBackend.ts) under the agent's timeout, and ends cleanly
 * whatever happened (ending.ts). Decisions live in the pure modules beside it (budget, children, reporting, state).
 */
import * as wf from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { AgentInput, AgentResult, AgentStatus, Amount } from '../../shared/agent';
import {
  agentMessageSignal,
  agentStatusQuery,
  agentTreeQuery,
  budgetGrantSignal,
  budgetGrantUpdate,
  budgetRefusalSignal,
  budgetRefuseUpdate,
  messageAnsweredUpdate,
  operatorSendUpdate,
  budgetRequestSignal,
  childEndedSignal,
  childProgressSignal,
  mailboxQuery,
  type AgentMessage,
  type BudgetRequest,
} from '../../shared/messages';
import { isAgentProgramBackend, orchestrationCallUpdate } from '../../shared/sessionCalls';
import { CadreDepth, CadreRole, CadreRun, CadreStatus, CadreTask } from '../../shared/searchAttributes';
import { recordGrantToChild } from './budget';
import { acceptProgress, recordChildEnd } from './children';
import { commandBackend } from './commandBackend';
import { createContext, type AgentContext } from './context';
import { endAgent } from './ending';
import * as ledger from './ledger';
import * as mail from './mailbox';
import { errorMessage } from './messaging';
import { modelLoop } from './modelLoop';
import { bootstrapWithPorts, letGoOfPorts, portsFromOwner, portsLeasedByTask, startHoldingPorts } from './ports';
import { answerSessionCall, sessionBackend } from './sessionBackend';
import { roleOf, snapshot, treeNode } from './reporting';
import { settleAttempt } from './retry';
import { reviewRound } from './reviewer';
import { runRestartable, startStallWatch } from './stallWatch';
import { unfixedError } from './attempts';
import { initialState, type AgentCarry } from './state';
import { answer, answerProblem } from '../answers';
import { grantFromOperator, grantProblem, refuseFromOperator, refuseProblem } from './operatorBudget';
import { createAgentWorkspace } from './placement';
import { relocating } from './relocate';
import { beginPatches, patched } from '../patches';

export type { AgentCarry } from './state';

export async function agent(input: AgentInput, carry?: AgentCarry): Promise<AgentResult> {
  beginPatches();
  const s = initialState(wf.workflowInfo().workflowId, input, Date.now(), carry);
  const ctx = createContext(input, s);
  wf.setCurrentDetails(`${s.status}: ${s.doing}`);
  setHandlers(ctx);
  showIdentity(input, s.status);

  // The agent's timeout cancels its work scope; the ending still runs (non-cancellable). A command agent enforces
  // its timeout inside its activity instead.
  let timedOut = false;
  const work = new wf.CancellationScope();
  const timer = new wf.CancellationScope();
  if (s.deadline !== undefined && input.backend !== 'command') {
    const deadline = s.deadline;
    void timer
      .run(() =>
        wf.sleep(Math.max(1, deadline - Date.now())).then(() => {
          timedOut = true;
          work.cancel();
        }),
      )
      .catch(() => undefined);
  }
  // Stalls (docs/loops.md): no progress for `stallAfterSeconds` marks the agent stalled and nudges it, then ends
  // (cancels `work`) or restarts its backend.
  const watch = startStallWatch(ctx, work);
  try {
    await work.run(async () => {
      // The port lease overlaps the workspace's creation, unless a setup command there needs the ports.
      const carried = !!s.workspace;
      const inTask = portsLeasedByTask(ctx);
      const ports = inTask ? Promise.resolve() : startHoldingPorts(ctx);
      if (input.bootstrap?.setup?.length) await ports;
      // The workspace's host owns it from now on (placement.ts); a shared workspace is the parent's, on its host.
      s.workspace ??= ctx.shared
        ? { path: input.repo, branch: '', baseCommit: '', ...(input.host ? { host: input.host } : {}) }
        : await createAgentWorkspace(input, { repo: input.repo, agentId: s.agentId, baseRef: input.baseRef, bootstrap: bootstrapWithPorts(input.bootstrap, s.ports?.ports) });
      await ports;
      // A workspace made now on a host: its ports are that host's (not after continue-as-new: checked before).
      if (!carried && !inTask) await portsFromOwner(ctx);
      ctx.setStatus('running');
      // Fix-and-retry (retry.ts): a completed attempt whose verification fails goes back to the agent while
      // attempts are left; each attempt spends from the same budget, under the same timeout.
      // Review (reviewer.ts): verified work is reviewed; requested changes send the agent back to work.
      do {
        do {
          // Losing a host (relocate.ts): the workspace moves to another host and the backend runs again there.
          await relocating(ctx, () => runRestartable(watch, () => {
            if (input.backend === 'command') return commandBackend(ctx);
            if (isAgentProgramBackend(input.backend)) return sessionBackend(ctx);
            return modelLoop(ctx);
          }));
        } while (await settleAttempt(ctx));
      } while (await reviewRound(ctx));
    });
  } catch (err) {
    if (err instanceof wf.ContinueAsNew) throw err;
    if (wf.isCancellation(err) && s.stalledOut) {
      // Stalls (stallWatch.ts): the watch cancelled the work; the ending commits it as for any ending.
      ctx.setStatus('failed');
      s.error = s.stalledOut;
    } else if (wf.isCancellation(err)) {
      ctx.setStatus(timedOut ? 'timed_out' : 'cancelled');
      s.error = timedOut ? `timed out after ${input.timeoutSeconds} s` : 'cancelled';
    } else {
      ctx.setStatus('failed');
      s.error = errorMessage(err);
    }
  } finally {
    timer.cancel();
    watch?.stop();
  }
  if (s.status !== 'completed') s.error ??= unfixedError(s, s.status);
  try {
    return await endAgent(ctx);
  } finally {
    await letGoOfPorts(ctx);
    await ctx.notifier.flush();
  }
}

const IDENTITY_AT_START = 'identity-at-start';

/**
 * The agent's search attributes (role, depth, status, run, task). A run's scheduler starts its task agents with all
 * of them (`patched('identity-at-start')`, run/task.ts), so only those the start did not set, or set otherwise (a
 * status carried over continue-as-new), are upserted: none for a task agent, one event and one visibility update
 * fewer. Histories recorded before upsert them all, as they did.
 */
function showIdentity(input: AgentInput, status: AgentStatus): void {
  const wanted: SearchAttributeUpdatePair[] = [
    { key: CadreRole, value: roleOf(input) },
    { key: CadreDepth, value: input.depth },
    { key: CadreStatus, value: status },
    ...(input.runId ? [{ key: CadreRun, value: input.runId }] : []),
    ...(input.taskId ? [{ key: CadreTask, value: input.taskId }] : []),
  ];
  if (!patched(IDENTITY_AT_START)) {
    wf.upsertSearchAttributes(wanted);
    return;
  }
  const atStart = wf.workflowInfo().typedSearchAttributes;
  const missing = wanted.filter((a) => atStart.get(a.key) !== a.value);
  if (missing.length) wf.upsertSearchAttributes(missing);
}

function setHandlers(ctx: AgentContext): void {
  const { input, s } = ctx;
  wf.setHandler(agentStatusQuery, () => ({ ...snapshot(input, s), ...(ctx.notifier.failures.length ? { notifyFailures: ctx.notifier.failures } : {}) }));
  wf.setHandler(agentTreeQuery, () => treeNode(input, s));
  wf.setHandler(agentMessageSignal, (m) => void accept(ctx, m));
  // Answers are Updates (docs/messages.md): the operator's message, grant and refusal say what became of them.
  wf.setHandler(operatorSendUpdate, (m) => (accept(ctx, m) ? `delivered ${m.id} to ${s.agentId}` : `${m.id} was delivered to ${s.agentId} already`), {
    validator: (m) => {
      if (!m || typeof m.id !== 'string' || !m.id || typeof m.text !== 'string') throw new Error(`a message to ${s.agentId} needs an id and a text`);
    },
  });
  wf.setHandler(budgetGrantUpdate, (g) => grantFromOperator(ctx, g), { validator: (g) => throwIf(grantProblem(ctx, g)) });
  wf.setHandler(budgetRefuseUpdate, ({ reason }) => refuseFromOperator(ctx, reason || 'refused by the operator'), { validator: (_r) => throwIf(refuseProblem(ctx)) });
  wf.setHandler(messageAnsweredUpdate, (id) => answer(s, id), { validator: (id) => throwIf(answerProblem(s, id)) });
  wf.setHandler(mailboxQuery, () => ({
    messages: s.mailbox.messages.map(({ seq: _seq, ...m }) => m),
    deadLetters: s.deadLetters,
    toOperator: s.toOperator,
  }));
  wf.setHandler(childProgressSignal, ({ childId, node }) => {
    ctx.progressed();
    if (acceptProgress(s, childId, node)) ctx.pushProgress();
  });
  wf.setHandler(budgetGrantSignal, (grant) => {
    ledger.applyGrant(s.book, grant.grantId, grant);
  });
  wf.setHandler(budgetRefusalSignal, (r) => {
    s.refusals[r.requestId] = r.reason;
  });
  wf.setHandler(childEndedSignal, (ended) => {
    ctx.progressed();
    recordChildEnd(s, ended);
  });
  wf.setHandler(budgetRequestSignal, (req) => answerBudgetRequest(ctx, req));
  wf.setHandler(orchestrationCallUpdate, (call) => answerSessionCall(ctx, call), {
    validator: (call) => {
      if (!s.inSession && !(call.callId in s.sessionCalls)) throw new Error(`${s.agentId} runs no agent-program session: orchestration call ${call.callId} refused`);
    },
  });
}

/**
 * A child asks for budget: grant from our remainder, else ask our own parent (the operator, for an agent with no
 * parent: operatorBudget.ts) first; the answer is a signal back
 * (correlated by the request id, which is also the grant id, so a repeated request or grant counts once). A child
 * that has ended in the meantime cannot be signalled: its budget came back with its end, so that is not an error.
 */
async function answerBudgetRequest(ctx: AgentContext, req: BudgetRequest): Promise<void> {
  const { s } = ctx;
  if (s.handledRequests.includes(req.requestId)) return;
  s.handledRequests.push(req.requestId);
  const amount: Amount = { tokens: req.tokens, usd: req.usd };
  const child = wf.getExternalWorkflowHandle(req.from);
  let ok = ledger.tryGive(s.book, amount);
  // With no parent, askParent asks the operator (operatorBudget.ts; before its patch it refuses at once).
  if (!ok) ok = (await ctx.askParent(amount)) && ledger.tryGive(s.book, amount);
  try {
    if (ok) {
      recordGrantToChild(s.children.find((c) => c.agentId === req.from), amount);
      await child.signal(budgetGrantSignal, { grantId: req.requestId, tokens: req.tokens, usd: req.usd, from: s.agentId });
    } else {
      await child.signal(budgetRefusalSignal, { requestId: req.requestId, reason: `${s.agentId} has no budget left to give` });
    }
  } catch (err) {
    if (wf.isCancellation(err)) throw err;
    // The slice we gave is reclaimed by the child's end report (or stays given: on the safe side of the invariant).
  }
}

/** A message into the mailbox (signal or the operator's Update); false when its id was there already. */
function accept(ctx: AgentContext, m: AgentMessage): boolean {
  const { s } = ctx;
  const replied = m.replyTo ? mail.findMessage(s.mailbox, m.replyTo) : undefined;
  return mail.accept(s.mailbox, { ...m, thread: m.thread ?? replied?.thread ?? m.replyTo ?? m.id });
}

function throwIf(problem: string | undefined): void {
  if (problem) throw new Error(problem);
}
