/**
 * `loadPlan`: the one entry point from a path on disk to a validated `Plan`. It detects the format, runs that
 * format's importer, then the checks every plan gets (schema, duplicate ids, unknown dependencies, cycles).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { Plan, PlanFormat } from '../../shared/plan';
import { displayPath, PlanError } from './errors';
import { importGsd, isGsd } from './gsd';
import { importNative } from './native';
import { finishImport, type ImportResult } from './result';
import { importSpeckit, looksLikeSpeckit } from './speckit';
import { importTasksDir, looksLikeTasksDir } from './tasksDir';

export interface LoadPlanOptions {
  /** Skip detection. The path must still be what that format expects (see `detectPlan`). */
  format?: PlanFormat;
}

export interface DetectedPlan {
  format: PlanFormat;
  /** Absolute path the importer reads: the file, or the directory for GSD and tasks/. */
  path: string;
}

const NATIVE_EXT = /\.(ya?ml|json)$/i;
const NATIVE_NAMES = ['cadre.yaml', 'cadre.yml', 'cadre.json', 'plan.yaml', 'plan.yml', 'plan.json'];

/**
 * Which format `target` is, first match wins:
 * a `.yaml`/`.yml`/`.json` file is native; a `*-PLAN.md` file, a directory with `.planning/phases`, a `.planning`
 * or `phases` directory, or a directory of `*-PLAN.md` files is GSD; any other `.md` file with `- [ ] T001` lines is
 * spec-kit; a directory with `tasks.md` is spec-kit; a directory with `cadre.yaml`/`plan.yaml` (or .yml/.json)
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
    if (/\.md$/i.test(abs) && looksLikeSpeckit(await readFile(abs, 'utf8'))) return { format: 'speckit', path: abs };
    return undefined;
  }
  if (!st.isDirectory()) return undefined;
  if (await isGsd(abs)) return { format: 'gsd', path: abs };
  const names = await readdir(abs);
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

const IMPORTERS: Record<PlanFormat, (p: string) => Promise<ImportResult>> = {
  native: importNative,
  gsd: importGsd,
  speckit: importSpeckit,
  'tasks-dir': importTasksDir,
};

/** Reads, imports and validates the plan at `target`; throws `PlanError` (exit code 2) listing every problem. */
export async function loadPlan(target: string, opts: LoadPlanOptions = {}): Promise<Plan> {
  const abs = path.resolve(target);
  const st = await stat(abs).catch(() => undefined);
  if (!st) throw new PlanError([{ file: displayPath(abs), message: 'no such file or directory', ids: [] }]);
  let detected: DetectedPlan | undefined;
  if (opts.format) {
    detected = { format: opts.format, path: abs };
    if (st.isDirectory() && opts.format === 'speckit') detected.path = path.join(abs, 'tasks.md');
  } else {
    detected = await detectPlan(abs);
  }
  if (!detected) {
    throw new PlanError([
      {
        file: displayPath(abs),
        message:
          'not a plan: expected a .yaml/.yml/.json plan, a GSD project (.planning/phases/*/*-PLAN.md), ' +
          'a spec-kit tasks.md, or a tasks/ directory of Markdown files with front matter',
        ids: [],
      },
    ]);
  }
  return finishImport(await IMPORTERS[detected.format](detected.path));
}
