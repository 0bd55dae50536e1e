/**
 * The scheduler's side of "everything by reference" (docs/architecture.md, "Payload bounds"): it reads the plan's
 * index page by page (each page one activity result of at most PAGE_BYTES), and writes a task table too large for
 * one payload as a chain of chunks (each at most PAGE_BYTES of rows), so continue-as-new and the run's result carry
 * one reference instead of the table. Reading a chain back is one activity per chunk.
 *
 * Retries: the chunk writes are idempotent (content-addressed), so a retried activity or a replayed workflow asks
 * for the same blobs again and gets the same references.
 */
import type { BlobRef } from '../../shared/blobs';
import { PAGE_BYTES, PROMPT_PREVIEW_CHARS } from '../../shared/blobs';
import type { TaskRow } from '../../shared/messages';
import type { Plan, Task } from '../../shared/plan';
import { jsonBytes, type IndexedTask, type PlanHead } from '../../shared/planIndex';
import type { RunPlanInput } from '../../shared/run';
import { bookkeeping } from '../presets';

/** Patch of plans by reference, bounded carries and bounded results (histories recorded before replay as they were). */
export const BY_REFERENCE = 'plan-by-reference';

/** The plan's index, from `ref`: the head and every task (long prompts as previews), in pages. */
export async function loadPlan(ref: BlobRef): Promise<Plan> {
  let head: PlanHead | undefined;
  const tasks: IndexedTask[] = [];
  for (let from: number | undefined = 0; from !== undefined; ) {
    const page = await bookkeeping.planIndexPage.executeWithOptions({ summary: `plan index from task ${from}` }, [{ plan: ref, from }]);
    head ??= page.head;
    for (const t of page.tasks) tasks.push(t);
    from = page.next;
  }
  return { ...head!, tasks };
}

/** Rows written as a chain of chunks of at most PAGE_BYTES each; resolves to the last chunk's reference. */
export async function storeRows(repo: string, rows: Partial<TaskRow>[]): Promise<BlobRef | undefined> {
  let prev: BlobRef | undefined;
  let chunk: Partial<TaskRow>[] = [];
  let bytes = 0;
  const flush = async () => {
    const rowsOf = chunk as ({ id: string; status: string; attempts: number } & Record<string, unknown>)[];
    prev = await bookkeeping.putTableChunk.executeWithOptions({ summary: `task table, ${chunk.length} rows` }, [{ repo, rows: rowsOf, ...(prev ? { prev } : {}) }]);
    chunk = [];
    bytes = 0;
  };
  for (const r of rows) {
    const b = jsonBytes(r) + 1;
    if (chunk.length && bytes + b > PAGE_BYTES) await flush();
    chunk.push(r);
    bytes += b;
  }
  if (chunk.length) await flush();
  return prev;
}

/** Every row of the chain ending at `last`, first chunk first. */
export async function loadRows(last: BlobRef): Promise<Partial<TaskRow>[]> {
  const chunks: Partial<TaskRow>[][] = [];
  for (let ref: BlobRef | undefined = last; ref; ) {
    const c = await bookkeeping.tableChunk.executeWithOptions({ summary: 'task table chunk' }, [{ chunk: ref }]);
    chunks.unshift(c.rows as Partial<TaskRow>[]);
    ref = c.prev;
  }
  return chunks.flat();
}

/** Whether these rows are too large to travel inline in one payload. */
export const tooLargeInline = (rows: unknown[]): boolean => rows.length > 0 && jsonBytes(rows) > PAGE_BYTES;

/**
 * A task's goal as its agent gets it: the prompt (or the title), or — when the index holds only a preview of a long
 * prompt — the preview and a reference the agent's activities read the prompt through.
 */
export function goalOf(input: RunPlanInput, t: Task): { goal: string; goalRef?: { kind: 'plan-task'; plan: BlobRef; taskId: string; chars: number } } {
  const chars = (t as IndexedTask).promptChars;
  if (chars === undefined || !input.planRef) return { goal: t.prompt || t.title };
  return { goal: `${t.prompt.slice(0, PROMPT_PREVIEW_CHARS)}… (${chars} characters, read by reference)`, goalRef: { kind: 'plan-task', plan: input.planRef, taskId: t.id, chars } };
}
