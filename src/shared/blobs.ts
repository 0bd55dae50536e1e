/**
 * References to content that is too large for a Temporal payload: the plan, large task prompts, the task table of a
 * huge run, and anything else a workflow must name without carrying (transcripts, session state). The content lives
 * as a git blob in the run's repository, kept alive by a ref under `refs/cadre/blobs/` (so `git gc` keeps it and a
 * push of `refs/cadre/*` carries it to a remote, where every host can read it). Workflows hold only the reference.
 *
 * What travels by reference, and the bounds every payload keeps, are listed in docs/architecture.md ("Payload
 * bounds"); ./payloadBounds.ts holds those bounds.
 */
import { z } from 'zod';

// The payload bounds live apart so that workflows can read them without loading zod.
export * from './payloadBounds';

/** A git object id: 40 hex digits (SHA-1) or 64 (SHA-256 repositories). */
const ObjectIdSchema = z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'a git object id (40 or 64 lowercase hex digits)');

/** Content stored as one git blob of `repo`; `bytes` is its size, so a reader can refuse or page before reading. */
export const BlobRefSchema = z.strictObject({
  kind: z.literal('git-blob'),
  /** Absolute path of the repository (any checkout of it: the blob lives in its common object store). */
  repo: z.string().min(1),
  sha: ObjectIdSchema,
  bytes: z.number().int().nonnegative(),
});
export type BlobRef = z.infer<typeof BlobRefSchema>;

/** One task's prompt inside a plan stored by reference: loaded by the activity that needs it. */
export const PlanTaskRefSchema = z.strictObject({
  kind: z.literal('plan-task'),
  plan: BlobRefSchema,
  taskId: z.string().min(1),
  /** The prompt's length in characters (for estimates, without reading it). */
  chars: z.number().int().nonnegative(),
});
export type PlanTaskRef = z.infer<typeof PlanTaskRefSchema>;

/** A text an activity reads instead of receiving it: a whole blob, or a task's prompt in a stored plan. */
export const TextRefSchema = z.discriminatedUnion('kind', [BlobRefSchema, PlanTaskRefSchema]);
export type TextRef = z.infer<typeof TextRefSchema>;

/** The ref that keeps a blob alive: one per blob, named by its object id. */
export const blobRefName = (sha: string): string => `refs/cadre/blobs/${sha}`;
