/**
 * GSD ("get shit done") plans: `.planning/phases/<NN-slug>/<NN-MM>-PLAN.md`, one task per PLAN.md.
 *
 * Rules (docs/plans.md has the long form, with an example each):
 * - where plans are: phase directories under `.planning/phases/` and, after a milestone is completed, under
 *   `.planning/milestones/<v>-phases/` (or `.planning/milestones/<v>/phases/`); a phase's lone `PLAN.md`; a
 *   `NN-MM-PLAN.md` loose in `phases/` (its phase is the directory with that number, else the number).
 * - id: the file name without `-PLAN.md` (`15-01`), prefixed with the phase number when it lacks one; a lone
 *   `PLAN.md` takes its phase directory's name; a file not named by convention (`plan.txt`) takes
 *   `<phase number>-<plan>` from its front matter.
 * - phase: the phase directory name; phases run in number order, as barriers: a plan with no dependency inside its
 *   own phase depends on the sink plans of the previous imported phase.
 * - depends_on: a plan (`15-01`, `15-agent-orchestration-01`, `01` of the same phase, `01-foundation/01`, a path
 *   to a PLAN.md) or a whole phase (`01-foundation`); `wave` N > 1 without depends_on means "after every plan of an
 *   earlier wave in the same phase"; `gap_closure: true` means "after every other plan of the same phase".
 * - done: a sibling `<id>-SUMMARY.md` (a lone PLAN.md: `SUMMARY.md`) exists. A dependency a done plan names that
 *   matches nothing is a warning (plans get renumbered after they ran), for other plans an error.
 * - Importing a phase directory or a single file imports just those plans; a dependency on a plan outside them is
 *   dropped when that plan is done, and is an error otherwise.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { toTaskId, type PlanInput, type TaskInput } from '../../shared/plan';
import { displayPath, IssueList, nearestField, PlanError } from './errors';
import { unique } from './fields';
import { gsdTask } from './gsdTask';
import { parseLenient, type LenientYaml } from './lenientYaml';
import type { ImportResult } from './result';
import { sniffText } from './sniff';
import { findFrontMatter } from './yamlSource';

/** Keys cadre reads (near misses of these are errors) and keys GSD writes that cadre knows it ignores. */
const FRONT_MATTER_FIELDS = ['phase', 'plan', 'wave', 'depends_on', 'files_modified', 'files-modified', 'must_haves', 'type', 'gap_closure'];
/** Keys whose loss would change the run's order or file locks: unparseable, they are errors, not warnings. */
const CRITICAL_FIELDS = ['depends_on', 'wave', 'files_modified', 'files-modified', 'gap_closure'];
const PLAN_FILE = /^(?:(.+)-)?PLAN\.md$/i;

export interface GsdPhase {
  dir: string;
  name: string;
  /** Leading number of the directory name ("15", "02.1"), or the name itself. */
  number: string;
  /** False for a lone directory of PLAN.md files outside `.planning/phases`: its name may mean nothing. */
  inPhasesDir: boolean;
  /** A phase made up for plans loose in `phases/` whose number has no directory: `dir` is not read. */
  virtual?: boolean;
}

export interface GsdPlan {
  id: string;
  file: string;
  phase: GsdPhase;
  /** Plan number within its phase, as written ("01"); "" for a phase's lone PLAN.md. */
  number: string;
  selected: boolean;
  done: boolean;
  wave?: number;
  gapClosure: boolean;
  /** depends_on entries with their line. */
  deps: { ref: string; line?: number }[];
  depsGiven: boolean;
  fm: Record<string, unknown>;
  src?: LenientYaml;
  body: string;
}

interface Layout {
  /** Directories whose subdirectories are phases (`.planning/phases`, milestone phase directories). */
  phaseRoots: string[];
  projectRoot: string;
  /** Absent: all plans of all phases. */
  only?: { phaseDir: string; file?: string };
}

/** Whether `target` looks like GSD: a project with `.planning`, that dir, its phases, a phase dir, or a plan file. */
export async function isGsd(target: string): Promise<boolean> {
  const layout = await gsdLayout(target);
  return layout !== undefined && (layout.phaseRoots.length > 0 || layout.only !== undefined);
}

