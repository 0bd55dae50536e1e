/**
 * The `runPlan` workflow's input, carry and result, shared by the workflow and the client. All of it lives in
 * history: ids, counts and short texts only. `RunPlanWorkflow` is the workflow's signature, so the client starts it
 * typed by name without importing workflow code.
 */
import type { ModelSpend } from './costs';
import type { Amount } from './agent';
import type { BlobRef } from './blobs';
import type { AgentMessage, DeadLetter, TaskRow, TaskStatus } from './messages';
import type { Plan } from './plan';
import type { PriceTableOverrides } from './priceTable';

export interface RunPlanInput {
  runId: string;
  /** The plan itself: runs started before plans travelled by reference, and tests. Exactly one of plan and planRef. */
  plan?: Plan;
  /**
   * The plan by reference (src/shared/blobs.ts): the scheduler reads its index page by page (src/workflows/run/
   * byReference.ts), so this input stays the same size whatever the plan's. What `cadre run` starts with.
   */
  planRef?: BlobRef;
  /** With planRef: the plan's name and task count, for people reading the input. */
  planName?: string;
  taskCount?: number;
  /** Absolute path of the repository's main checkout. */
  repo: string;
  /** Ref the integration branch starts from (default HEAD of the repository). */
  baseRef?: string;
  maxConcurrency?: number;
  /** Seed-003 compatibility: mirror each task's status as JSON files in this directory. */
  statusDir?: string;
  model?: string;
  /** Continue-as-new after starting this many tasks in one run (default: when the server suggests it). */
  continueAsNewEvery?: number;
  /** Price table overrides (CADRE_PRICES), passed to every agent. */
  prices?: PriceTableOverrides;
}

/** What a run carries across continue-as-new: the task table and the scheduler's own state. */
export interface RunPlanCarry {
  /** Only what changed since the plan: rows still pending and never tried are left out entirely. */
  rows: Partial<TaskRow>[];
  /** When the rows are too large for one payload: the last chunk of the chain they were written to (byReference.ts), besides `rows`. */
  rowsRef?: BlobRef;
  maxConcurrency: number;
  paused: boolean;
  costUsd: number;
  tokens: number;
  /** Spend by model of the ended tasks (absent in runs recorded before). */
  models?: ModelSpend;
  pool?: Amount;
  /**
   * The integration worktree. Absent when a closed run is finished later (`cadre retry|resume` on an ended run):
   * the new execution asks `ensureIntegrationWorktree` again, which re-adds the worktree on the run's existing
   * branch (idempotent on repository and run id), so the branch continues where the ended run left it.
   */
  integration?: { path: string; branch: string };
  lastCommit?: string;
  deadLetters: DeadLetter[];
  toOperator: AgentMessage[];
  generation: number;
  /**
   * Finishing an ended run: put these tasks (with their failed, blocked or cancelled dependents) back to pending
   * when the new execution starts; `all` means every failed, blocked or cancelled task. Only the client sets it.
   */
  retry?: string[] | 'all';
}

export interface RunPlanResult {
  runId: string;
  status: 'completed' | 'failed' | 'cancelled';
  integrationBranch: string;
  commit?: string;
  /** Every row; for a table too large for one payload, the rows that matter (not completed or skipped), at most RESULT_ROWS. */
  tasks: TaskRow[];
  /** Set when `tasks` is not the whole table: the whole table's chain (read it with readTableChain). */
  tableRef?: BlobRef;
  counts: Record<TaskStatus, number>;
  costUsd: number;
  tokens: number;
  /** Spend by model (absent in runs recorded before). */
  models?: ModelSpend;
  deadLetters: DeadLetter[];
  toOperator: AgentMessage[];
}

export type RunPlanWorkflow = (input: RunPlanInput, carry?: RunPlanCarry) => Promise<RunPlanResult>;
