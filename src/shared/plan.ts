/**
 * The one normalized plan model. Every importer (native YAML/JSON, GSD, spec-kit, tasks/ directory) produces a
 * `Plan`, and the `runPlan` workflow takes it as input, so it lives in workflow history: plain JSON only, and small
 * (a task's prompt is its source text; nothing else large belongs here).
 *
 * Task ids are used inside Temporal workflow ids and git branch names, so they must match `TASK_ID_PATTERN` and
 * avoid the few shapes git refuses (`..`, a trailing `.` or `.lock`). The native format requires such ids; the
 * importers derive them (see docs/plans.md).
 */
import { z } from 'zod';
import { MAX_RESOLVE_ATTEMPTS, MAX_REVIEW_ROUNDS, MAX_VERIFY_ATTEMPTS } from './planLimits';

// The numeric defaults and limits live apart so that workflows can read them without loading zod.
export * from './planLimits';

export const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const TASK_ID_MAX_LENGTH = 100;

/** Why `id` is not a usable task id, or undefined when it is. */
export function taskIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'is empty';
  if (id.length > TASK_ID_MAX_LENGTH) return `is longer than ${TASK_ID_MAX_LENGTH} characters`;
  if (!TASK_ID_PATTERN.test(id)) return 'must start with a letter or digit and contain only letters, digits, ".", "_" and "-"';
  if (id.includes('..')) return 'must not contain ".."';
  if (id.endsWith('.') || id.endsWith('.lock')) return 'must not end with "." or ".lock"';
  return undefined;
}

/** Turns any string into a usable task id (for importers whose ids come from file names or paths). */
export function toTaskId(raw: string): string {
  let id = raw
    .replace(/[\\/]+/g, '.')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/-?(\.lock)+$/, '-lock')
    .replace(/[.]+$/, '');
  if (id.length > TASK_ID_MAX_LENGTH) id = id.slice(0, TASK_ID_MAX_LENGTH).replace(/[.]+$/, '');
  return id.length > 0 ? id : 'task';
}

export const TaskIdSchema = z.string().superRefine((id, ctx) => {
  const problem = taskIdProblem(id);
  if (problem) ctx.addIssue({ code: 'custom', message: `task id "${id}" ${problem}` });
});

export const BackendSchema = z.enum(['anthropic', 'scripted', 'command', 'claude-code', 'codex']);
export type PlanBackend = z.infer<typeof BackendSchema>;

/** Why `p` is not a plain relative path inside a checkout (for cache directories and lockfiles), or undefined. */
export function relativePathProblem(p: string): string | undefined {
  if (p.includes('\0')) return 'contains a NUL byte';
  if (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p)) return 'must be relative to the repository root';
  const parts = p.split(/[\\/]+/).filter((x) => x !== '' && x !== '.');
  if (parts.length === 0) return 'must name a path below the repository root';
  if (parts.includes('..')) return 'must not contain ".."';
  if (parts.some((x) => x.toLowerCase() === '.git')) return 'must not be inside .git';
  return undefined;
}

const relPath = z.string().min(1).superRefine((p, ctx) => {
  const problem = relativePathProblem(p);
  if (problem) ctx.addIssue({ code: 'custom', message: `"${p}" ${problem}` });
});

/**
 * A dependency cache (docs/workspaces.md, "Dependency caches"): the directory `dir`, produced by the setup command,
 * is saved under a hash of the `key` files (lockfiles; `*` and `?` match within one path segment) and restored into
 * later workspaces whose key files hash the same.
 */
export const CacheSpecSchema = z.strictObject({ dir: relPath, key: z.array(relPath).min(1) });
export type CacheSpec = z.infer<typeof CacheSpecSchema>;
/**
 * What `caches: auto` means: each default applies when one of its lockfiles exists at the root of the new workspace;
 * `extra` files (runtime versions) are hashed into the key too when present.
 */
export const DEFAULT_CACHES: readonly { dir: string; lockfiles: readonly string[]; extra: readonly string[] }[] = [
  { dir: 'node_modules', lockfiles: ['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock'], extra: ['.nvmrc', '.node-version'] },
  { dir: '.venv', lockfiles: ['requirements*.txt', 'uv.lock', 'poetry.lock'], extra: ['.python-version'] },
  { dir: 'target', lockfiles: ['Cargo.lock'], extra: ['rust-toolchain', 'rust-toolchain.toml'] },
];

/** `auto`: the defaults for npm/pnpm/yarn, pip/uv/poetry and cargo whose lockfile exists; or a list. */
export const CachesSchema = z.union([z.literal('auto'), z.array(CacheSpecSchema).min(1)]);
export type Caches = z.infer<typeof CachesSchema>;

