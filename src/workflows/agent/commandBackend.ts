/**
 * The command backend: the agent runs one program in its workspace. In worktree mode the program and the agent's
 * ending (commit, verification, diff, removal) are one activity, `runCommandTask`, which records the program's
 * outcome under the state directory so a retry after the program exited never runs it again; the ending
 * (ending.ts) then only reads its result. Histories from before that activity existed replay the old path: the
 * program alone (`runAgentCommand`), then the generic ending.
 */
import { commandVerdict, taskVerdict, type Verdict } from '../../shared/commandTask';
import { commandOp, commandTaskOp } from '../presets';
import { attemptEnv, recordAttempt, hasVerification, shouldRetry, verifyAttemptsOf } from './attempts';
import type { AgentContext } from './context';
import { retryWith, VERIFY_RETRY } from './retry';
import { COMMAND_TASK_IN_ONE_ACTIVITY, leasePortsField, portsField } from './ports';
import { revisions } from './review';
import { reviewed } from './reviewer';
import { patched } from '../patches';


export async function commandBackend(ctx: AgentContext): Promise<void> {
  const { input, s } = ctx;
  const timeout = input.timeoutSeconds ?? 3600;
  ctx.setDoing(`run ${input.command?.join(' ') ?? '(no command)'}`.slice(0, 120));
  if (!input.command?.length) throw new Error('the command backend needs a command');
  const ws = s.workspace!;
  const fixEnv = () => {
    const env = {
      ...input.env,
      ...(s.fix && s.fix !== s.reviewChanges ? attemptEnv(s.attempt, verifyAttemptsOf(input) + revisions(s.reviews), s.fix) : {}),
      ...(s.reviewChanges ? { CADRE_ATTEMPT: String(s.attempt), CADRE_REVIEW_CHANGES: s.reviewChanges } : {}),
    };
    return Object.keys(env).length ? { env } : {};
  };
  if (!ctx.shared && patched(COMMAND_TASK_IN_ONE_ACTIVITY)) {
    // Fix-and-retry: the activity verifies; a failure with attempts left keeps the worktree and runs the command
    // again with the failure in its environment (attempts.ts, retry.ts).
    const max = hasVerification(input) && patched(VERIFY_RETRY) ? verifyAttemptsOf(input) + revisions(s.reviews) : undefined;
    // Review (reviewer.ts): a passing attempt keeps its worktree for the reviewer; each attempt has its own record.
    const keep = reviewed(ctx);
    for (;;) {
      const again = max !== undefined && shouldRetry(s, max);
      const timeoutSeconds = s.attempt > 1 ? remainingSeconds(ctx, timeout) : timeout;
      s.ended = await commandTaskOp(timeoutSeconds, ws).runCommandTask.executeWithOptions({ summary: s.doing }, [
        {
          agentId: s.agentId, repo: input.repo, workspace: { path: ws.path, branch: ws.branch, baseCommit: ws.baseCommit }, argv: input.command, timeoutSeconds, outputs: input.outputs, verify: input.verify,
          ...(input.checks?.length ? { checks: input.checks } : {}), ...(input.commandFromModel ? { fromModel: true } : {}), ...portsField(ctx), ...leasePortsField(ctx),
          ...(max !== undefined || keep ? { attempt: s.attempt, ...(again ? { retry: true } : {}), ...(keep ? { keep: true } : {}) } : {}),
          ...fixEnv(),
        },
      ]);
      const verdict = taskVerdict(s.ended, timeoutSeconds);
      if (max !== undefined && (verdict.status === 'completed' || s.ended.failure)) recordAttempt(s, s.ended.failure);
      if (!s.ended.kept || !s.ended.failure) {
        applyVerdict(ctx, verdict);
        return;
      }
      retryWith(ctx, s.ended.failure, max!);
      ctx.setDoing(`run ${input.command.join(' ')}`.slice(0, 120));
    }
  }
  const r = await commandOp(timeout, ws).runAgentCommand.executeWithOptions({ summary: s.doing }, [
    { agentId: s.agentId, workspace: ws.path, argv: input.command, timeoutMs: timeout * 1000, ...(input.commandFromModel ? { fromModel: true } : {}), ...fixEnv(), ...portsField(ctx) },
  ]);
  applyVerdict(ctx, commandVerdict(r, timeout));
}

/** A fix attempt has what is left of the agent's timeout: the timeout covers all attempts. */
function remainingSeconds(ctx: AgentContext, timeout: number): number {
  const { deadline } = ctx.s;
  return deadline === undefined ? timeout : Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
}

function applyVerdict(ctx: AgentContext, v: Verdict): void {
  ctx.s.summary = v.summary;
  if (v.error) ctx.s.error = v.error;
  ctx.setStatus(v.status);
}
