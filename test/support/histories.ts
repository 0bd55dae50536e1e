/**
 * Replay fixtures. Tests that run a representative workflow call `recordHistory`; with CADRE_RECORD_HISTORIES=1
 * the history is written to test/fixtures/histories/<name>.json (commit it), otherwise nothing happens. The replay
 * test runs every committed fixture through Worker.runReplayHistories against the current workflow code.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { requireTemporalBin } from '../../src/client/temporalBin';
import { testAddress } from './temporal';

export const historiesDir = resolve(__dirname, '..', 'fixtures', 'histories');

export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.CADRE_RECORD_HISTORIES !== '1') return;
  // The Temporal CLI writes the canonical JSON form that historyFromJSON reads back.
  const json = execFileSync(requireTemporalBin(), ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', testAddress(), '--output', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  writeFileSync(join(historiesDir, `${name}.json`), json);
  // Workflow ids matter on replay (children's ids derive from them), and the history itself does not carry one.
  const index = readIndex();
  index[name] = handle.workflowId;
  writeFileSync(join(historiesDir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
}

function readIndex(): Record<string, string> {
  try {
    return JSON.parse(readFileSync(join(historiesDir, 'index.json'), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

export function loadHistories(): { name: string; workflowId: string; history: ReturnType<typeof historyFromJSON> }[] {
  const index = readIndex();
  return readdirSync(historiesDir)
    .filter((f) => f.endsWith('.json') && f !== 'index.json')
    .sort()
    .map((f) => {
      const name = f.replace(/\.json$/, '');
      return { name, workflowId: index[name] ?? name, history: historyFromJSON(JSON.parse(readFileSync(join(historiesDir, f), 'utf8'))) };
    });
}