/** A `.planning` directory or a directory holding one: GSD, even with no plans (never a tasks/ directory). */
export async function isPlanningTree(dir: string): Promise<boolean> {
  return path.basename(dir) === '.planning' || (await isDir(path.join(dir, '.planning')));
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

async function hasPlanFiles(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.some((n) => PLAN_FILE.test(n));
}

/** `.planning/phases` and the phase directories of completed milestones, those that exist. */
async function phaseRootsOf(planning: string): Promise<string[]> {
  const roots: string[] = [];
  const milestones = path.join(planning, 'milestones');
  for (const e of await readdir(milestones, { withFileTypes: true }).catch(() => [])) {
    if (!e.isDirectory()) continue;
    if (/-phases$/.test(e.name)) roots.push(path.join(milestones, e.name));
    else if (await isDir(path.join(milestones, e.name, 'phases'))) roots.push(path.join(milestones, e.name, 'phases'));
  }
  if (await isDir(path.join(planning, 'phases'))) roots.push(path.join(planning, 'phases'));
  return roots;
}

async function gsdLayout(target: string): Promise<Layout | undefined> {
  const st = await stat(target).catch(() => undefined);
  if (!st) return undefined;
  const forPhaseDir = async (phaseDir: string): Promise<Pick<Layout, 'phaseRoots' | 'projectRoot'>> => {
    const parent = path.dirname(phaseDir);
    const planning = path.basename(parent) === 'phases' ? path.dirname(parent) : path.basename(path.dirname(parent)) === 'milestones' ? path.dirname(path.dirname(parent)) : undefined;
    if (planning && path.basename(planning) === '.planning') return { phaseRoots: await phaseRootsOf(planning), projectRoot: path.dirname(planning) };
    if (path.basename(parent) === 'phases') return { phaseRoots: [parent], projectRoot: path.dirname(parent) };
    return { phaseRoots: [], projectRoot: path.dirname(phaseDir) };
  };
  if (st.isFile()) {
    const named = PLAN_FILE.test(path.basename(target));
    if (!named && sniffText(await readFile(target, 'utf8')) !== 'gsd') return undefined;
    const phaseDir = path.dirname(target);
    // A plan loose in phases/ belongs to no phase directory: its parent is the phases root itself.
    if (path.basename(phaseDir) === 'phases') {
      return { ...(await forPhaseDir(path.join(phaseDir, '_'))), only: { phaseDir, file: target } };
    }
    return { ...(await forPhaseDir(phaseDir)), only: { phaseDir, file: target } };
  }
  if (await isDir(path.join(target, '.planning'))) {
    return { phaseRoots: await phaseRootsOf(path.join(target, '.planning')), projectRoot: target };
  }
  if (path.basename(target) === '.planning') return { phaseRoots: await phaseRootsOf(target), projectRoot: path.dirname(target) };
  if (path.basename(target) === 'phases' && path.basename(path.dirname(target)) === '.planning') {
    return { phaseRoots: await phaseRootsOf(path.dirname(target)), projectRoot: path.dirname(path.dirname(target)) };
  }
  if (await hasPlanFiles(target)) return { ...(await forPhaseDir(target)), only: { phaseDir: target } };
  return undefined;
}

export function phaseNumber(name: string): string {
  return /^(\d+(?:\.\d+)*)/.exec(name)?.[1] ?? name;
}

/** Compares "2", "02", "2.1" numerically part by part; falls back to string order. */
export function compareNumbers(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  if (pa.some(Number.isNaN) || pb.some(Number.isNaN)) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** "01" and "1" are the same plan number; "01a" keeps its suffix. */
function samePlanNumber(a: string, b: string): boolean {
  const m = (s: string): [number, string] => {
    const r = /^(\d+)([a-z]*)$/i.exec(s);
    return r ? [Number(r[1]), r[2].toLowerCase()] : [NaN, s];
  };
  const [na, sa] = m(a);
  const [nb, sb] = m(b);
  return Number.isNaN(na) ? a === b : na === nb && sa === sb;
}

export async function importGsd(target: string): Promise<ImportResult> {
  const issues = new IssueList();
  const layout = await gsdLayout(target);
  if (!layout) {
    throw new PlanError([{ file: displayPath(target), message: 'not a GSD plan: no .planning/phases and no *-PLAN.md files', ids: [] }]);
  }
  const rootDir = layout.projectRoot;

  // Every phase we can see, so that dependencies outside the imported subset can be resolved and checked.
  const phaseDirs = new Set<string>();
  const loose: string[] = [];
  for (const root of layout.phaseRoots) {
    for (const e of await readdir(root, { withFileTypes: true })) {
      if (e.isDirectory() && !e.name.startsWith('.')) phaseDirs.add(path.join(root, e.name));
      else if (e.isFile() && PLAN_FILE.test(e.name) && e.name.toUpperCase() !== 'PLAN.MD') loose.push(path.join(root, e.name));
    }
  }
  if (layout.only && !layout.phaseRoots.includes(layout.only.phaseDir)) phaseDirs.add(layout.only.phaseDir);
  const inPhasesDir = layout.phaseRoots.length > 0;
  const phaseOf = (dir: string): GsdPhase => ({ dir, name: path.basename(dir), number: phaseNumber(path.basename(dir)), inPhasesDir });
  const phases: GsdPhase[] = [...phaseDirs].map(phaseOf);
  // A plan loose in phases/ joins the phase directory of its number, or a phase named by the number.
  const looseFiles = new Map<GsdPhase, string[]>();
  for (const file of loose) {
    const num = phaseNumber(path.basename(file));
    let phase = phases.find((p) => compareNumbers(p.number, num) === 0);
    if (!phase) {
      phase = { dir: path.dirname(file), name: num, number: num, inPhasesDir, virtual: true };
      phases.push(phase);
    }
    looseFiles.set(phase, [...(looseFiles.get(phase) ?? []), file]);
  }
  phases.sort((a, b) => compareNumbers(a.number, b.number) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const plans: GsdPlan[] = [];
  for (const phase of phases) {
    const files = phase.virtual
      ? []
      : (await readdir(phase.dir).catch(() => [] as string[])).filter((n) => PLAN_FILE.test(n)).map((n) => path.join(phase.dir, n));
    if (!phase.virtual && layout.only?.file && path.dirname(layout.only.file) === phase.dir) files.push(layout.only.file);
    files.push(...(looseFiles.get(phase) ?? []));
    const inPhase: GsdPlan[] = [];
    for (const file of unique(files)) {
      const selected = !layout.only || (layout.only.file ? layout.only.file === file : path.dirname(file) === layout.only.phaseDir);
      inPhase.push(await readPlan(file, phase, selected, selected ? issues : new IssueList()));
    }
    inPhase.sort((a, b) => compareNumbers(a.number.replace(/[a-z]+$/i, ''), b.number.replace(/[a-z]+$/i, '')) || (a.id < b.id ? -1 : 1));
    plans.push(...inPhase);
  }
  if (plans.length === 0) {
    issues.add(target, undefined, 'no GSD plans: no *-PLAN.md or PLAN.md files in the phase directories (ROADMAP.md, STATE.md and SUMMARY files are not tasks)');
  }

  const selected = plans.filter((p) => p.selected);
  const byId = new Map(plans.map((p) => [p.id, p]));
  const resolve = (ref: string, from: GsdPlan): GsdPlan[] => {
    let r = ref.trim().replace(/^["']|["']$/g, '').replace(/\\/g, '/');
    if (r.includes('/')) {
      const parts = r.replace(/\/+$/, '').split('/');
      const last = parts[parts.length - 1];
      // A path to a PLAN.md (`.planning/phases/01-x/01-02-PLAN.md`, `01-x/PLAN.md`) or `01-foundation/01`.
      if (/^PLAN\.md$/i.test(last)) r = parts[parts.length - 2] ?? last;
      else if (PLAN_FILE.test(last) || /\.md$/i.test(last)) r = last;
      else if (parts.length >= 2) {
        const phase = phases.find((p) => p.name === parts[parts.length - 2]);
        if (phase) return plans.filter((p) => p.phase === phase && (p.id === toTaskId(last) || samePlanNumber(p.number, last)));
      }
    }
    r = r.replace(/-PLAN(\.md)?$/i, '').replace(/\.md$/i, '');
    const exact = byId.get(r) ?? byId.get(toTaskId(r));
    if (exact) return [exact];
    if (/^\d+[a-z]?$/i.test(r)) return plans.filter((p) => p.phase === from.phase && samePlanNumber(p.number, r));
    const numeric = /^(\d+(?:\.\d+)*)-(\d+[a-z]?)$/i.exec(r);
    if (numeric) {
      const hit = plans.filter((p) => compareNumbers(p.phase.number, numeric[1]) === 0 && samePlanNumber(p.number, numeric[2]));
      if (hit.length > 0) return hit;
    }
    const named = /^(.+)-(\d+[a-z]?)$/i.exec(r);
    if (named) {
      const hit = plans.filter((p) => p.phase.name === named[1] && samePlanNumber(p.number, named[2]));
      if (hit.length > 0) return hit;
    }
    // A whole phase: every plan of it.
    const phase = phases.find((p) => p.name === r);
    return phase ? plans.filter((p) => p.phase === phase) : [];
  };

  const deps = new Map<GsdPlan, GsdPlan[]>();
  for (const plan of selected) {
    const out: GsdPlan[] = [];
    const add = (dep: GsdPlan, line: number | undefined, why: string): void => {
      if (dep === plan) return;
      if (dep.selected) out.push(dep);
      else if (!dep.done && !plan.done) {
        issues.add(plan.file, line, `plan "${plan.id}" ${why} "${dep.id}", which is not part of this import and has no SUMMARY (import the whole .planning directory)`, [plan.id, dep.id]);
      }
    };
    for (const { ref, line } of plan.deps) {
      const found = resolve(ref, plan);
      if (found.length > 0) for (const dep of found) add(dep, line, 'depends on');
      else if (plan.done) issues.warn(plan.file, line, `plan "${plan.id}" is done; its depends_on "${ref}" matches no plan and is ignored`, [plan.id, ref]);
      else if (!inPhasesDir) issues.warn(plan.file, line, `plan "${plan.id}" depends on "${ref}", which is not in this import (no .planning/phases around it); ignored`, [plan.id, ref]);
      else issues.add(plan.file, line, `plan "${plan.id}" depends on unknown plan "${ref}"`, [plan.id, ref]);
    }
    if (!plan.depsGiven && plan.wave !== undefined && plan.wave > 1) {
      for (const other of plans) {
        if (other.phase === plan.phase && other.wave !== undefined && other.wave < plan.wave) add(other, plan.src?.lineOf(['wave']), 'is in a later wave than');
      }
    }
    // Gap closure: a plan written after verification found gaps in its phase runs after the plans it repairs.
    if (plan.gapClosure) {
      for (const other of plans) if (other.phase === plan.phase && !other.gapClosure) add(other, plan.src?.lineOf(['gap_closure']), 'closes gaps of');
    }
    deps.set(plan, unique(out));
  }

  // Phase barriers between consecutive imported phases.
  const importedPhases = phases.filter((ph) => selected.some((p) => p.phase === ph));
  for (let k = 1; k < importedPhases.length; k++) {
    const prev = selected.filter((p) => p.phase === importedPhases[k - 1]);
    const sinks = prev.filter((p) => !prev.some((q) => deps.get(q)!.includes(p)));
    for (const plan of selected.filter((p) => p.phase === importedPhases[k])) {
      const own = deps.get(plan)!;
      if (!own.some((d) => d.phase === plan.phase)) deps.set(plan, unique([...own, ...sinks]));
    }
  }

  const tasks: TaskInput[] = selected.map((p) => gsdTask(p, deps.get(p)!.map((d) => d.id), rootDir, issues));
  const plan: PlanInput = {
    name: layout.only ? path.basename(layout.only.file ?? layout.only.phaseDir).replace(/-PLAN\.md$/i, '').replace(/\.[^.]+$/, '') : path.basename(rootDir),
    source: { format: 'gsd', path: target },
    phaseOrder: unique(tasks.flatMap((t) => (t.phase ? [t.phase] : []))),
    tasks,
  };
  return { plan, rootDir, issues: issues.issues, warnings: issues.warnings };
}

async function readPlan(file: string, phase: GsdPhase, selected: boolean, issues: IssueList): Promise<GsdPlan> {
  const text = await readFile(file, 'utf8');
  const parts = findFrontMatter(text);
  const base = path.basename(file);
  const named = PLAN_FILE.exec(base);
  const stem = named ? named[1] : undefined;
  const plan: GsdPlan = {
    id: '',
    file,
    phase,
    number: '',
    selected,
    done: false,
    gapClosure: false,
    deps: [],
    depsGiven: false,
    fm: {},
    body: parts.body,
  };
  if (parts.frontMatter !== undefined) {
    const src = parseLenient(parts.frontMatter, parts.frontMatterLine, CRITICAL_FIELDS);
    plan.src = src;
    plan.fm = src.data;
  }
  const fm = plan.fm;
  // A phase made up for a loose plan takes the name its front matter gives (`phase: 04-docs`).
  if (phase.virtual && typeof fm.phase === 'string' && phaseNumber(fm.phase) === phase.number) phase.name = fm.phase;
  if (stem !== undefined) {
    const numbered = /^(\d+(?:\.\d+)*)-(.+)$/.exec(stem);
    plan.id = toTaskId(numbered ? stem : `${phase.number}-${stem}`);
    plan.number = /(\d+[a-z]?)$/i.exec(stem)?.[1] ?? stem;
    plan.done = existsSync(path.join(path.dirname(file), `${stem}-SUMMARY.md`));
  } else if (named) {
    // A phase's lone PLAN.md: the phase is the plan.
    plan.id = toTaskId(phase.name);
    plan.done = existsSync(path.join(path.dirname(file), 'SUMMARY.md'));
  } else {
    // A file not named by convention: its front matter says which plan it is.
    const fmPhase = fm.phase === undefined || fm.phase === null ? phase.name : String(fm.phase);
    // `plan: 03` is the number 3 to YAML; plan numbers are written with two digits.
    plan.number = fm.plan === undefined || fm.plan === null ? '' : typeof fm.plan === 'number' ? String(fm.plan).padStart(2, '0') : String(fm.plan);
    plan.id = toTaskId(plan.number ? `${phaseNumber(fmPhase)}-${plan.number}` : base.replace(/\.[^.]+$/, ''));
    plan.done = existsSync(path.join(path.dirname(file), `${plan.id}-SUMMARY.md`));
  }
  const id = plan.id;
  const src = plan.src;
  if (!src) return plan;
  for (const e of src.errors) issues.add(file, e.line, `plan "${id}": ${e.message}`, [id]);
  for (const w of src.warnings) issues.warn(file, w.line, `plan "${id}": ${w.message}`, [id]);

  for (const key of Object.keys(fm)) {
    if (FRONT_MATTER_FIELDS.includes(key)) continue;
    const hint = nearestField(key, FRONT_MATTER_FIELDS);
    if (hint) issues.add(file, src.lineOf([key]), `plan "${id}": unknown front matter field "${key}" (did you mean "${hint}"?)`, [id]);
  }

  const wave = fm.wave;
  if (wave !== undefined && wave !== null) {
    const n = typeof wave === 'number' ? wave : Number(String(wave).trim());
    if (Number.isInteger(n) && n >= 1) plan.wave = n;
    else issues.add(file, src.lineOf(['wave']), `plan "${id}": wave must be a positive integer, got ${JSON.stringify(wave)}`, [id]);
  }
  plan.gapClosure = fm.gap_closure === true || fm.gap_closure === 'true';

  const rawDeps = fm.depends_on;
  if (rawDeps !== undefined && rawDeps !== null) {
    const list = Array.isArray(rawDeps) ? rawDeps : String(rawDeps).split(/[,\s]+/);
    list.forEach((d, i) => {
      const ref = String(d).trim();
      if (ref !== '') plan.deps.push({ ref, line: src.lineOf(Array.isArray(rawDeps) ? ['depends_on', i] : ['depends_on']) });
    });
    plan.depsGiven = plan.deps.length > 0;
  }
  return plan;
}
