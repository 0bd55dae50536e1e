/**
 * The native plan format: one YAML or JSON file. Strict on purpose: an unknown field is an error naming the field
 * and its line (with a "did you mean" hint), because a misspelt `dependsOn` that silently vanished would run tasks
 * in the wrong order.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { BackendSchema, CheckSchema, OnStallSchema, VerifyAttemptsSchema, taskIdProblem, type PlanInput, type TaskInput } from '../../shared/plan';
import { IssueList, nearestField } from './errors';
import { parseDuration, repoPath, toArgv, unique } from './fields';
import { isRecord, parseYaml, type YamlPath, type YamlSource } from './yamlSource';
import type { ImportResult } from './result';

const idLike = z.union([z.string(), z.number()]).transform(String);
const duration = z.union([z.number(), z.string()]).refine((v) => parseDuration(v) !== undefined, {
  message: 'expected a positive duration: seconds (90) or a string like "30s", "5m", "2h", "1h30m"',
});
const argvLike = z.union([z.string().min(1), z.array(z.string()).min(1)]);
const budget = z.strictObject({ tokens: z.number().int().positive().optional(), usd: z.number().positive().optional() });
const backend = BackendSchema;
/** A reviewer (docs/loops.md "Review"): `command` as a string or argv, `script` relative to the plan's directory. */
const review = z.strictObject({
  backend: BackendSchema,
  model: z.string().min(1).optional(),
  prompt: z.string().min(1).optional(),
  rounds: z.number().int().positive().optional(),
  command: argvLike.optional(),
  script: z.string().min(1).optional(),
});
type RawReview = z.infer<typeof review>;
function toReview(r: RawReview | undefined, rootDir: string) {
  if (!r) return undefined;
  const { command, script, ...rest } = r;
  return { ...rest, ...(command === undefined ? {} : { command: toArgv(command) }), ...(script === undefined ? {} : { script: path.resolve(rootDir, script) }) };
}
/** A merge-conflict resolver (docs/loops.md "Merge conflicts"): as a reviewer, with `attempts` and an optional backend. */
const resolve = z.strictObject({
  backend: BackendSchema.optional(),
  model: z.string().min(1).optional(),
  prompt: z.string().min(1).optional(),
  attempts: z.number().int().positive().optional(),
  command: argvLike.optional(),
  script: z.string().min(1).optional(),
});
function toResolve(r: z.infer<typeof resolve> | undefined, rootDir: string) {
  if (!r) return undefined;
  const { command, script, ...rest } = r;
  return { ...rest, ...(command === undefined ? {} : { command: toArgv(command) }), ...(script === undefined ? {} : { script: path.resolve(rootDir, script) }) };
}
/** Workspace setup: files copied from the main checkout, then a command run once per workspace. */
const pathList = z.array(z.string());
const cacheSpec = z.strictObject({ dir: z.string().min(1), key: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]) });
type RawCaches = 'auto' | z.infer<typeof cacheSpec>[];
/** Checked by hand, so that a bad entry is reported by its own field instead of as an "invalid input" of a union. */
const caches = z.unknown().superRefine((v, ctx) => {
  if (v === 'auto') return;
  if (!Array.isArray(v) || v.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected "auto" or a list of { dir, key } (key: the lockfile or lockfiles)' });
    return;
  }
  v.forEach((c, i) => {
    const r = cacheSpec.safeParse(c);
    for (const issue of r.error?.issues ?? []) ctx.addIssue({ code: 'custom', path: [i, ...issue.path], message: issue.message });
  });
}).transform((v) => v as RawCaches);
const bootstrap = z.strictObject({
  copy: z.union([z.string().min(1), pathList]).optional(),
  setup: argvLike.optional(),
  setupTimeout: duration.optional(),
  /** `auto`, or dependency caches `[{ dir, key: lockfile(s) }]` (docs/workspaces.md, "Dependency caches"). */
  caches: caches.optional(),
  setupAlways: z.boolean().optional(),
});

const RawTask = z.strictObject({
  id: idLike,
  title: z.string().optional(),
  prompt: z.string().optional(),
  dependsOn: z.array(idLike).optional(),
  priority: z.number().int().min(1).max(10).optional(),
  phase: idLike.optional(),
  files: pathList.optional(),
  outputs: pathList.optional(),
  artifacts: pathList.optional(),
  verify: argvLike.optional(),
  backend: backend.optional(),
  model: z.string().min(1).optional(),
  script: z.string().min(1).optional(),
  command: argvLike.optional(),
  budget: budget.optional(),
  timeout: duration.optional(),
  timeoutSeconds: duration.optional(),
  maxTurns: z.number().int().positive().optional(),
  bootstrap: bootstrap.optional(),
  done: z.boolean().optional(),
  checks: z.array(CheckSchema).optional(),
  verifyAttempts: VerifyAttemptsSchema.optional(),
  stallAfter: duration.optional(),
  budgetWait: z.union([z.literal(0), duration]).optional(),
  onStall: OnStallSchema.optional(),
  review: review.optional(),
  resolve: resolve.optional(),
  /** A prompt for the person who approves the task before it counts as completed. */
  approval: z.string().min(1).optional(),
  tdd: z.boolean().optional(),
});
type RawTask = z.infer<typeof RawTask>;

