/** Thousands of acquire/release cycles on one repository; the lock workflow's history stays bounded. */
import { describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { lockWorkflowIdFor } from '../../src/activities/lockActivities';
import { repoKey } from '../../src/activities/paths';
import type { FileLocksInput } from '../../src/workflows/locks/fileLocks';
import { testDir, uniqueId } from '../support/temporal';
import { queryLocks, withLocksWorker } from './support';
import type { CyclesInput, CyclesResult } from './workflows';

const HOLDERS = 20;
const CYCLES = 100;
const MAX_EVENTS = 1500;

describe('fileLocks under load', () => {
  it(`completes ${HOLDERS * CYCLES} acquire/release cycles, continuing-as-new to keep its history under ${MAX_EVENTS} events`, { timeout: 600_000 }, async () => {
    const repo = testDir('repo-can');
    const lockId = lockWorkflowIdFor(repo);
    await withLocksWorker(async ({ client, taskQueue }) => {
      // Start the lock manager ourselves, with a small history bound; requests then signal the running one.
      const lock = await client.workflow.start('fileLocks', {
        workflowId: lockId,
        taskQueue,
        args: [{ repoKey: repoKey(repo), repo, maxHistoryEvents: MAX_EVENTS } satisfies FileLocksInput],
      });
      const started = Date.now();
      const handles: WorkflowHandle[] = [];
      for (let h = 0; h < HOLDERS; h++) {
        // two holders per path: contention on every path, ten paths in parallel
        const input: CyclesInput = { repo, rounds: Array.from({ length: CYCLES }, () => [`f${h % 10}.ts`]) };
        handles.push(await client.workflow.start('lockCycles', { workflowId: uniqueId(`cycles${h}`), taskQueue, args: [input] }));
      }
      let done = false;
      let maxSeen = 0;
      const sampler = (async () => {
        while (!done) {
          const d = await client.workflow.getHandle(lockId).describe();
          maxSeen = Math.max(maxSeen, d.historyLength);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const results = (await Promise.all(handles.map((h) => h.result()))) as CyclesResult[];
      done = true;
      await sampler;
      const elapsed = Date.now() - started;

      const tokens = results.flatMap((r) => r.tokens);
      expect(tokens).toHaveLength(HOLDERS * CYCLES);
      expect(new Set(tokens).size).toBe(tokens.length);
      for (const r of results) for (let i = 1; i < r.tokens.length; i++) expect(r.tokens[i]!).toBeGreaterThan(r.tokens[i - 1]!);

      const view = await queryLocks(client, repo);
      const d = await client.workflow.getHandle(lockId).describe();
      expect(view.holders).toEqual([]);
      expect(view.waiters).toEqual([]);
      expect(view.stats.granted).toBe(HOLDERS * CYCLES);
      expect(view.stats.expired).toBe(0);
      expect(view.generation).toBeGreaterThan(2);
      expect(d.runId).not.toBe(lock.firstExecutionRunId);
      expect(d.historyLength).toBeLessThan(MAX_EVENTS + 300);
      expect(maxSeen).toBeLessThan(MAX_EVENTS + 300);
      console.log(
        `locks load: ${tokens.length} cycles in ${(elapsed / 1000).toFixed(1)}s (${Math.round(tokens.length / (elapsed / 1000))}/s), ` +
          `${view.generation} runs of the lock workflow, largest history seen ${maxSeen} events (bound ${MAX_EVENTS})`,
      );
    });
  });
});
