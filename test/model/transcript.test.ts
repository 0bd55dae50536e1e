import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  indexTranscript,
  readTranscript,
  transcriptFileName,
  transcriptPath,
  TranscriptWriter,
  type TranscriptRecord,
} from '../../src/activities/model/transcript';

let stateDir: string;
beforeEach(async () => {
  stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cadre-transcript-'));
});
afterEach(async () => {
  await fs.rm(stateDir, { recursive: true, force: true });
});

const user = (turn: number, text: string): TranscriptRecord => ({ v: 1, kind: 'user', turn, content: [{ type: 'text', text }], at: 1 });
const reply = (turn: number, text: string): TranscriptRecord => ({
  v: 1,
  kind: 'assistant',
  turn,
  content: [{ type: 'text', text }],
  stopReason: 'end_turn',
  usage: { inputTokens: 1, outputTokens: 2, cacheWriteTokens: 0, cacheReadTokens: 0 },
  model: 'm',
  at: 2,
});

describe('transcript store', () => {
  it('names files after the agent id, safely and without collisions', () => {
    expect(transcriptFileName('run-1.task_a')).toBe('run-1.task_a.jsonl');
    const slashed = transcriptFileName('run/1/child a');
    expect(slashed).toMatch(/^run__1__child_a-[0-9a-f]{10}\.jsonl$/);
    expect(transcriptFileName('a/b')).not.toBe(transcriptFileName('a__b'));
    expect(transcriptFileName('../../etc/passwd')).not.toContain('/');
    expect(path.dirname(transcriptPath(stateDir, '../x'))).toBe(path.join(stateDir, 'transcripts'));
  });

  it('appends records durably and reads them back in order', async () => {
    const w = await TranscriptWriter.open(stateDir, 'agent/1');
    await w.append(user(1, 'goal'));
    await w.append(reply(1, 'ok'));
    const read = await readTranscript(stateDir, 'agent/1');
    expect(read).toEqual([user(1, 'goal'), reply(1, 'ok')]);
    const again = await TranscriptWriter.open(stateDir, 'agent/1');
    expect(again.records).toHaveLength(2);
  });

  it('returns an empty transcript for an agent that has none', async () => {
    expect(await readTranscript(stateDir, 'nobody')).toEqual([]);
  });

  it('tolerates a torn last line, and the next writer cuts it off before appending', async () => {
    const w = await TranscriptWriter.open(stateDir, 'a1');
    await w.append(user(1, 'goal'));
    const file = transcriptPath(stateDir, 'a1');
    await fs.appendFile(file, '{"v":1,"kind":"assistant","turn":1,"content":[{"ty');
    expect(await readTranscript(stateDir, 'a1')).toEqual([user(1, 'goal')]);

    const w2 = await TranscriptWriter.open(stateDir, 'a1');
    await w2.append(reply(1, 'ok'));
    const text = await fs.readFile(file, 'utf8');
    expect(text.trim().split('\n')).toHaveLength(2);
    expect(await readTranscript(stateDir, 'a1')).toEqual([user(1, 'goal'), reply(1, 'ok')]);
  });

  it('keeps the first record of a key when one was written twice', () => {
    const index = indexTranscript([user(1, 'first'), reply(1, 'one'), user(1, 'second'), reply(1, 'two')]);
    expect(index.users.get(1)?.content).toEqual([{ type: 'text', text: 'first' }]);
    expect(index.replies.get(1)?.content).toEqual([{ type: 'text', text: 'one' }]);
  });
});