const phaseLimit = z.number().int().positive();
const RawPlan = z.strictObject({
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  maxConcurrency: z.number().int().positive().optional(),
  failFast: z.boolean().optional(),
  inlineCommands: z.boolean().optional(),
  phaseLimits: z.record(z.string(), phaseLimit).optional(),
  phases: z
    .union([
      z.record(z.string(), phaseLimit),
      z.array(z.union([idLike, z.strictObject({ name: idLike, limit: phaseLimit.optional() })])),
    ])
    .optional(),
  defaults: z
    .strictObject({
      backend: backend.optional(),
      model: z.string().min(1).optional(),
      budget: budget.optional(),
      timeout: duration.optional(),
      timeoutSeconds: duration.optional(),
      maxTurns: z.number().int().positive().optional(),
      bootstrap: bootstrap.optional(),
      verifyAttempts: VerifyAttemptsSchema.optional(),
      stallAfter: duration.optional(),
      budgetWait: z.union([z.literal(0), duration]).optional(),
      onStall: OnStallSchema.optional(),
      review: review.optional(),
      resolve: resolve.optional(),
    })
    .optional(),
  budget: budget.optional(),
  tasks: z.array(z.unknown()),
});

const TASK_FIELDS = Object.keys(RawTask.shape);
const PLAN_FIELDS = Object.keys(RawPlan.shape);
const DEFAULTS_FIELDS = ['backend', 'model', 'budget', 'timeout', 'timeoutSeconds', 'maxTurns', 'bootstrap', 'verifyAttempts', 'stallAfter', 'onStall', 'review', 'resolve', 'budgetWait'];

export async function importNative(file: string): Promise<ImportResult> {
  const issues = new IssueList();
  const text = await readFile(file, 'utf8');
  const src = parseYaml(text);
  const rootDir = path.dirname(file);
  const rel = path.basename(file);
  const fallbackName = path.basename(file).replace(/\.(ya?ml|json)$/i, '');
  const empty = (): ImportResult => ({
    plan: { name: fallbackName, source: { format: 'native', path: file }, tasks: [] },
    rootDir,
    issues: issues.issues,
  });

  for (const e of src.errors) issues.add(file, e.line, `invalid YAML/JSON: ${e.message}`);
  if (src.errors.length > 0) return empty();
  if (!isRecord(src.data)) {
    issues.add(file, 1, 'a plan must be a mapping with a "tasks" list');
    return empty();
  }

  const planResult = RawPlan.safeParse(src.data);
  if (!planResult.success) {
    reportZod(planResult.error, [], src, file, issues);
  }
  const raw = src.data as Record<string, unknown>;
  const planFields = planResult.success ? planResult.data : undefined;

  const tasks: TaskInput[] = [];
  const rawTasks = Array.isArray(raw.tasks) ? raw.tasks : [];
  rawTasks.forEach((item, i) => {
    const where: YamlPath = ['tasks', i];
    const parsed = RawTask.safeParse(item);
    if (!parsed.success) {
      reportZod(parsed.error, where, src, file, issues);
      return;
    }
    const task = toTask(parsed.data, where, src, file, rootDir, rel, issues);
    if (task) tasks.push(task);
  });

  const p = planFields;
  const phaseLimits: Record<string, number> = { ...(p?.phaseLimits ?? {}) };
  const listedPhases: string[] = [];
  if (p?.phases) {
    if (Array.isArray(p.phases)) {
      for (const entry of p.phases) {
        if (typeof entry === 'string') listedPhases.push(entry);
        else {
          listedPhases.push(entry.name);
          if (entry.limit !== undefined) phaseLimits[entry.name] = entry.limit;
        }
      }
    } else {
      for (const [name, limit] of Object.entries(p.phases)) {
        listedPhases.push(name);
        phaseLimits[name] = limit;
      }
    }
  }
  const usedPhases = unique(tasks.flatMap((t) => (t.phase ? [t.phase] : [])));
  for (const name of unique([...listedPhases, ...Object.keys(phaseLimits)])) {
    if (!usedPhases.includes(name)) {
      const key = Object.keys(p?.phaseLimits ?? {}).includes(name) ? 'phaseLimits' : 'phases';
      issues.add(file, src.lineOf([key, name]), `phase "${name}" is listed in ${key} but no task has it`);
    }
  }

  const d = p?.defaults;
  const defaults = d
    ? compact({
        backend: d.backend,
        model: d.model,
        budget: d.budget,
        timeoutSeconds: parseDuration(d.timeoutSeconds ?? d.timeout),
        maxTurns: d.maxTurns,
        bootstrap: toBootstrap(d.bootstrap),
        verifyAttempts: d.verifyAttempts,
        stallAfterSeconds: parseDuration(d.stallAfter),
        budgetWaitSeconds: budgetWaitOf(d.budgetWait),
        onStall: d.onStall,
        review: toReview(d.review, rootDir),
        resolve: toResolve(d.resolve, rootDir),
      })
    : undefined;
  if (d?.timeout !== undefined && d.timeoutSeconds !== undefined) {
    issues.add(file, src.lineOf(['defaults', 'timeoutSeconds']), 'defaults: give "timeout" or "timeoutSeconds", not both');
  }

  for (const t of tasks) checkBackend(t, defaults?.backend, file, issues);

  const plan: PlanInput = compact({
    name: p?.name ?? fallbackName,
    source: { format: 'native' as const, path: file },
    maxConcurrency: p?.maxConcurrency,
    phaseLimits,
    phaseOrder: unique([...listedPhases, ...usedPhases]),
    failFast: p?.failFast,
    inlineCommands: p?.inlineCommands,
    defaults,
    budget: p?.budget,
    tasks,
  });
  return { plan, rootDir, issues: issues.issues };
}

