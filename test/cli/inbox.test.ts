/**
 * `cadre inbox` through the built CLI on the real dev server: nothing running says so (exit 0), an unreachable
 * server is one line and exit 69; a run with a task at its approval gate and a quiet task that stalls shows a
 * `gate` and a `stalled` item, the operator's message to an ended task a `dead-letter` item, and running the gate's
 * command takes the gate out of the inbox.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InboxItem } from '../../src/client/inbox';
import { cadre, startCadre } from '../support/cli';
import { makeRepo } from '../support/repo';
import { testAddress, testDir, uniqueId } from '../support/temporal';

const envFor = (name: string) => ({ TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir(`${name}-state`), CADRE_TASK_QUEUE: uniqueId(name) });

async function inbox(env: Record<string, string>): Promise<InboxItem[]> {
  const r = await cadre(['inbox', '--json'], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { items: InboxItem[] }).items;
}

describe('cadre inbox', () => {
  it('nothing running: "nothing waits for you", exit 0, and an empty JSON list', async () => {
    const env = envFor('inbox-empty');
    const text = await cadre(['inbox'], env);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('nothing waits for you\n');
    expect(await inbox(env)).toEqual([]);
  }, 120_000);

  it('Temporal unreachable: one line, exit 69', async () => {
    const r = await cadre(['inbox'], { TEMPORAL_ADDRESS: '127.0.0.1:1', CADRE_STATE_DIR: testDir('inbox-down') });
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/^cadre: cannot reach Temporal at 127\.0\.0\.1:1[^\n]*\n$/);
    expect(r.stdout).toBe('');
  }, 120_000);

  it('a gate, a stalled task and a dead letter are listed with the commands that answer them; approving clears the gate', async () => {
    const env = envFor('inbox');
    const file = join(testDir('inbox-plan'), 'plan.yaml');
    writeFileSync(
      file,
      `name: inboxed
tasks:
  - { id: quick, title: Quick, command: ["true"] }
  - { id: verify, title: Verify by hand, dependsOn: [quick], approval: "Open b.txt and check it", command: ["sh", "-c", "echo b > b.txt"] }
  - { id: quiet, title: Quiet, stallAfter: 10, command: ["sleep", "900"] }
`,
    );
    const run = await startCadre(['run', file, '--repo', makeRepo()], env, /\] verify waiting for approval/, 240_000);
    try {
      const runId = /started run (\S+)/.exec(run.output())?.[1] ?? '';
      expect(runId).not.toBe('');
      let items: InboxItem[] = [];
      for (let i = 0; i < 200 && !items.some((it) => it.kind === 'stalled' && it.runId === runId); i++) items = await inbox(env);
      const gate = items.filter((it) => it.kind === 'gate' && it.runId === runId);
      expect(gate).toEqual([
        expect.objectContaining({ taskId: 'verify', summary: 'Verify by hand: Open b.txt and check it', command: `cadre approve ${runId} verify`, also: [`cadre reject ${runId} verify --reason '…'`] }),
      ]);
      expect(typeof gate[0].since).toBe('number');
      expect(items.find((it) => it.kind === 'stalled' && it.runId === runId)).toMatchObject({ taskId: 'quiet', agentId: expect.stringContaining('quiet'), command: expect.stringMatching(/^cadre send \S+ '…'$/), also: [`cadre cancel ${runId} quiet`], summary: expect.stringMatching(/^stalled: no progress for /) });

      // `quick` ended before `verify` started: a message to it is dead-lettered in the run, the operator's own.
      const late = await cadre(['send', `${runId}/quick`, 'too late'], env);
      expect(late.code).toBe(1);
      expect((await inbox(env)).filter((it) => it.kind === 'dead-letter' && it.runId === runId)).toEqual([
        expect.objectContaining({ agentId: `${runId}/quick`, command: `cadre status ${runId}/quick`, summary: expect.stringMatching(new RegExp(`^your message \\S+ to ${runId}/quick not delivered \\(.*has ended.*\\): too late$`)) }),
      ]);

      const text = await cadre(['inbox'], env);
      expect(text.stdout).toContain(`→ cadre approve ${runId} verify`);

      const answer = await cadre(gate[0].command.split(' ').slice(1), env);
      expect(answer.stderr).toBe('');
      expect(answer.stdout).toBe('approved verify\n');
      expect((await inbox(env)).filter((it) => it.kind === 'gate' && it.runId === runId)).toEqual([]);
    } finally {
      run.child.kill('SIGTERM');
    }
  }, 600_000);
});
