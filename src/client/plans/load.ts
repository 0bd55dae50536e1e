/**
 * `loadPlan`: the one entry point from a path on disk to a validated `Plan`. It detects the format (or takes the
 * one given), runs that format's importer, then the checks every plan gets (schema, duplicate ids, unknown
 * dependencies, cycles). `importPlan` also returns the warnings.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { PlanFormatSchema, type Plan, type PlanFormat } from '../../shared/plan';
import { displayPath, PlanError, type PlanIssue } from './errors';
import { importGsd, isGsd, isPlanningTree } from './gsd';
import { importNative } from './native';
import { finishImport, type ImportResult } from './result';
import { sniffText } from './sniff';
import { importSpeckit } from './speckit';
import { importTasksDir, looksLikeTasksDir, looksLikeWorkPackages } from './tasksDir';

export interface LoadPlanOptions {
  /** Skip detection (`--format`). The path must still be what that format reads (see `detectPlan`). */
  format?: PlanFormat;
  /** Seed-003 status files to read done states from (`--status-dir`); default `workspace/status` beside tasks/. */
  statusDir?: string;
}

export interface ImporterOptions {
  statusDir?: string;
}

export interface DetectedPlan {
  format: PlanFormat;
  /** Absolute path the importer reads: the file, or the directory for GSD and tasks/. */
  path: string;
}

export interface LoadedPlan {
  plan: Plan;
  warnings: PlanIssue[];
}

const NATIVE_EXT = /\.(ya?ml|json)$/i;
const NATIVE_NAMES = ['cadre.yaml', 'cadre.yml', 'cadre.json', 'plan.yaml', 'plan.yml', 'plan.json'];
export const PLAN_FORMATS = PlanFormatSchema.options;

/** `--format` value → format; a PlanError (exit 2) naming the choices otherwise. */
export function parseFormat(value: string): PlanFormat {
  const parsed = PlanFormatSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new PlanError([{ message: `--format: unknown format "${value}" (expected ${PLAN_FORMATS.join(', ')})`, ids: [] }]);
}

/**
 * Which format `target` is, first match wins (docs/plans.md has the table):
 * a `.yaml`/`.yml`/`.json` file is native; a `*-PLAN.md` or `PLAN.md` file is GSD; any other file is sniffed by
 * content (GSD front matter + `<task>` blocks, spec-kit task lines or table rows, a YAML map with `tasks`); a
 * `.planning` tree (the directory itself, a directory holding one, its `phases` or milestone phases, a phase
 * directory) is GSD and never falls through to tasks/; a directory whose `tasks/` holds spec-kitty work packages
 * is a tasks/ directory; a directory with `tasks.md` is spec-kit; one with `cadre.yaml`/`plan.yaml` (.yml/.json)
 * is native; a directory named `tasks`, or one with a `tasks/` subdirectory, holding Markdown files with front
 * matter is a tasks/ directory.
 */
export async function detectPlan(target: string): Promise<DetectedPlan | undefined> {
  const abs = path.resolve(target);
  const st = await stat(abs).catch(() => undefined);
  if (!st) return undefined;
  if (st.isFile()) {
    if (NATIVE_EXT.test(abs)) return { format: 'native', path: abs };
    if (await isGsd(abs)) return { format: 'gsd', path: abs };
    const format = sniffText(await readFile(abs, 'utf8'));
    return format ? { format, path: abs } : undefined;
  }
  if (!st.isDirectory()) return undefined;
  if ((await isGsd(abs)) || (await isPlanningTree(abs))) return { format: 'gsd', path: abs };
  const names = await readdir(abs);
  if (names.includes('tasks') && (await looksLikeWorkPackages(path.join(abs, 'tasks')))) {
    return { format: 'tasks-dir', path: path.join(abs, 'tasks') };
  }
  if (names.includes('tasks.md')) return { format: 'speckit', path: path.join(abs, 'tasks.md') };
  const native = NATIVE_NAMES.find((n) => names.includes(n));
  if (native) return { format: 'native', path: path.join(abs, native) };
  if (path.basename(abs) === 'tasks' && (await looksLikeTasksDir(abs))) return { format: 'tasks-dir', path: abs };
  if (names.includes('tasks') && (await looksLikeTasksDir(path.join(abs, 'tasks')))) {
    return { format: 'tasks-dir', path: path.join(abs, 'tasks') };
  }
  if (await looksLikeTasksDir(abs)) return { format: 'tasks-dir', path: abs };
  return undefined;
}

/** With `--format`, the path that format's importer reads: a directory's `tasks.md`, `tasks/` or `plan.yaml`. */
async function pathForFormat(abs: string, format: PlanFormat, isDir: boolean): Promise<string> {
  if (!isDir) return abs;
  const names = await readdir(abs);
  if (format === 'speckit') return path.join(abs, 'tasks.md');
  if (format === 'native') return path.join(abs, NATIVE_NAMES.find((n) => names.includes(n)) ?? 'plan.yaml');
  if (format === 'tasks-dir' && path.basename(abs) !== 'tasks' && names.includes('tasks')) return path.join(abs, 'tasks');
  return abs;
}

const IMPORTERS: Record<PlanFormat, (p: string, o: ImporterOptions) => Promise<ImportResult>> = {
  native: (p) => importNative(p),
  gsd: (p) => importGsd(p),
  speckit: (p) => importSpeckit(p),
  'tasks-dir': (p, o) => importTasksDir(p, o),
};

/** Reads, imports and validates the plan at `target`; throws `PlanError` (exit code 2) listing every problem. */
export async function importPlan(target: string, opts: LoadPlanOptions = {}): Promise<LoadedPlan> {
  const abs = path.resolve(target);
  const st = await stat(abs).catch(() => undefined);
  if (!st) throw new PlanError([{ file: displayPath(abs), message: 'no such file or directory', ids: [] }]);
  const detected = opts.format
    ? { format: opts.format, path: await pathForFormat(abs, opts.format, st.isDirectory()) }
    : await detectPlan(abs);
  if (!detected) {
    throw new PlanError([
      {
        file: displayPath(abs),
        message:
          'not a plan: expected a .yaml/.yml/.json plan, a GSD project (.planning/phases/*/*-PLAN.md), ' +
          'a spec-kit tasks.md, or a tasks/ directory of Markdown files with front matter (or give --format)',
        ids: [],
      },
    ]);
  }
  const result = await IMPORTERS[detected.format](detected.path, { statusDir: opts.statusDir });
  return { plan: finishImport(result), warnings: result.warnings ?? [] };
}

export async function loadPlan(target: string, opts: LoadPlanOptions = {}): Promise<Plan> {
  return (await importPlan(target, opts)).plan;
}
