/**
 * The workspace activities: git worktrees, commits, merges, the `command` backend and output verification, as
 * Temporal activity functions. Each takes one JSON object (validated with zod: workflow inputs are a trust boundary
 * too) and returns small JSON: ids, counts, short tails, never file contents or whole diffs, because results live in
 * workflow history.
 *
 * All of them run on the task queue of the host that owns the worktrees (docs/hosts.md): the workflows send them to
 * `<taskQueue>@<host>` once the workspace's creation has said which host that is (`host` in its result). A run's
 * repository that is a remote is worked on in this host's clone of it, and branches move through the remote
 * (remote.ts). All are idempotent on their inputs (see
 * workspace.ts), so Temporal's retries are safe. Errors leave as ApplicationFailure with a stable type from
 * src/shared/errors.ts: bad input and path escapes are non-retryable, lock contention is retryable, cancellation is
 * rethrown unchanged.
 */
import * as os from 'node:os';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { DEFAULT_WORKTREE_POOL } from '../node/config';
import type { CommandOutcome } from '../shared/commandTask';
import { ErrorType, TypedFailure } from '../shared/errors';
import { CachesSchema, CheckSchema } from '../shared/plan';
import { runChecks } from './checks';
import { commandRefusal, defaultCommandPolicy, killGroup, runCommand, scrubbedEnv, type CommandPolicy } from './commandRunner';
import { defineActivity, heartbeatWith } from './boundary';
import { resolveInside, sanitizeRef } from './paths';
import { mergeInto, type MergeResult } from './merge';
import * as ws from './workspace';
import { portLeaseSchema } from '../shared/portLease';
import { portEnv, portRange, type PortLease } from '../shared/ports';
import type { AgentSlots } from './agentSlots';
import { adoptRemoteBranch, fetchRemote, isCloneOfRemote, localRepo, pushWorktreeBranch, remoteRef } from './remote';

/** What goes back into history from a command: the end of its output, redacted. */
const TAIL_CHARS = 4000;
const MAX_FILES_IN_RESULT = 200;
const MAX_STAT_CHARS = 8000;
/** The live overlap check: tasks asked about at once, and changed paths kept per task. */
const MAX_LIVE_TASKS = 100;
const MAX_LIVE_PATHS = 100;

export interface WorkspaceActivityDeps {
  stateDir: string;
  policy?: CommandPolicy;
  /** Ready worktrees kept per repository for new agent workspaces (CADRE_WORKTREE_POOL); 0 turns the pool off. */
  worktreePool?: number;
  /** This worker's host identity: reported with every workspace it creates, so later calls come back here. */
  host?: string;
  /** The agent workspaces living on this host, for placement (agentSlots.ts). */
  slots?: AgentSlots;
}

const refString = z.string().min(1).max(256).refine((s) => !s.startsWith('-'), 'must not start with "-"');
const argv = z.array(z.string()).min(1);

export const workspaceActivityInputs = {
  createWorkspace: z.object({
    repo: z.string().min(1),
    agentId: z.string().min(1).max(512),
    baseRef: refString,
    bootstrap: z.object({
      copy: z.array(z.string().min(1)).optional(),
      setup: argv.optional(),
      setupTimeoutMs: z.number().int().positive().optional(),
      env: z.record(z.string(), z.string()).optional(),
      caches: CachesSchema.optional(),
      setupAlways: z.boolean().optional(),
    }).strict().optional(),
  }).strict(),
  commitWorkspace: z.object({
    path: z.string().min(1),
    message: z.string().min(1),
    author: z.object({ name: z.string().min(1), email: z.string().min(1) }).strict().optional(),
  }).strict(),
  removeWorkspace: z.object({ repo: z.string().min(1), path: z.string().min(1) }).strict(),
  mergeBranch: z.object({
    repo: z.string().min(1),
    worktree: z.string().min(1),
    branch: refString,
    message: z.string().min(1),
  }).strict(),
  ensureIntegrationWorktree: z.object({ repo: z.string().min(1), runId: z.string().min(1).max(512), baseRef: refString }).strict(),
  diffStat: z.object({ repo: z.string().min(1), branch: refString, base: refString }).strict(),
  liveChangedPaths: z.object({
    repo: z.string().min(1),
    tasks: z.array(z.object({ taskId: z.string().min(1), agentId: z.string().min(1).max(512) }).strict()).max(MAX_LIVE_TASKS),
  }).strict(),
  runAgentCommand: z.object({
    agentId: z.string().min(1),
    /** The workspace directory (`path` is accepted as an alias). */
    workspace: z.string().min(1).optional(),
    path: z.string().min(1).optional(),
    argv,
    timeoutMs: z.number().int().positive().optional(),
    env: z.record(z.string(), z.string()).optional(),
    /** The workspace's leased ports (CADRE_PORT, PORT, CADRE_PORT_RANGE). */
    ports: portLeaseSchema.optional(),
    /** The argv came from a model (a spawned command agent): it must pass the command policy. */
    fromModel: z.boolean().optional(),
  }).strict().refine((v) => (v.workspace ?? v.path) !== undefined, 'workspace is required'),
  verifyOutputs: z.object({ path: z.string().min(1), outputs: z.array(z.string().min(1)) }).strict(),
  verifyChecks: z.object({ path: z.string().min(1), checks: z.array(CheckSchema) }).strict(),
  runVerify: z.object({
    path: z.string().min(1),
    argv,
    timeoutMs: z.number().int().positive().optional(),
    /** Names the log file, e.g. the task id; default `verify`. */
    logName: z.string().min(1).optional(),
    /** The workspace's leased ports (CADRE_PORT, PORT, CADRE_PORT_RANGE). */
    ports: portLeaseSchema.optional(),
  }).strict(),
} as const;


