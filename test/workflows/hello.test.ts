import { describe, expect, it } from 'vitest';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import { commandTask, plan } from '../support/plans';
import { makeRepo, showFile } from '../support/repo';
import { recordHistory } from '../support/histories';
import { uniqueId, withWorker } from '../support/temporal';

/** The patch id of a `core_patch` marker (its details hold `{ id, deprecated }` as a JSON payload, `patch-data`). */
function patchIdOf(details: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }> | null | undefined): string {
  const data = details?.['patch-data']?.payloads?.[0]?.data;
  return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id : '?';
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
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [input] });
      const result = (await handle.result()) as RunPlanResult;
      await recordHistory(handle, 'runPlan-two-tasks');
      // A command agent: its program and ending in one activity.
      await recordHistory(client.workflow.getHandle(`${runId}/sign`), 'agent-command');
      // Workflows started on this code record one patch marker, the baseline (src/workflows/patches.ts), not one each.
      for (const id of [runId, `${runId}/sign`]) {
        const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
        const patches = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
        expect(patches.map((e) => patchIdOf(e.markerRecordedEventAttributes!.details)), id).toEqual(['cadre-baseline-2026-12b']);
      }
      // A task agent is started with its whole identity (role, depth, status, run, task): it upserts none of it, only
      // the patch marker's change version and its status changes; every attribute still reads as before.
      const agent = client.workflow.getHandle(`${runId}/sign`);
      const upserts = ((await agent.fetchHistory()).events ?? []).flatMap((e) => {
        const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
        return fields ? [Object.keys(fields).sort().join(',')] : [];
      });
      expect(upserts).toEqual(['TemporalChangeVersion', 'CadreBudgetUsed,CadreStatus', 'CadreBudgetUsed,CadreStatus']);
      const attrs = (await agent.describe()).typedSearchAttributes;
      expect(['CadreRole', 'CadreDepth', 'CadreStatus', 'CadreRun', 'CadreTask'].map((name) => attrs.getAll().find((p) => p.key.name === name)?.value)).toEqual(['task', 0, 'completed', runId, 'sign']);
      return result;
    });
    expect(result.status).toBe('completed');
    expect(result.counts.completed).toBe(2);
    expect(showFile(repo, result.integrationBranch, 'HELLO.md')).toBe('hello\nsigned\n');
  });
});
