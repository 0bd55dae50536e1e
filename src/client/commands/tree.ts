/**
 * `cadre tree <id>`: the hierarchy under an agent (or under every task of a run) with each agent's status, what it
 * is doing, its subtree's spend against its allocation, and the budget alerts it raised.
 * `cadre budget grant <agent-id> <amount> [--id ID]` and `cadre budget refuse <agent-id>`: the operator's answers to a
 * budget request (or a top-up at any time), as Updates that return what happened; a grant id counts once.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { AgentWorkflow, Amount } from '../../shared/agent';
import { CadreError } from '../../shared/errors';
import { agentTreeQuery, budgetGrantUpdate, budgetRefuseUpdate, type AgentTreeNode } from '../../shared/messages';
import { totalTokens } from '../../shared/model';
import { EXIT, fmtAmount, fmtUsd, parseAmount } from '../output';
import { openRuntime } from '../runtime';
import { loadRunProgress } from './inspect';
import { agentResultOf } from '../results';
import { hasWorker, historyNotice, noPollerReason, treeFromHistory } from '../view';

/** An agent's tree: asked of its worker while it runs, or rebuilt from history when no worker polls (`asOf` set). */
export async function loadTree(client: Client, agentId: string): Promise<(AgentTreeNode & { asOf?: string; source?: 'history'; reason?: string }) | undefined> {
  const handle = client.workflow.getHandle<AgentWorkflow>(agentId);
  const d = await handle.describe().catch(() => undefined);
  if (!d) return undefined;
  if (d.status.name === 'RUNNING') {
    if (!(await hasWorker(client, d.taskQueue))) {
      const t = await treeFromHistory(client, agentId);
      return t && { ...t, source: 'history' as const, reason: noPollerReason(d.taskQueue) };
    }
    return handle.query(agentTreeQuery);
  }
  const r = await agentResultOf(handle).catch(() => undefined);
  return r?.tree;
}

function line(n: AgentTreeNode): string {
  const spent = totalTokens(n.usage);
  const budget = n.allocated.tokens !== undefined || n.allocated.usd !== undefined ? ` of ${fmtAmount(n.allocated)}` : '';
  const alerts = n.alerts.length ? `  alerts ${n.alerts.map((a) => `${a}%`).join(' ')}` : '';
  const doing = n.doing && !['completed', 'failed', 'cancelled', 'budget_exhausted', 'timed_out', 'max_turns'].includes(n.status) ? `  (${n.doing})` : '';
  return `${n.name ?? n.agentId}  ${n.status}  ${spent.toLocaleString('en-US')} tok ${fmtUsd(n.costUsd)}${budget}${alerts}${doing}`;
}

export function renderTree(n: AgentTreeNode, prefix = '', last = true, root = true): string[] {
  const out = [root ? line(n) : `${prefix}${last ? '└─ ' : '├─ '}${line(n)}`];
  const childPrefix = root ? '' : `${prefix}${last ? '   ' : '│  '}`;
  n.children.forEach((c, i) => out.push(...renderTree(c, childPrefix, i === n.children.length - 1, false)));
  return out;
}

