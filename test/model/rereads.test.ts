/**
 * Re-reading an unchanged file: the second read of the same input is answered with a note pointing at the first
 * result, so the conversation (and every later request) does not carry the file twice. A changed file, another
 * range, a read in the same turn and a retried turn are read as usual.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createModelActivities } from '../../src/activities/model/modelTurn';
import { inActivities } from '../support/activityContext';
import { readTranscript } from '../../src/activities/model/transcript';
import type { ModelTurnInput } from '../../src/shared/model';
import { startMessagesStub, type MessagesStub } from '../support/messagesStub';

let stub: MessagesStub;
let stateDir: string;
let workspace: string;

beforeEach(async () => {
  stub = await startMessagesStub();
  stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cadre-reread-state-'));
  workspace = await fs.mkdtemp(path.join(os.tmpdir(), 'cadre-reread-ws-'));
  await fs.writeFile(path.join(workspace, 'app.ts'), 'export const app = 1;\n'.repeat(50));
});
afterEach(async () => {
  await stub.close();
  await fs.rm(stateDir, { recursive: true, force: true });
  await fs.rm(workspace, { recursive: true, force: true });
});

const usage = { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
let ids = 0;
const reads = (...inputs: object[]) => ({
  content: inputs.map((input) => ({ type: 'tool_use' as const, id: `toolu_${++ids}`, name: 'read_file', input })),
  usage,
});

const input = (turn: number): ModelTurnInput => ({
  agentId: 'run-1/reader',
  turn,
  backend: 'anthropic',
  model: 'claude-haiku-4-5',
  maxTokens: 1024,
  workspace,
  goal: 'Read app.ts a few times.',
  tools: ['read_file', 'write_file', 'finish'],
});

async function results(turn: number): Promise<string[]> {
  const records = await readTranscript(stateDir, 'run-1/reader');
  return records.filter((r) => r.kind === 'tool_result' && r.turn === turn).map((r) => (r as { content: string }).content);
}

describe('re-reads of unchanged files', () => {
  it('answers a repeat of an earlier read with a note, and reads again once the file changed', async () => {
    const { modelTurn } = inActivities(createModelActivities({ stateDir, apiKey: 'k', anthropicBaseURL: stub.url, clock: () => 0 }));
    stub.enqueue(
      reads({ path: 'app.ts' }, { path: 'app.ts' }), // turn 1: two reads in one turn, both full
      reads({ path: 'app.ts' }, { path: 'app.ts', offset: 3, limit: 2 }), // turn 2: repeat → note; another range → read
      reads({ path: 'app.ts' }), // turn 3: changed before this turn → read again
      reads({ path: 'app.ts' }), // turn 4: unchanged since turn 3 → note naming turn 3
      { content: [{ type: 'text' as const, text: 'done' }], usage },
    );
    await modelTurn(input(1));
    const full = (await results(1))[0]!;
    expect(full).toContain('export const app = 1;');
    expect(await results(1)).toEqual([full, full]);

    const t2 = await modelTurn(input(2));
    const [repeat, range] = await results(2);
    expect(repeat).toBe('Unchanged since you read it in turn 1: app.ts is exactly as that read_file result shows (nothing sent again).');
    expect(range).toContain('export const app = 1;');
    expect(range!.length).toBeLessThan(full.length);
    expect(t2.toolRuns[0]!.summary).toContain('(unchanged, not sent again)');

    await fs.appendFile(path.join(workspace, 'app.ts'), 'export const more = 2;\n');
    await modelTurn(input(3));
    expect((await results(3))[0]).toContain('export const more = 2;');

    await modelTurn(input(4));
    expect((await results(4))[0]).toMatch(/^Unchanged since you read it in turn 3: /);

    // The request of turn 5 carries the file's 50 lines for the two reads of turn 1, the 2-line range of turn 2 and
    // the changed file of turn 3: 152 copies of the line. Without the notes it would be 252 (turns 2 and 4 again).
    await modelTurn(input(5));
    const body = JSON.stringify(stub.requests.at(-1)!.body);
    expect(body.split('export const app = 1;').length - 1).toBe(50 + 50 + 2 + 50);
  });
});
