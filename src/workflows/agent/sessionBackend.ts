/**
 * The session backends (`claude-code`, `codex`): the agent is an agent program, run headless in the worktree for
 * its whole session by one heartbeating activity (`runAgentSession`). The program's own loop does the work; cadre
 * gives it a budget slice up front, serves it the orchestration tools over MCP (each call reaches this workflow
 * as the `orchestrationCall` Update, answered by `answerSessionCall`), and settles what it reports at the end.
 *
 * Budget: the session gets three quarters of what is available (a quarter stays for the sub-agents it spawns),
 * reserved before the activity starts and settled against the reported usage after it; a session stopped at its
 * slice ends `budget_exhausted` with its work committed by the ending.
 *
 * Retry: a lost worker's session is resumed by the activity's retry (same session id); calls the resumed session
 * repeats carry the same call id and get the first answer again (`sessionCalls`), so nothing is spawned or charged
 * twice.
 */
import type { Amount } from '../../shared/agent';
import { zeroUsage, type Usage } from '../../shared/usage';
import { hasVerification } from './attempts';
import type { OrchestrationCall, ToolResultLike } from '../../shared/session';
import { sessionOp } from '../presets';
import { sessionSlice, settleTurn } from './budget';
import type { AgentContext } from './context';
import * as ledger from './ledger';
import { handleCall } from './tools';
import { portsField } from './ports';

export async function sessionBackend(ctx: AgentContext): Promise<void> {
  const { input, s } = ctx;
  if (input.backend !== 'claude-code' && input.backend !== 'codex') throw new Error(`not a session backend: ${input.backend}`);
  const slice = sessionSlice(input, s.book, ctx.prices);
  if (!slice) {
    ctx.setStatus('budget_exhausted');
    s.summary ||= 'stopped: no budget left for a session';
    return;
  }
  const reservation: Amount = { usd: slice.usd, tokens: slice.tokens };
  if (!ledger.tryReserve(s.book, reservation)) throw new Error('the session slice no longer fits the budget');
  s.inSession = true;
  ctx.setDoing(`${input.backend} session`);
  // Fix-and-retry (docs/loops.md): a fix attempt resumes the session with the failure; the program reports the
  // session's totals over all attempts, so its cap is what was spent before plus the new slice, and only the
  // difference is settled.
  const before = s.session ?? { usage: zeroUsage(), costUsd: 0, turns: 0 };
  const fix = s.attempt > 1 && s.fix && s.session ? { fix: { attempt: s.attempt, prompt: s.fix } } : {};
  const timeout = input.timeoutSeconds ?? 4 * 3600;
  let result;
  try {
    result = await sessionOp(timeout, s.workspace).runAgentSession.executeWithOptions({ summary: `${input.backend} session` }, [
      {
        agentId: s.agentId,
        backend: input.backend,
        model: input.model,
        workspace: s.workspace!.path,
        goal: input.goal,
        ...(input.goalRef ? { goalRef: input.goalRef } : {}),
        system: input.system,
        budgetUsd: 'fix' in fix ? Math.floor((before.costUsd + slice.usd) * 1e6) / 1e6 : slice.usd,
        maxTurns: input.maxTurns,
        prices: input.prices,
        ...(input.permissions ? { permissions: input.permissions } : {}),
        ...fix,
        ...portsField(ctx),
      },
    ]);
  } catch (err) {
    ledger.release(s.book, reservation);
    throw err;
  } finally {
    s.inSession = false;
  }
  const fixing = 'fix' in fix;
  const usage = fixing ? subtractUsage(result.usage, before.usage) : result.usage;
  ctx.raiseAlerts(settleTurn(input, s, reservation, usage, ctx.prices, fixing ? Math.max(0, result.costUsd - before.costUsd) : result.costUsd));
  s.turn += fixing ? Math.max(0, result.turns - before.turns) : result.turns;
  // A reviewed agent (reviewer.ts) resumes its session with the requested changes as a fix attempt does.
  if (hasVerification(input) || input.review) s.session = { usage: result.usage, costUsd: result.costUsd, turns: result.turns };
  s.lastText = result.summary;
  s.summary ||= result.summary || result.status;
  if (result.status === 'failed') throw new Error(result.error ?? `${input.backend} session failed`);
  ctx.setStatus(result.status);
}

/**
 * An orchestration tool call of the running session (the `orchestrationCall` Update), idempotent on its call id:
 * a repeated id waits for, or returns, the first answer.
 */
export async function answerSessionCall(ctx: AgentContext, call: OrchestrationCall): Promise<ToolResultLike> {
  const { s } = ctx;
  ctx.progressed();
  const done = s.sessionCalls[call.callId];
  if (done) return done;
  const running = ctx.sessionCallsInFlight.get(call.callId);
  if (running) return running;
  const answer = (async (): Promise<ToolResultLike> => {
    // Children branch from the session's work so far: commit it first.
    const base = call.name === 'spawn_agent' ? ((await ctx.commitWork(`cadre: ${s.agentId}: before spawning ${describeSpawn(call.input)}`)) ?? ctx.input.baseRef) : undefined;
    const r = await handleCall(ctx, { id: call.callId, name: call.name, input: call.input }, base);
    return { content: r.content, ...(r.isError ? { isError: true } : {}) };
  })();
  ctx.sessionCallsInFlight.set(call.callId, answer);
  try {
    const r = await answer;
    s.sessionCalls[call.callId] = r;
    return r;
  } finally {
    ctx.sessionCallsInFlight.delete(call.callId);
  }
}

function subtractUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: Math.max(0, a.inputTokens - b.inputTokens),
    outputTokens: Math.max(0, a.outputTokens - b.outputTokens),
    cacheWriteTokens: Math.max(0, a.cacheWriteTokens - b.cacheWriteTokens),
    cacheReadTokens: Math.max(0, a.cacheReadTokens - b.cacheReadTokens),
  };
}

function describeSpawn(input: unknown): string {
  const name = (input as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name.slice(0, 40) : 'a sub-agent';
}
