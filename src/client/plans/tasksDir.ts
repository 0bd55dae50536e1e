/**
 * A `tasks/` directory in the style of seed 003: `tasks/**\/*.md`, one task per file, YAML front matter with
 * `dependencies`, `inputs`, `outputs`, `phase`, `priority`, `timeout`…, the Markdown body being the prompt. spec-kitty
 * work packages are read here too (workPackages.ts), and per-phase settings come from `tasks/phases.yaml`
 * (phaseConfig.ts).
 *
 * Rules (docs/plans.md has the long form):
 * - id: front matter `id` (or a work-package id), else the path under `tasks/` without `.md` (lane folders left
 *   out); either way made safe by `toTaskId` (`01-analysis/01-run-tests` → `01-analysis.01-run-tests`).
 *   Dependencies may use any of these spellings.
 * - phase: front matter `phase`, else the first directory under `tasks/`.
 * - an input that is another task's output (as written, under that task's path, or under `workspace/outputs/`), or
 *   lies under `workspace/outputs/<that task's path>/`, adds a dependency on it.
 * - done: front matter `status: completed|done`, `done: true` or `lane: done`, or its status file
 *   (`<statusDir>/<path id>.json`, statusDir default `workspace/status` beside tasks/) says `"status": "completed"`.
 * - `README.md` and `TEMPLATE.md` are not tasks; neither is anything under a dot-directory.
 */
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { statusKeyOf } from '../../activities/statusFiles';
import { toTaskId, type PlanInput, type TaskInput } from '../../shared/plan';
import { IssueList, nearestField } from './errors';
import { parseDuration, parsePriority, repoPath, toArgv, unique } from './fields';
import { parseLenient, type LenientYaml } from './lenientYaml';
import { compact } from './native';
import { readPhaseConfig, settingsFor, type PhaseConfig } from './phaseConfig';
import type { ImportResult } from './result';
import { isDoneWord, readStatusJson, splitLane, workPackageId } from './workPackages';
import { isRecord, splitFrontMatter } from './yamlSource';

const FIELDS = [
  'id', 'title', 'dependencies', 'inputs', 'outputs', 'phase', 'priority', 'timeout', 'timeout_hours', 'files', 'verify',
  'backend', 'model', 'script', 'command', 'maxTurns', 'done', 'status',
  // spec-kitty keys cadre reads or knowingly ignores
  'work_package_id', 'lane', 'subtasks', 'assignee', 'agent', 'shell_pid', 'history', 'review_status', 'reviewed_by',
];
/** Keys whose loss would change the run's order or what is checked: unparseable, they are errors. */
const CRITICAL = ['id', 'dependencies', 'inputs', 'outputs', 'phase', 'files', 'verify', 'command', 'backend', 'work_package_id'];
const SKIP = new Set(['readme.md', 'template.md']);
const BACKENDS = ['anthropic', 'scripted', 'command'] as const;

interface DirTask {
  file: string;
  /** Path under tasks/ without `.md`, with `/`, lane folder left out. */
  pathId: string;
  id: string;
  rawId?: string;
  lane?: string;
  fm: Record<string, unknown>;
  src?: LenientYaml;
  body: string;
}

async function listMarkdown(dir: string, rel = ''): Promise<string[]> {
  const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.name.startsWith('.')) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listMarkdown(dir, r)));
    else if (e.isFile() && /\.md$/i.test(e.name) && !SKIP.has(e.name.toLowerCase())) out.push(r);
  }
  return out;
}

/** Whether `dir` holds task files with front matter (the tasks/ format). */
export async function looksLikeTasksDir(dir: string): Promise<boolean> {
  const files = await listMarkdown(dir).catch(() => [] as string[]);
  for (const f of files.slice(0, 20)) {
    const text = await readFile(path.join(dir, f), 'utf8');
    if (splitFrontMatter(text).frontMatter !== undefined) return true;
  }
  return false;
}

/** Whether `dir` holds spec-kitty work packages (front matter with `work_package_id`). */
export async function looksLikeWorkPackages(dir: string): Promise<boolean> {
  const files = await listMarkdown(dir).catch(() => [] as string[]);
  for (const f of files.slice(0, 20)) {
    const fm = splitFrontMatter(await readFile(path.join(dir, f), 'utf8')).frontMatter;
    if (fm !== undefined && /^work_package_id\s*:/m.test(fm)) return true;
  }
  return false;
}

