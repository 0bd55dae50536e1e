/**
 * Seed-003 compatibility: mirror each task's status as `<dir>/<task_id>.json`, in the field names and shapes that
 * protocol uses, where `task_id` is the task's path under `tasks/` (`01-analysis/01-survey`), so the file is
 * `<dir>/01-analysis/01-survey.json` and a later import (`src/client/plans/tasksDir.ts`) finds completed tasks.
 * Written atomically (temp file + rename) so a reader never sees half a file; rewriting is idempotent, so an
 * activity retry is harmless.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TaskRow } from '../shared/messages';

export interface WriteTaskStatusInput {
  dir: string;
  row: TaskRow;
  agentId?: string;
  /** The task's `statusKey` (its seed-003 id); without it the key is derived from the row (`statusKeyOf`). */
  key?: string;
  /** The program's exit code when the caller knows it; otherwise read from the row's error. */
  exitCode?: number;
}

const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * Where a task's status file lives, relative to the status directory, without `.json`: the given key; else, for a
 * task whose id starts with its phase and a dot (the tasks/ importer's `01-analysis.01-survey`), `<phase>/<rest>`
 * (`01-analysis/01-survey`); else the id.
 */
export function statusKeyOf(id: string, phase?: string, key?: string): string {
  // A key is a relative path below the status directory, never one that climbs out of it.
  if (key && !key.startsWith('/') && !key.split(/[\\/]/).includes('..')) return key;
  if (phase && id.startsWith(`${phase}.`) && id.length > phase.length + 1) return `${phase}/${id.slice(phase.length + 1)}`;
  return id;
}

/**
 * The program's exit code as far as the row tells it: 0 for a completed task, and for a failure found after the
 * program exited 0 (missing outputs, a failed verify or check, a merge conflict); N for "command exited N"; unknown otherwise.
 */
export function exitCodeOf(row: TaskRow): number | undefined {
  if (row.status === 'completed') return 0;
  if (row.status !== 'failed' || !row.error) return undefined;
  // A merge conflict comes after the program exited 0; its text may quote a resolver's own exit.
  if (row.error.startsWith('merge conflict in ')) return 0;
  const exited = /command exited (\d+)/.exec(row.error);
  if (exited) return Number(exited[1]);
  if (/^(missing outputs|verify failed|checks failed)/.test(row.error)) return 0;
  return undefined;
}

export function statusRecord({ row, agentId, key, exitCode }: Omit<WriteTaskStatusInput, 'dir'>): Record<string, unknown> {
  const blockers = row.blockedBy ?? [];
  return {
    task_id: statusKeyOf(row.id, row.phase, key),
    status: row.status,
    started_at: iso(row.startedAt),
    completed_at: ['completed', 'failed', 'cancelled'].includes(row.status) ? iso(row.endedAt) : undefined,
    duration_seconds: row.startedAt !== undefined && row.endedAt !== undefined ? Math.round((row.endedAt - row.startedAt) / 1000) : undefined,
    agent_id: agentId,
    exit_code: exitCode ?? exitCodeOf(row),
    outputs_validated: row.status === 'completed' ? true : row.error?.startsWith('missing outputs') ? false : undefined,
    // The protocol's blocked_by is one task id: the failed task that blocked this one. All of them, when several.
    blocked_by: blockers.length > 0 ? blockers[0] : undefined,
    blocked_by_all: blockers.length > 1 ? blockers : undefined,
    error: row.error,
  };
}

export async function writeTaskStatus(input: WriteTaskStatusInput): Promise<void> {
  const file = join(input.dir, `${statusKeyOf(input.row.id, input.row.phase, input.key)}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(statusRecord(input), null, 2) + '\n');
  renameSync(tmp, file);
}
