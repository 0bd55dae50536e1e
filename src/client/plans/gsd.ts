/**
 * GSD ("get shit done") plans: `.planning/phases/<NN-slug>/<NN-MM>-PLAN.md`, one task per PLAN.md.
 *
 * Rules (docs/plans.md has the long form):
 * - id: the file name without `-PLAN.md` (`15-01`), prefixed with the phase number when it lacks one.
 * - phase: the phase directory name; phases run in directory-number order, as barriers: a plan with no
 *   dependency inside its own phase depends on the sink plans of the previous imported phase.
 * - depends_on: `15-01`, `15-agent-orchestration-01` or `01` (same phase); `wave` N > 1 without depends_on means
 *   "after every plan of an earlier wave in the same phase".
 * - done: a sibling `<id>-SUMMARY.md` exists.
 * - Importing a phase directory or a single file imports just those plans; a dependency on a plan outside them is
 *   dropped when that plan is done, and is an error otherwise.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { toTaskId, type PlanInput, type TaskInput } from '../../shared/plan';
import { displayPath, IssueList, nearestField, PlanError } from './errors';
import { repoPath, unique } from './fields';
import { compact } from './native';
import type { ImportResult } from './result';
import { isRecord, parseYaml, splitFrontMatter, type YamlSource } from './yamlSource';

const FRONT_MATTER_FIELDS = ['phase', 'plan', 'wave', 'depends_on', 'files_modified', 'files-modified', 'must_haves'];
const PLAN_FILE = /^(.+)-PLAN\.md$/i;

interface GsdPhase {
  dir: string;
  name: string;
  /** Leading number of the directory name ("15", "02.1"), or the name itself. */
  number: string;
  /** False for a lone directory of PLAN.md files outside `.planning/phases`: its name may mean nothing. */
  inPhasesDir: boolean;
}

interface GsdPlan {
  id: string;
  file: string;
  phase: GsdPhase;
  /** Plan number within its phase, as written ("01"). */
  number: string;
  selected: boolean;
  done: boolean;
  wave?: number;
  /** depends_on entries with their line. */
  deps: { ref: string; line?: number }[];
  depsGiven: boolean;
  fm: Record<string, unknown>;
  src?: YamlSource;
  body: string;
  bodyLine: number;
}

interface Layout {
  phasesDir?: string;
  projectRoot: string;
  /** Absent: all plans of all phases. */
  only?: { phaseDir: string; file?: string };
}