function toTask(
  r: RawTask,
  where: YamlPath,
  src: YamlSource,
  file: string,
  rootDir: string,
  rel: string,
  issues: IssueList,
): TaskInput | undefined {
  const line = src.lineOf([...where, 'id']);
  const problem = taskIdProblem(r.id);
  if (problem) {
    issues.add(file, line, `task id "${r.id}" ${problem}`, [r.id]);
    return undefined;
  }
  const title = r.title?.trim() || firstLine(r.prompt) || r.id;
  const prompt = r.prompt ?? r.title ?? '';
  if (!r.title && !r.prompt) issues.add(file, line, `task "${r.id}" needs a "prompt" (or at least a "title")`, [r.id]);

  const paths = (key: 'files' | 'outputs' | 'artifacts'): string[] =>
    (r[key] ?? []).flatMap((raw, j) => {
      const p = repoPath(raw);
      if (!p) issues.add(file, src.lineOf([...where, key, j]), `task "${r.id}": ${key} entry "${raw}" is not a repository-relative path`, [r.id]);
      return p ? [p] : [];
    });

  if (r.timeout !== undefined && r.timeoutSeconds !== undefined) {
    issues.add(file, src.lineOf([...where, 'timeoutSeconds']), `task "${r.id}": give "timeout" or "timeoutSeconds", not both`, [r.id]);
  }
  let script: string | undefined;
  if (r.script !== undefined) {
    script = path.resolve(rootDir, r.script);
    if (!existsSync(script)) issues.add(file, src.lineOf([...where, 'script']), `task "${r.id}": script "${r.script}" not found (${script})`, [r.id]);
  }
  return compact({
    id: r.id,
    title: title.length > 200 ? `${title.slice(0, 197)}...` : title,
    prompt,
    dependsOn: unique(r.dependsOn ?? []),
    priority: r.priority,
    phase: r.phase,
    files: unique(paths('files')),
    outputs: unique([...paths('outputs'), ...paths('artifacts')]),
    verify: r.verify === undefined ? undefined : toArgv(r.verify),
    backend: r.backend ?? (r.command ? 'command' : r.script ? 'scripted' : undefined),
    model: r.model,
    script,
    command: r.command === undefined ? undefined : toArgv(r.command),
    budget: r.budget,
    timeoutSeconds: parseDuration(r.timeoutSeconds ?? r.timeout),
    maxTurns: r.maxTurns,
    bootstrap: toBootstrap(r.bootstrap),
    verifyAttempts: r.verifyAttempts,
    stallAfterSeconds: parseDuration(r.stallAfter),
    budgetWaitSeconds: budgetWaitOf(r.budgetWait),
    onStall: r.onStall,
    review: toReview(r.review, rootDir),
    resolve: toResolve(r.resolve, rootDir),
    done: r.done,
    checks: r.checks?.flatMap((c, j) => {
      if (repoPath(c.path) !== c.path) {
        issues.add(file, src.lineOf([...where, 'checks', j, 'path']), `task "${r.id}": checks[${j}].path "${c.path}" is not a repository-relative path`, [r.id]);
        return [];
      }
      if (c.kind === 'pattern' && !validRegex(c.regex)) {
        issues.add(file, src.lineOf([...where, 'checks', j, 'regex']), `task "${r.id}": checks[${j}].regex ${JSON.stringify(c.regex)} is not a valid regular expression`, [r.id]);
        return [];
      }
      return [c];
    }),
    gate: r.approval === undefined ? undefined : { kind: 'approval' as const, prompt: r.approval },
    tdd: r.tdd,
    source: { file: rel, line },
  });
}

