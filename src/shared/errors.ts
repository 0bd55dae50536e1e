/**
 * The stable failure types that cross the activity/workflow boundary. They live in history, so the strings never
 * change. Whether a failure is retried is decided where it is thrown (ApplicationFailure.nonRetryable), and these
 * names let workflows and the CLI tell the cases apart.
 */
export const ErrorType = {
  PathOutsideWorkspace: 'PathOutsideWorkspace',
  InvalidToolInput: 'InvalidToolInput',
  ModelRateLimited: 'ModelRateLimited',
  ModelOverloaded: 'ModelOverloaded',
  ModelBadRequest: 'ModelBadRequest',
  ModelAuth: 'ModelAuth',
  ModelSpendLimit: 'ModelSpendLimit',
  ModelServerError: 'ModelServerError',
  LockLost: 'LockLost',
  CommandFailed: 'CommandFailed',
  CommandNotAllowed: 'CommandNotAllowed',
  ScriptExhausted: 'ScriptExhausted',
  WorkspaceError: 'WorkspaceError',
  TranscriptMissing: 'TranscriptMissing',
  /** `acquire` gave up waiting after its timeout (src/shared/locks.ts). */
  LockTimeout: 'LockTimeout',
  /** The lock workflow refused a malformed request (src/shared/locks.ts). */
  LockRefused: 'LockRefused',
  /** A session backend's program (claude, codex) is not installed (src/activities/backends/session/program.ts). */
  AgentProgramMissing: 'AgentProgramMissing',
  AgentSessionFailed: 'AgentSessionFailed',
  /** A run that ended failed: its RunPlanResult is the failure's detail (src/shared/outcome.ts). */
  RunFailed: 'RunFailed',
  /** A task's root agent that ended failed: its AgentResult is the failure's detail (src/shared/outcome.ts). */
  TaskFailed: 'TaskFailed',
  /** Every port block of the host is leased (src/workflows/locks/ports.ts). */
  PortsExhausted: 'PortsExhausted',
  /** The receiver of a notification refused it or could not be reached (src/activities/notify.ts). */
  NotifyFailed: 'NotifyFailed',
  /** A blob named by a reference is not in the repository (src/activities/blobs.ts): its ref is named. */
  BlobMissing: 'BlobMissing',
  /** A blob's content is not what its reference says (size, JSON, schema): its ref is named. */
  BlobCorrupt: 'BlobCorrupt',
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

/**
 * A failure of cadre's own activity code with a stable type: the activity boundary (src/activities/boundary.ts)
 * turns it into an ApplicationFailure, non-retryable unless `retryable`.
 */
export class TypedFailure extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'TypedFailure';
  }
}
