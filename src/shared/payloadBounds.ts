/**
 * The bounds every payload keeps (docs/architecture.md, "Payload bounds"), apart from the blob references of
 * ./blobs.ts and their schemas: workflows read these, and workflow code loads no zod when it starts
 * (test/lint/workflowImports.test.ts).
 */

/** A task prompt longer than this goes to the agent by reference (the agent's input carries a preview). */
export const INLINE_PROMPT_CHARS = 4096;
/** How much of a prompt passed by reference its agent's input and the plan index still carry, for people. */
export const PROMPT_PREVIEW_CHARS = 200;
/**
 * The most one page of anything a workflow reads or writes through the blob store may weigh as JSON (plan index
 * pages, task-table chunks): well under Temporal's 2 MB payload limit, and independent of the plan's size.
 */
export const PAGE_BYTES = 48 * 1024;
/** The most one task's index entry (a task, its long prompt cut to a preview) may weigh: a page holds at least two. */
export const MAX_INDEX_ENTRY_BYTES = 24 * 1024;
