/**
 * A `tasks/` directory in the style of seed 003: `tasks/**\/*.md`, one task per file, YAML front matter with
 * `dependencies`, `inputs`, `outputs`, `phase`, `priority`, `timeout`…, the Markdown body being the prompt.
 *
 * Rules (docs/plans.md has the long form):
 * - id: front matter `id`, else the path under `tasks/` without `.md`; either way made safe by `toTaskId`
 *   (`01-analysis/01-run-tests` → `01-analysis.01-run-tests`). Dependencies may use either spelling.
 * - phase: front matter `phase`, else the first directory under `tasks/`.
 * - an input that is another task's output (as written, or under that task's path) adds a dependency on it.
 * - done: front matter `status: completed|done` or `done: true`, or `workspace/status/<path id>.json` next to the
 *   tasks directory says `"status": "completed"` (the seed's own status files).
 * - `README.md` and `TEMPLATE.md` are not tasks; neither is anything under a dot-directory.
 */
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { toTaskId, type PlanInput, type TaskInput } from '../../shared/plan';
import { IssueList, nearestField } from './errors';
import { parseDuration, parsePriority, repoPath, toArgv, unique } from './fields';
import { compact } from './native';
import type { ImportResult } from './result';
import { isRecord, parseYaml, splitFrontMatter, type YamlSource } from './yamlSource';

const FIELDS = [
  'id', 'title', 'dependencies', 'inputs', 'outputs', 'phase', 'priority', 'timeout', 'files', 'verify',
  'backend', 'model', 'script', 'command', 'maxTurns', 'done', 'status',
];
const SKIP = new Set(['readme.md', 'template.md']);
const BACKENDS = ['anthropic', 'scripted', 'command'] as const;

