import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mailboxQuery, runProgressQuery, type RunProgress } from '../../src/shared/messages';
import { cadre } from '../support/cli';
import { commandTask, plan } from '../support/plans';
import { makeRepo } from '../support/repo';
import { testAddress, testDir, uniqueId, withWorker } from '../support/temporal';
import { runResultOf } from '../../src/client/results';

describe('cadre send', () => {
  it('delivers to a running agent, and puts a message to an ended one in the run\'s dead-letter list', async () => {
    const repo = makeRepo();
    const gate = join(testDir('gate'), 'open');
    const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('cli') };
    const result = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('send');
      const handle = await client.workflow.start('runPlan', {
        workflowId: runId,
        taskQueue,
        args: [{ runId, repo, plan: plan([commandTask('hold', `while [ ! -f ${gate} ]; do sleep 0.1; done`), commandTask('quick', 'true')]) }],
      });
      let p: RunProgress | undefined;
      for (let i = 0; i < 200; i++) {
        p = await handle.query(runProgressQuery);
        const st = Object.fromEntries(p.tasks.map((t) => [t.id, t.status]));
        if (st.hold === 'running' && st.quick === 'completed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const ok = await cadre(['send', `${runId}/hold`, 'please hurry', '--priority', 'high', '--id', 'op-1'], env);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toBe(`delivered op-1 to ${runId}/hold\n`);
      const box = await client.workflow.getHandle(`${runId}/hold`).query(mailboxQuery);
      expect(box.messages).toMatchObject([{ id: 'op-1', from: 'operator', text: 'please hurry', priority: 'high', state: 'pending' }]);

      const late = await cadre(['send', `${runId}/quick`, 'too late'], env);
      expect(late.code).toBe(1);
      expect(late.stderr).toBe(`cadre: not delivered: ${runId}/quick has ended (completed); kept in run ${runId}'s dead-letter list (cadre status ${runId})\n`);
      const bad = await cadre(['send', `${runId}/hold`, 'x', '--priority', 'urgent'], env);
      expect(bad.code).toBe(2);
      const status = await cadre(['status', runId], env);
      expect(status.stdout).toContain('dead letters (1):');
      expect(status.stdout).toMatch(new RegExp(`operator#\\w+ from operator to ${runId}/quick: too late — ${runId}/quick has ended`));
      writeFileSync(gate, 'open');
      return await runResultOf(handle);
    });
    expect(result.deadLetters).toHaveLength(2);
    expect(result.deadLetters[0]).toMatchObject({ message: { text: 'too late', from: 'operator' }, reason: expect.stringContaining('has ended') });
    // A command agent reads no messages: what it got is dead-lettered when it ends, never dropped.
    expect(result.deadLetters[1]).toMatchObject({ message: { id: 'op-1', text: 'please hurry' }, reason: `${result.runId}/hold ended (completed) before reading it` });
  });
});
