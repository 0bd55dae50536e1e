/**
 * A command agent's whole job after its workspace exists, as one activity: run the program, commit, verify, diff,
 * remove the worktree. The agent workflow needs none of its state between those steps, and every activity costs a
 * round trip through the server and a workflow task (docs/benchmarks.md), so one activity replaces five.
 *
 * Retries stay cheap and safe: the outcome of the program is recorded under the state directory as soon as it
 * exits, keyed by the agent and its workflow run, so a retry after a lost worker (or a failed commit) goes on from
 * where the first attempt stopped instead of running the program again. The steps after it are idempotent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { z } from 'zod';
import { commandVerdict, endCommitMessage, taskVerdict, type CommandOutcome, type CommandTaskResult } from '../shared/commandTask';
import type { VerifyAttempt } from '../shared/agent';
import { attemptEnv, checksFailure, fixMessage, outputsFailure, verifyCommandFailure, type VerifyFailure } from '../shared/verification';
import { CheckSchema, VerifyAttemptsSchema } from '../shared/plan';
import { defineActivity } from './boundary';
import { sanitizeRef } from './paths';
import type { MergeResult } from './merge';
import type { WorkspaceActivities } from './workspaceActivities';
import { portLeaseSchema } from '../shared/portLease';
import { activityPortLeaseSchema, type ActivityPortLease, type PortBlockHolder } from './portActivities';
import type { PortLease } from '../shared/ports';

const VERIFY_TIMEOUT_MS = 10 * 60_000;

export const commandTaskInput = z.object({
  agentId: z.string().min(1),
  repo: z.string().min(1),
  workspace: z.object({ path: z.string().min(1), branch: z.string().min(1), baseCommit: z.string().min(1) }),
  argv: z.array(z.string()).min(1),
  timeoutSeconds: z.number().int().positive(),
  outputs: z.array(z.string().min(1)).optional(),
  verify: z.array(z.string()).min(1).optional(),
  /** The task's machine checks, run after the outputs (src/activities/checks.ts). */
  checks: z.array(CheckSchema).optional(),
  /** The argv came from a model (a spawned command agent): it must pass the command policy. */
  fromModel: z.boolean().optional(),
  /** Fix-and-retry (docs/loops.md): which attempt this is (default 1); each attempt has its own progress record. */
  attempt: z.number().int().positive().optional(),
  /** Another attempt follows a failed verification: keep the worktree (no diff, no removal) and say why it failed. */
  retry: z.boolean().optional(),
  /** Review (docs/loops.md): keep the worktree after a passing attempt too (no diff, no removal): a reviewer reads it next. */
  keep: z.boolean().optional(),
  /** Added to the program's environment: CADRE_ATTEMPT, CADRE_VERIFY_ATTEMPTS, CADRE_VERIFY_FAILURE. */
  env: z.record(z.string(), z.string()).optional(),
  /** The workspace's leased ports: the program and the verify command get CADRE_PORT, PORT, CADRE_PORT_RANGE. */
  ports: portLeaseSchema.optional(),
  /** The agent's port block, leased by this activity itself for as long as it runs (docs/workspaces.md, "Ports"). */
  leasePorts: activityPortLeaseSchema.optional(),
}).strict();

/** A command task run by the scheduler itself (plan option `inlineCommands`): workspace, program, ending, merge. */
export const inlineCommandTaskInput = z.object({
  agentId: z.string().min(1),
  repo: z.string().min(1),
  baseRef: z.string().min(1),
  argv: z.array(z.string()).min(1),
  timeoutSeconds: z.number().int().positive(),
  outputs: z.array(z.string().min(1)).optional(),
  verify: z.array(z.string()).min(1).optional(),
  checks: z.array(CheckSchema).optional(),
  /**
   * Where a completed task's branch is merged (the run's integration worktree) and with which message. Absent: the
   * scheduler merges it later (a task with an approval gate, once approved).
   */
  mergeInto: z.object({ worktree: z.string().min(1), message: z.string().min(1) }).optional(),
  /** Fix-and-retry (docs/loops.md): attempts at passing the verification; the command runs again after a failure. */
  verifyAttempts: VerifyAttemptsSchema.optional(),
  /** The task's leased ports (CADRE_PORT, PORT, CADRE_PORT_RANGE), leased by the scheduler (runs recorded before). */
  ports: portLeaseSchema.optional(),
  /** The task's port block, leased by this activity itself for as long as it runs (docs/workspaces.md, "Ports"). */
  leasePorts: activityPortLeaseSchema.optional(),
}).strict();

