/**
 * Workspace setup from the plan (`bootstrap`): files copied from the main checkout and a setup command run once in
 * each new workspace before the agent starts; a failing setup is a clear task failure naming the command.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlan } from '../../src/client/plans';
import { runResultOf } from '../../src/client/results';
import type { RunPlanWorkflow } from '../../src/shared/run';
import { makeRepo } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';

const show = (repo: string, ref: string) => execFileSync('git', ['-C', repo, 'show', ref], { encoding: 'utf8' });

describe('plan bootstrap', () => {
  it('copies the listed files, runs the setup command once per workspace, and fails the task when setup fails', async () => {
    const repo = makeRepo({ 'README.md': '# r\n', '.gitignore': '.env\n' });
    writeFileSync(join(repo, '.env'), 'TOKEN_NAME=local\n'); // untracked: only bootstrap can bring it into a worktree
    const dir = testDir('plan');
    writeFileSync(join(dir, 'plan.yaml'), [
      'name: bootstrap',
      'defaults:',
      '  bootstrap:',
      '    copy: [.env]',
      "    setup: [sh, -c, 'echo prepared > setup.txt']",
      '    setupTimeout: 2m',
      'tasks:',
      '  - id: uses-setup',
      '    title: uses what setup made',
      "    command: [sh, -c, 'cat .env setup.txt > out.txt']",
      '    outputs: [out.txt]',
      '  - id: bad-setup',
      '    title: setup fails',
      "    command: [sh, -c, 'echo never > never.txt']",
      '    bootstrap:',
      "      setup: [sh, -c, 'echo cannot install; exit 3']",
    ].join('\n'));
    const plan = await loadPlan(join(dir, 'plan.yaml'));
    expect(plan.defaults.bootstrap).toEqual({ copy: ['.env'], setup: ['sh', '-c', 'echo prepared > setup.txt'], setupTimeoutSeconds: 120 });
    const result = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('boot');
      // One task fails, so the run closes FAILED with its result in the failure.
      return runResultOf(await client.workflow.start<RunPlanWorkflow>('runPlan', { workflowId: runId, taskQueue, args: [{ runId, plan, repo }] }));
    });
    const byId = Object.fromEntries(result.tasks.map((t) => [t.id, t]));
    expect(byId['uses-setup']!.status).toBe('completed');
    expect(show(repo, `${result.integrationBranch}:out.txt`)).toBe('TOKEN_NAME=local\nprepared\n');
    // The copied file is never committed.
    expect(() => show(repo, `${result.integrationBranch}:.env`)).toThrow();
    expect(byId['bad-setup']!.status).toBe('failed');
    expect(byId['bad-setup']!.error).toMatch(/bootstrap setup sh -c echo cannot install; exit 3 failed \(exit 3\)/);
  }, 120_000);

  it('passes dependency caches from the plan to the workspace: the second task restores what the setup of the first made', async () => {
    const repo = makeRepo({ 'README.md': '# r\n', '.gitignore': 'deps/\n', 'deps.lock': 'v1\n' });
    const dir = testDir('plan');
    writeFileSync(join(dir, 'plan.yaml'), [
      'name: caches',
      'defaults:',
      '  bootstrap:',
      "    setup: [sh, -c, 'mkdir -p deps && echo \"installed $$\" > deps/stamp']",
      '    caches: [{ dir: deps, key: deps.lock }]',
      'tasks:',
      '  - id: first',
      '    title: installs',
      "    command: [sh, -c, 'cp deps/stamp first.txt']",
      '  - id: second',
      '    title: restores',
      '    dependsOn: [first]',
      "    command: [sh, -c, 'cp deps/stamp second.txt']",
    ].join('\n'));
    const plan = await loadPlan(join(dir, 'plan.yaml'));
    expect(plan.defaults.bootstrap?.caches).toEqual([{ dir: 'deps', key: ['deps.lock'] }]);
    const { result, stateDir } = await withWorker({}, async ({ client, taskQueue, stateDir }) => {
      const runId = uniqueId('cache');
      const handle = await client.workflow.start<RunPlanWorkflow>('runPlan', { workflowId: runId, taskQueue, args: [{ runId, plan, repo }] });
      return { result: await runResultOf(handle), stateDir };
    });
    const run = result;
    expect(run.tasks.map((t) => t.status)).toEqual(['completed', 'completed']);
    const first = show(repo, `${run.integrationBranch}:first.txt`);
    expect(first).toMatch(/^installed \d+\n$/);
    expect(show(repo, `${run.integrationBranch}:second.txt`)).toBe(first); // restored, not installed again
    const logs = readdirSync(join(stateDir, 'logs')).filter((f) => f.endsWith('.setup.log')).map((f) => readFileSync(join(stateDir, 'logs', f), 'utf8'));
    expect(logs.filter((l) => /deps: saved deps-/.test(l))).toHaveLength(1);
    expect(logs.filter((l) => /deps: hit deps-[\s\S]*setup skipped/.test(l))).toHaveLength(1);
  }, 120_000);
});
