/**
 * Activities that do nothing, for measuring cadre's orchestration alone: they replace (by name, through the worker
 * factory's `extraActivities`) the git and command activities the runPlan and agent workflows call. The workflows
 * themselves are cadre's own, unchanged: every child workflow, every activity round trip and every workflow task
 * still happens; only the work inside the activities is gone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { portBlockHolder, type ActivityPortLease } from '../../src/activities/portActivities';
import type { BenchEnv } from './env';

const ZERO = '0'.repeat(40);

export interface StubOptions {
  /** How long the command "runs" (ms): 0 for a no-op task. */
  commandMs?: number;
  /** When set, the command waits for this promise (used to keep workflows open in the worker's cache). */
  hold?: () => Promise<void>;
  /** Called with the activity name whenever a stub runs (to count calls). */
  onCall?: (name: string) => void;
}

export function stubActivities(opts: StubOptions = {}) {
  const holdPorts = portBlockHolder();
  const seen = (name: string) => opts.onCall?.(name);
  const command = async (): Promise<void> => {
    if (opts.hold) {
      // The command preset has a heartbeat timeout: a held command must keep heartbeating like a real one.
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), 2000);
      try {
        await opts.hold();
      } finally {
        clearInterval(beat);
      }
    }
    if (opts.commandMs) await new Promise((r) => setTimeout(r, opts.commandMs));
  };
  /** The command, with the port block held around it when the activity leases one; returns the block. */
  const withPorts = async (lease: ActivityPortLease | undefined) => {
    const held = lease ? await holdPorts(lease) : undefined;
    try {
      await command();
    } finally {
      await held?.release();
    }
    return held?.ports;
  };
  return {
    async ensureIntegrationWorktree(input: { runId: string }) {
      seen('ensureIntegrationWorktree');
      return { path: `/nonexistent/integration@${input.runId}`, branch: `cadre/${input.runId}/integration`, baseCommit: ZERO, created: true };
    },
    async createWorkspace(input: { agentId: string }) {
      seen('createWorkspace');
      const name = input.agentId.replace(/\//g, '.');
      return { path: `/nonexistent/${name}`, branch: `cadre/${name}`, baseCommit: ZERO, created: true };
    },
    async runAgentCommand() {
      seen('runAgentCommand');
      await command();
      return { ok: true as const, exitCode: 0 as const, tail: '' };
    },
    /** The command agent's program and ending in one activity (src/activities/commandTask.ts). */
    async runCommandTask(input: { leasePorts?: ActivityPortLease }) {
      seen('runCommandTask');
      // The block the real activity leases for itself is leased and given back for real, as for inline tasks.
      const ports = await withPorts(input.leasePorts);
      return { outcome: { ok: true as const, exitCode: 0 as const, tail: '' }, commit: ZERO, files: [] as string[], ...(ports ? { ports } : {}) };
    },
    /**
     * A whole inline command task (plan option inlineCommands): workspace, program, ending, merge. The port block
     * the real activity leases for itself is leased and given back for real (it is cadre's cost, not the task's).
     */
    async runInlineCommandTask(input: { agentId: string; leasePorts?: ActivityPortLease }) {
      seen('runInlineCommandTask');
      await withPorts(input.leasePorts);
      const task = { outcome: { ok: true as const, exitCode: 0 as const, tail: '' }, commit: ZERO, files: [] as string[] };
      return { branch: `cadre/${input.agentId.replace(/\//g, '.')}`, baseCommit: ZERO, task, merge: { ok: true as const, commit: ZERO } };
    },
    async commitWorkspace() {
      seen('commitWorkspace');
      return { commit: ZERO, committed: false, filesChanged: [] as string[], filesChangedCount: 0 };
    },
    async diffStat() {
      seen('diffStat');
      return { stat: '', files: [] as string[], filesCount: 0 };
    },
    async removeWorkspace() {
      seen('removeWorkspace');
      return { removed: true };
    },
    async mergeBranch() {
      seen('mergeBranch');
      return { ok: true as const, commit: ZERO };
    },
  };
}

/**
 * The repository stubbed runs name: a real, empty git repository (made once per bench run), because what is not
 * stubbed still uses it — a run's task table too large for its result is stored as blobs in it (docs/plans.md).
 */
export function stubRepo(env: BenchEnv): string {
  const repo = join(env.root, 'stub-repo');
  if (!existsSync(join(repo, '.git'))) {
    mkdirSync(repo, { recursive: true });
    execFileSync('git', ['init', '-q', repo]);
  }
  return repo;
}
