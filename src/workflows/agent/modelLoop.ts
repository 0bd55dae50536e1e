/**
 * The model loop of the anthropic and scripted backends: reserve the turn's worst case → one model turn (the
 * activity also runs the file tools the model asked for, in the worktree) → settle usage → handle the orchestration
 * tools here. Retry: the modelTurn activity is idempotent on (agent id, turn), so a retried turn reuses the stored
 * reply. A failed turn releases its reservation before the failure propagates.
 */
import * as wf from '@temporalio/workflow';
import type { Amount } from '../../shared/agent';
import type { ModelTurnOutput, PendingWrite } from '../../shared/model';
import { isRemoteRepo } from '../../shared/hosts';
import { hasPrice } from '../../shared/pricing';
import type { ToolName, ToolResult } from '../../shared/tools';
import { acquire, release } from '../locks/holder';
import { modelTurnOn } from '../presets';
import { carriedTokens, overspent, priceModelOf, settleTurn, shortfall, turnReservation } from './budget';
import type { AgentContext } from './context';
import * as ledger from './ledger';
import * as mail from './mailbox';
import { carryOf, continueAsNewDue } from './state';
import { handleCall } from './tools';
import { portsField } from './ports';
import { isHostLost } from './relocate';
import { patched } from '../patches';

/** Patches (new histories take them; recorded ones replay without): see docs/hierarchy.md "Budgets are ceilings". */
const STOP_WHEN_OVERSPENT = 'stop-when-overspent';
const RESERVE_CARRIED_INPUT = 'reserve-carried-input';
/** Losing a host (relocate.ts): the turn in flight there is done again on the new host, under the same number. */
const REDO_TURN_AFTER_MOVE = 'redo-turn-after-move';

const MODEL_TOOLS: ToolName[] = [
  'read_file', 'write_file', 'edit_file', 'list_files', 'search_text', 'run_command',
  'spawn_agent', 'wait_for_agents', 'send_message', 'read_messages', 'request_budget', 'finish',
];

export async function modelLoop(ctx: AgentContext): Promise<void> {
  const { input, s } = ctx;
  const priceModel = priceModelOf(input);
  if (!hasPrice(priceModel, ctx.prices)) throw new Error(`no price known for model "${priceModel}": add it with CADRE_PRICES (docs/backends.md)`);
  const modelBackend = input.backend === 'anthropic' ? 'anthropic' : 'scripted';
  for (;;) {
    await maybeContinueAsNew(ctx);
    if (s.turn >= input.maxTurns) {
      ctx.setStatus('max_turns');
      s.summary ||= `stopped after ${s.turn} turns (the turn limit)`;
      return;
    }
    if (overspent(s.book) && patched(STOP_WHEN_OVERSPENT)) {
      ctx.setStatus('budget_exhausted');
      s.summary ||= `stopped: more was spent than the budget allows after ${s.turn} turns`;
      return;
    }
    // The reservation covers what the request carries beyond the turn's own estimate: the inbox it delivers (only
    // the messages counted here; later ones wait for the next turn) and the orchestration results.
    const carried = patched(RESERVE_CARRIED_INPUT) ? mail.pending(s.mailbox) : undefined;
    const extra = carried ? carriedTokens([...carried.map(mail.render), ...s.toolResults.map((r) => r.content)]) : 0;
    const reservation = turnReservation(input, s, ctx.prices, extra);
    if (!(await reserve(ctx, reservation))) {
      ctx.setStatus('budget_exhausted');
      s.summary ||= `stopped: budget exhausted after ${s.turn} turns`;
      return;
    }
    s.turn++;
    s.turnsThisRun++;
    ctx.setDoing(`model turn ${s.turn}`);
    // Messages reach the model at the start of its turn; they count as processed once the turn completes.
    const inbox = mail.deliver(s.mailbox, carried?.map((m) => m.id));
    s.awaitingProcessing.push(...inbox.map((m) => m.id));
    let out: ModelTurnOutput;
    try {
      out = await modelTurnOn(s.workspace).modelTurn.executeWithOptions({ summary: `model turn ${s.turn}` }, [
        {
          agentId: s.agentId,
          turn: s.turn,
          backend: modelBackend,
          model: input.model,
          maxTokens: input.maxTokens,
          workspace: s.workspace!.path,
          goal: input.goal,
          ...(input.goalRef ? { goalRef: input.goalRef } : {}),
          system: input.system,
          tools: MODEL_TOOLS,
          toolResults: s.toolResults,
          inbox: inbox.map(mail.render),
          scriptPath: input.script,
          deferWrites: ctx.shared,
          ...portsField(ctx),
        },
      ]);
    } catch (err) {
      ledger.release(s.book, reservation);
      if (isHostLost(err) && isRemoteRepo(input.repo) && patched(REDO_TURN_AFTER_MOVE)) undoTurn(ctx);
      throw err;
    }
    const fired = settleTurn(input, s, reservation, out.usage, ctx.prices);
    mail.markProcessed(s.mailbox, s.awaitingProcessing);
    s.awaitingProcessing = [];
    s.nextInputEstimate = out.nextInputEstimate;
    ctx.raiseAlerts(fired);
    if (out.text) s.lastText = out.text;
    if (out.pendingWrites?.length) await writeUnderLock(ctx, out.pendingWrites);
    if (out.toolRuns.length) ctx.setDoing(out.toolRuns[out.toolRuns.length - 1]!.summary);
    const { results, finished } = await runOrchestrationCalls(ctx, out);
    s.toolResults = results;
    if (finished) break;
    if (out.stopReason !== 'tool_use') {
      s.summary ||= out.text || 'done';
      break;
    }
  }
  ctx.setStatus('completed');
}

