/**
 * The blob store: content-addressed text kept as git blobs in the run's repository, each held by the ref
 * `refs/cadre/blobs/<sha>` (so `git gc` keeps it and `git push <remote> 'refs/cadre/*:refs/cadre/*'` carries it to
 * every host). Workflows pass `BlobRef`s (src/shared/blobs.ts); whatever needs the content reads it here.
 *
 * Writing is idempotent: the same content is the same object and the same ref, so a retried `put` is harmless.
 * Reads are cached in-process by object id (content never changes under an id), bounded by bytes. A missing blob is
 * a non-retryable `BlobMissing` naming the ref and repository (retrying cannot make it appear); content that does not
 * match its reference (size, JSON, schema) is a non-retryable `BlobCorrupt`.
 *
 * Other modules that must keep large things out of history (transcripts, session state) use `createBlobStore`;
 * `createBlobActivities` are the scheduler's reads and writes (plan index pages, task-table chunks).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { blobRefName, BlobRefSchema, PAGE_BYTES, type BlobRef, type TextRef } from '../shared/blobs';
import { ErrorType, TypedFailure } from '../shared/errors';
import { PlanSchema, type Plan } from '../shared/plan';
import { indexPage, jsonBytes, type IndexPage } from '../shared/planIndex';
import { defineActivity } from './boundary';
import { git, gitFor } from './git';

export interface BlobStore {
  /** Store `content` in `repo`; resolves to its reference (the same for the same content). */
  put(repo: string, content: string): Promise<BlobRef>;
  /** The content of `ref`, or BlobMissing / BlobCorrupt. */
  get(ref: BlobRef): Promise<string>;
  /** The content parsed as JSON and checked by `schema` (parsed once per object id and schema while cached). */
  json<T>(ref: BlobRef, schema: z.ZodType<T>, what: string): Promise<T>;
  /** A text by reference: a whole blob, or a task's prompt in a stored plan. */
  text(ref: TextRef): Promise<string>;
  /** The plan stored at `ref`. */
  plan(ref: BlobRef): Promise<Plan>;
}

export interface BlobStoreOptions {
  /** Bytes of content kept in memory (default 64 MB); the least recently read goes first. */
  cacheBytes?: number;
}

const describeRef = (ref: BlobRef) => `blob ${ref.sha} (${blobRefName(ref.sha)}) in ${ref.repo}`;

