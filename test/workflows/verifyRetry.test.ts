/**
 * Fix-and-retry (docs/loops.md) against the real dev server: an agent whose verification fails gets the failure and
 * works again in the same worktree, up to `verifyAttempts`; every attempt shows in status, results and `cadre logs`.
 * Scripted agents play the model; command agents read CADRE_ATTEMPT / CADRE_VERIFY_FAILURE.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTranscript } from '../../src/activities/model/transcript';
import { agentResultOf, runResultOf } from '../../src/client/results';
import { defaultLimits, type AgentInput } from '../../src/shared/agent';
import { agentStatusQuery } from '../../src/shared/messages';
import type { RunPlanResult } from '../../src/shared/run';
import { cadre } from '../support/cli';
import { recordHistory } from '../support/histories';
import { commandTask, plan } from '../support/plans';
import { makeRepo, showFile } from '../support/repo';
import { testAddress, testDir, uniqueId, withWorker } from '../support/temporal';

function agentInput(repo: string, extra: Partial<AgentInput>): AgentInput {
  return { repo, baseRef: 'HEAD', goal: 'test goal', backend: 'scripted', model: 'scripted', maxTokens: 1024, maxTurns: 20, budget: {}, depth: 0, limits: defaultLimits, ...extra };
}

function writeScript(turns: unknown[]): string {
  const file = join(testDir('script'), 'script.json');
  writeFileSync(file, JSON.stringify({ turns }));
  return file;
}

const row = (r: RunPlanResult, id: string) => r.tasks.find((t) => t.id === id)!;

describe('fix-and-retry', () => {
  it('a scripted agent whose verify command fails reads the failure in its next turn, fixes it, and completes', async () => {
    const repo = makeRepo();
    const script = writeScript([
      { tools: [{ write_file: { path: 'notes.md', content: 'draft\n' } }] },
      { tools: [{ finish: { summary: 'done, I think' } }] },
      // Attempt 2: the failure came in as a message; the model writes what the check wants.
      { tools: [{ write_file: { path: 'fixed.txt', content: 'yes\n' } }] },
      { tools: [{ finish: { summary: 'fixed' } }] },
    ]);
    const verify = ['sh', '-c', 'test -f fixed.txt || { echo "fixed.txt is missing, please add it"; exit 4; }'];
    const { result, snapshot, stateDir } = await withWorker({}, async ({ client, taskQueue, stateDir }) => {
      const handle = await client.workflow.start('agent', { workflowId: uniqueId('fix'), taskQueue, args: [agentInput(repo, { script, verify, outputs: ['notes.md'] })] });
      const result = await agentResultOf(handle);
      await recordHistory(handle, 'agent-fix-and-retry-scripted');
      return { result, snapshot: await handle.query(agentStatusQuery), stateDir };
    });
    expect(result.status).toBe('completed');
    expect(result.summary).toBe('fixed');
    expect(result.turns).toBe(4);
    expect(result.attempts).toEqual([
      { attempt: 1, ok: false, check: 'verify', summary: 'verify failed (exit 4): fixed.txt is missing, please add it\n' },
      { attempt: 2, ok: true, summary: 'passed' },
    ]);
    expect(result.verifyAttempts).toBe(2);
    expect(snapshot).toMatchObject({ attempt: 2, verifyAttempts: 2, attempts: result.attempts });
    // Same worktree, same branch: both attempts' work is there.
    expect(showFile(repo, result.branch, 'notes.md')).toBe('draft\n');
    expect(showFile(repo, result.branch, 'fixed.txt')).toBe('yes\n');
    // The failure reached the model as a user message at the start of turn 3, with the command's output.
    const records = await readTranscript(stateDir, result.agentId);
    const turn3 = records.find((r) => r.kind === 'user' && r.turn === 3);
    const text = JSON.stringify(turn3);
    expect(text).toContain('Verification failed after your work (attempt 1 of 2): verify check.');
    expect(text).toContain('fixed.txt is missing, please add it');
  });

  it('a command task that forgets an output gets the failure in its environment, fixes it on its second attempt, and the run completes (agent and inline)', async () => {
    const repo = makeRepo();
    const sh = 'echo "attempt $CADRE_ATTEMPT" >> attempts.log; if [ "$CADRE_ATTEMPT" = 2 ]; then printf "%s" "$CADRE_VERIFY_FAILURE" > why.txt; echo ok > out.txt; fi';
    for (const inlineCommands of [false, true]) {
      const result = await withWorker({}, async ({ client, taskQueue }) => {
        const runId = uniqueId(inlineCommands ? 'fixinline' : 'fixrun');
        await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan([commandTask('gen', sh, { outputs: ['out.txt'] }), commandTask('after', 'true', { dependsOn: ['gen'] })], { inlineCommands }) }] });
        return runResultOf(client.workflow.getHandle(runId));
      });
      expect(result.status).toBe('completed');
      expect(row(result, 'gen')).toMatchObject({ status: 'completed', attempts: 1 });
      expect(row(result, 'after').status).toBe('completed');
      // One worktree for both attempts: the first attempt's line is still in the log the second appended to.
      expect(showFile(repo, result.integrationBranch, 'attempts.log')).toBe('attempt \nattempt 2\n');
      expect(showFile(repo, result.integrationBranch, 'out.txt')).toBe('ok\n');
      const why = showFile(repo, result.integrationBranch, 'why.txt')!;
      expect(why).toContain('attempt 1 of 2');
      expect(why).toContain('These declared outputs do not exist in the worktree: out.txt');
    }
  });

  it('an agent that never fixes it fails after verifyAttempts, with every attempt in its status, its result and `cadre logs`', async () => {
    const repo = makeRepo();
    const dir = testDir('never');
    const counter = join(dir, 'runs');
    const tasks = [commandTask('stubborn', `echo run >> ${counter}; echo nothing > other.txt`, { outputs: ['out.txt'] }), commandTask('after', 'true', { dependsOn: ['stubborn'] })];
    await withWorker({}, async ({ client, taskQueue, stateDir }) => {
      const runId = uniqueId('never');
      await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks, { defaults: { verifyAttempts: 3 } }) }] });
      const result = await runResultOf(client.workflow.getHandle(runId));
      expect(result.status).toBe('failed');
      // The error is the verification's, as without retries; the dependents are blocked.
      expect(row(result, 'stubborn')).toMatchObject({ status: 'failed', error: 'missing outputs: out.txt', attempts: 1 });
      expect(row(result, 'after').status).toBe('blocked');
      expect(readFileSync(counter, 'utf8')).toBe('run\nrun\nrun\n');
      const agent = await agentResultOf(client.workflow.getHandle(`${runId}/stubborn`));
      await recordHistory(client.workflow.getHandle(`${runId}/stubborn`), 'agent-fix-and-retry-command-unfixed');
      expect(agent.attempts).toEqual([1, 2, 3].map((attempt) => ({ attempt, ok: false, check: 'outputs', summary: 'missing outputs: out.txt' })));
      expect(agent.verifyAttempts).toBe(3);

      const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: stateDir, CADRE_TASK_QUEUE: taskQueue };
      const logs = await cadre(['logs', `${runId}/stubborn`], env);
      expect(logs.stdout).toContain(`verification of ${runId}/stubborn: 3 attempts of 3`);
      for (const n of [1, 2, 3]) expect(logs.stdout).toContain(`attempt ${n}: failed (outputs): missing outputs: out.txt`);
      const json = JSON.parse((await cadre(['logs', `${runId}/stubborn`, '--json'], env)).stdout) as { attempts: unknown[]; verifyAttempts: number };
      expect(json.attempts).toEqual(agent.attempts);
      expect(json.verifyAttempts).toBe(3);
      const status = await cadre(['status', `${runId}/stubborn`], env);
      expect(status.stdout).toContain('3 attempts of 3');
      expect(status.stdout).toContain('attempt 3: failed (outputs): missing outputs: out.txt');
    });
  });

  it('verifyAttempts: 1 fails at once, as before; an agent out of turns or budget on its fix attempt stops as before and says what it was fixing', async () => {
    const repo = makeRepo();
    const once = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('once');
      await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan([commandTask('t', 'true', { outputs: ['out.txt'], verifyAttempts: 1 })]) }] });
      const r = await runResultOf(client.workflow.getHandle(runId));
      return { r, agent: await agentResultOf(client.workflow.getHandle(`${runId}/t`)) };
    });
    expect(row(once.r, 't')).toMatchObject({ status: 'failed', error: 'missing outputs: out.txt' });
    expect(once.agent.attempts).toEqual([{ attempt: 1, ok: false, check: 'outputs', summary: 'missing outputs: out.txt' }]);

    const script = writeScript([{ tools: [{ finish: { summary: 'nothing to do' } }] }]);
    const result = await withWorker({}, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('agent', { workflowId: uniqueId('turns'), taskQueue, args: [agentInput(repo, { script, maxTurns: 1, outputs: ['out.txt'] })] });
      return agentResultOf(handle);
    });
    expect(result.status).toBe('max_turns');
    expect(result.error).toBe('missing outputs: out.txt (attempt 2 ended max_turns before it passed)');
    expect(result.attempts).toEqual([{ attempt: 1, ok: false, check: 'outputs', summary: 'missing outputs: out.txt' }]);

    // The fix attempt spends from the same budget: what the first attempt left does not cover another turn.
    const costly = writeScript([{ tools: [{ finish: { summary: 'spent it' } }], usage: { input: 3000, output: 10 } }]);
    const broke = await withWorker({}, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('agent', { workflowId: uniqueId('broke'), taskQueue, args: [agentInput(repo, { script: costly, budget: { tokens: 4000 }, outputs: ['out.txt'] })] });
      return agentResultOf(handle);
    });
    expect(broke.status).toBe('budget_exhausted');
    expect(broke.turns).toBe(1);
    expect(broke.usage.inputTokens + broke.usage.outputTokens).toBe(3010);
    expect(broke.returned.tokens).toBe(990);
    expect(broke.error).toBe('missing outputs: out.txt (attempt 2 ended budget_exhausted before it passed)');
  });
});
