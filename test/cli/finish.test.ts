/**
 * Through the built CLI: `cadre run` prints the importer's warnings, a failed run is FAILED in Temporal and `cadre
 * list`, `cadre retry` finishes it after it ended (completed tasks not re-run), and `cadre approve|reject` answer a
 * task waiting at its gate, shown `waiting` by `cadre status`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cadre, startCadre } from '../support/cli';
import { makeRepo } from '../support/repo';
import { testAddress, testClient, testDir, uniqueId } from '../support/temporal';

const envFor = (name: string) => ({ TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir(`${name}-state`), CADRE_TASK_QUEUE: uniqueId(name) });

describe('finishing a run after it ended, through the CLI', () => {
  it('run warns, fails as FAILED; retry on the ended run runs only the failed task and exits 0', async () => {
    const env = envFor('finish');
    const dir = testDir('finish-plan');
    const counter = join(dir, 'counter');
    const flag = join(dir, 'fixed');
    mkdirSync(join(dir, 'tasks', '01-a'), { recursive: true });
    // `note` is not strict YAML (an invalid escape) in a key cadre does not read: a warning, not an error.
    writeFileSync(join(dir, 'tasks', '01-a', '01-one.md'), `---\ndependencies: []\nnote: "\\.claude.*skills"\ncommand: ["sh", "-c", "echo one >> ${counter}; echo one > one.txt"]\n---\n# one\n`);
    writeFileSync(join(dir, 'tasks', '01-a', '02-two.md'), `---\ndependencies: [01-a/01-one]\ncommand: ["sh", "-c", "test -f ${flag} && echo two > two.txt"]\n---\n# two\n`);
    const repo = makeRepo();

    const first = await cadre(['run', join(dir, 'tasks'), '--repo', repo], env, 240_000);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/cadre: warning: .*01-one\.md:3: /);
    const runId = /started run (\S+) \(2 tasks\)/.exec(first.stdout)?.[1] ?? '';
    expect(runId).not.toBe('');
    const client = await testClient();
    expect((await client.workflow.getHandle(runId).describe()).status.name).toBe('FAILED');
    const list = await cadre(['list', '--json'], env);
    expect((JSON.parse(list.stdout) as { runId: string; status: string }[]).find((r) => r.runId === runId)?.status).toBe('failed');
    const status = await cadre(['status', runId, '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'failed', counts: expect.objectContaining({ completed: 1, failed: 1 }) });

    const refused = await cadre(['retry', runId, '01-a.01-one'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/task "01-a.01-one" is completed; only failed, blocked or cancelled tasks can be retried/);

    writeFileSync(flag, 'yes');
    const retried = await cadre(['retry', runId, '01-a.02-two'], env, 240_000);
    expect(retried.stderr).toBe('');
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(new RegExp(`finishing run ${runId}: 01-a.02-two again, 1 done task\\(s\\) kept`));
    expect(readFileSync(counter, 'utf8')).toBe('one\n');
    expect((await client.workflow.getHandle(runId).describe()).status.name).toBe('COMPLETED');
    const done = JSON.parse((await cadre(['status', runId, '--json'], env)).stdout) as { status: string; tasks: { id: string; status: string; attempts: number }[] };
    expect(done.status).toBe('completed');
    expect(done.tasks.map((t) => `${t.id}:${t.status}:${t.attempts}`)).toEqual(['01-a.01-one:completed:1', '01-a.02-two:completed:2']);

    const again = await cadre(['resume', runId], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is completed, not running|nothing to retry/);
  }, 600_000);

  it('a gate task waits for `cadre approve`, shown waiting by `cadre status`; approve lets the run complete', async () => {
    const env = envFor('approve');
    const file = join(testDir('approve-plan'), 'plan.yaml');
    writeFileSync(
      file,
      `name: gated
tasks:
  - { id: build, title: Build, command: ["sh", "-c", "echo b > b.txt"] }
  - { id: verify, title: Verify by hand, dependsOn: [build], approval: "Open b.txt and check it", command: ["true"] }
`,
    );
    const run = await startCadre(['run', file, '--repo', makeRepo()], env, /\] verify waiting for approval: Open b\.txt and check it \(cadre approve\|reject \S+ verify\)/, 240_000);
    try {
      const runId = /started run (\S+)/.exec(run.output())?.[1] ?? '';
      const status = await cadre(['status', runId], env);
      expect(status.stdout).toMatch(/verify\s+waiting\s.*for approval: Open b\.txt and check it/);
      const wrong = await cadre(['approve', runId, 'build'], env);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/task "build" has no approval gate/);
      const ok = await cadre(['approve', runId, 'verify'], env);
      expect(ok.stdout).toBe('approved verify\n');
      const code = await new Promise<number | null>((res) => run.child.on('exit', res));
      expect(code).toBe(0);
    } finally {
      run.child.kill('SIGTERM');
    }
  }, 600_000);
});
