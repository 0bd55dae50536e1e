/** Finding the agent programs, the one-line error when one is missing, and the MCP call ids. */
import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { createSessionActivities, findAgentProgram, requireAgentProgram } from '../../src/activities/backends/session';
import { CallIds, callKey } from '../../src/activities/mcp/callId';
import { CadreError } from '../../src/shared/errors';
import { runInContext, tmpDir } from './support';

describe('agent program lookup', () => {
  it('a missing program is one line naming the variable, PATH and setup, exit 78', () => {
    // An empty PATH and no .tools copy visible under a fake variable: CADRE_CLAUDE_BIN points nowhere.
    let err: unknown;
    try {
      requireAgentProgram('claude-code', { PATH: '', CADRE_CLAUDE_BIN: '/nonexistent/claude' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CadreError);
    expect((err as CadreError).exitCode).toBe(78);
    expect((err as Error).message).toBe('CADRE_CLAUDE_BIN=/nonexistent/claude is not an executable file');
    const codex = findAgentProgram('codex', { PATH: '', CADRE_CODEX_BIN: '/nonexistent/codex' });
    expect(codex.ok).toBe(false);
  });

  it('the activity fails non-retryably, in one line, before starting anything', async () => {
    const { runAgentSession } = createSessionActivities({ stateDir: tmpDir('prog'), env: { PATH: '', CADRE_CODEX_BIN: '/nonexistent/codex' }, forward: async () => ({ content: '' }) });
    const r = runInContext(() => runAgentSession({ agentId: 'a', backend: 'codex', model: 'gpt-5', workspace: '/tmp', goal: 'g', budgetUsd: 1 }));
    const err = await r.result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('AgentProgramMissing');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('orchestration call ids', () => {
  it('are stable for the same session, tool and input, whatever the key order, until the answer is delivered', () => {
    const persisted: Record<string, number> = {};
    const ids = new CallIds(() => 'sess-1', persisted, () => undefined);
    const a = ids.begin('spawn_agent', { name: 'c', goal: 'g' });
    // The program dies before the answer: a resumed session's repeat gets the same id.
    const again = new CallIds(() => 'sess-1', { ...persisted }, () => undefined).begin('spawn_agent', { goal: 'g', name: 'c' });
    expect(again.callId).toBe(a.callId);
    // Once answered, a deliberate repeat is a new call.
    a.done();
    expect(persisted[callKey('spawn_agent', { name: 'c', goal: 'g' })]).toBe(1);
    const b = new CallIds(() => 'sess-1', { ...persisted }, () => undefined).begin('spawn_agent', { name: 'c', goal: 'g' });
    expect(b.callId).not.toBe(a.callId);
    expect(a.callId.startsWith('sess-1/spawn_agent/')).toBe(true);
  });
});
