/**
 * `cadre validate <plan>`: import a plan, run every check, and show what a run would do with it (waves, critical
 * path) without touching Temporal. Exit code 0 when the plan is valid, 2 when it is not.
 */
import { DEFAULT_CACHES, DEFAULT_VERIFY_ATTEMPTS, type Bootstrap, type Check, type Gate, type Plan, type PlanFormat } from '../../shared/plan';
import { criticalPath, topologicalLayers } from '../../shared/dag';
import { displayPath, formatIssue, PlanError, type PlanIssue } from '../plans/errors';
import { importPlan, parseFormat } from '../plans/load';
import { backendOf, type BackendChoice } from '../backends/choice';
import { loadConfig } from '../../node/config';

export interface ValidateOptions {
  json?: boolean;
  /** `--format gsd|speckit|tasks-dir|native`: skip detection. */
  format?: string;
  /** `--status-dir`: seed-003 status files to take done states from. */
  statusDir?: string;
}

/** One task as a run would see it: what `validate --json` lists per task. */
export interface TaskSummary {
  id: string;
  title: string;
  phase?: string;
  dependsOn: string[];
  files: string[];
  outputs: string[];
  /** Runs beside the other tasks of its wave: no declared file overlaps another task of that wave. */
  parallel: boolean;
  /** The backend the task will run on, with where it comes from when not its own (src/client/backends/choice.ts). */
  backend: string;
  priority: number;
  done: boolean;
  checks: Check[];
  gate?: Gate;
  timeoutSeconds?: number;
  verify?: string[];
  /** Fix-and-retry: attempts at passing the task's verification (outputs, checks, verify), for a task that has one. */
  verifyAttempts?: number;
  tdd?: boolean;
  /** The workspace setup the task gets (its own, or the plan's defaults), with its dependency caches. */
  bootstrap?: Bootstrap & { from: 'task' | 'defaults' };
  source?: { file: string; line?: number };
}

export interface PlanSummary {
  valid: true;
  name: string;
  format: Plan['source']['format'];
  path: string;
  tasks: number;
  done: number;
  maxConcurrency: number;
  phases: { name: string; tasks: number; done: number; limit?: number }[];
  /** Tasks without a phase, when the plan has phases. */
  unphased: number;
  waves: string[][];
  criticalPath: { ids: string[]; length: number };
  checkpoints: { id: string; checkpoint: string }[];
  /** Tasks that wait for a person's approval. */
  gates: { id: string; prompt: string }[];
  /** How many machine checks the plan's tasks carry. */
  checks: number;
  taskList: TaskSummary[];
  warnings: PlanIssue[];
}

/** The facts `validate` prints, computed from a valid plan. */
export function summarizePlan(plan: Plan, warnings: PlanIssue[] = [], choice: BackendChoice = { configured: loadConfig().backend }): PlanSummary {
  const phases = plan.phaseOrder.map((name) => {
    const tasks = plan.tasks.filter((t) => t.phase === name);
    return { name, tasks: tasks.length, done: tasks.filter((t) => t.done).length, limit: plan.phaseLimits[name] };
  });
  const cp = criticalPath(plan.tasks);
  const waves = topologicalLayers(plan.tasks);
  const waveOf = new Map(waves.flatMap((ids, i) => ids.map((id) => [id, i] as const)));
  const byId = new Map(plan.tasks.map((t) => [t.id, t]));
  const overlapsInWave = (id: string): boolean => {
    const t = byId.get(id)!;
    const peers = waves[waveOf.get(id) ?? 0] ?? [];
    return peers.some((o) => o !== id && byId.get(o)!.files.some((f) => t.files.includes(f)));
  };
  const taskList: TaskSummary[] = plan.tasks.map((t) => {
    const s: TaskSummary = {
      id: t.id,
      title: t.title,
      phase: t.phase,
      dependsOn: t.dependsOn,
      files: t.files,
      outputs: t.outputs,
      parallel: (waves[waveOf.get(t.id) ?? 0]?.length ?? 1) > 1 && !overlapsInWave(t.id),
      backend: t.backend ?? (t.command?.length || t.script ? backendOf(plan, t, choice) : plan.defaults.backend ? `${plan.defaults.backend} (plan default)` : `${choice.configured} (CADRE_BACKEND)`),
      priority: t.priority,
      done: t.done,
      checks: t.checks ?? [],
      gate: t.gate,
      timeoutSeconds: t.timeoutSeconds ?? plan.defaults.timeoutSeconds,
      verify: t.verify,
      verifyAttempts: t.outputs.length || t.checks?.length || t.verify ? (t.verifyAttempts ?? plan.defaults.verifyAttempts ?? DEFAULT_VERIFY_ATTEMPTS) : undefined,
      tdd: t.tdd,
      bootstrap: t.bootstrap ? { ...t.bootstrap, from: 'task' } : plan.defaults.bootstrap ? { ...plan.defaults.bootstrap, from: 'defaults' } : undefined,
      source: t.source,
    };
    return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as unknown as TaskSummary;
  });
  return {
    valid: true,
    name: plan.name,
    format: plan.source.format,
    path: plan.source.path,
    tasks: plan.tasks.length,
    done: plan.tasks.filter((t) => t.done).length,
    maxConcurrency: plan.maxConcurrency,
    phases,
    unphased: phases.length > 0 ? plan.tasks.filter((t) => !t.phase).length : 0,
    waves,
    criticalPath: { ids: cp.ids, length: cp.weight },
    checkpoints: plan.tasks.flatMap((t) => (t.checkpoint ? [{ id: t.id, checkpoint: t.checkpoint }] : [])),
    gates: plan.tasks.flatMap((t) => (t.gate ? [{ id: t.id, prompt: t.gate.prompt }] : [])),
    checks: plan.tasks.reduce((n, t) => n + (t.checks?.length ?? 0), 0),
    taskList,
    warnings,
  };
}

