/** What the crash tests look at: pending activities, waiting with a deadline, and the repository afterwards. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { transcriptPath } from '../../../src/activities/model/transcript';
import { repoKey } from '../../../src/activities/paths';
import { locksQuery, lockWorkflowId } from '../../../src/shared/locks';
import { runProgressQuery } from '../../../src/shared/messages';
import { git, worktreesOutsidePool } from '../../support/repo';

/** Activities of the `gitOp` preset (2 min start-to-close, no heartbeat at the time of writing). */
export const gitActivities = new Set(['createWorkspace', 'commitWorkspace', 'mergeBranch', 'removeWorkspace', 'diffStat', 'ensureIntegrationWorktree']);

export interface Pending {
  workflowId: string;
  type: string;
  /** 1 scheduled, 2 started, 3 cancel requested */
  state: number;
  attempt: number;
  identity?: string;
}

/** The activities pending right now in these workflows (those that are gone or closed are skipped). */
export async function pendingActivities(client: Client, workflowIds: string[]): Promise<Pending[]> {
  const all = await Promise.all(
    workflowIds.map(async (id) => {
      try {
        const d = await client.workflow.getHandle(id).describe();
        return (d.raw.pendingActivities ?? []).map((p) => ({
          workflowId: id,
          type: p.activityType?.name ?? '?',
          state: Number(p.state ?? 0),
          attempt: p.attempt ?? 1,
          identity: p.lastWorkerIdentity ?? undefined,
        }));
      } catch {
        return [];
      }
    }),
  );
  return all.flat();
}

/** Where a run that did not finish stands: its task table, the activities pending, the repository's locks. */
export async function describeStuck(client: Client, runId: string, repo: string): Promise<string> {
  const lines: string[] = [];
  try {
    const p = await client.workflow.getHandle(runId).query(runProgressQuery);
    lines.push(`tasks: ${p.tasks.map((t) => `${t.id}=${t.status}`).join(' ')}`);
    const pending = await pendingActivities(client, [runId, ...p.tasks.filter((t) => t.agentId).map((t) => t.agentId!)]);
    lines.push(`pending activities: ${pending.map((a) => `${a.type}@${a.workflowId} state ${a.state} attempt ${a.attempt} on ${a.identity ?? '-'}`).join('; ') || 'none'}`);
    // A running task with nothing pending: its agent's own state says what it waits for (a failing workflow task, a signal).
    for (const t of p.tasks.filter((t) => t.status === 'running' && t.agentId)) lines.push(await describeWorkflow(client, t.agentId!));
    lines.push(await describeWorkflow(client, runId));
  } catch (err) {
    lines.push(`progress query failed: ${String(err)}`);
  }
  try {
    const v = await client.workflow.getHandle(lockWorkflowId(repoKey(repo))).query(locksQuery);
    lines.push(`locks: holders ${JSON.stringify(v.holders)} waiters ${JSON.stringify(v.waiters)} stats ${JSON.stringify(v.stats)}`);
  } catch (err) {
    lines.push(`locks query failed: ${String(err)}`);
  }
  return lines.join('\n');
}

/** A workflow's status, its pending workflow task (a failing one keeps its attempt count) and its last events. */
async function describeWorkflow(client: Client, workflowId: string): Promise<string> {
  try {
    const h = client.workflow.getHandle(workflowId);
    const d = await h.describe();
    const wft = d.raw.pendingWorkflowTask;
    const events = (await h.fetchHistory()).events ?? [];
    const last = events.slice(-12).map((e) => {
      const failed = e.workflowTaskFailedEventAttributes?.failure?.message;
      return `${e.eventId} ${String(temporal.api.enums.v1.EventType[e.eventType ?? 0]).replace('EVENT_TYPE_', '')}${failed ? ` (${failed.slice(0, 300)})` : ''}`;
    });
    return `${workflowId}: ${d.status.name}, workflow task ${wft ? `pending, attempt ${wft.attempt}` : 'none'}; last events: ${last.join(', ')}`;
  } catch (err) {
    return `${workflowId}: cannot describe: ${String(err)}`;
  }
}

/** Polls `probe` until it returns something truthy; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `p`, or a failure naming `what` after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Subjects of the commits on `branch` (first parent and merged ones alike). */
export function subjects(repo: string, branch: string): string[] {
  return git(repo, 'log', '--format=%s', branch).split('\n').filter(Boolean);
}

/** How many merge commits of each task the integration branch holds (`cadre: merge task <id>: …`). */
export function mergesPerTask(repo: string, branch: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of subjects(repo, branch)) {
    const id = /^cadre: merge task ([^:]+):/.exec(s)?.[1];
    if (id) m.set(id, (m.get(id) ?? 0) + 1);
  }
  return m;
}

/** Commits the system made for an agent on its branch (`cadre: <agent id>: …`). */
export function agentCommits(repo: string, agentId: string): number {
  const branch = `cadre/${agentId.replace(/\//g, '.')}`;
  return subjects(repo, branch).filter((s) => s.startsWith(`cadre: ${agentId}: `)).length;
}

/** Registered worktrees of the repository (absolute paths), leaving out the worktree pool's spare checkouts. */
export function worktrees(repo: string): string[] {
  return worktreesOutsidePool(repo);
}

/** Directory names under the state directory's worktree root, over all repositories. */
export function worktreeDirs(stateDir: string): string[] {
  const root = join(stateDir, 'worktrees');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((repoKey) => readdirSync(join(root, repoKey)).filter((n) => !n.startsWith('.') && !n.endsWith('.json')));
}

/** Turns whose model reply is in an agent's transcript (what a retry reuses instead of calling the model again). */
export function storedReplies(stateDir: string, agentId: string): Set<number> {
  const file = transcriptPath(stateDir, agentId);
  const turns = new Set<number>();
  if (!existsSync(file)) return turns;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as { kind?: string; turn?: number };
      if (r.kind === 'assistant' && typeof r.turn === 'number') turns.add(r.turn);
    } catch {
      // A line cut short by the kill: not a stored reply.
      continue;
    }
  }
  return turns;
}
