/**
 * The transcript store: one append-only JSONL file per agent, `${stateDir}/transcripts/<agent file name>.jsonl`.
 * Workflow history only carries ids and counts; the conversation itself lives here.
 *
 * Records are keyed by turn:
 *   - `user` (turn N): the user message sent at turn N (the goal at turn 1, tool results of turn N-1 afterwards);
 *   - `assistant` (turn N): the model's reply of turn N, with the usage it was billed;
 *   - `tool_result` (turn N, toolUseId): the answer to one tool_use block of reply N that the activity produced
 *     itself (a file tool it ran, or an invalid call it refused).
 *
 * Durability: every append is one write of one whole line followed by fsync before the promise resolves, so a
 * record the activity relied on (e.g. "the reply of turn N is stored, now run its tools") survives a crash. A crash
 * mid-write can leave a half line at the end: readers skip lines that do not parse, and the writer cuts such a tail
 * off before its next append so that it cannot glue onto the next record.
 *
 * Duplicates: if a record for the same key were ever written twice (two attempts of a turn racing, e.g. a zombie
 * attempt after a heartbeat timeout), the FIRST one wins everywhere (`indexTranscript`), so every later reader sees
 * the same conversation.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { Usage } from '../../shared/model';
import type { AssistantBlock, UserBlock } from './backend';

export interface UserRecord {
  v: 1;
  kind: 'user';
  turn: number;
  content: UserBlock[];
  at: number;
}

export interface AssistantRecord {
  v: 1;
  kind: 'assistant';
  turn: number;
  content: AssistantBlock[];
  stopReason: string;
  usage: Usage;
  model: string;
  at: number;
}

export interface ToolResultRecord {
  v: 1;
  kind: 'tool_result';
  turn: number;
  toolUseId: string;
  name: string;
  content: string;
  isError: boolean;
  summary: string;
  touched?: string;
  at: number;
}

export type TranscriptRecord = UserRecord | AssistantRecord | ToolResultRecord;

const textBlock = z.object({ type: z.literal('text'), text: z.string() });
const toolUseBlock = z.object({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() });
const toolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.string(),
  is_error: z.boolean().optional(),
});
const count = z.number().int().min(0);
const turn = z.number().int().min(1);

const recordSchema = z.discriminatedUnion('kind', [
  z.object({ v: z.literal(1), kind: z.literal('user'), turn, content: z.array(z.union([textBlock, toolResultBlock])), at: z.number() }),
  z.object({
    v: z.literal(1),
    kind: z.literal('assistant'),
    turn,
    content: z.array(z.union([textBlock, toolUseBlock])),
    stopReason: z.string(),
    usage: z.object({ inputTokens: count, outputTokens: count, cacheWriteTokens: count, cacheReadTokens: count }),
    model: z.string(),
    at: z.number(),
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal('tool_result'),
    turn,
    toolUseId: z.string(),
    name: z.string(),
    content: z.string(),
    isError: z.boolean(),
    summary: z.string(),
    touched: z.string().optional(),
    at: z.number(),
  }),
]);

/**
 * The file name of an agent's transcript: the agent id with `/` as `__` and anything outside `[A-Za-z0-9._-]` as
 * `_`. When that changed the id (or it is very long), a short hash of the real id is appended, so two ids that
 * sanitize alike (`a/b` and `a__b`) never share a file.
 */