/** Whether `target` looks like GSD: a project with `.planning/phases`, that dir, a phase dir, or a PLAN.md. */
export async function isGsd(target: string): Promise<boolean> {
  return (await gsdLayout(target)) !== undefined;
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

async function hasPlanFiles(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.some((n) => PLAN_FILE.test(n));
}

async function gsdLayout(target: string): Promise<Layout | undefined> {
  const st = await stat(target).catch(() => undefined);
  if (!st) return undefined;
  const phasesFor = async (phaseDir: string): Promise<Pick<Layout, 'phasesDir' | 'projectRoot'>> => {
    const parent = path.dirname(phaseDir);
    const isPhases = path.basename(parent) === 'phases' && (await isDir(parent));
    const planning = path.dirname(parent);
    return isPhases
      ? { phasesDir: parent, projectRoot: path.basename(planning) === '.planning' ? path.dirname(planning) : planning }
      : { projectRoot: path.dirname(phaseDir) };
  };
  if (st.isFile()) {
    if (!PLAN_FILE.test(path.basename(target))) return undefined;
    const phaseDir = path.dirname(target);
    return { ...(await phasesFor(phaseDir)), only: { phaseDir, file: target } };
  }
  if (await isDir(path.join(target, '.planning', 'phases'))) {
    return { phasesDir: path.join(target, '.planning', 'phases'), projectRoot: target };
  }
  if (path.basename(target) === '.planning' && (await isDir(path.join(target, 'phases')))) {
    return { phasesDir: path.join(target, 'phases'), projectRoot: path.dirname(target) };
  }
  if (path.basename(target) === 'phases' && path.basename(path.dirname(target)) === '.planning') {
    return { phasesDir: target, projectRoot: path.dirname(path.dirname(target)) };
  }
  if (await hasPlanFiles(target)) return { ...(await phasesFor(target)), only: { phaseDir: target } };
  return undefined;
}

function phaseNumber(name: string): string {
  return /^(\d+(?:\.\d+)*)/.exec(name)?.[1] ?? name;
}

/** Compares "2", "02", "2.1" numerically part by part; falls back to string order. */
function compareNumbers(a: string, b: string): number {
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
  let phaseDirs: string[];
  if (layout.phasesDir) {
    const entries = await readdir(layout.phasesDir, { withFileTypes: true });
    phaseDirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => path.join(layout.phasesDir!, e.name));
  } else {
    phaseDirs = [layout.only!.phaseDir];
  }
  const phases: GsdPhase[] = phaseDirs
    .map((dir) => ({ dir, name: path.basename(dir), number: phaseNumber(path.basename(dir)), inPhasesDir: !!layout.phasesDir }))
    .sort((a, b) => compareNumbers(a.number, b.number) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const plans: GsdPlan[] = [];
  for (const phase of phases) {
    const names = (await readdir(phase.dir)).filter((n) => PLAN_FILE.test(n));
    const inPhase: GsdPlan[] = [];
    for (const name of names) {
      const file = path.join(phase.dir, name);
      const selected = !layout.only || (layout.only.file ? layout.only.file === file : layout.only.phaseDir === phase.dir);
      inPhase.push(await readPlan(file, phase, selected, selected ? issues : new IssueList()));
    }
    inPhase.sort((a, b) => compareNumbers(a.number.replace(/[a-z]+$/i, ''), b.number.replace(/[a-z]+$/i, '')) || (a.id < b.id ? -1 : 1));
    plans.push(...inPhase);
  }

  const selected = plans.filter((p) => p.selected);
  const byId = new Map(plans.map((p) => [p.id, p]));
  const resolve = (ref: string, from: GsdPlan): GsdPlan | undefined => {
    const r = ref.trim().replace(/^["']|["']$/g, '').replace(/-PLAN(\.md)?$/i, '').replace(/\.md$/i, '');
    const exact = byId.get(r) ?? byId.get(toTaskId(r));
    if (exact) return exact;
    if (/^\d+[a-z]?$/i.test(r)) return plans.find((p) => p.phase === from.phase && samePlanNumber(p.number, r));
    const numeric = /^(\d+(?:\.\d+)*)-(\d+[a-z]?)$/i.exec(r);
    if (numeric) {
      return plans.find((p) => compareNumbers(p.phase.number, numeric[1]) === 0 && samePlanNumber(p.number, numeric[2]));
    }
    const named = /^(.+)-(\d+[a-z]?)$/i.exec(r);
    if (named) return plans.find((p) => p.phase.name === named[1] && samePlanNumber(p.number, named[2]));
    return undefined;
  };

  const deps = new Map<GsdPlan, GsdPlan[]>();
  for (const plan of selected) {
    const out: GsdPlan[] = [];
    const add = (dep: GsdPlan, line: number | undefined, why: string): void => {
      if (dep.selected) out.push(dep);
      else if (!dep.done) {
        issues.add(plan.file, line, `plan "${plan.id}" ${why} "${dep.id}", which is not part of this import and has no SUMMARY (import the whole .planning directory)`, [plan.id, dep.id]);
      }
    };
    for (const { ref, line } of plan.deps) {
      const dep = resolve(ref, plan);
      if (dep) add(dep, line, 'depends on');
      else issues.add(plan.file, line, `plan "${plan.id}" depends on unknown plan "${ref}"`, [plan.id, ref]);
    }
    if (!plan.depsGiven && plan.wave !== undefined && plan.wave > 1) {
      for (const other of plans) {
        if (other.phase === plan.phase && other.wave !== undefined && other.wave < plan.wave) add(other, plan.src?.lineOf(['wave']), 'is in a later wave than');
      }
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

  const tasks: TaskInput[] = selected.map((p) => toTask(p, deps.get(p)!, rootDir, issues));
  const plan: PlanInput = {
    name: layout.only ? path.basename(layout.only.file ?? layout.only.phaseDir).replace(/-PLAN\.md$/i, '') : path.basename(rootDir),
    source: { format: 'gsd', path: target },
    phaseOrder: unique(tasks.flatMap((t) => (t.phase ? [t.phase] : []))),
    tasks,
  };
  return { plan, rootDir, issues: issues.issues };
}

async function readPlan(file: string, phase: GsdPhase, selected: boolean, issues: IssueList): Promise<GsdPlan> {
  const text = await readFile(file, 'utf8');
  const parts = splitFrontMatter(text);
  const stem = PLAN_FILE.exec(path.basename(file))![1];
  const numbered = /^(\d+(?:\.\d+)*)-(.+)$/.exec(stem);
  const id = toTaskId(numbered ? stem : `${phase.number}-${stem}`);
  const number = /(\d+[a-z]?)$/i.exec(stem)?.[1] ?? stem;
  const plan: GsdPlan = {
    id,
    file,
    phase,
    number,
    selected,
    done: existsSync(path.join(path.dirname(file), `${stem}-SUMMARY.md`)),
    deps: [],
    depsGiven: false,
    fm: {},
    body: parts.body,
    bodyLine: parts.bodyLine,
  };
  if (parts.frontMatter === undefined) return plan;
  const src = parseYaml(parts.frontMatter, parts.frontMatterLine);
  plan.src = src;
  for (const e of src.errors) issues.add(file, e.line, `invalid front matter: ${e.message}`, [id]);
  if (!isRecord(src.data)) return plan;
  plan.fm = src.data;

  for (const key of Object.keys(plan.fm)) {
    if (FRONT_MATTER_FIELDS.includes(key)) continue;
    const hint = nearestField(key, FRONT_MATTER_FIELDS);
    if (hint) issues.add(file, src.lineOf([key]), `plan "${id}": unknown front matter field "${key}" (did you mean "${hint}"?)`, [id]);
  }

  const wave = plan.fm.wave;
  if (wave !== undefined && wave !== null) {
    const n = typeof wave === 'number' ? wave : Number(String(wave).trim());
    if (Number.isInteger(n) && n >= 1) plan.wave = n;
    else issues.add(file, src.lineOf(['wave']), `plan "${id}": wave must be a positive integer, got ${JSON.stringify(wave)}`, [id]);
  }

  const rawDeps = plan.fm.depends_on;
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

/** Inner text of every `<tag …>…</tag>` block, with the whole block text. */
function blocks(body: string, tag: string): { attrs: string; inner: string; whole: string }[] {
  const re = new RegExp(`<${tag}\\b([^>]*)>([\\s\\S]*?)</${tag}>`, 'g');
  return [...body.matchAll(re)].map((m) => ({ attrs: m[1], inner: m[2], whole: m[0] }));
}

function toTask(p: GsdPlan, deps: GsdPlan[], rootDir: string, issues: IssueList): TaskInput {
  const fm = p.fm;
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(/[,\n]/) : []);
  const files: string[] = [];
  const addPath = (raw: string, key: string): void => {
    const rp = repoPath(raw.replace(/^`|`$/g, ''));
    if (rp) files.push(rp);
    else if (raw.trim() !== '') issues.add(p.file, p.src?.lineOf([key]), `plan "${p.id}": "${raw}" in ${key} is not a repository-relative path`, [p.id]);
  };
  for (const key of ['files_modified', 'files-modified']) for (const f of list(fm[key])) addPath(f, key);

  const objective = blocks(p.body, 'objective')[0];
  const taskBlocks = [...blocks(p.body, 'task'), ...blocks(p.body, 'feature')].sort((a, b) => p.body.indexOf(a.whole) - p.body.indexOf(b.whole));
  for (const t of taskBlocks) {
    const filesTag = blocks(t.inner, 'files')[0];
    if (filesTag) for (const f of filesTag.inner.split(/[,\n]/)) {
      const rp = repoPath(f.replace(/`/g, ''));
      if (rp && !/\s/.test(rp)) files.push(rp);
    }
  }

  const outputs: string[] = [];
  const mustHaves = isRecord(fm.must_haves) ? fm.must_haves : undefined;
  const artifacts = Array.isArray(mustHaves?.artifacts) ? mustHaves.artifacts : [];
  artifacts.forEach((a, i) => {
    const raw = isRecord(a) ? a.path : a;
    const rp = typeof raw === 'string' ? repoPath(raw) : undefined;
    if (rp) outputs.push(rp);
    else issues.add(p.file, p.src?.lineOf(['must_haves', 'artifacts', i]), `plan "${p.id}": must_haves.artifacts[${i}] has no repository-relative "path"`, [p.id]);
  });

  const checkpoints = unique(
    taskBlocks.map((t) => /\btype\s*=\s*["']([^"']+)["']/.exec(t.attrs)?.[1]).filter((t): t is string => !!t && t.startsWith('checkpoint')),
  );

  const success = blocks(p.body, 'success_criteria')[0];
  const sections = [objective?.whole, ...taskBlocks.map((t) => t.whole), success?.whole].filter((s): s is string => !!s);
  const prompt = (sections.length > 0 ? sections.join('\n\n') : p.body).trim();

  const firstTaskName = taskBlocks.map((t) => blocks(t.inner, 'name')[0]?.inner.trim()).find(Boolean);
  const objectiveLine = objective?.inner.split('\n').map((l) => l.trim()).find((l) => l !== '');
  let title = objectiveLine ?? firstTaskName ?? `GSD plan ${p.id}`;
  if (title.length > 200) title = `${title.slice(0, 197)}...`;

  const fmPhase = fm.phase === undefined || fm.phase === null ? undefined : String(fm.phase);
  return compact({
    id: p.id,
    title,
    prompt: prompt === '' ? title : prompt,
    dependsOn: deps.map((d) => d.id),
    phase: p.phase.inPhasesDir ? p.phase.name : (fmPhase ?? p.phase.name),
    files: unique(files),
    outputs: unique(outputs),
    done: p.done,
    checkpoint: checkpoints.length > 0 ? checkpoints.join(', ') : undefined,
    source: { file: path.relative(rootDir, p.file).split(path.sep).join('/'), line: 1 },
  });
}
