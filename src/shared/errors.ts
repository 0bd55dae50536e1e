/**
 * The stable failure types that cross the activity/workflow boundary. They live in history, so the strings never
 * change. Whether a failure is retried is decided where it is thrown (ApplicationFailure.nonRetryable), and these
 * names let workflows and the CLI tell the cases apart.
 */
export const ErrorType = {
  PathOutsideWorkspace: 'PathOutsideWorkspace',
  InvalidToolInput: 'InvalidToolInput',
  BudgetExhausted: 'BudgetExhausted',
  ModelRateLimited: 'ModelRateLimited',
  ModelOverloaded: 'ModelOverloaded',
  ModelBadRequest: 'ModelBadRequest',
  ModelAuth: 'ModelAuth',
  ModelSpendLimit: 'ModelSpendLimit',
  ModelServerError: 'ModelServerError',
  LockLost: 'LockLost',
  MergeConflict: 'MergeConflict',
  CommandFailed: 'CommandFailed',
  CommandNotAllowed: 'CommandNotAllowed',
  ScriptExhausted: 'ScriptExhausted',
  WorkspaceError: 'WorkspaceError',
  MissingOutputs: 'MissingOutputs',
  VerifyFailed: 'VerifyFailed',
  TranscriptMissing: 'TranscriptMissing',
  AgentProgramMissing: 'AgentProgramMissing',
  AgentSessionFailed: 'AgentSessionFailed',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** An error meant for a person: the CLI prints its message on one line and exits with `exitCode`. */
export class CadreError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CadreError';
  }
}
