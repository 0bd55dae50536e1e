/**
 * Failures that carry a result. A run (or a task's root agent) whose verdict is `failed` does not return its
 * result: it throws a non-retryable ApplicationFailure (`RunFailed`, `TaskFailed`) whose only detail is the result,
 * so Temporal itself — the Web UI, `temporal workflow list`, a parent's child failure — shows it failed, and no
 * figure is lost. Readers on both sides (the scheduler reading a child, the CLI reading a run) get the result back
 * with `resultInFailure`, and treat it as if it had been returned.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from './errors';

type ResultFailureType = typeof ErrorType.RunFailed | typeof ErrorType.TaskFailed;

/** The failure a workflow throws instead of returning `result`. */
export function failureCarrying(type: ResultFailureType, message: string, result: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message: message.slice(0, 500), nonRetryable: true, details: [result] });
}

/**
 * The result carried by `err` or any of its causes (a client's WorkflowFailedError, a ChildWorkflowFailure, the
 * ApplicationFailure itself), or undefined when the failure is of another kind.
 */
export function resultInFailure<T>(err: unknown, type: ResultFailureType): T | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ApplicationFailure && e.type === type && e.details?.length) return e.details[0] as T;
  }
  return undefined;
}
