/**
 * Budget requests that reach the top (docs/cli.md "cadre budget"): an agent with no parent to ask — a task's agent,
 * a root agent — that runs short asks the operator. The request is one item waiting for a person: in the status
 * query (`budgetRequest`), in `cadre inbox` as kind `budget`, and notified. The agent waits for
 * `cadre budget grant` (an Update, idempotent on the grant id) or `cadre budget refuse`; a grant smaller than what is
 * missing keeps it waiting for the rest. The wait is bounded by the input's `budgetWaitSeconds` (`cadre run` and
 * `cadre agent` give a day unless the plan says otherwise; absent or 0, the request is refused at once, as before):
 * without an answer by then it counts as a refusal (out of budget, the agent ends `budget_exhausted` with its work
 * committed). One timer and the Updates are all it adds to history. Behind the patch `operator-budget`.
 */
import * as wf from '@temporalio/workflow';
import type { Amount } from '../../shared/agent';
import type { BudgetGrant, OperatorBudgetRequest } from '../../shared/messages';
import { add, fmtAmount } from './budget';
import type { AgentContext } from './context';
import * as ledger from './ledger';
import { patched } from '../patches';

export const OPERATOR_BUDGET = 'operator-budget';

/** The request waiting for the operator, with what was granted towards it so far and the answer once there is one. */
export interface OperatorAsk extends OperatorBudgetRequest {
  granted: Amount;
  answer?: 'granted' | 'refused';
}

/** Ask the operator for `amount` and wait (bounded) for the answer. True: granted, the ledger holds it. */
export async function askOperator(ctx: AgentContext, amount: Amount): Promise<boolean> {
  const waitMs = (ctx.input.budgetWaitSeconds ?? 0) * 1000;
  if (!waitMs || !patched(OPERATOR_BUDGET)) return false;
  const { s } = ctx;
  const seq = ++s.requestSeq;
  const requestId = `${s.agentId}#budget-${seq}`;
  const now = Date.now();
  const asked = { ...(amount.tokens ? { tokens: amount.tokens } : {}), ...(amount.usd ? { usd: amount.usd } : {}) };
  const ask: OperatorAsk = { requestId, ...asked, since: now, until: now + waitMs, granted: {} };
  s.operatorAsk = ask;
  const was = s.doing;
  ctx.setDoing(`waiting for the operator to grant ${fmtAmount(asked)} (cadre budget grant ${s.agentId} …)`);
  void ctx.notifier.send({
    id: `${s.agentId}/budget/${seq}`,
    kind: 'budget',
    inbox: true,
    ...(ctx.input.runId ? { runId: ctx.input.runId } : {}),
    ...(ctx.input.taskId ? { taskId: ctx.input.taskId } : {}),
    agentId: s.agentId,
    amount: asked,
    summary: `${s.agentId} is out of budget and asks for ${fmtAmount(asked)}`,
    command: grantCommand(s.agentId, ask),
  });
  try {
    await wf.condition(() => ask.answer !== undefined, waitMs);
    if (!ask.answer) s.refusals[requestId] = `no answer from the operator in ${Math.round(waitMs / 1000)} s`;
    return ask.answer === 'granted';
  } finally {
    s.operatorAsk = undefined;
    ctx.setDoing(was);
  }
}

/** The command that answers a request: the amount asked, in tokens where tokens are short, else in dollars. */
export function grantCommand(agentId: string, r: OperatorBudgetRequest): string {
  const amount = r.tokens ? String(Math.ceil(r.tokens)) : r.usd ? `$${(Math.ceil(r.usd * 100) / 100).toFixed(2)}` : '50k';
  return `cadre budget grant ${agentId} ${amount} --id ${r.requestId}`;
}

/**
 * The operator's grant (budgetGrantUpdate): counted once per grant id; it answers the waiting request once what was
 * granted towards it covers what was asked. Returns what happened, in a sentence.
 */
export function grantFromOperator(ctx: AgentContext, g: BudgetGrant): string {
  const { s } = ctx;
  const what = fmtAmount({ tokens: g.tokens, usd: g.usd });
  if (!ledger.applyGrant(s.book, g.grantId, g)) return `grant ${g.grantId} was counted already: nothing more granted to ${s.agentId}`;
  const ask = s.operatorAsk;
  if (!ask || ask.answer) return `granted ${what} to ${s.agentId}: added to its budget`;
  ask.granted = { tokens: add(ask.granted.tokens, g.tokens), usd: add(ask.granted.usd, g.usd) };
  const missing = { tokens: short(ask.tokens, ask.granted.tokens), usd: short(ask.usd, ask.granted.usd) };
  if (missing.tokens || missing.usd) {
    return `granted ${what} to ${s.agentId}; it still waits for ${fmtAmount({ ...(missing.tokens ? { tokens: missing.tokens } : {}), ...(missing.usd ? { usd: missing.usd } : {}) })} more`;
  }
  ask.answer = 'granted';
  return `granted ${what} to ${s.agentId}: the agent resumes`;
}

/** The operator's refusal (budgetRefuseUpdate) of the waiting request. */
export function refuseFromOperator(ctx: AgentContext, reason: string): string {
  const { s } = ctx;
  const ask = s.operatorAsk!;
  ask.answer = 'refused';
  s.refusals[ask.requestId] = reason;
  return `refused ${ask.requestId}: ${s.agentId} goes on without it (unable to go on, it ends budget_exhausted with its work committed)`;
}

export function refuseProblem(ctx: AgentContext): string | undefined {
  return ctx.s.operatorAsk && !ctx.s.operatorAsk.answer ? undefined : `${ctx.s.agentId} has no budget request waiting for you`;
}

export function grantProblem(ctx: AgentContext, g: BudgetGrant): string | undefined {
  const bad = (n: number | undefined) => n !== undefined && !(typeof n === 'number' && Number.isFinite(n) && n > 0);
  if (!g || typeof g.grantId !== 'string' || !g.grantId) return `a grant to ${ctx.s.agentId} needs an id`;
  if (bad(g.tokens) || bad(g.usd) || (g.tokens === undefined && g.usd === undefined)) return `a grant to ${ctx.s.agentId} is a positive number of tokens or dollars`;
  return undefined;
}

const short = (asked: number | undefined, granted: number | undefined): number | undefined => {
  const m = (asked ?? 0) - (granted ?? 0);
  return m > 1e-9 ? m : undefined;
};
