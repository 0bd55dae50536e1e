/**
 * `cadre diff <agent | run/task | run>`: the git diff of what an agent did, against what it started from.
 *
 *   - a finished agent: its branch against the commit its worktree was created at (`baseCommit` of its result);
 *   - a running agent: its worktree as it is now (committed or not) against the point it branched from, plus the
 *     names of files it created but git does not track yet (nothing in its worktree is changed by looking);
 *   - a run: its integration branch against the ref it started from.
 *
 * Git runs on this machine: the repository and worktrees must be here (they are, for the embedded default).
 * The worktree and its configuration are the agent's: git runs hardened (see `git` below).
 */
import { existsSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { gitFor } from '../../activities/git';
import { sanitizeRef } from '../../activities/paths';
import type { AgentInput, AgentWorkflow } from '../../shared/agent';
import { CadreError } from '../../shared/errors';
import { agentStatusQuery } from '../../shared/messages';
import type { RunPlanInput } from '../../shared/run';
import { EXIT, colorWanted } from '../output';
import { openRuntime } from '../runtime';
import { loadRunProgress, queryWorkflow, resolveTarget, workflowInput } from './inspect';
import { agentResultOf } from '../results';

/**
 * git as cadre's activities run it (../../activities/gitSafety.ts): the worktree and its configuration are the
 * agent's, so no program they name (external diff, textconv, fsmonitor, filters, pager) may run, and git gets a
 * minimal environment without the operator's secrets.
 */
export async function git(cwd: string, args: string[]): Promise<string> {
  try {
    return await gitFor(cwd).raw(args);
  } catch (err) {
    throw new CadreError(`git ${args.join(' ')} (in ${cwd}): ${(err as Error).message.trim().split('\n')[0]}`, EXIT.failed);
  }
}

export interface DiffOptions {
  stat?: boolean;
  nameOnly?: boolean;
  json?: boolean;
}

/** What to compare: `base` and `head` are commits or refs; `head` undefined means the worktree at `cwd` as it is. */
export interface DiffSpec {
  what: string;
  repo: string;
  cwd: string;
  branch: string;
  base: string;
  head?: string;
  running: boolean;
}

async function agentSpec(client: Client, agentId: string, running: boolean): Promise<DiffSpec> {
  const input = await workflowInput<AgentInput>(client, agentId);
  const handle = client.workflow.getHandle<AgentWorkflow>(agentId);
  if (running) {
    const s = await queryWorkflow(client, agentId, () => handle.query(agentStatusQuery));
    if (s.workspace && existsSync(s.workspace)) {
      const base = (await git(s.workspace, ['merge-base', 'HEAD', input.baseRef]).catch(() => input.baseRef)).trim();
      return { what: `agent ${agentId} (running: its worktree now)`, repo: input.repo, cwd: s.workspace, branch: s.branch ?? '', base, running: true };
    }
    if (!s.workspace) throw new CadreError(`agent ${agentId} has no worktree yet (${s.status}: ${s.doing})`, EXIT.usage);
    throw new CadreError(`agent ${agentId} works in ${s.workspace}, which is not on this machine`, EXIT.usage);
  }
  const r = await agentResultOf(handle).catch(() => undefined);
  const branch = r?.branch ?? `cadre/${sanitizeRef(agentId)}`;
  const base = r?.baseCommit ?? (await git(input.repo, ['merge-base', branch, input.baseRef]).catch(() => input.baseRef)).trim();
  return { what: `agent ${agentId} (${r?.status ?? 'ended'})`, repo: input.repo, cwd: input.repo, branch, base, head: branch, running: false };
}

async function runSpec(client: Client, runId: string): Promise<DiffSpec> {
  const input = await workflowInput<RunPlanInput>(client, runId);
  const p = await loadRunProgress(client, runId);
  const branch = p.integrationBranch ?? `cadre/${sanitizeRef(runId)}/integration`;
  const base = (await git(input.repo, ['merge-base', branch, input.baseRef ?? 'HEAD'])).trim();
  return { what: `run ${runId} (integration branch)`, repo: input.repo, cwd: input.repo, branch, base, head: branch, running: p.status === 'running' };
}

export interface FileChange {
  path: string;
  added: number | null;
  removed: number | null;
}

function parseNumstat(text: string): FileChange[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [a, r, ...rest] = l.split('\t');
      // Binary files show "-" for both counts.
      return { path: rest.join('\t'), added: a === '-' ? null : Number(a), removed: r === '-' ? null : Number(r) };
    });
}

export async function diffCommand(ref: string, opts: DiffOptions): Promise<number> {
  const rt = await openRuntime();
  try {
    const target = await resolveTarget(rt.client, ref);
    const spec = target.kind === 'run' ? await runSpec(rt.client, target.runId) : await agentSpec(rt.client, target.agentId, target.running);
    const range = spec.head ? [spec.base, spec.head] : [spec.base];
    const untracked = spec.head ? [] : (await git(spec.cwd, ['ls-files', '--others', '--exclude-standard'])).split('\n').filter(Boolean);
    if (opts.json) {
      const [numstat, patch] = await Promise.all([git(spec.cwd, ['diff', '--numstat', ...range]), git(spec.cwd, ['diff', ...range])]);
      process.stdout.write(JSON.stringify({ target: ref, ...spec, files: parseNumstat(numstat), untracked, diff: patch }, null, 2) + '\n');
      return EXIT.ok;
    }
    const mode = opts.stat ? ['--stat'] : opts.nameOnly ? ['--name-status'] : colorWanted() ? ['--color=always'] : [];
    const text = await git(spec.cwd, ['diff', ...mode, ...range]);
    const head = spec.head ? spec.head : 'worktree';
    process.stdout.write(`# ${spec.what}: ${spec.base.slice(0, 10)}..${head} in ${spec.repo}\n`);
    process.stdout.write(text || '(no changes)\n');
    if (untracked.length) process.stdout.write(`# not yet tracked (committed when the agent ends): ${untracked.join(', ')}\n`);
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}
