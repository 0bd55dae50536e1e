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
import { createSessionActivities } from '../../src/activities/backends/session';
import { readSessionLog, readSessionRecord } from '../../src/activities/backends/session/store';
import { worktreeRemote } from '../../src/activities/remote';
import { checkpointWorktree, claudeProjectDir, restoreSessionState, saveSessionState, sessionStateKey } from '../../src/activities/backends/session/checkpoint';
import { sessionPaths } from '../../src/activities/backends/session/store';
import { sanitizeRef } from '../../src/activities/paths';
import { localRepo } from '../../src/activities/remote';
import { stateRef } from '../../src/activities/remoteState';
import { startMessagesStub } from '../support/messagesStub';
import { makeRepo, showFile } from '../support/repo';
import { testDir, uniqueId } from '../support/temporal';
import { claudeBin, runInContext } from './support';

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

  it('restores nothing from a forged state: another agent\'s record, or a session id that would be an option', async () => {
    const remote = bareRemote();
    const agentId = uniqueId('run/forged');
    const h1 = testDir('ckpt-forger');
    const p1 = sessionPaths(h1, agentId);
    fs.mkdirSync(p1.dir, { recursive: true });
    const h2 = testDir('ckpt-victim');
    for (const forged of [{ agentId: 'someone-else', sessionId: SID, costUsd: 0, starts: 1 }, { agentId, sessionId: '--dangerously-skip-permissions', costUsd: 0, starts: 1 }]) {
      fs.writeFileSync(p1.record, JSON.stringify(forged));
      await saveSessionState({ stateDir: h1, remote, agentId, backend: 'claude-code', sessionId: SID, secretsEnv: {} });
      expect(await restoreSessionState(h2, remote, agentId, 'claude-code', h2)).toBeUndefined();
      expect(fs.existsSync(sessionPaths(h2, agentId).record)).toBe(false);
    }
  });
});

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

describe.skipIf(!claudeBin)('session checkpoints in the session activity (real Claude Code, stub API)', () => {
  it('a first start through a remote finds nothing saved and says so; its end is committed, pushed and saved, without the key', async () => {
    const stub = await startMessagesStub();
    try {
      const agentId = uniqueId('run/s1');
      const { remote, stateDir, branch, wt } = await agentWorktree(agentId);
      const key = 'sk-ant-test-key-CheckpointSecret000';
      stub.enqueue(
        { content: [{ type: 'tool_use', id: 'toolu_k1', name: 'Write', input: { file_path: join(wt, 'done.txt'), content: 'done\n' } }], usage: { input_tokens: 100, output_tokens: 5 } },
        { content: [{ type: 'text', text: `my key is ${key}` }], usage: { input_tokens: 120, output_tokens: 5 } },
      );
      const env = { PATH: process.env.PATH, CADRE_CLAUDE_BIN: claudeBin, ANTHROPIC_BASE_URL: stub.url, ANTHROPIC_API_KEY: key };
      // checkpointSeconds 0: only the end's checkpoint, so what is saved is exactly the end.
      const { runAgentSession } = createSessionActivities({ stateDir, env, forward: async () => ({ content: 'unused' }), checkpointSeconds: 0 });
      const run = runInContext(() => runAgentSession({ agentId, backend: 'claude-code', model: 'claude-haiku-4-5', workspace: wt, goal: 'Write done.txt', budgetUsd: 1 }));
      const result = await run.result;
      expect(result.status).toBe('completed');
      expect(run.beats[0]!.lastTool).toBe('no saved session on the remote: a new session on the branch as pushed');
      expect(readSessionLog(stateDir, agentId)[0]).toMatchObject({ type: 'cadre.attempt', restored: null });
      // The end's checkpoint: the file committed and pushed, the state saved, both named in the record.
      expect(showFile(remote, branch, 'done.txt')).toBe('done\n');
      const record = readSessionRecord(stateDir, agentId)!;
      expect(record.checkpoint?.commit).toBe(execFileSync('git', ['-C', remote, 'rev-parse', branch], { encoding: 'utf8' }).trim());
      expect(record.checkpoint?.state).toBe(execFileSync('git', ['-C', remote, 'rev-parse', stateRef(sessionStateKey(agentId))], { encoding: 'utf8' }).trim());
      // The saved record holds the result (a retry elsewhere returns it), the transcript this session, no key.
      const { paths, text } = remoteState(remote, agentId);
      expect(paths.some((p) => p.endsWith(`${result.sessionId}.jsonl`))).toBe(true);
      expect(text).toContain('"result":{"status":"completed"');
      expect(text).toContain('toolu_k1');
      expect(text).not.toContain(key);
      const all = execFileSync('git', ['-C', remote, 'cat-file', '--batch-all-objects', '--batch'], { encoding: 'utf8' });
      expect(all).not.toContain(key);
      expect(all).not.toContain('CheckpointSecret');
    } finally {
      await stub.close();
    }
  }, 120_000);

  it('a repository on this machine: no checkpoint, no clone, nothing in the record', async () => {
    const stub = await startMessagesStub();
    try {
      const repo = makeRepo();
      const stateDir = testDir('ckpt-single');
      stub.enqueue({ content: [{ type: 'text', text: 'nothing to do' }], usage: { input_tokens: 10, output_tokens: 1 } });
      const env = { PATH: process.env.PATH, CADRE_CLAUDE_BIN: claudeBin, ANTHROPIC_BASE_URL: stub.url, ANTHROPIC_API_KEY: 'sk-ant-test-key-000000000' };
      const { runAgentSession } = createSessionActivities({ stateDir, env, forward: async () => ({ content: 'unused' }), checkpointSeconds: 1 });
      const result = await runInContext(() => runAgentSession({ agentId: 'run/local', backend: 'claude-code', model: 'claude-haiku-4-5', workspace: repo, goal: 'Nothing', budgetUsd: 1 })).result;
      expect(result.status).toBe('completed');
      expect(readSessionRecord(stateDir, 'run/local')?.checkpoint).toBeUndefined();
      expect(fs.existsSync(join(stateDir, 'clones'))).toBe(false);
      expect(readSessionLog(stateDir, 'run/local')[0]).not.toHaveProperty('restored');
    } finally {
      await stub.close();
    }
  }, 120_000);
});

describe('session checkpoints: the worktree commit', () => {

  it('commits the changes and pushes the agent\'s branch; the remote is found from the worktree', async () => {
    const agentId = uniqueId('run/w1');
    const { remote, stateDir, clone, branch, wt } = await agentWorktree(agentId);
    expect(await worktreeRemote(stateDir, wt)).toEqual({ remote, clone });
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
    expect(await worktreeRemote(testDir('ckpt-local'), repo)).toBeUndefined();
  });
});
