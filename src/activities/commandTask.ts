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
import { checksFailedError, commandVerdict, endCommitMessage, taskVerdict, missingOutputsError, verifyFailedError, type CommandOutcome, type CommandTaskResult } from '../shared/commandTask';
import { CheckSchema } from '../shared/plan';
import { defineActivity } from './boundary';
import { sanitizeRef } from './paths';
import type { MergeResult } from './merge';
import type { WorkspaceActivities } from './workspaceActivities';
import { portLeaseSchema } from '../shared/ports';

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
  /** The workspace's leased ports: the program and the verify command get CADRE_PORT, PORT, CADRE_PORT_RANGE. */
  ports: portLeaseSchema.optional(),
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
  /** The task's leased ports (CADRE_PORT, PORT, CADRE_PORT_RANGE), leased by the scheduler. */
  ports: portLeaseSchema.optional(),
}).strict();

export interface InlineCommandTaskResult {
  branch: string;
  baseCommit: string;
  task: CommandTaskResult;
  /** Set when the task completed and its branch was merged (or conflicted). */
  merge?: MergeResult;
}

/** What the activity keeps on disk between attempts; `run` ties it to one workflow run of the agent. */
interface Progress {
  run: string;
  outcome: CommandOutcome;
  result?: CommandTaskResult;
}

export function createCommandTaskActivity(stateDir: string, w: WorkspaceActivities) {
  const progressFile = (agentId: string): string => path.join(path.resolve(stateDir), 'logs', `${sanitizeRef(agentId)}.task.json`);

  async function verify(workspace: string, input: z.output<typeof commandTaskInput>): Promise<string | undefined> {
    if (input.outputs?.length) {
      const r = await w.verifyOutputs({ path: workspace, outputs: input.outputs });
      if (r.missing.length) return missingOutputsError(r.missing);
    }
    if (input.checks?.length) {
      const r = await w.verifyChecks({ path: workspace, checks: input.checks });
      if (r.failures.length) return checksFailedError(r.failures);
    }
    if (input.verify) {
      const r = await w.runVerify({ path: workspace, argv: input.verify, timeoutMs: VERIFY_TIMEOUT_MS, ...(input.ports ? { ports: input.ports } : {}) });
      if (r.exitCode !== 0) return verifyFailedError(r.exitCode, r.tail);
    }
    return undefined;
  }

  /** The program and the ending, resumable through the progress file (see the top of this file). */
  async function runAndEnd(input: z.output<typeof commandTaskInput>): Promise<CommandTaskResult> {
    const { path: workspace, branch, baseCommit } = input.workspace;
    const file = progressFile(input.agentId);
    // Standalone activities have no workflow run; cadre's always do (the agent id then keys the record alone).
    const run = Context.current().info.workflowExecution?.runId ?? input.agentId;
    const saved = readProgress(file, run);
    if (saved?.result) {
      // The worker died after the diff: only the removal may be left.
      await w.removeWorkspace({ repo: input.repo, path: workspace });
      return saved.result;
    }
    const outcome = saved?.outcome
      ?? (await w.runAgentCommand({ agentId: input.agentId, workspace, argv: input.argv, timeoutMs: input.timeoutSeconds * 1000, ...('fromModel' in input && input.fromModel ? { fromModel: true } : {}), ...(input.ports ? { ports: input.ports } : {}) }));
    if (!saved) writeProgress(file, { run, outcome });

    const verdict = commandVerdict(outcome, input.timeoutSeconds);
    const commit = await w.commitWorkspace({ path: workspace, message: endCommitMessage(input.agentId, verdict.summary) });
    const verifyError = verdict.status === 'completed' ? await verify(workspace, input) : undefined;
    const diff = await w.diffStat({ repo: input.repo, branch, base: baseCommit });
    const result: CommandTaskResult = { outcome, commit: commit.commit, files: diff.files, ...(verifyError ? { verifyError } : {}) };
    writeProgress(file, { run, outcome, result });
    await w.removeWorkspace({ repo: input.repo, path: workspace });
    return result;
  }

  return {
    runCommandTask: defineActivity('runCommandTask', commandTaskInput, runAndEnd),

    /**
     * A whole command task without an agent workflow. A cancelled program's work is still committed and its
     * worktree removed before the cancellation is reported, as an agent's ending would; a failed or cancelled task
     * is not merged.
     */
    runInlineCommandTask: defineActivity('runInlineCommandTask', inlineCommandTaskInput, async (input): Promise<InlineCommandTaskResult> => {
      const ws = await w.createWorkspace({ repo: input.repo, agentId: input.agentId, baseRef: input.baseRef });
      const workspace = { path: ws.path, branch: ws.branch, baseCommit: ws.baseCommit };
      let task: CommandTaskResult;
      try {
        task = await runAndEnd({ ...input, workspace });
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
      return { branch: ws.branch, baseCommit: ws.baseCommit, task, ...(merge ? { merge } : {}) };
    }),
  };
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