/**
 * The turn's activity never completed (its host is gone): forget it was started, so the loop that runs again on the
 * new host asks for the same turn, whose predecessors the restored transcript holds (activities/model/checkpoint.ts).
 */
function undoTurn(ctx: AgentContext): void {
  const { s } = ctx;
  s.turn--;
  s.turnsThisRun--;
  mail.undeliver(s.mailbox, s.awaitingProcessing);
  s.awaitingProcessing = [];
}

/** Reserve the turn, asking the parent for the shortfall when it does not fit. False: the agent is out of budget. */
async function reserve(ctx: AgentContext, reservation: Amount): Promise<boolean> {
  const { s } = ctx;
  if (ledger.tryReserve(s.book, reservation)) return true;
  ctx.setDoing('asking for budget');
  return (await ctx.askParent(shortfall(s.book, reservation))) && ledger.tryReserve(s.book, reservation);
}

/**
 * The turn's orchestration calls, in order. A run of spawns commits our work once (children branch from it), then
 * starts them all together.
 */
async function runOrchestrationCalls(ctx: AgentContext, out: ModelTurnOutput): Promise<{ results: ToolResult[]; finished: boolean }> {
  const results: ToolResult[] = [];
  let finished = false;
  const calls = out.orchestrationCalls;
  for (let i = 0; i < calls.length; ) {
    if (calls[i]!.name === 'spawn_agent') {
      let j = i;
      while (j < calls.length && calls[j]!.name === 'spawn_agent') j++;
      const base = (await ctx.commitWork(`cadre: ${ctx.s.agentId}: before spawning sub-agents`)) ?? ctx.input.baseRef;
      results.push(...(await Promise.all(calls.slice(i, j).map((c) => handleCall(ctx, c, base)))));
      i = j;
      continue;
    }
    results.push(await handleCall(ctx, calls[i]!));
    if (calls[i]!.name === 'finish') finished = true;
    i++;
  }
  return { results, finished };
}

/**
 * Shared mode: the turn's writes run only under a lock on their paths, taken all at once (sorted, all-or-nothing:
 * no deadlock with another agent), each write fenced by the grant's token; the lock is released right after.
 */
async function writeUnderLock(ctx: AgentContext, writes: PendingWrite[]): Promise<void> {
  const { input, s } = ctx;
  const paths = [...new Set(writes.map((w) => w.path))];
  ctx.setDoing(`waiting for the lock on ${paths.join(', ')}`.slice(0, 120));
  const grant = await acquire(input.repo, paths, { label: `${s.agentId} turn ${s.turn}` });
  try {
    ctx.setDoing(`write ${paths.join(', ')}`.slice(0, 120));
    const r = await modelTurnOn(s.workspace).applyWrites.executeWithOptions({ summary: `write ${paths.join(', ')}`.slice(0, 100) }, [
      { agentId: s.agentId, turn: s.turn, workspace: s.workspace!.path, writes, fence: { repo: input.repo, token: grant.token } },
    ]);
    writes.forEach((w, i) => {
      if (r.toolRuns[i] && !r.toolRuns[i]!.isError && !s.written.includes(w.path)) s.written.push(w.path);
    });
  } finally {
    await release(grant);
  }
}

/** History stays bounded: between turns, when due (state.ts), the agent continues as new with its state. */
async function maybeContinueAsNew(ctx: AgentContext): Promise<void> {
  if (!continueAsNewDue(ctx.s, ctx.input, wf.workflowInfo().continueAsNewSuggested)) return;
  await wf.condition(wf.allHandlersFinished);
  await ctx.notifier.flush();
  await wf.continueAsNew(ctx.input, carryOf(ctx.s));
}