const HEARTBEAT_EVERY_MS = 2_000;

/** What a command activity records in its heartbeats: enough for a retry to find a program its dead worker left. */
interface CommandBeat {
  host: string;
  pid: number;
  /** Epoch ms of the program's last output, and of this heartbeat (progress: see activities/progress.ts). */
  progressAt?: number;
  beatAt?: number;
  /** The program's port block, "first-last", when it has one. */
  ports?: string;
}

/**
 * A retried command activity whose earlier attempt died with its worker (kill -9, OOM) may have left the program
 * running: it runs in its own process group, detached. Before running again, kill that group if it is on this
 * host, so two copies never work in one worktree.
 */
function killOrphanOfEarlierAttempt(ctx: Context): void {
  if (ctx.info.attempt <= 1) return;
  const beat = ctx.info.heartbeatDetails as Partial<CommandBeat> | undefined;
  if (beat?.host === os.hostname() && typeof beat.pid === 'number') killGroup(beat.pid, 'SIGKILL');
}

function tailOf(output: string): string {
  return output.length > TAIL_CHARS ? output.slice(output.length - TAIL_CHARS) : output;
}

/**
 * A workspace activity: its input schema, and a heartbeat every 2 s for the whole call, so a dead worker's git
 * operation is retried within the heartbeat timeout instead of its start-to-close timeout (boundary.ts).
 */
function activity<S extends z.ZodType, R>(name: string, schema: S, body: (input: z.output<S>) => Promise<R>): (input: z.input<S>) => Promise<R> {
  return defineActivity(name, schema, body, { heartbeatEveryMs: HEARTBEAT_EVERY_MS });
}

