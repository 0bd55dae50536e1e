/**
 * Seed-003 compatibility: mirror each task's status as `<dir>/<task_id>.json`, in the field names that protocol
 * uses. Written atomically (temp file + rename) so a reader never sees half a file; rewriting is idempotent.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TaskRow } from '../shared/messages';

export interface WriteTaskStatusInput {
  dir: string;
  row: TaskRow;
  agentId?: string;
}

const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());

export async function writeTaskStatus({ dir, row, agentId }: WriteTaskStatusInput): Promise<void> {
  const file = join(dir, `${row.id}.json`);
  const record = {
    task_id: row.id,
    status: row.status,
    started_at: iso(row.startedAt),
    completed_at: ['completed', 'failed', 'cancelled'].includes(row.status) ? iso(row.endedAt) : undefined,
    duration_seconds: row.startedAt !== undefined && row.endedAt !== undefined ? Math.round((row.endedAt - row.startedAt) / 1000) : undefined,
    agent_id: agentId,
    exit_code: row.status === 'completed' ? 0 : row.status === 'failed' ? 1 : undefined,
    outputs_validated: row.status === 'completed',
    blocked_by: row.blockedBy,
    error: row.error,
  };
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n');
  renameSync(tmp, file);
}