export async function treeCommand(id: string, opts: { json?: boolean }): Promise<number> {
  const rt = await openRuntime();
  try {
    const d = await rt.client.workflow.getHandle(id).describe().catch(() => undefined);
    if (!d) throw new CadreError(`no run or agent with id "${id}"`, 2);
    type Loaded = NonNullable<Awaited<ReturnType<typeof loadTree>>>;
    let trees: Loaded[];
    /** Set when what is shown was read from history: as of when, and why no worker was asked. */
    let fromHistory: { asOf: string; reason: string } | undefined;
    if (d.type === 'runPlan') {
      const p = await loadRunProgress(rt.client, id);
      if (p.asOf && p.reason) fromHistory = { asOf: p.asOf, reason: p.reason };
      trees = (await Promise.all(p.tasks.filter((t) => t.agentId).map((t) => loadTree(rt.client, t.agentId!)))).filter((t): t is Loaded => !!t);
    } else {
      const t = await loadTree(rt.client, id);
      trees = t ? [t] : [];
    }
    const rebuilt = trees.filter((t) => t.asOf && t.reason);
    if (!fromHistory && rebuilt.length) fromHistory = { asOf: rebuilt.map((t) => t.asOf!).sort().at(-1)!, reason: rebuilt[0]!.reason! };
    // The JSON keeps its shape (an array for a run); a tree rebuilt from history carries `asOf` and `reason`.
    if (opts.json) process.stdout.write(JSON.stringify(d.type === 'runPlan' ? trees : trees[0], null, 2) + '\n');
    else {
      const notice = fromHistory ? `${historyNotice(fromHistory)}\n` : '';
      process.stdout.write(notice + (trees.length ? trees.flatMap((t) => renderTree(t)).join('\n') : 'no agents yet') + '\n');
    }
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}

/** One operator grant at most: a typo (or a pasted 999…9) must not turn a ceiling into none. */
export const MAX_GRANT = { tokens: 1_000_000_000, usd: 10_000 };

/** Why a grant is refused (zero, not finite, beyond MAX_GRANT), or undefined. */
export function grantProblem(amount: { tokens?: number; usd?: number }): string | undefined {
  const t = amount.tokens;
  const u = amount.usd;
  if (t !== undefined && !(Number.isSafeInteger(t) && t > 0 && t <= MAX_GRANT.tokens)) {
    return `a grant is 1 to ${MAX_GRANT.tokens.toLocaleString('en-US')} tokens`;
  }
  if (u !== undefined && !(Number.isFinite(u) && u > 0 && u <= MAX_GRANT.usd)) return `a grant is more than $0 and at most $${MAX_GRANT.usd.toLocaleString('en-US')}`;
  return undefined;
}

export async function budgetGrantCommand(agentId: string, amountText: string, opts: { id?: string } = {}): Promise<number> {
  let amount;
  try {
    amount = parseAmount(amountText);
  } catch (err) {
    throw new CadreError((err as Error).message, 2);
  }
  const problem = grantProblem(amount);
  if (problem) throw new CadreError(`budget grant ${amountText}: ${problem}`, 2);
  if (opts.id !== undefined && !/^[\x21-\x7e]{1,200}$/.test(opts.id)) throw new CadreError(`budget grant --id: expected 1 to 200 visible characters, got "${opts.id}"`, 2);
  const rt = await openRuntime();
  try {
    process.stdout.write(`${await grantBudget(rt.client, agentId, amount, opts.id)}\n`);
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}

/**
 * An operator grant to a running agent, as the grant Update with an id (`grantId`, else a fresh one): the same id
 * granted twice counts once. Returns the workflow's answer with the grant id; a CadreError (exit 2) when the amount
 * is refused (`grantProblem`), the agent does not exist or has ended, or its validator refuses. `cadre budget grant`
 * and the dashboard.
 */
export async function grantBudget(client: Client, agentId: string, amount: Amount, grantId = `operator-${randomBytes(6).toString('hex')}`): Promise<string> {
  const problem = grantProblem(amount);
  if (problem) throw new CadreError(`budget grant ${fmtAmount(amount)}: ${problem}`, 2);
  const handle = await runningAgent(client, agentId);
  const answer = await answerAgent(agentId, () => handle.executeUpdate(budgetGrantUpdate, { args: [{ grantId, ...amount, from: 'operator' }] }));
  return `${answer} (grant ${grantId})`;
}

/** `cadre budget refuse <agent>`: the budget request waiting for the operator is refused; the agent goes on without it. */
export async function budgetRefuseCommand(agentId: string, opts: { reason?: string } = {}): Promise<number> {
  const rt = await openRuntime();
  try {
    const handle = await runningAgent(rt.client, agentId);
    const answer = await answerAgent(agentId, () => handle.executeUpdate(budgetRefuseUpdate, { args: [{ reason: (opts.reason ?? 'refused by the operator').slice(0, 500) }] }));
    process.stdout.write(`${answer}\n`);
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}

/** The handle of a running agent, or a usage error naming it. */
export async function runningAgent(client: Client, agentId: string) {
  const handle = client.workflow.getHandle(agentId);
  const d = await handle.describe().catch(() => undefined);
  if (!d || d.type !== 'agent') throw new CadreError(`no agent with id "${agentId}"`, 2);
  if (d.status.name !== 'RUNNING') throw new CadreError(`agent ${agentId} has ended (${d.status.name.toLowerCase()})`, 2);
  return handle;
}

/** An Update's answer; a refusal by its validator is a usage error that names the workflow. */
export async function answerAgent(id: string, update: () => Promise<string>): Promise<string> {
  try {
    return await update();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const why = err.cause?.message ?? err.message;
      throw new CadreError(why.includes(id) ? why : `${id}: ${why}`, 2);
    }
    throw err;
  }
}