/** Workspace setup (docs/workspaces.md): paths copied from the main checkout, then a command, once per workspace. */
export const BootstrapSchema = z.strictObject({
  copy: z.array(z.string().min(1)).optional(),
  setup: z.array(z.string()).min(1).optional(),
  /** How long the setup command may run (default 15 minutes). */
  setupTimeoutSeconds: z.number().positive().optional(),
  /** Directories the setup produces, restored from a cache keyed by their lockfiles instead of set up again. */
  caches: CachesSchema.optional(),
  /** Run the setup even when every cache was restored (default false: it is skipped then). */
  setupAlways: z.boolean().optional(),
}).superRefine((b, ctx) => {
  if (b.caches !== undefined && !b.setup) {
    ctx.addIssue({ code: 'custom', path: ['caches'], message: 'caches need a setup command (the one that produces the cached directories)' });
  }
  if (b.setupAlways !== undefined && b.caches === undefined) {
    ctx.addIssue({ code: 'custom', path: ['setupAlways'], message: 'setupAlways only applies with caches' });
  }
});
export type Bootstrap = z.infer<typeof BootstrapSchema>;

export const BudgetSchema = z.strictObject({
  tokens: z.number().int().positive().optional(),
  usd: z.number().positive().optional(),
});
export type Budget = z.infer<typeof BudgetSchema>;

const argv = z.array(z.string()).min(1);

/**
 * A machine check on the workspace, run before a task counts as completed (GSD `must_haves`): a file contains a
 * text, matches a regular expression (JavaScript syntax, multiline), or exports a name. Paths are
 * repository-relative. Pure data: `src/activities/checks.ts` runs them.
 */
export const CheckSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('contains'), path: z.string().min(1), text: z.string().min(1) }),
  z.strictObject({ kind: z.literal('pattern'), path: z.string().min(1), regex: z.string().min(1) }),
  z.strictObject({ kind: z.literal('exports'), path: z.string().min(1), name: z.string().min(1) }),
]);
export type Check = z.infer<typeof CheckSchema>;

/** A point where the run waits for a person before the task counts as completed (GSD `checkpoint:*` tasks). */
export const GateSchema = z.strictObject({ kind: z.literal('approval'), prompt: z.string().min(1) });
export type Gate = z.infer<typeof GateSchema>;

export const VerifyAttemptsSchema = z.number().int().min(1).max(MAX_VERIFY_ATTEMPTS);

export const StallAfterSecondsSchema = z.number().positive();
/** How long a budget request that reached the top waits for the operator, seconds (0: refused at once; docs/cli.md "cadre budget"). */
export const BudgetWaitSecondsSchema = z.number().int().min(0).max(30 * 86_400);
/** `cadre run` and `cadre agent` give agents this wait when the plan says none: a day. */
export const DEFAULT_BUDGET_WAIT_SECONDS = 86_400;
export const OnStallSchema = z.enum(['end', 'restart']);
export type OnStall = z.infer<typeof OnStallSchema>;

/** What a task's helper agent (its reviewer, its merge-conflict resolver) may say besides its backend. */
const helperAgentFields = {
  model: z.string().min(1).optional(),
  prompt: z.string().min(1).optional(),
  command: argv.optional(),
  script: z.string().min(1).optional(),
};

/** A command helper needs its argv, a scripted one its script. */
function needsItsProgram(role: string) {
  return (r: { backend?: string; command?: unknown; script?: unknown }, ctx: z.RefinementCtx) => {
    if (r.backend === 'command' && !r.command) ctx.addIssue({ code: 'custom', path: ['command'], message: `a command ${role} needs a command` });
    if (r.backend === 'scripted' && !r.script) ctx.addIssue({ code: 'custom', path: ['script'], message: `a scripted ${role} needs a script` });
  };
}

/**
 * A reviewer sub-agent after the task's checks pass: it reads the task's branch in a worktree of its own and approves
 * or requests changes (a model's summary `APPROVE` / `CHANGES: …`; a command's exit 0 / non-zero). `command` is
 * the command backend's argv, `script` the scripted backend's script.
 */
export const ReviewSchema = z.strictObject({
  backend: BackendSchema,
  ...helperAgentFields,
  rounds: z.number().int().min(1).max(MAX_REVIEW_ROUNDS).optional(),
}).superRefine(needsItsProgram('reviewer'));
export type Review = z.infer<typeof ReviewSchema>;

/**
 * The resolver of a task whose merge into the integration branch conflicts: an agent that resolves the conflict in a
 * worktree of the task's branch with the integration head being merged in. `backend` defaults to the task's own (a
 * model or agent-program backend; a command or scripted task needs a `resolve` with its own command or script).
 */
export const ResolveSchema = z.strictObject({
  backend: BackendSchema.optional(),
  ...helperAgentFields,
  attempts: z.number().int().min(1).max(MAX_RESOLVE_ATTEMPTS).optional(),
}).superRefine(needsItsProgram('resolver'));
export type Resolve = z.infer<typeof ResolveSchema>;