const MAX_WAVES_SHOWN = 40;
const MAX_IDS_SHOWN = 8;

/** `a, b, c, … (+12)`: the first ids of a long list and how many were left out. */
export function abbreviateIds(ids: readonly string[], max = MAX_IDS_SHOWN): string {
  if (ids.length <= max) return ids.join(', ');
  return `${ids.slice(0, max).join(', ')}, … (+${ids.length - max})`;
}

/** `a -> b -> … -> y -> z`: both ends of a long chain. */
export function abbreviateChain(ids: readonly string[], max = 12): string {
  if (ids.length <= max) return ids.join(' -> ');
  const half = Math.floor(max / 2);
  return [...ids.slice(0, half), `… (${ids.length - 2 * half} more)`, ...ids.slice(-half)].join(' -> ');
}

export function renderSummary(s: PlanSummary): string[] {
  const lines: string[] = [];
  lines.push(`plan ${s.name}: valid`);
  lines.push(`format: ${s.format} (${displayPath(s.path)})`);
  lines.push(`tasks: ${s.tasks} (${s.done} already done)`);
  lines.push(`max concurrency: ${s.maxConcurrency}`);
  if (s.phases.length > 0) {
    lines.push(`phases: ${s.phases.length}`);
    const width = Math.max(...s.phases.map((p) => p.name.length), s.unphased > 0 ? '(no phase)'.length : 0);
    for (const p of s.phases) {
      const extra = [p.done > 0 ? `${p.done} done` : '', p.limit !== undefined ? `limit ${p.limit}` : ''].filter(Boolean).join(', ');
      lines.push(`  ${p.name.padEnd(width)}  ${p.tasks} task${p.tasks === 1 ? '' : 's'}${extra ? ` (${extra})` : ''}`);
    }
    if (s.unphased > 0) lines.push(`  ${'(no phase)'.padEnd(width)}  ${s.unphased} task${s.unphased === 1 ? '' : 's'}`);
  }
  lines.push(`waves: ${s.waves.length}`);
  const shown = s.waves.slice(0, MAX_WAVES_SHOWN);
  const w = String(shown.length).length;
  shown.forEach((ids, i) => lines.push(`  ${String(i + 1).padStart(w)}. ${abbreviateIds(ids)}`));
  if (s.waves.length > shown.length) lines.push(`  … ${s.waves.length - shown.length} more waves (--json shows all)`);
  lines.push(`critical path: ${s.criticalPath.length} task${s.criticalPath.length === 1 ? '' : 's'}: ${abbreviateChain(s.criticalPath.ids)}`);
  for (const c of s.checkpoints) lines.push(`checkpoint: ${c.id} (${c.checkpoint}) needs a person`);
  for (const g of s.gates) lines.push(`gate: ${g.id} waits for approval: ${g.prompt.split('\n')[0].slice(0, 120)}`);
  const checked = s.taskList.filter((t) => t.checks.length > 0 || t.verify);
  if (checked.length > 0) {
    lines.push(`checks: ${s.checks} on ${checked.length} task${checked.length === 1 ? '' : 's'}`);
    for (const t of checked.slice(0, MAX_IDS_SHOWN)) {
      const parts = t.checks.map(describeCheck);
      if (t.verify) parts.push(`verify: ${t.verify.join(' ')}`);
      lines.push(`  ${t.id}: ${abbreviateIds(parts, 4)}`);
    }
    if (checked.length > MAX_IDS_SHOWN) lines.push(`  … ${checked.length - MAX_IDS_SHOWN} more (--json shows all)`);
  }
  const verified = s.taskList.filter((t) => t.verifyAttempts !== undefined);
  if (verified.length > 0) {
    const counts = [...new Set(verified.map((t) => t.verifyAttempts!))];
    const each = counts.length === 1 ? `${counts[0]} per verified task` : abbreviateIds(verified.map((t) => `${t.id} ${t.verifyAttempts}`), 6);
    lines.push(`verify attempts: ${each} (a failed verification goes back to the agent; docs/loops.md)`);
  }
  const boots = new Map<string, string[]>();
  for (const t of s.taskList) {
    if (t.done || !t.bootstrap) continue;
    const text = describeBootstrap(t.bootstrap);
    boots.set(text, [...(boots.get(text) ?? []), t.id]);
  }
  for (const [text, ids] of boots) lines.push(`bootstrap: ${text} (${ids.length === s.taskList.length ? 'every task' : abbreviateIds(ids)})`);
  if (s.warnings.length > 0) {
    lines.push(`warnings: ${s.warnings.length}`);
    for (const w of s.warnings) lines.push(`  warning: ${formatIssue(w)}`);
  }
  return lines;
}

