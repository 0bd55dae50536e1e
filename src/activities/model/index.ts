/**
 * Model backends, the transcript store and the `modelTurn` activity. Workers register
 * `createModelActivities(deps)`; the CLI reads transcripts with `readTranscript`.
 */
export { createModelActivities, transcriptMissingType } from './modelTurn';
export type { FileToolExecutor, FileToolOutcome, ModelActivities, ModelActivityDeps } from './modelTurn';
export { readTranscript, transcriptPath, indexTranscript } from './transcript';
export type { TranscriptRecord, UserRecord, AssistantRecord, ToolResultRecord } from './transcript';
export { buildRequest, createAnthropicBackend, toModelFailure, retryDelayMs } from './anthropic';
export { createScriptedBackend, loadScript, parseScript, scriptSchema } from './scripted';
export type { ModelBackendClient, BackendRequest, BackendReply, ConversationMessage } from './backend';
