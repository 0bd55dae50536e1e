/**
 * Re-reads of unchanged files. Agents often read the same file again (to check it before an edit, every turn of a
 * loop); its content is already in the conversation, and sending it again makes every later request longer and
 * moves the growing part of the prompt further from its cached prefix. So a whole-call repeat of an earlier
 * `read_file` (same input) whose result is byte-for-byte what the model saw then is answered with a short note
 * pointing at that earlier result. Anything else — another range, a file changed since, an earlier read that
 * failed — is read as usual.
 *
 * Only earlier turns count: their results are stored in the transcript (so the content really is in the
 * conversation), and a retried turn sees the same earlier turns, so it answers the same way.
 */
import type { TranscriptIndex } from './transcript';
import { resultKey } from './transcript';

export interface PriorRead {
  turn: number;
  content: string;
}

const NOTE_PREFIX = 'Unchanged since you read it in turn ';

function readKey(input: unknown): string {
  const { path, offset, limit } = (input ?? {}) as { path?: unknown; offset?: unknown; limit?: unknown };
  return JSON.stringify([path, offset ?? null, limit ?? null]);
}

/** The latest full (not noted) successful result of each distinct `read_file` input in turns before `turn`. */
export function priorReads(index: TranscriptIndex, turn: number): Map<string, PriorRead> {
  const reads = new Map<string, PriorRead>();
  for (let t = 1; t < turn; t++) {
    for (const block of index.replies.get(t)?.content ?? []) {
      if (block.type !== 'tool_use' || block.name !== 'read_file') continue;
      const result = index.results.get(resultKey(t, block.id));
      if (!result || result.isError || result.content.startsWith(NOTE_PREFIX)) continue;
      reads.set(readKey(block.input), { turn: t, content: result.content });
    }
  }
  return reads;
}

/** The note that replaces `content` when the same read already returned exactly it; undefined otherwise. */
export function rereadNote(reads: Map<string, PriorRead>, input: unknown, content: string): string | undefined {
  const prior = reads.get(readKey(input));
  if (!prior || prior.content !== content) return undefined;
  const path = (input as { path?: string }).path ?? '';
  return `${NOTE_PREFIX}${prior.turn}: ${path} is exactly as that read_file result shows (nothing sent again).`;
}
