/**
 * Per-turn checkpoints of a model agent (src/activities/model/checkpoint.ts) through the real modelTurn and
 * workspace activities, with two "hosts" (state directories) on one bare remote: a turn through a remote ends with
 * its changes on the remote's branch and its transcript under refs/cadre/state; another host that makes the
 * workspace again restores the transcript and goes on without asking the model for the turns done; without saved
 * state the turn fails naming the agent and the remote; a push that fails says it was the checkpoint; a run
 * without a remote is not checkpointed at all.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { transcriptStateRef } from '../../src/activities/model/checkpoint';
import type { ModelBackendClient } from '../../src/activities/model/backend';
import { createModelActivities } from '../../src/activities/model/modelTurn';
import { readTranscript } from '../../src/activities/model/transcript';
import { createWorkspaceActivities } from '../../src/activities/workspaceActivities';
import type { ModelTurnInput } from '../../src/shared/model';
import { inActivities } from '../support/activityContext';
import { git, makeRepo, showFile } from '../support/repo';
import { testDir, uniqueId } from '../support/temporal';

/** Turn k writes `turn-k.txt`; every call is counted per turn. */
function countingBackend(): { backend: ModelBackendClient; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    backend: {
      name: 'scripted',
      call: async (req) => {
        calls.push(req.turn);
        return {
          content: [{ type: 'tool_use', id: `toolu_${req.turn}`, name: 'write_file', input: { path: `turn-${req.turn}.txt`, content: `turn ${req.turn}\n` } }],
          stopReason: 'tool_use',
          usage: { inputTokens: 10, outputTokens: 5, cacheWriteTokens: 0, cacheReadTokens: 0 },
          model: 'scripted',
        };
      },
    },
  };
}

/** One host: its state directory, its workspace activities and its model activities. */
function host(name: string) {
  const stateDir = testDir(`ckpt-${name}`);
  const model = countingBackend();
  return {
    stateDir,
    calls: model.calls,
    ws: inActivities(createWorkspaceActivities({ stateDir, worktreePool: 0, host: name })),
    turns: inActivities(createModelActivities({ stateDir, backends: { scripted: model.backend } })),
  };
}

function bareRemote(): string {
  const remote = join(testDir('ckpt-remote'), 'app.git');
  execFileSync('git', ['clone', '--quiet', '--bare', makeRepo(), remote]);
  return remote;
}

function turn(agentId: string, workspace: string, n: number): ModelTurnInput {
  return { agentId, turn: n, backend: 'scripted', model: 'scripted', maxTokens: 1000, workspace, goal: 'write a file a turn', tools: ['write_file', 'finish'] };
}

const refExists = (repo: string, ref: string): boolean => git(repo, 'for-each-ref', '--format=%(refname)', ref) === ref;

describe('per-turn checkpoints through a remote', () => {
  it('puts every completed turn on the remote, and a new host goes on from there without redoing a turn', async () => {
    const remote = bareRemote();
    const agentId = `${uniqueId('ck')}/t1`;
    const h1 = host('h1');
    const w1 = await h1.ws.createWorkspace({ repo: remote, agentId, baseRef: 'HEAD' });
    await h1.turns.modelTurn(turn(agentId, w1.path, 1));
    await h1.turns.modelTurn(turn(agentId, w1.path, 2));

    // The files of both turns are committed and on the remote's branch; the transcript is under its state ref.
    expect(git(w1.path, 'status', '--porcelain')).toBe('');
    expect(showFile(remote, w1.branch, 'turn-2.txt')).toBe('turn 2\n');
    expect(git(remote, 'log', '--format=%s', w1.branch).split('\n').slice(0, 2)).toEqual([`cadre: ${agentId}: checkpoint after turn 2`, `cadre: ${agentId}: checkpoint after turn 1`]);
    expect(refExists(remote, transcriptStateRef(agentId))).toBe(true);

    // Host h1 is gone (its state directory with it); h2 makes the workspace again from the branch and does turn 3.
    fs.rmSync(h1.stateDir, { recursive: true, force: true });
    const h2 = host('h2');
    const w2 = await h2.ws.createWorkspace({ repo: remote, agentId, baseRef: 'HEAD' });
    expect(fs.readFileSync(join(w2.path, 'turn-1.txt'), 'utf8')).toBe('turn 1\n');
    const out = await h2.turns.modelTurn(turn(agentId, w2.path, 3));
    expect(out.replayed).toBe(false);
    expect(h1.calls).toEqual([1, 2]);
    expect(h2.calls, 'h2 asked the model for turn 3 only').toEqual([3]);
    const records = await readTranscript(h2.stateDir, agentId);
    expect(records.filter((r) => r.kind === 'assistant').map((r) => r.turn)).toEqual([1, 2, 3]);
    expect(records[0]).toMatchObject({ kind: 'user', turn: 1 });
    expect(showFile(remote, w2.branch, 'turn-3.txt')).toBe('turn 3\n');
  });

  it('fails a turn that needs earlier turns the remote has no saved state of, naming the agent and the remote', async () => {
    const remote = bareRemote();
    const agentId = `${uniqueId('ck')}/t2`;
    const h = host('h1');
    const w = await h.ws.createWorkspace({ repo: remote, agentId, baseRef: 'HEAD' });
    const err = await h.turns.modelTurn(turn(agentId, w.path, 2)).then(() => undefined, (e: unknown) => e as { type?: string; message: string });
    expect(err?.type).toBe('TranscriptMissing');
    expect(err?.message).toContain(`transcript of agent ${agentId} cannot continue at turn 2`);
    expect(err?.message).toContain(`no saved state of it was found on the remote ${remote}`);
    expect(err?.message).toContain(transcriptStateRef(agentId));
    expect(h.calls).toEqual([]);
  });

  it('reports a checkpoint whose push fails as the checkpoint of that agent and turn', async () => {
    const remote = bareRemote();
    const agentId = `${uniqueId('ck')}/t3`;
    const h = host('h1');
    const w = await h.ws.createWorkspace({ repo: remote, agentId, baseRef: 'HEAD' });
    fs.rmSync(remote, { recursive: true, force: true });
    const err = await h.turns.modelTurn(turn(agentId, w.path, 1)).then(() => undefined, (e: unknown) => e as { message: string });
    expect(err?.message).toMatch(new RegExp(`checkpoint of agent ${agentId} after turn 1 failed committing and pushing its branch to ${remote.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    // The reply was stored before the checkpoint: a retry does not ask the model again.
    expect(h.calls).toEqual([1]);
  });

  it('leaves a run without a remote as it was: no commit after a turn', async () => {
    const repo = makeRepo();
    const agentId = `${uniqueId('ck')}/t4`;
    const h = host('h1');
    const w = await h.ws.createWorkspace({ repo, agentId, baseRef: 'HEAD' });
    const head = git(w.path, 'rev-parse', 'HEAD');
    await h.turns.modelTurn(turn(agentId, w.path, 1));
    expect(git(w.path, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(w.path, 'status', '--porcelain')).toBe('?? turn-1.txt');
    expect(fs.existsSync(join(h.stateDir, 'clones'))).toBe(false);
  });
});