export function transcriptFileName(agentId: string): string {
  const safe = agentId.replace(/\//g, '__').replace(/[^A-Za-z0-9._-]/g, '_');
  if (safe === agentId && safe.length <= 160 && safe !== '.' && safe !== '..') return `${safe}.jsonl`;
  const hash = createHash('sha256').update(agentId).digest('hex').slice(0, 10);
  return `${safe.slice(0, 160)}-${hash}.jsonl`;
}

export function transcriptPath(stateDir: string, agentId: string): string {
  return path.join(stateDir, 'transcripts', transcriptFileName(agentId));
}

/** Parses JSONL text, skipping blank lines and lines that do not parse (a torn last line, a foreign edit). */
export function parseTranscript(text: string): { records: TranscriptRecord[]; skipped: number } {
  const records: TranscriptRecord[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    const parsed = recordSchema.safeParse(json);
    if (parsed.success) records.push(parsed.data as TranscriptRecord);
    else skipped++;
  }
  return { records, skipped };
}

/** Every record of an agent's transcript, oldest first; empty when the agent has none yet. Read-only. */
export async function readTranscript(stateDir: string, agentId: string): Promise<TranscriptRecord[]> {
  const text = await readIfExists(transcriptPath(stateDir, agentId));
  return text === undefined ? [] : parseTranscript(text).records;
}

export interface TranscriptIndex {
  users: Map<number, UserRecord>;
  replies: Map<number, AssistantRecord>;
  /** Keyed by `${turn}:${toolUseId}`. */
  results: Map<string, ToolResultRecord>;
}

export const resultKey = (turnNo: number, toolUseId: string): string => `${turnNo}:${toolUseId}`;

/** Indexes records by key; the first record of a key wins (see the module comment on duplicates). */
export function indexTranscript(records: readonly TranscriptRecord[]): TranscriptIndex {
  const index: TranscriptIndex = { users: new Map(), replies: new Map(), results: new Map() };
  for (const r of records) {
    if (r.kind === 'user' && !index.users.has(r.turn)) index.users.set(r.turn, r);
    else if (r.kind === 'assistant' && !index.replies.has(r.turn)) index.replies.set(r.turn, r);
    else if (r.kind === 'tool_result') {
      const key = resultKey(r.turn, r.toolUseId);
      if (!index.results.has(key)) index.results.set(key, r);
    }
  }
  return index;
}

/** A writer's view of one agent's transcript: the records loaded at open, plus durable appends. */
export class TranscriptWriter {
  private constructor(
    readonly file: string,
    readonly records: TranscriptRecord[],
  ) {}

  /** Loads the transcript, cutting off a torn last line so the next append starts on a fresh line. */
  static async open(stateDir: string, agentId: string): Promise<TranscriptWriter> {
    const file = transcriptPath(stateDir, agentId);
    const dir = path.dirname(file);
    await fs.mkdir(dir, { recursive: true });
    const text = await readIfExists(file);
    if (text === undefined) {
      await createDurably(file, dir);
      return new TranscriptWriter(file, []);
    }
    if (text.length > 0 && !text.endsWith('\n')) {
      const keep = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1), 'utf8');
      await fs.truncate(file, keep);
    }
    return new TranscriptWriter(file, parseTranscript(text).records);
  }

  /** Appends one record as one line and fsyncs before resolving. */
  async append(record: TranscriptRecord): Promise<void> {
    const handle = await fs.open(this.file, 'a');
    try {
      await handle.write(`${JSON.stringify(record)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.records.push(record);
  }
}

const locks = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` while holding an in-process lock on one transcript, so two attempts of the same agent's turn in one
 * worker never interleave their appends. (Across processes Temporal runs one attempt at a time; the first-wins rule
 * covers the rare zombie attempt.)
 */
export async function withTranscriptLock<T>(stateDir: string, agentId: string, fn: () => Promise<T>): Promise<T> {
  const key = transcriptPath(stateDir, agentId);
  const previous = locks.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  locks.set(key, tail);
  try {
    return await run;
  } finally {
    if (locks.get(key) === tail) locks.delete(key);
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Creates the file and fsyncs its directory, so the new directory entry itself survives a crash. */
async function createDurably(file: string, dir: string): Promise<void> {
  const handle = await fs.open(file, 'a');
  await handle.close();
  let dirHandle: fs.FileHandle | undefined;
  try {
    dirHandle = await fs.open(dir, 'r');
    await dirHandle.sync();
  } catch (err) {
    // Some platforms (Windows) cannot open or fsync a directory; the file's own fsync still holds its contents.
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await dirHandle?.close();
  }
}
