/**
 * The plan's numeric defaults and limits, without the schemas that enforce them (./plan.ts): workflows read these,
 * and workflow code loads no zod when it starts (test/lint/workflowImports.test.ts).
 */

/** Fix-and-retry (docs/loops.md): a task's attempts when neither it nor the plan's defaults say; 2 = one fix. */
export const DEFAULT_VERIFY_ATTEMPTS = 2;
/** Attempts at passing a task's verification (outputs, checks, verify), the first included: 1 to 10. */
export const MAX_VERIFY_ATTEMPTS = 10;

/** Stalls (docs/loops.md): an agent with no progress for this long is nudged, then ended or restarted. */
export const DEFAULT_STALL_AFTER_SECONDS = 600;

/** Review (docs/loops.md "Review"): rounds of review a task's passing work gets at most, when neither it nor the defaults say. */
export const DEFAULT_REVIEW_ROUNDS = 2;
export const MAX_REVIEW_ROUNDS = 5;

/** Merge conflicts (docs/loops.md "Merge conflicts"): resolver runs a conflicting task gets at most, when it does not say. */
export const DEFAULT_RESOLVE_ATTEMPTS = 1;
export const MAX_RESOLVE_ATTEMPTS = 5;
