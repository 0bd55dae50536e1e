/**
 * The scheduler's side of "everything by reference" (docs/architecture.md, "Payload bounds"): it reads the plan's
 * index page by page (each page one activity result of at most PAGE_BYTES), and writes a task table too large for
 * one payload as a chain of chunks (each at most PAGE_BYTES of rows), so continue-as-new and the run's result carry
 * one reference instead of the table. Reading a chain back is one activity per chunk.
 *
 * It also shapes what a huge table shows: the rows that matter (a progress answer, a result) and the answer while
 * the index is still being read.
 *
 * Retries: the chunk writes are idempotent (content-addressed), so a retried activity or a replayed workflow asks
 * for the same blobs again and gets the same references.
 */
import type { BlobRef } from '../../shared/blobs';
import { PAGE_BYTES, PROMPT_PREVIEW_CHARS } from '../../shared/payloadBounds';
import type { RunProgress, TaskRow, TaskStatus } from '../../shared/messages';
import type { Plan, Task } from '../../shared/plan';
import { jsonBytes, type IndexedTask, type PlanHead } from '../../shared/planIndex';
import type { RunPlanCarry, RunPlanInput } from '../../shared/run';
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

/**
 * The rows a person looks at first, within PAGE_BYTES: what runs or waits, then what failed, was blocked or
 * cancelled, then what is pending; completed and skipped rows only in the counts. For a table too large for one
 * payload (a progress answer, a run's result).
 */
export function rowsThatMatter(rows: readonly TaskRow[]): TaskRow[] {
  const rank: Partial<Record<TaskStatus, number>> = { running: 0, waiting: 0, failed: 1, blocked: 1, cancelled: 1, ready: 2, pending: 2 };
  const order = rows.filter((r) => rank[r.status] !== undefined).sort((a, b) => rank[a.status]! - rank[b.status]!);
  const out: TaskRow[] = [];
  let bytes = 0;
  for (const r of order) {
    bytes += jsonBytes(r) + 1;
    if (bytes > PAGE_BYTES) break;
    out.push(r);
  }
  return out;
}

/** Progress while a plan by reference is still being read: no rows yet, the spend carried so far. */
export function loadingProgress(runId: string, name: string, carry?: RunPlanCarry): RunProgress {
  const none: Record<TaskStatus, number> = { pending: 0, ready: 0, running: 0, waiting: 0, completed: 0, failed: 0, blocked: 0, cancelled: 0, skipped: 0 };
  return { runId, name, status: carry?.paused ? 'paused' : 'running', maxConcurrency: carry?.maxConcurrency ?? 0, tasks: [], counts: none, costUsd: carry?.costUsd ?? 0, tokens: carry?.tokens ?? 0 };
}
