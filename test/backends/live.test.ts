/** One real session per CLI against the real API; runs only with a real key in the environment. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSessionActivities } from '../../src/activities/backends/session';
import { claudeBin, codexBin, runInContext, tmpDir } from './support';

describe.skipIf(!process.env.ANTHROPIC_API_KEY || !claudeBin)('live claude-code session', () => {
  it('writes a file and reports its cost', async () => {
    const workspace = tmpDir('live-cc');
    const { runAgentSession } = createSessionActivities({ stateDir: tmpDir('live-cc-state'), forward: async () => ({ content: 'ok' }) });
    const r = await runInContext(() => runAgentSession({ agentId: 'live/cc', backend: 'claude-code', model: 'claude-haiku-4-5', workspace, goal: 'Create hello.txt containing exactly: hi', budgetUsd: 0.2 })).result;
    expect(r.status).toBe('completed');
    expect(fs.existsSync(path.join(workspace, 'hello.txt'))).toBe(true);
    expect(r.costUsd).toBeGreaterThan(0);
  }, 180_000);
});

describe.skipIf(!process.env.OPENAI_API_KEY || !codexBin)('live codex session', () => {
  it('writes a file and reports its cost', async () => {
    const workspace = tmpDir('live-cx');
    const { runAgentSession } = createSessionActivities({ stateDir: tmpDir('live-cx-state'), forward: async () => ({ content: 'ok' }) });
    const r = await runInContext(() => runAgentSession({ agentId: 'live/cx', backend: 'codex', model: 'gpt-5-mini', workspace, goal: 'Create hello.txt containing exactly: hi', budgetUsd: 0.2 })).result;
    expect(r.status).toBe('completed');
    expect(fs.existsSync(path.join(workspace, 'hello.txt'))).toBe(true);
  }, 180_000);
});
