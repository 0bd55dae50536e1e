/**
 * Reading a closed workflow's result whether it returned it or failed carrying it: a failed run throws `RunFailed`
 * and a failed root agent `TaskFailed`, each with its result as the failure's detail (src/shared/outcome.ts). Any
 * other failure (terminated, timed out, a bug) is rethrown.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { AgentResult } from '../shared/agent';
import { ErrorType } from '../shared/errors';
import { resultInFailure } from '../shared/outcome';
import type { RunPlanResult } from '../shared/run';

export async function runResultOf(handle: WorkflowHandle): Promise<RunPlanResult> {
  try {
    return (await handle.result()) as RunPlanResult;
  } catch (err) {
    const r = resultInFailure<RunPlanResult>(err, ErrorType.RunFailed);
    if (r) return r;
    throw err;
  }
}

export async function agentResultOf(handle: WorkflowHandle): Promise<AgentResult> {
  try {
    return (await handle.result()) as AgentResult;
  } catch (err) {
    const r = resultInFailure<AgentResult>(err, ErrorType.TaskFailed);
    if (r) return r;
    throw err;
  }
}