/** What runAndEnd takes: an agent's command task, or an inline one (which has no model and no fix-and-retry env). */
type RunInput = z.output<typeof commandTaskInput> | (z.output<typeof inlineCommandTaskInput> & { workspace: z.output<typeof commandTaskInput>['workspace']; attempt?: number; retry?: boolean; env?: Record<string, string> });

export interface InlineCommandTaskResult {
  branch: string;
  baseCommit: string;
  task: CommandTaskResult;
  /** Set when the task completed and its branch was merged (or conflicted). */
  merge?: MergeResult;
  /** Every verification attempt, when the task had more than one allowed. */
  attempts?: VerifyAttempt[];
}

/** What the activity keeps on disk between attempts; `run` ties it to one workflow run of the agent. */
interface Progress {
  run: string;
  outcome: CommandOutcome;
  result?: CommandTaskResult;
}

export function createCommandTaskActivity(stateDir: string, w: WorkspaceActivities, holdPorts?: PortBlockHolder) {
  const progressFile = (agentId: string): string => path.join(path.resolve(stateDir), 'logs', `${sanitizeRef(agentId)}.task.json`);

  async function verify(workspace: string, input: RunInput): Promise<VerifyFailure | undefined> {
    if (input.outputs?.length) {
      const r = await w.verifyOutputs({ path: workspace, outputs: input.outputs });
      if (r.missing.length) return outputsFailure(r.missing);
    }
    if (input.checks?.length) {
      const r = await w.verifyChecks({ path: workspace, checks: input.checks });
      if (r.failures.length) return checksFailure(r.failures);
    }
    if (input.verify) {
      const r = await w.runVerify({ path: workspace, argv: input.verify, timeoutMs: VERIFY_TIMEOUT_MS, ...(input.ports ? { ports: input.ports } : {}) });
      if (r.exitCode !== 0) return verifyCommandFailure(input.verify, r.exitCode, r.tail, r.timedOut);
    }
    return undefined;
  }

  /** The program and the ending, resumable through the progress file (see the top of this file). */
  async function runAndEnd(input: RunInput): Promise<CommandTaskResult> {
    const { path: workspace, branch, baseCommit } = input.workspace;
    const file = progressFile(input.agentId);
    // Standalone activities have no workflow run; cadre's always do (the agent id then keys the record alone).
    // A fix attempt's record is its own: the first attempt's says nothing about the second.
    const workflowRun = Context.current().info.workflowExecution?.runId ?? input.agentId;
    const run = (input.attempt ?? 1) > 1 ? `${workflowRun}#${input.attempt}` : workflowRun;
    const saved = readProgress(file, run);
    if (saved?.result) {
      // The worker died after the diff: only the removal may be left (a kept worktree stays for the next attempt).
      if (!saved.result.kept) await w.removeWorkspace({ repo: input.repo, path: workspace });
      return saved.result;
    }
    const outcome = saved?.outcome
      ?? (await w.runAgentCommand({ agentId: input.agentId, workspace, argv: input.argv, timeoutMs: input.timeoutSeconds * 1000, ...('fromModel' in input && input.fromModel ? { fromModel: true } : {}), ...('env' in input && input.env ? { env: input.env } : {}), ...(input.ports ? { ports: input.ports } : {}) }));
    if (!saved) writeProgress(file, { run, outcome });

    const verdict = commandVerdict(outcome, input.timeoutSeconds);
    const commit = await w.commitWorkspace({ path: workspace, message: endCommitMessage(input.agentId, verdict.summary) });
    const failure = verdict.status === 'completed' ? await verify(workspace, input) : undefined;
    if (failure && input.retry) {
      const kept: CommandTaskResult = { outcome, commit: commit.commit, files: [], verifyError: failure.error, failure, kept: true };
      writeProgress(file, { run, outcome, result: kept });
      return kept;
    }
    if (!failure && verdict.status === 'completed' && 'keep' in input && input.keep) {
      const kept: CommandTaskResult = { outcome, commit: commit.commit, files: [], kept: true };
      writeProgress(file, { run, outcome, result: kept });
      return kept;
    }
    const diff = await w.diffStat({ repo: input.repo, branch, base: baseCommit });
    const result: CommandTaskResult = { outcome, commit: commit.commit, files: diff.files, ...(failure ? { verifyError: failure.error, ...(input.attempt ? { failure } : {}) } : {}) };
    writeProgress(file, { run, outcome, result });
    await w.removeWorkspace({ repo: input.repo, path: workspace });
    return result;
  }

  return {
    runCommandTask: defineActivity('runCommandTask', commandTaskInput, async (input): Promise<CommandTaskResult> => {
      // The result names the block the activity leased (the agent's status and tree show it).
      return withLeasedPorts(input, async (ports) => {
        const result = await runAndEnd({ ...input, ...(ports ? { ports } : {}) });
        return ports ? { ...result, ports } : result;
      });
    }),

    /**
     * A whole command task without an agent workflow. A cancelled program's work is still committed and its
     * worktree removed before the cancellation is reported, as an agent's ending would; a failed or cancelled task
     * is not merged.
     */
    runInlineCommandTask: defineActivity('runInlineCommandTask', inlineCommandTaskInput, async (input): Promise<InlineCommandTaskResult> => {
      return withLeasedPorts(input, (ports) => runInline({ ...input, ...(ports ? { ports } : {}) }));
    }),
  };

  /**
   * Runs `body` with the block named by `leasePorts`, held by this activity while it runs, renewed, and given back
   * however it ends (a worker that dies leaves it to expire; the retry asks again under the same request id and gets
   * the same block back). Without `leasePorts`, `body` gets no block and the input's own `ports` stay as they are.
   */
  async function withLeasedPorts<T>(input: { leasePorts?: ActivityPortLease }, body: (ports?: PortLease) => Promise<T>): Promise<T> {
    if (!input.leasePorts || !holdPorts) return body();
    const held = await holdPorts(input.leasePorts);
    try {
      return await body(held.ports);
    } finally {
      await held.release();
    }
  }

  async function runInline(input: z.output<typeof inlineCommandTaskInput>): Promise<InlineCommandTaskResult> {
    const ws = await w.createWorkspace({ repo: input.repo, agentId: input.agentId, baseRef: input.baseRef });
    const workspace = { path: ws.path, branch: ws.branch, baseCommit: ws.baseCommit };
    let task: CommandTaskResult;
    const max = input.verifyAttempts ?? 1;
    const attempts: VerifyAttempt[] = [];
    try {
      // Fix-and-retry: a failed verification with attempts left keeps the worktree and runs the command again,
      // with the failure in its environment. A retried activity finds each attempt's record and goes on.
      // The task's timeout covers all its attempts, as an agent's does.
      const started = Date.now();
      for (let attempt = 1, env: Record<string, string> | undefined; ; attempt++) {
        const timeoutSeconds = Math.max(1, Math.ceil(input.timeoutSeconds - (Date.now() - started) / 1000));
        task = await runAndEnd({ ...input, workspace, timeoutSeconds, ...(max > 1 ? { attempt, ...(attempt < max ? { retry: true } : {}), ...(env ? { env } : {}) } : {}) });
        if (max > 1 && (task.outcome.ok || task.failure)) {
          attempts.push(task.failure ? { attempt, ok: false, check: task.failure.check, summary: task.failure.error.slice(0, 300) } : { attempt, ok: true, summary: 'passed' });
        }
        if (!task.kept || !task.failure) break;
        env = attemptEnv(attempt + 1, max, fixMessage(task.failure, attempt, max));
      }
    } catch (err) {
      if (err instanceof CancelledFailure) {
        await w.commitWorkspace({ path: ws.path, message: endCommitMessage(input.agentId, 'cancelled') });
        await w.removeWorkspace({ repo: input.repo, path: ws.path });
      }
      throw err;
    }
    const merge = input.mergeInto && taskVerdict(task, input.timeoutSeconds).status === 'completed'
      ? await w.mergeBranch({ repo: input.repo, worktree: input.mergeInto.worktree, branch: ws.branch, message: input.mergeInto.message })
      : undefined;
    return { branch: ws.branch, baseCommit: ws.baseCommit, task, ...(merge ? { merge } : {}), ...(attempts.length ? { attempts } : {}) };
  }
}

function readProgress(file: string, run: string): Progress | undefined {
  try {
    const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Progress;
    return p.run === run ? p : undefined;
  } catch {
    return undefined; // none yet, or torn by a crash mid-write: start over from the program
  }
}

function writeProgress(file: string, progress: Progress): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(progress));
  fs.renameSync(tmp, file);
}
