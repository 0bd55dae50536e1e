/**
 * Merge conflicts, pure (docs/loops.md "Merge conflicts"): which resolver a task has, what it is told, and how a
 * failed resolution reads. The shell is resolve.ts; the git side is src/activities/resolve.ts.
 *
 * A task's resolver is its `resolve` field, else the plan defaults', with the task's own backend and model when it
 * names none. A command or scripted backend has no resolver without a `resolve.command` or `resolve.script` of its
 * own (the task's program or script does the task, not a resolution): such a task's conflict fails it as before.
 */
import type { AgentInput } from '../../shared/agent';
import type { ResolutionRecord } from '../../shared/messages';
import { DEFAULT_RESOLVE_ATTEMPTS, MAX_RESOLVE_ATTEMPTS } from '../../shared/planLimits';
import type { Plan, Task } from '../../shared/plan';
import { DEFAULT_BACKEND } from './scheduler';

/** The patch of the resolver loop: runs recorded before it failed a conflicting task at once. */
export const MERGE_RESOLVE = 'merge-resolve';
/** Goals and other texts in the resolver's goal are cut to these lengths (the goal lives in history). */
const GOAL_CHARS = 3000;
const OTHER_GOAL_CHARS = 300;

export interface Resolver {
  backend: AgentInput['backend'];
  model?: string;
  prompt?: string;
  command?: string[];
  script?: string;
  attempts: number;
}

/** The task's resolver, or undefined when it has none (see the top of this file). */
export function resolverOf(plan: Plan, t: Task): Resolver | undefined {
  const r = t.resolve ?? plan.defaults.resolve;
  const backend = r?.backend ?? t.backend ?? plan.defaults.backend ?? DEFAULT_BACKEND;
  if (backend === 'command' && !r?.command?.length) return undefined;
  if (backend === 'scripted' && !r?.script) return undefined;
  const attempts = Math.min(MAX_RESOLVE_ATTEMPTS, Math.max(1, r?.attempts ?? DEFAULT_RESOLVE_ATTEMPTS));
  return {
    backend,
    ...(r?.model ? { model: r.model } : {}),
    ...(r?.prompt ? { prompt: r.prompt } : {}),
    ...(backend === 'command' ? { command: r!.command } : {}),
    ...(backend === 'scripted' ? { script: r!.script } : {}),
    attempts,
  };
}

/** A resolver's workflow id, like a reviewer's `<agent>/review-<n>`. */
export function resolverIdFor(taskAgentId: string, round: number): string {
  return `${taskAgentId}/resolve-${round}`;
}

/** At most three files by name, then how many more. */
export function fileList(files: readonly string[]): string {
  return files.length > 3 ? `${files.slice(0, 3).join(', ')} and ${files.length - 3} more` : files.join(', ');
}

/** The row's text while the run resolves the task's conflict. */
export function resolvingText(files: readonly string[]): string {
  return `resolving conflict in ${fileList(files)}`;
}

/** The task's error when its conflict was not resolved: the files by name (all of them), and the resolver's why. */
export function conflictError(files: readonly string[], why: string): string {
  return `merge conflict in ${files.join(', ')} (resolver: ${why.replace(/\s+/g, ' ').trim()})`.slice(0, 1000);
}

/** Where the conflict is: the refs the resolver's goal and environment name (never the diffs themselves). */
export interface ConflictRefs {
  branch: string;
  integration: string;
  ours: string;
  theirs: string;
  base: string;
  files: string[];
}

export interface GoalOf {
  id: string;
  title: string;
  goal: string;
}

/** The resolver's goal: both goals, the files, and how to read both diffs. */
export function resolverGoal(r: Resolver, task: GoalOf, merged: GoalOf[], c: ConflictRefs): string {
  const oneLine = (s: string, n: number) => s.replace(/\s+/g, ' ').trim().slice(0, n);
  const theirs = merged.length
    ? `What the integration branch brought into these files (theirs), by the tasks already merged:\n${merged
        .map((m) => `- ${m.id}: ${m.title}${m.goal && m.goal !== m.title ? ` — ${oneLine(m.goal, OTHER_GOAL_CHARS)}` : ''}`)
        .join('\n')}`
    : `The integration branch changed these files since ${c.base}.`;
  return [
    r.prompt ?? 'Resolve the merge conflict in your worktree so that both changes are kept.',
    `Your worktree is on branch ${c.branch}, started from task ${task.id}'s work (${c.ours}). The run's integration branch ${c.integration} (${c.theirs}) is being merged into it, and the merge stopped with conflicts in: ${c.files.join(', ')}. The conflict markers are in those files.`,
    `The goal of task ${task.id} (ours): ${task.title}\n${task.goal}`.slice(0, GOAL_CHARS),
    theirs,
    `Both diffs: \`git diff ${c.base} ${c.ours} -- <file>\` (this task) and \`git diff ${c.base} ${c.theirs} -- <file>\` (the integration branch).`,
    'Edit each file so that both changes are kept, remove every conflict marker (<<<<<<<, =======, >>>>>>>), and finish. Do not abort the merge or reset the branch: cadre commits the merge when you finish, then runs the task\'s checks on it.',
  ].join('\n\n');
}

/** A command resolver's environment: where the conflict is. */
export function resolverEnv(c: ConflictRefs, taskId: string, round: number): Record<string, string> {
  return {
    CADRE_RESOLVE_TASK: taskId,
    CADRE_RESOLVE_FILES: c.files.join('\n'),
    CADRE_RESOLVE_BRANCH: c.branch,
    CADRE_RESOLVE_INTEGRATION: c.integration,
    CADRE_RESOLVE_OURS: c.ours,
    CADRE_RESOLVE_THEIRS: c.theirs,
    CADRE_RESOLVE_BASE: c.base,
    CADRE_RESOLVE_ROUND: String(round),
  };
}

/**
 * The resolver's input, from the task's own (`base`, with the resolver's slice): its backend, goal and environment;
 * no declared files, outputs, checks, review or fix-and-retry of its own (the run checks the resolution with the
 * task's checks). It is a root agent of the run, not a task: no task id (its search attributes name the task).
 */
export function resolverInput(base: AgentInput, r: Resolver, goal: string, env: Record<string, string>): AgentInput {
  const { verifyAttempts: _v, review: _r, checks: _c, taskId: _t, outputs: _o, verify: _f, ...rest } = base;
  return {
    ...rest,
    baseRef: env.CADRE_RESOLVE_OURS!,
    goal,
    backend: r.backend,
    model: r.model ?? base.model,
    script: r.script,
    command: r.command,
    files: [],
    role: 'resolver',
    env: { ...base.env, ...env },
  };
}

/** The row's rounds with one more (a round recorded twice, by a replayed step, counts once). */
export function withResolution(rows: ResolutionRecord[] | undefined, rec: ResolutionRecord): ResolutionRecord[] {
  return [...(rows ?? []).filter((x) => x.round !== rec.round), rec];
}