interface DirTask {
  file: string;
  /** Path under tasks/ without `.md`, with `/`. */
  pathId: string;
  id: string;
  rawId?: string;
  fm: Record<string, unknown>;
  src?: YamlSource;
  body: string;
  bodyLine: number;
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

export async function importTasksDir(dir: string): Promise<ImportResult> {
  const issues = new IssueList();
  const rootDir = path.dirname(dir);
  const files = await listMarkdown(dir);
  const tasks: DirTask[] = [];
  for (const rel of files) {
    const file = path.join(dir, rel);
    const parts = splitFrontMatter(await readFile(file, 'utf8'));
    const pathId = rel.replace(/\.md$/i, '');
    const t: DirTask = { file, pathId, id: toTaskId(pathId), fm: {}, body: parts.body, bodyLine: parts.bodyLine };
    if (parts.frontMatter !== undefined) {
      const src = parseYaml(parts.frontMatter, parts.frontMatterLine);
      t.src = src;
      for (const e of src.errors) issues.add(file, e.line, `invalid front matter: ${e.message}`, [t.id]);
      if (isRecord(src.data)) t.fm = src.data;
      else if (src.errors.length === 0 && src.data !== undefined && src.data !== null) issues.add(file, 2, 'front matter must be a mapping', [t.id]);
    }
    if (t.fm.id !== undefined && t.fm.id !== null) {
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

  // Every spelling a dependency may use: path id, safe id, explicit id, with or without tasks/ and .md.
  const lookup = new Map<string, DirTask>();
  for (const t of tasks) for (const key of [t.pathId, t.id, t.rawId]) if (key !== undefined && !lookup.has(key)) lookup.set(key, t);
  const resolve = (ref: string): DirTask | undefined => {
    const r = ref.trim().replace(/^\.\//, '').replace(/^tasks\//, '').replace(/\.md$/i, '');
    return lookup.get(r) ?? lookup.get(toTaskId(r));
  };

  const statusDir = path.join(rootDir, 'workspace', 'status');
  const out: TaskInput[] = [];
  for (const t of tasks) out.push(await toTask(t, tasks, resolve, rootDir, statusDir, issues));

  const plan: PlanInput = {
    name: path.basename(rootDir),
    source: { format: 'tasks-dir', path: dir },
    phaseOrder: unique(out.flatMap((t) => (t.phase ? [t.phase] : []))),
    tasks: out,
  };
  return { plan, rootDir, issues: issues.issues };
}

async function toTask(
  t: DirTask,
  all: DirTask[],
  resolve: (ref: string) => DirTask | undefined,
  rootDir: string,
  statusDir: string,
  issues: IssueList,
): Promise<TaskInput> {
  const fm = t.fm;
  const line = (key: string, i?: number): number | undefined => t.src?.lineOf(i === undefined ? [key] : [key, i]);
  const bad = (key: string, what: string, i?: number): void => {
    issues.add(t.file, line(key, i), `task "${t.id}": ${key} ${what}`, [t.id]);
  };
  const strings = (key: string): string[] => {
    const v = fm[key];
    if (v === undefined || v === null) return [];
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
  if (fm.priority !== undefined) {
    priority = parsePriority(fm.priority);
    if (priority === undefined) bad('priority', 'must be 1..10 or one of critical, high, medium, low');
  }
  let timeoutSeconds: number | undefined;
  if (fm.timeout !== undefined) {
    timeoutSeconds = parseDuration(fm.timeout);
    if (timeoutSeconds === undefined) bad('timeout', 'must be seconds or a duration like "30s", "5m", "8h"');
  }
  let backend: (typeof BACKENDS)[number] | undefined;
  if (fm.backend !== undefined) {
    backend = BACKENDS.find((b) => b === fm.backend);
    if (!backend) bad('backend', `must be one of ${BACKENDS.join(', ')}`);
  }
  const argvField = (key: string): string[] | undefined => {
    const v = fm[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string' && v.trim() !== '') return toArgv(v);
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return toArgv(v as string[]);
    bad(key, 'must be a command string or a list of strings');
    return undefined;
  };
  const maxTurns = typeof fm.maxTurns === 'number' && Number.isInteger(fm.maxTurns) && fm.maxTurns > 0 ? fm.maxTurns : undefined;
  if (fm.maxTurns !== undefined && maxTurns === undefined) bad('maxTurns', 'must be a positive integer');

  const status = typeof fm.status === 'string' ? fm.status.toLowerCase() : undefined;
  const done = fm.done === true || status === 'completed' || status === 'done' || (await statusFileSaysDone(statusDir, t.pathId));

  const heading = /^#\s+(.+)$/m.exec(t.body)?.[1]?.trim();
  let title = (typeof fm.title === 'string' && fm.title.trim()) || heading || t.pathId.split('/').pop()!;
  if (title.length > 200) title = `${title.slice(0, 197)}...`;
  const prompt = t.body.trim() || title;
  const command = argvField('command');
  const script = typeof fm.script === 'string' ? path.resolve(path.dirname(t.file), fm.script) : undefined;
  const phase = fm.phase !== undefined && fm.phase !== null ? String(fm.phase) : t.pathId.includes('/') ? t.pathId.split('/')[0] : undefined;

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
    model: typeof fm.model === 'string' ? fm.model : undefined,
    script,
    command,
    timeoutSeconds,
    maxTurns,
    done,
    source: { file: path.relative(rootDir, t.file).split(path.sep).join('/'), line: 1 },
  });
}

/** Whether task `o` declares `want` as an output, written plainly or under its own path (seed 003's layout). */
function producesPath(o: DirTask, want: string): boolean {
  const v = o.fm.outputs;
  const outs = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
  return outs.some((raw) => {
    const p = repoPath(raw);
    return p !== undefined && (p === want || `${o.pathId}/${p}` === want);
  });
}

async function statusFileSaysDone(statusDir: string, pathId: string): Promise<boolean> {
  const text = await readFile(path.join(statusDir, `${pathId}.json`), 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  try {
    const status: unknown = JSON.parse(text);
    return isRecord(status) && status.status === 'completed';
  } catch {
    // A half-written status file is not evidence of completion.
    return false;
  }
}
