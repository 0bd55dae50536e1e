import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/shared/plan';
import type { RunPlanInput, RunPlanResult } from '../../src/workflows/runPlan';
import { makeRepo, showFile } from '../support/repo';
import { uniqueId, withWorker } from '../support/temporal';

const commandTask = (id: string, sh: string, extra: Partial<Plan['tasks'][number]> = {}): Plan['tasks'][number] => ({
  id,
  title: id,
  prompt: '',
  dependsOn: [],
  priority: 5,
  files: [],
  outputs: [],
  done: false,
  backend: 'command',
  command: ['sh', '-c', sh],
  ...extra,
});

export function plan(tasks: Plan['tasks'], extra: Partial<Plan> = {}): Plan {
  return { name: 'test', source: { format: 'native', path: '/dev/null' }, maxConcurrency: 5, phaseLimits: {}, phaseOrder: [], failFast: false, defaults: {}, tasks, ...extra };
}

describe('runPlan on a real Temporal server', () => {
  it('runs two dependent command tasks and merges both into the integration branch', async () => {
    const repo = makeRepo();
    const result = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('hello');
      const input: RunPlanInput = {
        runId,
        repo,
        plan: plan([
          commandTask('greet', "echo 'hello' > HELLO.md", { outputs: ['HELLO.md'] }),
          commandTask('sign', "echo 'signed' >> HELLO.md", { dependsOn: ['greet'], verify: ['grep', '-q', 'signed', 'HELLO.md'] }),
        ]),
      };
      return (await client.workflow.execute('runPlan', { workflowId: runId, taskQueue, args: [input] })) as RunPlanResult;
    });
    expect(result.status).toBe('completed');
    expect(result.counts.completed).toBe(2);
    expect(showFile(repo, result.integrationBranch, 'HELLO.md')).toBe('hello\nsigned\n');
  });
});
