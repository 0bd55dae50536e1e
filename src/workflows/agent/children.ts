/**
 * Sub-agents, pure: whether a spawn is allowed and what the child gets (its input and budget slice), how a child's
 * end and progress reports change our records, which finished children are merged, and the report the model reads.
 * The shell (tools.ts) starts the child workflows and runs the merges.
 *
 * Idempotency: a child's end can be reported twice (its own signal and its result); the ledger reclaims once per
 * child id, and a late progress report never overrides a final state.
 */
import type { AgentInput, Amount } from '../../shared/agent';
import type { AgentTreeNode, ChildEnded } from '../../shared/messages';
import type { z } from 'zod';
import type { orchestrationToolSchemas } from '../../shared/tools';
import { childSlice, fmtAmount } from './budget';
import * as ledger from './ledger';
import { isTerminal, type AgentState, type ChildRecord } from './state';

export type SpawnArgs = z.infer<typeof orchestrationToolSchemas.spawn_agent>;

/** A refusal the model sees as a tool error (it may try something else); nothing was booked. */
export class ToolError extends Error {}

/** Statuses whose work is merged into the parent's branch. */
const MERGEABLE = ['completed', 'budget_exhausted', 'max_turns'];

function dirnameOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/**
 * Validate a spawn and book it: the slice is given from our ledger and the child is recorded before it starts, so a
 * batch of spawns in one turn is allocated in order before any child can ask for more. Throws `ToolError`.
 */
export function planSpawn(input: AgentInput, s: AgentState, args: SpawnArgs, base: string): { rec: ChildRecord; childInput: AgentInput } {
  if (input.depth + 1 > input.limits.maxDepth) {
    throw new ToolError(`depth limit reached: agents may nest at most ${input.limits.maxDepth} levels (you are at depth ${input.depth})`);
  }
  if (s.children.length >= input.limits.maxChildren) {
    throw new ToolError(`fan-out limit reached: at most ${input.limits.maxChildren} sub-agents per agent`);
  }
  if (s.children.some((c) => c.name === args.name)) throw new ToolError(`a sub-agent named "${args.name}" already exists`);
  const slice: Amount = childSlice(s.book, args);
  if (!ledger.tryGive(s.book, slice)) {
    throw new ToolError(`not enough budget for that slice (asked ${fmtAmount(slice)}, available ${fmtAmount(ledger.available(s.book))})`);
  }
  const backend = args.backend ?? input.backend;
  // A relative script path is relative to the parent's script.
  const script = args.script && input.script && !args.script.startsWith('/') ? `${dirnameOf(input.script)}/${args.script}` : args.script;
  const childInput: AgentInput = {
    ...input,
    baseRef: base,
    goal: args.goal,
    backend,
    model: args.model ?? input.model,
    script: backend === 'scripted' ? script : undefined,
    command: backend === 'command' ? args.command : undefined,
    // Only plan-declared commands are trusted as written; this one is checked against the command policy.
    commandFromModel: backend === 'command' ? true : undefined,
    budget: slice,
    depth: input.depth + 1,
    parentId: s.agentId,
    // A sub-agent branches from our HEAD: on our host if it is alive (placement.ts).
    host: s.workspace?.host,
    files: args.files,
    outputs: undefined,
    verify: undefined,
  };
  const rec: ChildRecord = { name: args.name, agentId: `${s.agentId}/${args.name}`, status: 'starting', allocated: slice, merged: false };
  s.children.push(rec);
  return { rec, childInput };
}

/** A child ended (its signal or its result): take back its unused budget once, record its final state. */
export function recordChildEnd(s: AgentState, ended: ChildEnded): void {
  const rec = s.children.find((c) => c.agentId === ended.childId);
  ledger.reclaim(s.book, ended.childId, ended.returned);
  if (!rec) return;
  rec.status = ended.status;
  rec.usage = ended.usage;
  rec.costUsd = ended.costUsd;
  if (ended.node) rec.node = ended.node;
}

/** A child's progress report; false when it changes nothing (unknown child, or late after its final state). */
export function acceptProgress(s: AgentState, childId: string, node: AgentTreeNode): boolean {
  const rec = s.children.find((c) => c.agentId === childId);
  if (!rec) return false;
  if (rec.node && isTerminal(rec.node.status) && !isTerminal(node.status)) return false;
  rec.node = node;
  if (!isTerminal(rec.status)) rec.status = node.status;
  return true;
}

/** The children named by `wait_for_agents` (all when none are named). Throws `ToolError` for unknown names. */
export function waitTargets(s: AgentState, names?: string[]): ChildRecord[] {
  const unknown = (names ?? []).filter((n) => !s.children.some((c) => c.name === n));
  if (unknown.length) throw new ToolError(`no sub-agent named ${unknown.join(', ')}`);
  return names?.length ? s.children.filter((c) => names.includes(c.name)) : s.children;
}

/** A finished child whose branch has not been merged (or tried) yet. */
export function needsMerge(c: ChildRecord): boolean {
  return !c.merged && !c.conflicts && !!c.branch && MERGEABLE.includes(c.status);
}

export function waitReport(targets: ChildRecord[]): string {
  return targets
    .map((c) => `${c.name}: ${c.status}${c.merged ? ', merged' : ''}${c.conflicts?.length ? `, merge conflict in ${c.conflicts.join(', ')}` : ''}${c.summary ? ` — ${c.summary}` : ''}`)
    .join('\n');
}

/** Running children's ids (the `children` broadcast address). */
export function runningChildIds(s: AgentState): string[] {
  return s.children.filter((c) => !isTerminal(c.status)).map((c) => c.agentId);
}