export async function importTasksDir(dir: string, opts: { statusDir?: string } = {}): Promise<ImportResult> {
  const issues = new IssueList();
  const rootDir = path.dirname(dir);
  const files = await listMarkdown(dir);
  const workPackages = await looksLikeWorkPackages(dir);
  const tasks: DirTask[] = [];
  for (const rel of files) {
    const file = path.join(dir, rel);
    const parts = splitFrontMatter(await readFile(file, 'utf8'));
    const { lane, rest } = workPackages ? splitLane(rel) : { lane: undefined, rest: rel };
    const pathId = rest.replace(/\.md$/i, '');
    const t: DirTask = { file, pathId, id: toTaskId(pathId), lane, fm: {}, body: parts.body };
    if (parts.frontMatter !== undefined) {
      const src = parseLenient(parts.frontMatter, parts.frontMatterLine, CRITICAL);
      t.src = src;
      t.fm = src.data;
      for (const e of src.errors) issues.add(file, e.line, `task "${t.id}": ${e.message}`, [t.id]);
      for (const w of src.warnings) issues.warn(file, w.line, `task "${t.id}": ${w.message}`, [t.id]);
    }
    if (workPackages) {
      const wp = workPackageId(t.fm);
      if (!wp) {
        issues.warn(file, 1, 'not a work package (no work_package_id in its front matter): not a task', []);
        continue;
      }
      t.rawId = wp;
      t.id = toTaskId(wp);
    }
    if (t.fm.id !== undefined && t.fm.id !== null && t.fm.id !== '') {
      t.rawId = String(t.fm.id);
      t.id = toTaskId(t.rawId);
    }
    for (const key of Object.keys(t.fm)) {
      if (FIELDS.includes(key)) continue;
      const hint = nearestField(key, FIELDS);
      if (hint) issues.add(file, t.src?.lineOf([key]), `task "${t.id}": unknown front matter field "${key}" (did you mean "${hint}"?)`, [t.id]);
    }
    tasks.push(t);
  }

  // Lane folders are states, not order: work packages go in id order whatever lane they are in.
  if (workPackages) tasks.sort((a, b) => (a.pathId < b.pathId ? -1 : a.pathId > b.pathId ? 1 : 0));

  // Every spelling a dependency may use: path id, safe id, explicit id, with or without tasks/ and .md.
  const lookup = new Map<string, DirTask>();
  for (const t of tasks) for (const key of [t.pathId, t.id, t.rawId]) if (key !== undefined && !lookup.has(key)) lookup.set(key, t);
  const resolve = (ref: string): DirTask | undefined => {
    const r = ref.trim().replace(/^\.\//, '').replace(/^tasks\//, '').replace(/\.md$/i, '');
    const hit = lookup.get(r) ?? lookup.get(toTaskId(r)) ?? lookup.get(splitLane(r).rest);
    if (hit || !workPackages) return hit;
    const wp = /^(WP\d+[a-z]?)\b/i.exec(r)?.[1];
    return wp ? tasks.find((t) => t.rawId?.toLowerCase() === wp.toLowerCase()) : undefined;
  };

  const statusDir = opts.statusDir ? path.resolve(opts.statusDir) : path.join(rootDir, 'workspace', 'status');
  const kittyStatus = workPackages ? await readStatusJson([dir, rootDir]) : { done: new Set<string>() };
  const config = await readPhaseConfig(dir, issues);
  const out: TaskInput[] = [];
  for (const t of tasks) {
    const task = await toTask(t, tasks, resolve, rootDir, statusDir, config, issues);
    if (t.rawId && kittyStatus.done.has(t.rawId)) task.done = true;
    out.push(task);
  }

  const phaseOrder = unique(out.flatMap((t) => (t.phase ? [t.phase] : [])));
  const phaseLimits: Record<string, number> = {};
  const used = new Set<string>();
  for (const phase of phaseOrder) {
    const s = settingsFor(config, phase);
    if (!s) continue;
    for (const n of s.names) used.add(n);
    if (s.settings.limit !== undefined) phaseLimits[phase] = s.settings.limit;
  }
  for (const [name, s] of config.phases) {
    if (!used.has(name)) issues.add(config.file, s.line, `phase "${name}" has settings but no task is in it (phases: ${phaseOrder.join(', ') || 'none'})`);
  }
  out.push(...(await phaseGates(out, phaseOrder, config, statusDir)));

  const plan: PlanInput = compact({
    name: path.basename(rootDir),
    source: { format: 'tasks-dir' as const, path: dir },
    maxConcurrency: config.maxConcurrency,
    failFast: config.failFast,
    phaseLimits,
    phaseOrder,
    tasks: out,
  });
  return { plan, rootDir, issues: issues.issues, warnings: issues.warnings };
}

/**
 * Phase completion gates (seed 003 "Phase 1: Analysis Complete When"): a phase with a `gate` check or an
 * `approval` gets one more task, `<phase>-gate`, which depends on every task of the phase; every task of each later
 * phase depends on it. A check gate is a command task running the check (`sh -c`); an approval gate waits for a
 * person (the task's `gate`). Both: the check runs, then the approval is asked.
 */
async function phaseGates(tasks: TaskInput[], phaseOrder: string[], config: PhaseConfig, statusDir: string): Promise<TaskInput[]> {
  const gates: TaskInput[] = [];
  phaseOrder.forEach((phase, k) => {
    const s = settingsFor(config, phase)?.settings;
    if (!s?.gate && !s?.approval) return;
    const id = toTaskId(`${phase}-gate`);
    const members = tasks.filter((t) => t.phase === phase && t.id !== id);
    for (const later of tasks.filter((t) => t.phase !== undefined && phaseOrder.indexOf(t.phase) > k)) {
      later.dependsOn = unique([...(later.dependsOn ?? []), id]);
    }
    gates.push(
      compact({
        id,
        title: `Phase ${phase} complete`,
        prompt: s.approval ?? `Phase completion gate of ${phase}: ${s.gate}`,
        dependsOn: members.map((t) => t.id),
        phase,
        backend: 'command' as const,
        command: s.gate ? ['sh', '-c', s.gate] : ['true'],
        gate: s.approval ? { kind: 'approval' as const, prompt: s.approval } : undefined,
        statusKey: `${phase}/gate`,
        source: config.file ? { file: path.basename(path.dirname(config.file)) + '/' + path.basename(config.file), line: s.line } : undefined,
      }),
    );
  });
  for (const g of gates) g.done = await statusFileSaysDone(statusDir, [g.statusKey!]);
  return gates;
}

async function toTask(
  t: DirTask,
  all: DirTask[],
  resolve: (ref: string) => DirTask | undefined,
  rootDir: string,
  statusDir: string,
  config: PhaseConfig,
  issues: IssueList,
): Promise<TaskInput> {
  const fm = t.fm;
  const line = (key: string, i?: number): number | undefined => t.src?.lineOf(i === undefined ? [key] : [key, i]);
  const bad = (key: string, what: string, i?: number): void => {
    issues.add(t.file, line(key, i), `task "${t.id}": ${key} ${what}`, [t.id]);
  };
  /** A string field; an empty string (spec-kitty's `model: ''`) means "not set". */
  const text = (key: string): string | undefined => (typeof fm[key] === 'string' && (fm[key] as string).trim() !== '' ? (fm[key] as string).trim() : undefined);
  const strings = (key: string): string[] => {
    const v = fm[key];
    if (v === undefined || v === null || v === '') return [];
    if (typeof v === 'string' || typeof v === 'number') return [String(v)];
    if (Array.isArray(v)) return v.map(String);
    bad(key, 'must be a list');
    return [];
  };
  const paths = (key: string): string[] =>
    strings(key).flatMap((raw, i) => {
      const p = repoPath(raw);
      if (!p) bad(key, `entry "${raw}" is not a repository-relative path`, i);
      return p ? [p] : [];
    });

  const dependsOn: string[] = [];
  strings('dependencies').forEach((ref, i) => {
    const dep = resolve(ref);
    if (dep) dependsOn.push(dep.id);
    else issues.add(t.file, line('dependencies', i), `task "${t.id}" depends on unknown task "${ref}"`, [t.id, ref]);
  });
  for (const input of strings('inputs')) {
    const want = repoPath(input);
    if (!want) continue;
    const producer = all.find((o) => o !== t && producesPath(o, want));
    if (producer) dependsOn.push(producer.id);
  }

  const outputs = paths('outputs');
  const files = unique([...paths('files'), ...outputs]);

  let priority: number | undefined;
  if (fm.priority !== undefined && fm.priority !== null && fm.priority !== '') {
    priority = parsePriority(fm.priority);
    if (priority === undefined) bad('priority', 'must be 1..10 or one of critical, high, medium, low, P0..P3');
  }
  const phase = fm.phase !== undefined && fm.phase !== null && fm.phase !== '' ? String(fm.phase) : t.pathId.includes('/') ? t.pathId.split('/')[0] : undefined;
  let timeoutSeconds: number | undefined;
  if (fm.timeout !== undefined && fm.timeout_hours !== undefined) bad('timeout_hours', 'and timeout are both given; give one');
  if (fm.timeout !== undefined) {
    timeoutSeconds = parseDuration(fm.timeout);
    if (timeoutSeconds === undefined) bad('timeout', 'must be seconds or a duration like "30s", "5m", "8h"');
  } else if (fm.timeout_hours !== undefined) {
    const h = typeof fm.timeout_hours === 'number' ? fm.timeout_hours : Number(String(fm.timeout_hours));
    if (Number.isFinite(h) && h > 0) timeoutSeconds = h * 3600;
    else bad('timeout_hours', 'must be a positive number of hours');
  } else if (phase) {
    timeoutSeconds = settingsFor(config, phase)?.settings.timeoutSeconds;
  }
  let backend: (typeof BACKENDS)[number] | undefined;
  if (text('backend') !== undefined) {
    backend = BACKENDS.find((b) => b === fm.backend);
    if (!backend) bad('backend', `must be one of ${BACKENDS.join(', ')}`);
  }
  const argvField = (key: string): string[] | undefined => {
    const v = fm[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'string' && v.trim() !== '') return toArgv(v);
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return toArgv(v as string[]);
    bad(key, 'must be a command string or a list of strings');
    return undefined;
  };
  const maxTurns = typeof fm.maxTurns === 'number' && Number.isInteger(fm.maxTurns) && fm.maxTurns > 0 ? fm.maxTurns : undefined;
  if (fm.maxTurns !== undefined && maxTurns === undefined) bad('maxTurns', 'must be a positive integer');

  const status = typeof fm.status === 'string' ? fm.status.toLowerCase() : undefined;
  const done =
    fm.done === true ||
    status === 'completed' ||
    status === 'done' ||
    isDoneWord(fm.lane) ||
    t.lane === 'done' ||
    (await statusFileSaysDone(statusDir, unique([t.pathId, statusKeyOf(t.id, phase), t.id])));

  const heading = /^#\s+(.+)$/m.exec(t.body)?.[1]?.trim();
  let title = text('title') || heading || t.pathId.split('/').pop()!;
  if (title.length > 200) title = `${title.slice(0, 197)}...`;
  const prompt = t.body.trim() || title;
  const command = argvField('command');
  const script = text('script') !== undefined ? path.resolve(path.dirname(t.file), text('script')!) : undefined;

  return compact({
    id: t.id,
    title,
    prompt,
    dependsOn: unique(dependsOn),
    priority,
    phase,
    files,
    outputs,
    verify: argvField('verify'),
    backend: backend ?? (command ? 'command' : script ? 'scripted' : undefined),
    model: text('model'),
    script,
    command,
    timeoutSeconds,
    maxTurns,
    done,
    statusKey: t.pathId,
    source: { file: path.relative(rootDir, t.file).split(path.sep).join('/'), line: 1 },
  });
}

const OUTPUTS_ROOT = 'workspace/outputs/';
const underOutputs = (p: string): string => (p.startsWith(OUTPUTS_ROOT) ? p.slice(OUTPUTS_ROOT.length) : p);

/**
 * Whether task `o` produces `want`: one of its outputs as written, or under its own path (seed 003 keeps a task's
 * outputs in `workspace/outputs/<task id>/`), with or without that `workspace/outputs/` prefix; or `want` lies in
 * `workspace/outputs/<o's path>/` even if `o` does not list it.
 */
function producesPath(o: DirTask, want: string): boolean {
  const w = underOutputs(want);
  if (want.startsWith(OUTPUTS_ROOT) && w.startsWith(`${o.pathId}/`)) return true;
  const v = o.fm.outputs;
  const outs = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
  return outs.some((raw) => {
    const p = repoPath(raw);
    if (p === undefined) return false;
    const q = underOutputs(p);
    return p === want || q === w || `${o.pathId}/${q}` === w;
  });
}

/** Whether one of the status files `<statusDir>/<key>.json` says completed (the first that exists decides). */
async function statusFileSaysDone(statusDir: string, keys: string[]): Promise<boolean> {
  for (const key of keys) {
    const text = await readFile(path.join(statusDir, `${key}.json`), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      const status: unknown = JSON.parse(text);
      return isRecord(status) && status.status === 'completed';
    } catch {
      // A half-written status file is not evidence of completion.
      return false;
    }
  }
  return false;
}