export function createBlobStore(opts: BlobStoreOptions = {}): BlobStore {
  const limit = opts.cacheBytes ?? 64 * 1024 * 1024;
  /** Insertion order is recency order: a hit is deleted and set again. */
  const cache = new Map<string, { text: string; parsed: Map<unknown, unknown> }>();
  let cached = 0;

  function remember(sha: string, text: string) {
    const entry = { text, parsed: new Map<unknown, unknown>() };
    if (text.length > limit) return entry;
    cache.set(sha, entry);
    cached += text.length;
    for (const [k, v] of cache) {
      if (cached <= limit) break;
      cache.delete(k);
      cached -= v.text.length;
    }
    return entry;
  }

  async function entryOf(ref: BlobRef) {
    const hit = cache.get(ref.sha);
    if (hit) {
      cache.delete(ref.sha);
      cache.set(ref.sha, hit);
      return hit;
    }
    const g = gitFor(ref.repo);
    let text: string;
    try {
      text = await g.raw(['cat-file', 'blob', ref.sha]);
    } catch (err) {
      const exists = await g.raw(['cat-file', '-e', `${ref.sha}^{blob}`]).then(() => true, () => false);
      const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
      // The repository itself missing is this host's problem (another host may have it): retryable.
      if (/does not exist/.test(detail)) throw new TypedFailure(ErrorType.WorkspaceError, `reading ${describeRef(ref)}: ${detail}`, true);
      if (!exists) throw new TypedFailure(ErrorType.BlobMissing, `${describeRef(ref)} is missing: fetch ${blobRefName(ref.sha)} from the run's remote, or start the run again`, false);
      throw new TypedFailure(ErrorType.WorkspaceError, `reading ${describeRef(ref)}: ${detail}`, true);
    }
    const bytes = Buffer.byteLength(text);
    if (bytes !== ref.bytes) throw new TypedFailure(ErrorType.BlobCorrupt, `${describeRef(ref)} has ${bytes} bytes, its reference says ${ref.bytes}`, false);
    return remember(ref.sha, text);
  }

  const store: BlobStore = {
    async put(repo, content) {
      const dir = await mkdtemp(join(tmpdir(), 'cadre-blob-'));
      try {
        const file = join(dir, 'blob');
        await writeFile(file, content);
        const g = gitFor(repo);
        // --no-filters: the content as given, whatever the repository's attributes say about a path.
        const sha = (await git(g, ['hash-object', '-w', '--no-filters', '--', file], `storing a blob in ${repo}`)).trim();
        await git(g, ['update-ref', blobRefName(sha), sha], `keeping blob ${sha} in ${repo}`);
        remember(sha, content);
        return { kind: 'git-blob', repo, sha, bytes: Buffer.byteLength(content) };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    get: async (ref) => (await entryOf(BlobRefSchema.parse(ref))).text,
    async json(ref, schema, what) {
      const e = await entryOf(ref);
      if (e.parsed.has(schema)) return e.parsed.get(schema) as z.infer<typeof schema>;
      let raw: unknown;
      try {
        raw = JSON.parse(e.text);
      } catch (err) {
        throw new TypedFailure(ErrorType.BlobCorrupt, `${describeRef(ref)} is not the JSON of ${what}: ${(err as Error).message}`, false);
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw new TypedFailure(ErrorType.BlobCorrupt, `${describeRef(ref)} is not ${what}: ${z.prettifyError(parsed.error).slice(0, 500)}`, false);
      e.parsed.set(schema, parsed.data);
      return parsed.data;
    },
    plan: (ref) => store.json(ref, PlanSchema, 'a plan'),
    async text(ref) {
      if (ref.kind === 'git-blob') return store.get(ref);
      const plan = await store.plan(ref.plan);
      const t = plan.tasks.find((x) => x.id === ref.taskId);
      if (!t) throw new TypedFailure(ErrorType.BlobCorrupt, `${describeRef(ref.plan)} has no task ${ref.taskId}`, false);
      return t.prompt;
    },
  };
  return store;
}

/** A task-table chunk: rows and the chunk written before it (a chain, so a carry names only its last chunk). */
const RowSchema = z.looseObject({ id: z.string().min(1), status: z.string(), attempts: z.number() });
export const TableChunkSchema = z.strictObject({ rows: z.array(RowSchema), prev: BlobRefSchema.optional() });
export type TableChunk = z.infer<typeof TableChunkSchema>;

export const planIndexPageInput = z.strictObject({ plan: BlobRefSchema, from: z.number().int().nonnegative() });
export const putTableChunkInput = z.strictObject({ repo: z.string().min(1), rows: z.array(RowSchema), prev: BlobRefSchema.optional() });
export const tableChunkInput = z.strictObject({ chunk: BlobRefSchema });

export function createBlobActivities(store: BlobStore = createBlobStore()) {
  return {
    /** One page of the plan's index (src/shared/planIndex.ts); the plan is parsed once per worker while cached. */
    planIndexPage: defineActivity('planIndexPage', planIndexPageInput, async ({ plan, from }): Promise<IndexPage> => {
      const p = await store.plan(plan);
      if (from > p.tasks.length) throw new TypedFailure(ErrorType.BlobCorrupt, `${describeRef(plan)} has ${p.tasks.length} tasks, asked for the page at ${from}`, false);
      return indexPage(p, from);
    }),
    /** Write one chunk of the task table; the workflow keeps each under PAGE_BYTES. */
    putTableChunk: defineActivity('putTableChunk', putTableChunkInput, async ({ repo, rows, prev }): Promise<BlobRef> => {
      const chunk: TableChunk = { rows, ...(prev ? { prev } : {}) };
      if (jsonBytes(chunk) > 2 * PAGE_BYTES) throw new TypedFailure(ErrorType.InvalidToolInput, `a table chunk of ${rows.length} rows passes ${2 * PAGE_BYTES} bytes`, false);
      return store.put(repo, JSON.stringify(chunk));
    }),
    tableChunk: defineActivity('tableChunk', tableChunkInput, ({ chunk }): Promise<TableChunk> => store.json(chunk, TableChunkSchema, 'a task-table chunk')),
  };
}

/** Every row of a table chain, first chunk first (the client's read of a huge run's table). */
export async function readTableChain(store: BlobStore, last: BlobRef): Promise<TableChunk['rows']> {
  const chunks: TableChunk['rows'][] = [];
  for (let ref: BlobRef | undefined = last; ref; ) {
    const c: TableChunk = await store.json(ref, TableChunkSchema, 'a task-table chunk');
    chunks.unshift(c.rows);
    ref = c.prev;
  }
  return chunks.flat();
}