/** A command task needs a command, a scripted one a script; neither field means anything to another backend. */
function checkBackend(t: TaskInput, fallback: string | undefined, file: string, issues: IssueList): void {
  const backend = t.backend ?? fallback;
  const line = t.source?.line;
  if (backend === 'command' && !t.command) issues.add(file, line, `task "${t.id}" uses the command backend but has no "command"`, [t.id]);
  if (backend === 'scripted' && !t.script) issues.add(file, line, `task "${t.id}" uses the scripted backend but has no "script"`, [t.id]);
  if (t.command && backend !== 'command') issues.add(file, line, `task "${t.id}" has a "command" but its backend is "${backend}"`, [t.id]);
  if (t.script && backend !== 'scripted') issues.add(file, line, `task "${t.id}" has a "script" but its backend is "${backend}"`, [t.id]);
}

function validRegex(source: string): boolean {
  try {
    new RegExp(source, 'm');
    return true;
  } catch {
    return false;
  }
}

function firstLine(s: string | undefined): string {
  return (s ?? '').split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
}

/** `task "build"` for a path inside tasks[i] (`tasks[3]` when it has no id), `plan` otherwise. */
function ownerOf(data: unknown, p: YamlPath): { owner: string; ids: string[]; rest: YamlPath } {
  if (p[0] === 'tasks' && typeof p[1] === 'number' && isRecord(data) && Array.isArray(data.tasks)) {
    const t: unknown = data.tasks[p[1]];
    const id = isRecord(t) && (typeof t.id === 'string' || typeof t.id === 'number') ? String(t.id) : undefined;
    return { owner: id === undefined ? `tasks[${p[1]}]` : `task "${id}"`, ids: id === undefined ? [] : [id], rest: p.slice(2) };
  }
  return { owner: 'plan', ids: [], rest: p };
}

function valueAt(data: unknown, p: YamlPath): unknown {
  let cur = data;
  for (const seg of p) {
    if (Array.isArray(cur) && typeof seg === 'number') cur = cur[seg];
    else if (isRecord(cur)) cur = cur[String(seg)];
    else return undefined;
  }
  return cur;
}

function knownFieldsAt(p: YamlPath): string[] {
  if (p.length === 0) return PLAN_FIELDS;
  if (p[0] === 'tasks' && p.length === 2) return TASK_FIELDS;
  if (p[0] === 'defaults' && p.length === 1) return DEFAULTS_FIELDS;
  if (p[p.length - 1] === 'budget') return ['tokens', 'usd'];
  return ['name', 'limit'];
}

function reportZod(error: z.ZodError, prefix: YamlPath, src: YamlSource, file: string, issues: IssueList): void {
  for (const issue of error.issues) {
    const p: YamlPath = [...prefix, ...(issue.path as (string | number)[])];
    const { owner, ids, rest } = ownerOf(src.data, p);
    if (issue.code === 'unrecognized_keys') {
      const known = knownFieldsAt(p);
      for (const key of issue.keys) {
        const hint = nearestField(key, known);
        const field = [...rest, key].join('.');
        issues.add(file, src.lineOf([...p, key]), `${owner}: unknown field "${field}"${hint ? ` (did you mean "${hint}"?)` : ''}`, ids);
      }
      continue;
    }
    if (rest.length === 0) {
      issues.add(file, src.lineOf(p), `${owner}: must be a mapping (${issue.message})`, ids);
      continue;
    }
    const field = rest.join('.');
    const missing = valueAt(src.data, p) === undefined;
    issues.add(file, src.lineOf(p), missing ? `${owner}: missing required field "${field}"` : `${owner}: field "${field}": ${issue.message}`, ids);
  }
}

/** `obj` without its undefined-valued keys: the plan is JSON, and tests compare it structurally. */
export function compact<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

function toBootstrap(b: z.infer<typeof bootstrap> | undefined) {
  if (!b) return undefined;
  return compact({
    copy: b.copy === undefined ? undefined : (Array.isArray(b.copy) ? b.copy : [b.copy]),
    setup: b.setup === undefined ? undefined : toArgv(b.setup),
    setupTimeoutSeconds: parseDuration(b.setupTimeout),
    caches: b.caches === undefined || b.caches === 'auto' ? b.caches
      : b.caches.map((c) => ({ dir: c.dir, key: Array.isArray(c.key) ? c.key : [c.key] })),
    setupAlways: b.setupAlways,
  });
}

/** `budgetWait`: 0 (refused at once) or a duration, in whole seconds. */
function budgetWaitOf(v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (v === 0) return 0;
  const s = parseDuration(v);
  return s === undefined ? undefined : Math.ceil(s);
}
