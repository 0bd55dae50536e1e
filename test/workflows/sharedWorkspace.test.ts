import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertFence, lockWorkflowIdFor } from '../../src/activities/lockActivities';
import { createModelActivities } from '../../src/activities/model/modelTurn';
import { inActivities } from '../support/activityContext';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { locksQuery } from '../../src/shared/locks';
import { branches, git, makeRepo } from '../support/repo';
import { testClient, testDir, uniqueId, withWorker } from '../support/temporal';

function script(turns: unknown[]): string {
  const file = join(testDir('script'), 's.json');
  writeFileSync(file, JSON.stringify({ turns }));
  return file;
}

const input = (repo: string, s: string): AgentInput => ({
  repo, baseRef: 'HEAD', goal: 'edit the checkout', backend: 'scripted', model: 'scripted', maxTokens: 1024, maxTurns: 20, budget: {}, depth: 0, limits: defaultLimits, script: s, workspaceMode: 'shared',
});

describe('shared-workspace mode: agents editing one checkout under file locks', () => {
  it('two agents write into the same checkout, every write under a lock, nothing committed and no worktree made', async () => {
    const repo = makeRepo();
    const writer = (who: string) =>
      script([
        ...Array.from({ length: 4 }, (_, i) => ({ tools: [{ write_file: { path: 'shared.txt', content: `${who} ${i}\n` } }, { write_file: { path: `${who}.txt`, content: `${i}\n` } }] })),
        { tools: [{ edit_file: { path: `${who}.txt`, old_string: '3', new_string: 'three' } }] },
        { tools: [{ finish: { summary: `${who} done` } }] },
      ]);
    const { results, view } = await withWorker({}, async ({ client, taskQueue }) => {
      const results = (await Promise.all(
        ['alpha', 'beta'].map((who) => client.workflow.execute('agent', { workflowId: uniqueId(who), taskQueue, args: [input(repo, writer(who))] })),
      )) as AgentResult[];
      const view = await client.workflow.getHandle(lockWorkflowIdFor(repo)).query(locksQuery);
      return { results, view };
    });
    expect(results.map((r) => r.status)).toEqual(['completed', 'completed']);
    expect(results[0]!.filesChanged).toEqual(['alpha.txt', 'shared.txt']);
    expect(readFileSync(join(repo, 'alpha.txt'), 'utf8')).toBe('three\n');
    expect(readFileSync(join(repo, 'beta.txt'), 'utf8')).toBe('three\n');
    expect(readFileSync(join(repo, 'shared.txt'), 'utf8')).toMatch(/^(alpha|beta) 3\n$/);
    // Ten writing turns, each under a grant; all released.
    expect(view.stats.granted).toBe(10);
    expect(view.holders).toEqual([]);
    // The user's checkout: changed files, but no cadre commit, branch or worktree.
    expect(git(repo, 'log', '--oneline').split('\n')).toHaveLength(1);
    expect(branches(repo)).toEqual(['main']);
    expect(git(repo, 'worktree', 'list').split('\n')).toHaveLength(1);
  });

  it('a write whose token no longer holds the path is refused (fencing) and the file is untouched', async () => {
    const repo = makeRepo();
    const stateDir = testDir('state');
    const client = await testClient();
    await withWorker({}, async ({ client: c, taskQueue }) => {
      // Make the repository's lock manager exist and hand out (and take back) one grant. The worker stays up: the
      // fence check asks the lock workflow.
      await c.workflow.execute('agent', { workflowId: uniqueId('warm'), taskQueue, args: [input(repo, script([{ tools: [{ write_file: { path: 'warm.txt', content: 'x\n' } }] }]))] });
      const reasons: string[] = [];
      const model = inActivities(createModelActivities({
        stateDir,
        fenceCheck: async (i) => assertFence(client, i).then(() => undefined, (e: Error) => (reasons.push(e.message), e.message)),
      }));
      const agentId = uniqueId('stale');
      const s = script([{ tools: [{ write_file: { path: 'victim.txt', content: 'stale write\n' } }] }]);
      const out = await model.modelTurn({ agentId, turn: 1, backend: 'scripted', model: 'scripted', maxTokens: 100, workspace: repo, goal: 'g', tools: ['write_file'], scriptPath: s, deferWrites: true });
      expect(out.pendingWrites).toEqual([{ toolUseId: expect.any(String), name: 'write_file', path: 'victim.txt' }]);
      expect(existsSync(join(repo, 'victim.txt'))).toBe(false);
      const r = await model.applyWrites({ agentId, turn: 1, workspace: repo, writes: out.pendingWrites!, fence: { repo, token: 1 } });
      expect(r.toolRuns).toEqual([{ name: 'write_file', summary: 'write_file victim.txt: refused (lock lost)', isError: true }]);
      expect(reasons).toEqual(['write to victim.txt refused: token 1 does not hold it (nobody does)']);
      expect(existsSync(join(repo, 'victim.txt'))).toBe(false);
    });
  });
});
