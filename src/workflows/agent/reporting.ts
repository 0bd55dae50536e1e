/**
 * What an agent shows of itself, pure: the status query's snapshot, its subtree for `cadre tree` and the parent,
 * and the subtree's usage and cost (own plus what each child last reported).
 */
import type { AgentInput } from '../../shared/agent';
import type { AgentSnapshot, AgentTreeNode, OperatorBudgetRequest } from '../../shared/messages';
import { zeroUsage, type Usage } from '../../shared/usage';
import { add, addUsage } from './budget';
import * as ledger from './ledger';
import type { AgentState } from './state';
import { hasVerification, verifyAttemptsOf } from './attempts';
import { portRange } from '../../shared/ports';

/** Only for display before the workspace exists: the real branch name comes from createWorkspace. */
export const branchOf = (agentId: string): string => `cadre/${agentId.replace(/\//g, '.')}`;

export const subtreeUsage = (s: AgentState): Usage => s.children.reduce((u, c) => (c.usage ? addUsage(u, c.usage) : u), s.ownUsage);
export const subtreeCost = (s: AgentState): number => s.children.reduce((sum, c) => sum + (c.costUsd ?? 0), s.ownCost);

export function roleOf(input: AgentInput): 'subagent' | 'task' | 'agent' | 'resolver' {
  // A run's merge-conflict resolver (src/workflows/run/resolve.ts) is neither a task's agent nor a standalone one.
  if (input.role === 'resolver') return 'resolver';
  return input.parentId ? 'subagent' : input.taskId ? 'task' : 'agent';
}

export function snapshot(input: AgentInput, s: AgentState): AgentSnapshot {
  return {
    agentId: s.agentId,
    parentId: input.parentId,
    runId: input.runId,
    taskId: input.taskId,
    depth: input.depth,
    status: s.status,
    backend: input.backend,
    turn: s.turn,
    doing: s.doing,
    branch: s.workspace?.branch ?? branchOf(s.agentId),
    workspace: s.workspace?.path,
    usage: subtreeUsage(s),
    costUsd: subtreeCost(s),
    ledger: ledger.view(s.book),
    children: s.children.map((c) => ({ name: c.name, agentId: c.agentId, status: c.status, allocated: c.allocated, usage: c.usage, costUsd: c.costUsd })),
    lastText: s.lastText,
    ...(hasVerification(input) ? { attempt: s.attempt, verifyAttempts: verifyAttemptsOf(input), attempts: s.attempts } : {}),
    ...(s.reviews.length ? { reviews: s.reviews } : {}),
    ...portsShown(s),
    ...(s.watch.stall ? { stalled: { since: s.watch.stall.since, nudgedAt: s.watch.stall.nudgedAt } } : {}),
    ...(s.watch.stalls ? { stalls: s.watch.stalls } : {}),
    ...(s.operatorAsk && !s.operatorAsk.answer ? { budgetRequest: requestView(s.operatorAsk) } : {}),
  };
}

/** The waiting request as the status query shows it (what was granted towards it so far stays inside). */
function requestView({ granted: _g, answer: _a, ...r }: NonNullable<AgentState['operatorAsk']>): OperatorBudgetRequest {
  return r;
}

/** The subtree as far as this agent knows it: a child that never reported shows what its record says. */
export function treeNode(input: AgentInput, s: AgentState): AgentTreeNode {
  const { budget } = input;
  return {
    agentId: s.agentId,
    name: input.parentId ? s.agentId.slice(input.parentId.length + 1) : undefined,
    depth: input.depth,
    status: s.status,
    doing: s.doing,
    allocated: {
      tokens: add(budget.tokens, budget.tokens !== undefined ? s.book.granted.tokens : undefined),
      usd: add(budget.usd, budget.usd !== undefined ? s.book.granted.usd : undefined),
    },
    usage: subtreeUsage(s),
    costUsd: subtreeCost(s),
    model: input.backend === 'command' ? 'command' : input.model,
    alerts: [...s.book.alerts],
    ...portsShown(s),
    children: s.children.map(
      (c) =>
        c.node ?? { agentId: c.agentId, name: c.name, depth: input.depth + 1, status: c.status, doing: '', allocated: c.allocated, usage: c.usage ?? zeroUsage(), costUsd: c.costUsd ?? 0, alerts: [], children: [] },
    ),
  };
}

/**
 * The block the agent's status and tree show: the one it holds, else the one its command task's activity leased
 * last (known once that activity has returned; `cadre status` reads a running one's from its heartbeat).
 */
function portsShown(s: AgentState): { ports?: string } {
  const lease = s.ports?.ports ?? s.ended?.ports;
  return lease ? { ports: portRange(lease) } : {};
}
