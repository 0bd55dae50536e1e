/**
 * Session checkpoints of runs through a remote (src/activities/backends/session/checkpoint.ts), below the session
 * activity: what a save puts in the remote (the record and this session's transcript, redacted — never a login, a
 * key, cadre's MCP secret or another session), what a restore on another host makes of it, and when the checkpoint
 * commit steps aside for the agent's own git work. The whole path — a host killed mid-session, the session resumed
 * on another — is test/durability/multiHostSession.test.ts.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointWorktree, claudeProjectDir, restoreSessionState, saveSessionState, sessionRemote, sessionStateKey } from '../../src/activities/backends/session/checkpoint';
import { sessionPaths } from '../../src/activities/backends/session/store';
import { sanitizeRef } from '../../src/activities/paths';
import { localRepo } from '../../src/activities/remote';
import { stateRef } from '../../src/activities/remoteState';
import { makeRepo, showFile } from '../support/repo';
import { testDir, uniqueId } from '../support/temporal';

const SECRET = 'sk-ant-api03-SeCrEt0123456789abcdefXYZ';
const SID = '0f0e0d0c-1111-2222-3333-444455556666';

function bareRemote(): string {
  const remote = join(testDir('ckpt-remote'), 'app.git');
  execFileSync('git', ['clone', '--quiet', '--bare', makeRepo({ 'README.md': '# ckpt\n' }), remote]);
  return remote;
}

/** Every path and every blob's content under the remote's state ref of `agentId`. */
function remoteState(remote: string, agentId: string): { paths: string[]; text: string } {
  const ref = stateRef(sessionStateKey(agentId));
  const paths = execFileSync('git', ['-C', remote, 'ls-tree', '-r', '--name-only', ref], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const text = paths.map((p) => execFileSync('git', ['-C', remote, 'show', `${ref}:${p}`], { encoding: 'utf8' })).join('\n');
  return { paths, text };
}

/** A Claude session's files as a host leaves them, with the attacker's plants among them. */
function plantSession(stateDir: string, agentId: string, workspace: string): void {
  const p = sessionPaths(stateDir, agentId);
  const claude = join(p.home, '.claude');
  const project = join(claude, 'projects', claudeProjectDir(workspace));
  fs.mkdirSync(join(project, SID, 'subagents'), { recursive: true });
  fs.writeFileSync(p.record, JSON.stringify({ agentId, runId: 'run-1', backend: 'claude-code', sessionId: SID, host: 'lost-host', pid: 4242, usage: {}, costUsd: 0.5, turns: 3, filesTouched: [], starts: 1, updatedAt: 1 }));
  // The session's transcript: the agent ran `env` and its conversation now holds the key.
  fs.writeFileSync(join(project, `${SID}.jsonl`), `${JSON.stringify({ type: 'user', message: { content: `ANTHROPIC_API_KEY=${SECRET}` } })}\n`);
  fs.writeFileSync(join(project, SID, 'subagents', 'agent-1.jsonl'), '{"type":"assistant"}\n');
  // What must stay on the host: a login, settings, cadre's MCP secret, another session, a key the agent planted.
  fs.writeFileSync(join(claude, '.credentials.json'), JSON.stringify({ claudeAiOauth: { accessToken: 'oauth-FAKE-credential-123' } }));
  fs.writeFileSync(join(claude, '.claude.json'), '{"userID":"fake-user-id-credential"}');
  fs.writeFileSync(join(p.home, 'cadre-mcp.json'), '{"headers":{"Authorization":"Bearer mcp-FAKE-bearer-secret"}}');
  fs.writeFileSync(join(project, 'other-session.jsonl'), '{"other":"session-of-someone-else"}\n');
  fs.mkdirSync(join(project, SID, 'x'), { recursive: true });
  fs.writeFileSync(join(project, SID, 'x', 'auth.json'), '{"OPENAI_API_KEY":"planted-FAKE-credential"}');
  fs.writeFileSync(join(project, SID, 'x', 'id.pem'), 'planted-FAKE-private-key');
  fs.mkdirSync(join(claude, 'plugins'), { recursive: true });
  fs.writeFileSync(join(claude, 'plugins', 'cache.json'), '{"cache":true}');
  // Another agent's session on the same host.
  fs.writeFileSync(sessionPaths(stateDir, `${agentId}-other`).record, '{"agentId":"someone else"}');
}

describe('session checkpoints: what reaches the remote', () => {
  it('saves the record and this session\'s transcript only, redacted: no credentials, no MCP secret, no other session', async () => {
    const remote = bareRemote();
    const stateDir = testDir('ckpt-h1');
    const agentId = uniqueId('run/t1');
    const workspace = join(stateDir, 'worktrees', 'ws');
    fs.mkdirSync(workspace, { recursive: true });
    plantSession(stateDir, agentId, workspace);

    await saveSessionState({ stateDir, remote, agentId, backend: 'claude-code', sessionId: SID, secretsEnv: { ANTHROPIC_API_KEY: SECRET } });
    const { paths, text } = remoteState(remote, agentId);
    const name = sanitizeRef(agentId);
    const project = `${name}.home/.claude/projects/${claudeProjectDir(workspace)}`;
    expect(paths.sort()).toEqual([`${name}.json`, `${project}/${SID}.jsonl`, `${project}/${SID}/subagents/agent-1.jsonl`].sort());
    for (const leak of [SECRET, 'oauth-FAKE-credential', 'fake-user-id-credential', 'mcp-FAKE-bearer-secret', 'planted-FAKE', 'session-of-someone-else', 'someone else']) {
      expect(text, `${leak} in the remote`).not.toContain(leak);
    }
    expect(text).toContain('ANTHROPIC_API_KEY=[redacted]');
    // Nothing of it anywhere else in the remote either (no other ref, no loose object with the plants).
    const all = execFileSync('git', ['-C', remote, 'cat-file', '--batch-all-objects', '--batch'], { encoding: 'utf8' });
    for (const leak of [SECRET, 'oauth-FAKE-credential', 'mcp-FAKE-bearer-secret', 'planted-FAKE']) expect(all).not.toContain(leak);
  });

  it('a Codex session saves its own rollout only, not auth.json, config or other threads', async () => {
    const remote = bareRemote();
    const stateDir = testDir('ckpt-cx');
    const agentId = uniqueId('run/cx');
    const p = sessionPaths(stateDir, agentId);
    const day = join(p.home, '.codex', 'sessions', '2026', '12', '03');
    fs.mkdirSync(day, { recursive: true });
    fs.writeFileSync(p.record, JSON.stringify({ agentId, backend: 'codex', sessionId: SID }));
    fs.writeFileSync(join(day, `rollout-2026-12-03T10-00-00-${SID}.jsonl`), '{"type":"session_meta"}\n');
    fs.writeFileSync(join(day, 'rollout-2026-12-03T09-00-00-another-thread.jsonl'), '{"other":"thread-of-someone-else"}\n');
    fs.writeFileSync(join(p.home, '.codex', 'auth.json'), '{"OPENAI_API_KEY":"sk-FAKE-codex-login-000000"}');
    fs.writeFileSync(join(p.home, '.codex', 'config.toml'), 'token = "FAKE-config-secret"');
    await saveSessionState({ stateDir, remote, agentId, backend: 'codex', sessionId: SID, secretsEnv: {} });
    const { paths, text } = remoteState(remote, agentId);
    expect(paths.sort()).toEqual([`${sanitizeRef(agentId)}.home/.codex/sessions/2026/12/03/rollout-2026-12-03T10-00-00-${SID}.jsonl`, `${sanitizeRef(agentId)}.json`].sort());
    for (const leak of ['sk-FAKE-codex-login', 'FAKE-config-secret', 'thread-of-someone-else']) expect(text).not.toContain(leak);
  });

  it('another host restores it: the transcript under its own worktree\'s project directory, the lost host\'s process dropped', async () => {
    const remote = bareRemote();
    const agentId = uniqueId('run/t2');
    const h1 = testDir('ckpt-from');
    const ws1 = join(h1, 'worktrees', 'ws');
    fs.mkdirSync(ws1, { recursive: true });
    plantSession(h1, agentId, ws1);
    const saved = await saveSessionState({ stateDir: h1, remote, agentId, backend: 'claude-code', sessionId: SID, secretsEnv: { ANTHROPIC_API_KEY: SECRET } });

    const h2 = testDir('ckpt-to');
    const ws2 = join(h2, 'worktrees', 'elsewhere');
    fs.mkdirSync(ws2, { recursive: true });
    expect(await restoreSessionState(h2, remote, agentId, 'claude-code', ws2)).toBe(saved);
    const p = sessionPaths(h2, agentId);
    const record = JSON.parse(fs.readFileSync(p.record, 'utf8')) as Record<string, unknown>;
    expect(record.sessionId).toBe(SID);
    expect(record.pid, 'the lost host\'s process is not this host\'s').toBeUndefined();
    expect(record.restoredFrom).toBe(saved);
    const project = join(p.home, '.claude', 'projects', claudeProjectDir(ws2));
    expect(fs.readFileSync(join(project, `${SID}.jsonl`), 'utf8')).toContain('[redacted]');
    expect(fs.existsSync(join(project, SID, 'subagents', 'agent-1.jsonl'))).toBe(true);
    expect(fs.existsSync(join(p.home, '.claude', '.credentials.json'))).toBe(false);
    expect(fs.existsSync(join(p.home, 'cadre-mcp.json'))).toBe(false);
    // Nothing saved for an agent that never checkpointed.
    expect(await restoreSessionState(h2, remote, uniqueId('run/never'), 'claude-code', ws2)).toBeUndefined();
  });
});

describe('session checkpoints: the worktree commit', () => {
  /** A host's clone of the remote and an agent worktree on its branch, as createWorkspace makes them. */
  async function agentWorktree(agentId: string) {
    const remote = bareRemote();
    const stateDir = testDir('ckpt-wt');
    const clone = await localRepo(stateDir, remote);
    const branch = `cadre/${sanitizeRef(agentId)}`;
    const wt = join(stateDir, 'worktrees', 'a');
    execFileSync('git', ['-C', clone, 'worktree', 'add', '-q', '-b', branch, wt, 'origin/main']);
    return { remote, stateDir, clone, branch, wt };
  }

  it('commits the changes and pushes the agent\'s branch; the remote is found from the worktree', async () => {
    const agentId = uniqueId('run/w1');
    const { remote, stateDir, clone, branch, wt } = await agentWorktree(agentId);
    expect(await sessionRemote(stateDir, wt)).toEqual({ remote, clone });
    fs.writeFileSync(join(wt, 'half.txt'), 'work in progress\n');
    const c = await checkpointWorktree(stateDir, clone, wt, agentId);
    expect(c).toMatchObject({ committed: true });
    expect(showFile(remote, branch, 'half.txt')).toBe('work in progress\n');
    expect(execFileSync('git', ['-C', remote, 'log', '-1', '--format=%s', branch], { encoding: 'utf8' }).trim()).toBe(`cadre: ${agentId}: checkpoint`);
    // Nothing new: no commit, the same head.
    expect(await checkpointWorktree(stateDir, clone, wt, agentId)).toEqual({ commit: (c as { commit: string }).commit, committed: false });
  });

  it('steps aside while the agent is in a git operation of its own, or off its branch', async () => {
    const agentId = uniqueId('run/w2');
    const { remote, stateDir, clone, branch, wt } = await agentWorktree(agentId);
    fs.writeFileSync(join(wt, 'x.txt'), 'x\n');
    const gitDir = execFileSync('git', ['-C', wt, 'rev-parse', '--absolute-git-dir'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(join(gitDir, 'index.lock'), '');
    expect(await checkpointWorktree(stateDir, clone, wt, agentId)).toEqual({ skipped: 'a git operation of the agent is in progress (index.lock)' });
    fs.rmSync(join(gitDir, 'index.lock'));
    fs.mkdirSync(join(gitDir, 'rebase-merge'));
    expect(await checkpointWorktree(stateDir, clone, wt, agentId)).toMatchObject({ skipped: expect.stringContaining('rebase-merge') });
    fs.rmSync(join(gitDir, 'rebase-merge'), { recursive: true });
    execFileSync('git', ['-C', wt, 'checkout', '-q', '--detach']);
    expect(await checkpointWorktree(stateDir, clone, wt, agentId)).toEqual({ skipped: 'HEAD is detached' });
    // Nothing was committed or pushed meanwhile; the worktree's change is still there.
    expect(showFile(remote, branch, 'x.txt')).toBeUndefined();
    expect(fs.readFileSync(join(wt, 'x.txt'), 'utf8')).toBe('x\n');
  });

  it('a worktree of a repository on this machine has no remote: no checkpoints', async () => {
    const repo = makeRepo();
    expect(await sessionRemote(testDir('ckpt-local'), repo)).toBeUndefined();
  });
});