export function createWorkspaceActivities(deps: WorkspaceActivityDeps) {
  const stateDir = path.resolve(deps.stateDir);
  const policy = deps.policy ?? defaultCommandPolicy;
  const worktreePool = deps.worktreePool ?? DEFAULT_WORKTREE_POOL;
  const logFor = (name: string): string => path.join(stateDir, 'logs', `${sanitizeRef(name)}.log`);
  const withHost = <T extends object>(info: T): T & { host?: string } => (deps.host ? { ...info, host: deps.host } : info);

  /**
   * The local repository for `repo` and the ref to start from: for a remote, this host's clone, just fetched, with
   * `branch` taken from the remote if only the remote has it, and `baseRef` read from the remote (remote.ts).
   */
  async function throughRemote(repo: string, baseRef: string, branch?: string): Promise<{ repo: string; baseRef: string }> {
    const local = await localRepo(stateDir, repo);
    if (local === repo) return { repo, baseRef };
    await fetchRemote(stateDir, local);
    if (branch) await adoptRemoteBranch(stateDir, local, branch);
    return { repo: local, baseRef: await remoteRef(local, baseRef) };
  }
  /** After a commit or a merge in a worktree of a clone: the branch goes to the remote. */
  async function pushIfCloned(worktree: string): Promise<void> {
    const clone = await isCloneOfRemote(stateDir, worktree);
    if (clone) await pushWorktreeBranch(stateDir, clone, worktree);
  }

  /**
   * Run argv in a workspace with heartbeats and cancellation from the activity context. Cancellation (delivered
   * through heartbeats) kills the process group, then the CancelledFailure is rethrown.
   */
  async function runInWorkspace(cwd: string, args: string[], timeoutMs: number, env: Record<string, string>, logFile: string, ports?: PortLease) {
    const ctx = Context.current();
    killOrphanOfEarlierAttempt(ctx);
    let beat: CommandBeat | undefined;
    const result = await runCommand({
      argv: args,
      cwd,
      env: scrubbedEnv({ ...policy.env, ...env }),
      timeoutMs,
      logFile,
      onSpawn: (pid) => {
        // The block is in the beat too: `cadre status` of a running command agent reads it there (docs/workspaces.md).
        beat = { host: os.hostname(), pid, ...(ports ? { ports: portRange(ports) } : {}) };
        heartbeatWith(ctx, beat);
      },
      // The program's last output is its progress: the agent's stall watch reads it from the heartbeat (docs/loops.md).
      heartbeat: (progressAt) => heartbeatWith(ctx, { ...beat, beatAt: Date.now(), ...(progressAt === undefined ? {} : { progressAt }) }),
      signal: ctx.cancellationSignal,
    });
    if (result.cancelled) throw ctx.cancellationSignal.reason ?? new CancelledFailure('command cancelled');
    return result;
  }

  return {
    /**
     * Idempotent on (repo, agentId). Returns where the agent works; bootstrap runs once. A new workspace comes from the
     * repository's worktree pool when it has a ready entry; the refill that follows runs after the activity returns.
     */
    createWorkspace: activity('createWorkspace', workspaceActivityInputs.createWorkspace, async (input) => {
      const ctx = Context.current();
      const local = await throughRemote(input.repo, input.baseRef, `${ws.AGENT_BRANCH_PREFIX}${sanitizeRef(input.agentId)}`);
      const info = await ws.createWorkspace({
        stateDir,
        worktreePool,
        ...input,
        ...local,
        heartbeat: () => ctx.heartbeat(),
        signal: ctx.cancellationSignal,
      });
      deps.slots?.hold(info.path);
      // The new branch goes to the remote at once: a workspace made again elsewhere (its host lost) starts there.
      if (local.repo !== input.repo) await pushIfCloned(info.path);
      return withHost(info);
    }),

    /** Commit everything in the worktree (the system commits, not the model). Second call: committed=false. */
    commitWorkspace: activity('commitWorkspace', workspaceActivityInputs.commitWorkspace, async (input) => {
      ws.assertCadreWorktree(stateDir, input.path);
      const result = await ws.commitWorkspace(input);
      await pushIfCloned(input.path);
      return {
        commit: result.commit,
        committed: result.committed,
        filesChanged: result.filesChanged.slice(0, MAX_FILES_IN_RESULT),
        filesChangedCount: result.filesChanged.length,
      };
    }),

    /** Remove the worktree, keep the branch. Idempotent. */
    removeWorkspace: activity('removeWorkspace', workspaceActivityInputs.removeWorkspace, async (input) => {
      const removed = await ws.removeWorkspace({ stateDir, worktreePool, ...input, repo: await localRepo(stateDir, input.repo) });
      deps.slots?.free(input.path);
      return removed;
    }),

    /** Merge a branch into a worktree's branch; a conflict is a result (`ok: false` with files), not a failure. */
    mergeBranch: activity('mergeBranch', workspaceActivityInputs.mergeBranch, async (input): Promise<MergeResult> => {
      const local = await throughRemote(input.repo, input.branch);
      const result = await mergeInto({ stateDir, ...input, repo: local.repo, branch: local.baseRef });
      if (result.ok) await pushIfCloned(input.worktree);
      return result.ok ? result : { ok: false, conflicts: result.conflicts.slice(0, MAX_FILES_IN_RESULT) };
    }),

    /** The run's integration branch in its own worktree; idempotent on (repo, runId). */
    ensureIntegrationWorktree: activity('ensureIntegrationWorktree', workspaceActivityInputs.ensureIntegrationWorktree, async (input) => {
      const local = await throughRemote(input.repo, input.baseRef, ws.integrationBranch(input.runId));
      const info = await ws.ensureIntegrationWorktree({ stateDir, worktreePool, ...input, ...local });
      await pushIfCloned(info.path);
      return withHost(info);
    }),

    diffStat: activity('diffStat', workspaceActivityInputs.diffStat, async (input) => {
      const local = { ...input, repo: await localRepo(stateDir, input.repo) };
      const [stat, files] = await Promise.all([ws.diffStat(local), ws.changedFiles(local)]);
      return {
        stat: stat.length > MAX_STAT_CHARS ? `${stat.slice(0, MAX_STAT_CHARS)}\n[… truncated]` : stat,
        files: files.slice(0, MAX_FILES_IN_RESULT),
        filesCount: files.length,
      };
    }),

    /**
     * Seeing conflicts coming: what each running task's workspace has changed so far (committed since its base plus
     * uncommitted), for the scheduler's live overlap check. Small result: at most MAX_LIVE_PATHS paths per task.
     */
    liveChangedPaths: activity('liveChangedPaths', workspaceActivityInputs.liveChangedPaths, async (input) => ({
      changes: await Promise.all(input.tasks.map(async (t) => {
        const live = await ws.liveChangedPaths(stateDir, await localRepo(stateDir, input.repo), t.agentId, MAX_LIVE_PATHS);
        return { taskId: t.taskId, paths: live.paths, ...(live.truncated ? { truncated: true } : {}) };
      })),
    })),

    /**
     * The `command` backend: run the agent's program in its workspace, log to ${stateDir}/logs/<agent>.log. An argv
     * from the plan (the operator) is trusted as written; one a model chose (`fromModel`: spawn_agent's command
     * backend) must pass the command policy like run_command, else the activity fails, not retried, with
     * CommandNotAllowed. The environment is always scrubbed. Not resumable: a retry runs the program again.
     */
    runAgentCommand: activity('runAgentCommand', workspaceActivityInputs.runAgentCommand, async (input): Promise<CommandOutcome> => {
      const refusal = input.fromModel ? commandRefusal(policy, input.argv) : undefined;
      if (refusal) throw new TypedFailure(ErrorType.CommandNotAllowed, `command of a spawned agent refused: ${refusal}`);
      const cwd = resolveInside((input.workspace ?? input.path) as string, '.', 'read');
      const result = await runInWorkspace(cwd, input.argv, input.timeoutMs ?? policy.timeoutMs, { ...input.env, ...portEnv(input.ports) }, logFor(input.agentId), input.ports);
      const tail = tailOf(result.output);
      if (result.exitCode === 0 && !result.timedOut) return { ok: true, exitCode: 0, tail };
      return { ok: false, exitCode: result.exitCode, tail, timedOut: result.timedOut };
    }),

    /** Which declared outputs are missing from the workspace. An output path escaping the workspace is refused. */
    verifyOutputs: activity('verifyOutputs', workspaceActivityInputs.verifyOutputs, async (input) => {
      const missing: string[] = [];
      for (const output of input.outputs) {
        const abs = resolveInside(input.path, output, 'read');
        if (!fs.existsSync(abs)) missing.push(output);
      }
      return { missing };
    }),

    /**
     * A task's machine checks (`checks`, from GSD must_haves) on a workspace: pure reads confined to it, so a retry
     * gives the same answer. Returns one line per failing check; the caller decides.
     */
    verifyChecks: activity('verifyChecks', workspaceActivityInputs.verifyChecks, async (input) => {
      const failures = await runChecks(input.path, input.checks);
      return { failures: failures.map((f) => f.message).slice(0, 50) };
    }),

    /** Run a plan's verification command in a workspace; the exit code is the verdict, the caller decides. */
    runVerify: activity('runVerify', workspaceActivityInputs.runVerify, async (input) => {
      const cwd = resolveInside(input.path, '.', 'read');
      const logFile = logFor(`verify-${input.logName ?? path.basename(cwd)}`);
      const result = await runInWorkspace(cwd, input.argv, input.timeoutMs ?? policy.timeoutMs, portEnv(input.ports), logFile);
      return { exitCode: result.exitCode, timedOut: result.timedOut, tail: tailOf(result.output) };
    }),
  };
}

export type WorkspaceActivities = ReturnType<typeof createWorkspaceActivities>;
