/**
 * The command backend: the agent runs one program in its workspace. In worktree mode the program and the agent's
 * ending (commit, verification, diff, removal) are one activity, `runCommandTask`, which records the program's
 * outcome under the state directory so a retry after the program exited never runs it again; the ending
 * (ending.ts) then only reads its result. Histories from before that activity existed replay the old path: the
 * program alone (`runAgentCommand`), then the generic ending.
 */
import * as wf from '@temporalio/workflow';
import { commandVerdict, taskVerdict, type Verdict } from '../../shared/commandTask';
import { commandOp, commandTaskOp } from '../presets';
import type { AgentContext } from './context';
import { portsField } from './ports';

const COMMAND_TASK_IN_ONE_ACTIVITY = 'command-task-in-one-activity';

export async function commandBackend(ctx: AgentContext): Promise<void> {
  const { input, s } = ctx;
  const timeout = input.timeoutSeconds ?? 3600;
  ctx.setDoing(`run ${input.command?.join(' ') ?? '(no command)'}`.slice(0, 120));
  if (!input.command?.length) throw new Error('the command backend needs a command');
  const ws = s.workspace!;
  if (!ctx.shared && wf.patched(COMMAND_TASK_IN_ONE_ACTIVITY)) {
    s.ended = await commandTaskOp(timeout).runCommandTask.executeWithOptions({ summary: s.doing }, [
      { agentId: s.agentId, repo: input.repo, workspace: { path: ws.path, branch: ws.branch, baseCommit: ws.baseCommit }, argv: input.command, timeoutSeconds: timeout, outputs: input.outputs, verify: input.verify, ...(input.checks?.length ? { checks: input.checks } : {}), ...(input.commandFromModel ? { fromModel: true } : {}), ...portsField(ctx) },
    ]);
    applyVerdict(ctx, taskVerdict(s.ended, timeout));
    return;
  }
  const r = await commandOp(timeout).runAgentCommand.executeWithOptions({ summary: s.doing }, [
    { agentId: s.agentId, workspace: ws.path, argv: input.command, timeoutMs: timeout * 1000, ...(input.commandFromModel ? { fromModel: true } : {}), ...portsField(ctx) },
  ]);
  applyVerdict(ctx, commandVerdict(r, timeout));
}

function applyVerdict(ctx: AgentContext, v: Verdict): void {
  ctx.s.summary = v.summary;
  if (v.error) ctx.s.error = v.error;
  ctx.setStatus(v.status);
}
