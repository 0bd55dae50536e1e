/**
 * `cadre validate <plan>`: import a plan, run every check, and show what a run would do with it (waves, critical
 * path) without touching Temporal. Exit code 0 when the plan is valid, 2 when it is not.
 */
import type { Plan } from '../../shared/plan';
import { criticalPath, topologicalLayers } from '../../shared/dag';
import { displayPath, formatIssue, PlanError } from '../plans/errors';
import { loadPlan } from '../plans/load';

export interface ValidateOptions {
  json?: boolean;
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
}

/** The facts `validate` prints, computed from a valid plan. */
export function summarizePlan(plan: Plan): PlanSummary {
  const phases = plan.phaseOrder.map((name) => {
    const tasks = plan.tasks.filter((t) => t.phase === name);
    return { name, tasks: tasks.length, done: tasks.filter((t) => t.done).length, limit: plan.phaseLimits[name] };
  });
  const cp = criticalPath(plan.tasks);
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
    waves: topologicalLayers(plan.tasks),
    criticalPath: { ids: cp.ids, length: cp.weight },
    checkpoints: plan.tasks.flatMap((t) => (t.checkpoint ? [{ id: t.id, checkpoint: t.checkpoint }] : [])),
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
  return lines;
}

export async function validateCommand(
  planPath: string,
  opts: ValidateOptions,
  out: (line: string) => void = console.log,
): Promise<number> {
  let plan: Plan;
  try {
    plan = await loadPlan(planPath);
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
  const summary = summarizePlan(plan);
  if (opts.json) out(JSON.stringify(summary));
  else for (const line of renderSummary(summary)) out(line);
  return 0;
}
