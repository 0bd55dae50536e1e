/**
 * Per-turn checkpoints of a model agent in a run through a remote (docs/hosts.md, "Losing a host"). At the end of
 * every turn, inside the turn's activity: the worktree's changes are committed and the agent's branch pushed, then
 * the agent's transcript is saved to the remote under `refs/cadre/state/<agent>/transcript.jsonl` (remoteState.ts).
 * So a completed turn activity implies its checkpoint is on the remote, and no history event is added for it.
 * When the agent's host is lost, its workspace is made again on another host from the pushed branch, and the first
 * turn there that lacks earlier turns restores the transcript from the remote.
 *
 * Order: commit and push first, transcript second. A host that dies between the two leaves the files of turn N on
 * the branch and a transcript without turn N: turn N is asked of the model again and its writes land on files that
 * already hold them. The other order could leave a transcript that says a file was written when the branch lacks it.
 *
 * Which runs: a workspace is checkpointed when it is a worktree of a clone this host made of a remote
 * (remote.ts `worktreeRemote`); a host that never worked through a remote has no clones, so nothing here touches
 * git for it. Retry: every step is idempotent (nothing to commit is no commit; pushing an unchanged branch and
 * saving the same transcript again change nothing), so a turn retried after a crash here checkpoints again.
 */
import * as path from 'node:path';
import { ErrorType, TypedFailure } from '../../shared/errors';
import { pushWorktreeBranch, type RemoteWorktree } from '../remote';
import { restoreState, saveState, stateRef } from '../remoteState';
import { assertCadreWorktree, commitWorkspace } from '../workspace';
import { transcriptFileName } from './transcript';


/**
 * The key of an agent's transcript in the remote. `.jsonl` keeps it apart from its children's keys: a child's name
 * (`<agent>/<name>`) has no dot, so no child ref can need `…/transcript.jsonl` as a directory.
 */
export const transcriptStateKey = (agentId: string): string => `${agentId}/transcript.jsonl`;

export const transcriptStateRef = (agentId: string): string => stateRef(transcriptStateKey(agentId));

/** Commits and pushes the turn's changes, then saves the transcript; a failure names the agent, turn and step. */
export async function checkpointTurn(stateDir: string, target: RemoteWorktree, agentId: string, turn: number, workspace: string): Promise<void> {
  const root = path.resolve(stateDir);
  await step(agentId, turn, `committing and pushing its branch to ${target.remote}`, async () => {
    assertCadreWorktree(root, workspace);
    await commitWorkspace({ path: workspace, message: `cadre: ${agentId}: checkpoint after turn ${turn}` });
    await pushWorktreeBranch(root, target.clone, workspace);
  });
  const file = transcriptFileName(agentId);
  await step(agentId, turn, `saving its transcript to ${target.remote} (${transcriptStateRef(agentId)})`, () =>
    saveState(root, target.remote, transcriptStateKey(agentId), transcriptsDir(root), (rel) => rel === file),
  );
}

/** Writes the agent's transcript as last saved into this host's transcripts; false when the remote has none. */
export async function restoreTranscript(stateDir: string, target: RemoteWorktree, agentId: string): Promise<boolean> {
  const root = path.resolve(stateDir);
  return (await restoreState(root, target.remote, transcriptStateKey(agentId), transcriptsDir(root))) !== undefined;
}

function transcriptsDir(stateDir: string): string {
  return path.join(stateDir, 'transcripts');
}

async function step<T>(agentId: string, turn: number, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const retryable = err instanceof TypedFailure ? err.retryable : true;
    const detail = err instanceof Error ? err.message : String(err);
    throw new TypedFailure(ErrorType.WorkspaceError, `checkpoint of agent ${agentId} after turn ${turn} failed ${what}: ${detail}`, retryable);
  }
}