/** `copy .env; setup npm ci; caches node_modules ← package-lock.json (setup skipped when restored)`. */
export function describeBootstrap(b: Bootstrap): string {
  const parts: string[] = [];
  if (b.copy?.length) parts.push(`copy ${b.copy.join(', ')}`);
  if (b.setup) parts.push(`setup ${b.setup.join(' ')}${b.setupTimeoutSeconds ? ` (timeout ${b.setupTimeoutSeconds} s)` : ''}`);
  if (b.caches) {
    const list = b.caches === 'auto'
      ? `auto: ${DEFAULT_CACHES.map((d) => `${d.dir} ← ${d.lockfiles.join(' | ')}`).join('; ')}, each when its lockfile exists`
      : b.caches.map((c) => `${c.dir} ← ${c.key.join(', ')}`).join('; ');
    parts.push(`caches ${list} (${b.setupAlways ? 'setup runs even when all are restored' : 'setup skipped when all are restored'})`);
  }
  return parts.join('; ') || 'nothing';
}

export function describeCheck(c: Check): string {
  switch (c.kind) {
    case 'contains':
      return `${c.path} contains ${JSON.stringify(c.text)}`;
    case 'pattern':
      return `${c.path} matches /${c.regex}/`;
    case 'exports':
      return `${c.path} exports ${c.name}`;
  }
}

export async function validateCommand(
  planPath: string,
  opts: ValidateOptions,
  out: (line: string) => void = console.log,
): Promise<number> {
  let plan: Plan;
  let warnings: PlanIssue[];
  try {
    const format: PlanFormat | undefined = opts.format === undefined ? undefined : parseFormat(opts.format);
    ({ plan, warnings } = await importPlan(planPath, { format, statusDir: opts.statusDir }));
  } catch (err) {
    if (!(err instanceof PlanError)) throw err;
    if (opts.json) {
      out(JSON.stringify({ valid: false, path: planPath, issues: err.issues }));
    } else {
      out(`plan ${planPath}: invalid (${err.issues.length} problem${err.issues.length === 1 ? '' : 's'})`);
      for (const issue of err.issues) out(formatIssue(issue));
    }
    return 2;
  }
  const summary = summarizePlan(plan, warnings);
  if (opts.json) out(JSON.stringify(summary));
  else for (const line of renderSummary(summary)) out(line);
  return 0;
}