export const TaskSchema = z.strictObject({
  id: TaskIdSchema,
  title: z.string().min(1),
  prompt: z.string(),
  dependsOn: z.array(z.string()).default([]),
  /** 1..10; 10 is the most urgent. */
  priority: z.number().int().min(1).max(10).default(5),
  phase: z.string().min(1).optional(),
  /** Repository-relative paths the task declares it touches (the scheduler never runs two overlapping at once). */
  files: z.array(z.string()).default([]),
  /** Repository-relative paths that must exist after the task, checked before it counts as completed. */
  outputs: z.array(z.string()).default([]),
  /** argv run in the task's workspace after the agent's work; non-zero exit goes back to the agent (verifyAttempts), then fails the task. */
  verify: argv.optional(),
  backend: BackendSchema.optional(),
  model: z.string().min(1).optional(),
  /** Absolute path of the script (scripted backend). */
  script: z.string().min(1).optional(),
  /** argv (command backend). */
  command: argv.optional(),
  budget: BudgetSchema.optional(),
  timeoutSeconds: z.number().positive().optional(),
  maxTurns: z.number().int().positive().optional(),
  bootstrap: BootstrapSchema.optional(),
  /** Already complete in the source: the scheduler skips it and treats it as completed. */
  done: z.boolean().default(false),
  /** GSD checkpoint task type(s), e.g. "checkpoint:human-verify"; surfaced to the user. */
  checkpoint: z.string().optional(),
  /** Wait for a person's approval before the task counts as completed (set for `checkpoint:*` tasks). */
  gate: GateSchema.optional(),
  /** Machine checks run after the agent ends, like `outputs`; a failure goes back to the agent, then fails it. */
  checks: z.array(CheckSchema).optional(),
  /**
   * How many times the agent may work on the task when its outputs, checks or verify command fail: each failure
   * goes back to it and it works again in the same worktree and session (docs/loops.md). Default 2; 1 = no retry.
   */
  verifyAttempts: VerifyAttemptsSchema.optional(),
  /** No progress for this long marks the agent stalled and nudges it; as long again ends it (docs/loops.md "Stalls"). Default 600. */
  stallAfterSeconds: StallAfterSecondsSchema.optional(),
  /** What a stall comes to after the nudge: `end` (default: the task fails, its work committed) or `restart`. */
  onStall: OnStallSchema.optional(),
  /** A budget request that reached the top waits this long for the operator (docs/cli.md "cadre budget"). */
  budgetWaitSeconds: BudgetWaitSecondsSchema.optional(),
  /** A reviewer after the checks pass (docs/loops.md "Review"); requested changes go back to the agent, `rounds` times at most. */
  review: ReviewSchema.optional(),
  /** The resolver of a merge conflict of the task's branch (docs/loops.md "Merge conflicts"); `attempts` times at most. */
  resolve: ResolveSchema.optional(),
  /** Test-driven: write the failing test first (GSD `type: tdd`); also said in the prompt. */
  tdd: z.boolean().optional(),
  /**
   * Seed-003 task id (`01-analysis/01-survey`): the status file lives at `<statusDir>/<statusKey>.json`. Set by the
   * tasks/ importer; other tasks use their id.
   */
  statusKey: z.string().min(1).optional(),
  /** Where the task came from, relative to the plan's root directory, for messages. */
  source: z.strictObject({ file: z.string(), line: z.number().int().positive().optional() }).optional(),
});
export type Task = z.infer<typeof TaskSchema>;

export const PlanFormatSchema = z.enum(['native', 'gsd', 'speckit', 'tasks-dir']);
export type PlanFormat = z.infer<typeof PlanFormatSchema>;

export const PlanDefaultsSchema = z.strictObject({
  backend: BackendSchema.optional(),
  model: z.string().min(1).optional(),
  budget: BudgetSchema.optional(),
  timeoutSeconds: z.number().positive().optional(),
  maxTurns: z.number().int().positive().optional(),
  bootstrap: BootstrapSchema.optional(),
  verifyAttempts: VerifyAttemptsSchema.optional(),
  stallAfterSeconds: StallAfterSecondsSchema.optional(),
  onStall: OnStallSchema.optional(),
  review: ReviewSchema.optional(),
  resolve: ResolveSchema.optional(),
  budgetWaitSeconds: BudgetWaitSecondsSchema.optional(),
});
export type PlanDefaults = z.infer<typeof PlanDefaultsSchema>;

export const PlanSchema = z.strictObject({
  name: z.string().min(1),
  /** `path` is absolute: the file or directory the plan was imported from. */
  source: z.strictObject({ format: PlanFormatSchema, path: z.string() }),
  maxConcurrency: z.number().int().positive().default(5),
  /** Per-phase ceilings on running tasks, by phase name. */
  phaseLimits: z.record(z.string(), z.number().int().positive()).default({}),
  /** Phases in source order. */
  phaseOrder: z.array(z.string()).default([]),
  failFast: z.boolean().default(false),
  /**
   * Run command-backend tasks as activities of the scheduler instead of child agent workflows: far less overhead
   * per task, but no agent workflow (Web UI page, tree node, messages) per task. Default false.
   */
  inlineCommands: z.boolean().default(false),
  /** Applied by the scheduler to tasks that do not set the field themselves. */
  defaults: PlanDefaultsSchema.default({}),
  /** Ceiling for the whole run. */
  budget: BudgetSchema.optional(),
  tasks: z.array(TaskSchema),
});
export type Plan = z.infer<typeof PlanSchema>;
/** What an importer hands to `PlanSchema` (defaults not yet applied). */
export type PlanInput = z.input<typeof PlanSchema>;
export type TaskInput = z.input<typeof TaskSchema>;
