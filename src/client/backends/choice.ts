/**
 * Which backend each task of a run uses, decided before anything starts, and whether it can run here.
 *
 * A task's backend is, in order: its own `backend:`; `command` when it declares a command, `scripted` when it
 * declares a script; `cadre run --backend`; the plan's `defaults.backend`; CADRE_BACKEND (default `claude-code`).
 * `--model` becomes the plan's default model. A backend that cannot run here — its program is missing, its
 * provider key is not set, a scripted task has no script, a command task no command — stops the run with exit 78
 * naming every task and what is missing, before a workflow starts.
 */
import type { PlanBackend, Plan, Task } from '../../shared/plan';
import { CadreError } from '../../shared/errors';
import { findAgentProgram } from '../../activities/backends/session/program';

export const EXIT_CONFIG = 78;

export interface BackendChoice {
  /** `cadre run --backend`. */
  backend?: PlanBackend;
  /** `cadre run --model`. */
  model?: string;
  /** CADRE_BACKEND. */
  configured: PlanBackend;
}

/** The backend a task will run with. */
export function backendOf(plan: Plan, t: Task, choice: BackendChoice): PlanBackend {
  if (t.backend) return t.backend;
  if (t.command?.length) return 'command';
  if (t.script) return 'scripted';
  return choice.backend ?? plan.defaults.backend ?? choice.configured;
}

/** The plan with every task's backend written out and `--model` as its default model. */
export function applyBackends(plan: Plan, choice: BackendChoice): Plan {
  return {
    ...plan,
    defaults: { ...plan.defaults, ...(choice.model ? { model: choice.model } : {}) },
    tasks: plan.tasks.map((t) => ({ ...t, backend: backendOf(plan, t, choice) })),
  };
}

/** What keeps a backend from running here, or undefined. `env` is the worker's environment (the CLI's own). */
export function backendProblem(backend: PlanBackend, env: NodeJS.ProcessEnv): string | undefined {
  switch (backend) {
    case 'claude-code': {
      const program = findAgentProgram('claude-code', env);
      if (!program.ok) return program.reason;
      const provider = env.ANTHROPIC_API_KEY || env.CLAUDE_CODE_USE_BEDROCK || env.CLAUDE_CODE_USE_VERTEX;
      return provider ? undefined : 'the claude-code backend needs ANTHROPIC_API_KEY (or CLAUDE_CODE_USE_BEDROCK / CLAUDE_CODE_USE_VERTEX with their settings); a personal login is never used';
    }
    case 'codex': {
      const program = findAgentProgram('codex', env);
      if (!program.ok) return program.reason;
      return env.OPENAI_API_KEY ? undefined : 'the codex backend needs OPENAI_API_KEY; a personal login is never used';
    }
    case 'anthropic':
      return env.ANTHROPIC_API_KEY ? undefined : 'the anthropic backend needs ANTHROPIC_API_KEY';
    default:
      return undefined;
  }
}

/** Every reason the plan cannot run here, one line each, naming the tasks. */
export function planBackendProblems(plan: Plan, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const byBackend = new Map<PlanBackend, string[]>();
  for (const t of plan.tasks) {
    if (t.done) continue;
    const b = t.backend!;
    byBackend.set(b, [...(byBackend.get(b) ?? []), t.id]);
    if (b === 'scripted' && !t.script) problems.push(`task ${t.id}: the scripted backend needs a script (\`script:\`); choose another with --backend or CADRE_BACKEND`);
    if (b === 'command' && !t.command?.length) problems.push(`task ${t.id}: the command backend needs a command (\`command:\`)`);
  }
  for (const [b, ids] of byBackend) {
    const why = backendProblem(b, env);
    if (why) problems.push(`${why} (tasks ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, … ${ids.length - 5} more` : ''})`);
  }
  return problems;
}

/** Resolve the plan's backends and refuse, exit 78, when it cannot run here. */
export function chooseBackends(plan: Plan, choice: BackendChoice, env: NodeJS.ProcessEnv): Plan {
  const resolved = applyBackends(plan, choice);
  const problems = planBackendProblems(resolved, env);
  if (problems.length) throw new CadreError(`cannot run this plan here:\n  ${problems.join('\n  ')}`, EXIT_CONFIG);
  return resolved;
}
