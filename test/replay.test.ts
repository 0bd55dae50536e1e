import { resolve } from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadHistories } from './support/histories';

const noop = () => undefined;
const quiet = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

describe('replay of recorded histories', () => {
  const histories = loadHistories();

  it('has fixtures for every workflow type', () => {
    const types = new Set(
      histories.map((h) => h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name),
    );
    expect([...types].sort()).toEqual(expect.arrayContaining(['agent', 'runPlan']));
  });

  it('the current workflow code replays every recorded history', async () => {
    const results = Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') } }, histories);
    const failures: string[] = [];
    let n = 0;
    for await (const r of results) {
      n++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(n).toBe(histories.length);
  });

  it('a deliberately incompatible change is caught', async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: resolve(__dirname, 'fixtures/incompatible/index.ts'), logger: quiet });
    const runPlanHistories = histories.filter((h) => h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name === 'runPlan');
    expect(runPlanHistories.length).toBeGreaterThan(0);
    const results = Worker.runReplayHistories({ workflowBundle: bundle }, runPlanHistories);
    const errors: string[] = [];
    for await (const r of results) if (r.error) errors.push(r.error.name);
    expect(errors).toHaveLength(runPlanHistories.length);
    expect(errors.every((e) => e === 'DeterminismViolationError')).toBe(true);
  });
});
