/**
 * The client's side of plans by reference (src/shared/blobs.ts, docs/architecture.md "Payload bounds"): `cadre run`
 * stores the validated plan as a blob in the run's repository and starts the run with the reference; the commands
 * that read a run's input (status, watch, retry/resume, diff) read the plan back through it, and a result whose table
 * was too large to carry reads the table from its chain.
 */
import { createBlobStore, readTableChain } from '../activities/blobs';
import { INLINE_PROMPT_CHARS, PROMPT_PREVIEW_CHARS, type BlobRef } from '../shared/blobs';
import type { AgentInput } from '../shared/agent';
import { CadreError } from '../shared/errors';
import type { TaskRow } from '../shared/messages';
import type { Plan } from '../shared/plan';
import { indexProblem } from '../shared/planIndex';
import type { RunPlanInput, RunPlanResult } from '../shared/run';

const store = createBlobStore({ cacheBytes: 16 * 1024 * 1024 });

/** The plan as a blob of `repo`, and what the run's input says of it; refuses a plan whose index cannot be paged. */
export async function storePlan(repo: string, plan: Plan, what: string): Promise<Pick<RunPlanInput, 'planRef' | 'planName' | 'taskCount'>> {
  assertIndexable(plan, what);
  const planRef = await store.put(repo, JSON.stringify(plan));
  return { planRef, planName: plan.name, taskCount: plan.tasks.length };
}

/** Refuses, before anything starts, a plan the scheduler could not read in bounded pages (exit 2, naming the task). */
export function assertIndexable(plan: Plan, what: string): void {
  const problem = indexProblem(plan);
  if (problem) throw new CadreError(`plan ${what} cannot start: ${problem}`, 2);
}

/** The plan of a run's input, inline or by reference; undefined when neither (or the blob cannot be read). */
export async function planOf(input: RunPlanInput | undefined): Promise<Plan | undefined> {
  if (!input) return undefined;
  if (input.plan) return input.plan;
  return input.planRef ? store.plan(input.planRef).catch(() => undefined) : undefined;
}

/** The plan of a run's input, or a CadreError naming the reference that cannot be read. */
export async function requirePlan(input: RunPlanInput): Promise<Plan> {
  if (input.plan) return input.plan;
  if (!input.planRef) throw new CadreError(`run ${input.runId} has no plan in its input`, 1);
  return readRef(input.planRef, () => store.plan(input.planRef!));
}

/** Every row of a run's result: `tasks`, or the whole table from its chain when the result held only part of it. */
export async function resultRows(result: RunPlanResult): Promise<TaskRow[]> {
  const ref = result.tableRef;
  if (!ref) return result.tasks;
  return (await readRef(ref, () => readTableChain(store, ref))) as unknown as TaskRow[];
}

async function readRef<T>(ref: BlobRef, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw new CadreError(`cannot read ${ref.sha} from ${ref.repo}: ${err instanceof Error ? err.message : String(err)}`, 1);
  }
}

/** An agent's goal as its input takes it: the text, or above INLINE_PROMPT_CHARS a preview and a blob reference. */
export async function goalInput(repo: string, goal: string): Promise<Pick<AgentInput, 'goal' | 'goalRef'>> {
  if (goal.length <= INLINE_PROMPT_CHARS) return { goal };
  const goalRef = await store.put(repo, goal);
  return { goal: `${goal.slice(0, PROMPT_PREVIEW_CHARS)}… (${goal.length} characters, read by reference)`, goalRef };
}
