/**
 * The orchestration tools, handled by the agent workflow itself (deterministically): spawn_agent, wait_for_agents,
 * request_budget, send_message, read_messages, finish. A refusal or bad input becomes a tool error the model reads;
 * cancellation and real failures propagate.
 */
import * as wf from '@temporalio/workflow';
import type { ToolCall, ToolResult } from '../../shared/tools';
import { orchestrationToolSchemas } from '../onDemand';
import { gitOpOn } from '../presets';
import { fmtAmount } from './budget';
import { needsMerge, planSpawn, recordChildEnd, ToolError, waitReport, waitTargets } from './children';
import type { AgentContext } from './context';
import { errorMessage, readMessages, sendMessage } from './messaging';
import type { ChildRecord } from './state';
import type { agent } from './workflow';

/** Start a child agent workflow; everything before the start is booked synchronously (see planSpawn). */
async function spawnChild(ctx: AgentContext, call: ToolCall, base: string): Promise<string> {
  const args = orchestrationToolSchemas().spawn_agent.parse(call.input);
  const { rec, childInput } = planSpawn(ctx.input, ctx.s, args, base);
  const handle = await wf.startChild<typeof agent>('agent', {
    workflowId: rec.agentId,
    args: [childInput],
    parentClosePolicy: 'REQUEST_CANCEL',
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    staticSummary: `sub-agent ${args.name}`,
  });
  rec.status = 'running';
  ctx.childPromises.set(
    args.name,
    handle.result().then(
      (result) => {
        recordChildEnd(ctx.s, { childId: rec.agentId, status: result.status, usage: result.usage, costUsd: result.costUsd, returned: result.returned });
        rec.branch = result.branch;
        rec.summary = result.summary || result.error;
      },
      (err: unknown) => {
        // The child's own ending signals its usage and returned budget; if it could not (terminated), its slice
        // stays spent, which keeps the invariant (never more than allocated) on the safe side.
        rec.status = wf.isCancellation(err) ? 'cancelled' : 'failed';
        rec.summary = errorMessage(err);
      },
    ),
  );
  return `spawned ${args.name} (${rec.agentId}) with budget ${fmtAmount(childInput.budget)}`;
}

async function waitForChildren(ctx: AgentContext, names?: string[]): Promise<string> {
  const targets = waitTargets(ctx.s, names);
  ctx.setDoing(`waiting for ${targets.length} agent${targets.length === 1 ? '' : 's'}`);
  ctx.setStatus('waiting');
  await Promise.all(targets.map((c) => ctx.childPromises.get(c.name)));
  ctx.setStatus('running');
  await mergeChildren(ctx, targets);
  return waitReport(targets);
}

/** Merge finished children into our branch one at a time, in the order they were spawned. */
export async function mergeChildren(ctx: AgentContext, targets: ChildRecord[]): Promise<void> {
  const { input, s } = ctx;
  if (!s.workspace || ctx.shared) return;
  for (const c of targets) {
    if (!needsMerge(c)) continue;
    await ctx.commitWork(`cadre: ${s.agentId}: work before merging ${c.name}`);
    ctx.setDoing(`merge ${c.name}`);
    const r = await gitOpOn(s.workspace).mergeBranch.executeWithOptions({ summary: `merge ${c.name}` }, [
      { repo: input.repo, worktree: s.workspace.path, branch: c.branch!, message: `cadre: merge ${c.agentId}` },
    ]);
    if (r.ok) c.merged = true;
    else c.conflicts = r.conflicts;
  }
}

export async function handleCall(ctx: AgentContext, call: ToolCall, spawnBase?: string): Promise<ToolResult> {
  try {
    return { toolUseId: call.id, content: await dispatch(ctx, call, spawnBase ?? ctx.input.baseRef) };
  } catch (err) {
    if (wf.isCancellation(err)) throw err;
    if (err instanceof ToolError) return { toolUseId: call.id, content: err.message, isError: true };
    if (err instanceof Error && err.name === 'ZodError') return { toolUseId: call.id, content: `invalid input: ${err.message}`, isError: true };
    throw err;
  }
}

async function dispatch(ctx: AgentContext, call: ToolCall, spawnBase: string): Promise<string> {
  const schemas = orchestrationToolSchemas();
  switch (call.name) {
    case 'spawn_agent':
      return spawnChild(ctx, call, spawnBase);
    case 'wait_for_agents':
      return waitForChildren(ctx, schemas.wait_for_agents.parse(call.input).names);
    case 'request_budget': {
      const a = schemas.request_budget.parse(call.input);
      const ok = await ctx.askParent({ tokens: a.tokens, usd: a.usd });
      return ok ? `granted ${fmtAmount({ tokens: a.tokens, usd: a.usd })}` : 'refused: no budget available above you';
    }
    case 'send_message':
      return sendMessage(ctx, schemas.send_message.parse(call.input));
    case 'read_messages':
      return readMessages(ctx, schemas.read_messages.parse(call.input).wait_seconds);
    case 'finish':
      ctx.s.summary = schemas.finish.parse(call.input).summary;
      return 'finished';
    default:
      throw new ToolError(`tool ${call.name} is not available to this agent`);
  }
}
