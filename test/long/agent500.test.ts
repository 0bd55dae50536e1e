/**
 * Long runs, part 1: an agent of 500 model turns completes, its history stays bounded (continue-as-new) and no payload
 * in it comes near Temporal's 2 MB limit. Two agents run side by side: one rolls over when the server suggests it
 * (the default), one every 100 turns (`continueAsNewEvery`), so the carry-over is exercised whatever the server's
 * threshold; both must end with the same work and the same usage as a run that never rolled over would have.
 *
 * Run with `npm run test:long` (vitest.long.config.ts; minutes, not seconds).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { makeRepo, showFile } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { mergeSizes, payloadSizes, runsOf } from '../durability/support/history';

const TURNS = Number(process.env.CADRE_LONG_TURNS ?? 500);
/** Temporal rejects a payload over 2 MB and warns over 512 KB; we want to stay well under the warning. */
const PAYLOAD_WARN = 512 * 1024;
/** Temporal warns when one run's history passes 10,240 events (and fails it at 51,200). */
const EVENTS_WARN = 10_240;

function script(): string {
  const turns = Array.from({ length: TURNS }, (_, i) => {
    const n = i + 1;
    if (n === TURNS) return { tools: [{ finish: { summary: `finished after ${TURNS} turns` } }], usage: { input: 100, output: 10 } };
    return { text: `turn ${n}`, tools: [{ write_file: { path: `notes/${n % 10}.txt`, content: `turn ${n}\n` } }], usage: { input: 100, output: 10 } };
  });
  const file = join(testDir('long-script'), 'script.json');
  writeFileSync(file, JSON.stringify({ turns }));
  return file;
}

describe('an agent of 500 turns', () => {
  it('completes, with bounded history per run and every payload far below 2 MB', async () => {
    const repo = makeRepo();
    const file = script();
    const base: AgentInput = { repo, baseRef: 'HEAD', goal: 'take many small turns', backend: 'scripted', model: 'scripted', maxTokens: 1024, maxTurns: TURNS + 10, script: file, budget: {}, depth: 0, limits: defaultLimits };
    const started = Date.now();
    const { results, sizes } = await withWorker({}, async ({ client, taskQueue }) => {
      const ids = [uniqueId('long-agent-default'), uniqueId('long-agent-every100')];
      const inputs: AgentInput[] = [base, { ...base, continueAsNewEvery: 100 }];
      const results = (await Promise.all(ids.map((workflowId, i) => client.workflow.execute('agent', { workflowId, taskQueue, args: [inputs[i]!] })))) as AgentResult[];
      const sizes = await Promise.all(ids.map(async (id) => payloadSizes(await runsOf(client, id))));
      return { results, sizes };
    });
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    for (const [i, r] of results.entries()) {
      const s = sizes[i]!;
      console.log(
        `[long agent ${i === 0 ? 'default' : 'every 100'}] ${r.turns} turns in ${minutes} min: ${s.runs} run(s), ${s.events} events (at most ${s.maxEventsPerRun} in one run), ` +
          `history ${(s.totalBytes / 1024).toFixed(0)} KB, largest event ${(s.largestEvent / 1024).toFixed(1)} KB, largest payload ${(s.largestPayloads / 1024).toFixed(1)} KB at ${s.largestAt}`,
      );
      expect(r.status).toBe('completed');
      expect(r.turns).toBe(TURNS);
      expect(r.summary).toBe(`finished after ${TURNS} turns`);
      // Each turn's usage counted exactly once across the rollovers.
      expect(r.usage.inputTokens).toBe(100 * TURNS);
      expect(r.usage.outputTokens).toBe(10 * TURNS);
      // The file the last writing turns touched holds that turn's content: no turn was lost or replayed out of order.
      expect(showFile(repo, r.branch, `notes/${(TURNS - 1) % 10}.txt`)).toBe(`turn ${TURNS - 1}\n`);
      expect(s.maxEventsPerRun).toBeLessThan(EVENTS_WARN);
      expect(s.largestPayloads).toBeLessThan(PAYLOAD_WARN);
    }
    // The forced rollover did happen, and did not change the outcome.
    expect(sizes[1]!.runs).toBeGreaterThanOrEqual(Math.floor((TURNS - 1) / 100));
    expect(results[1]!.usage).toEqual(results[0]!.usage);
    expect(results[1]!.filesChanged.sort()).toEqual(results[0]!.filesChanged.sort());
    const all = mergeSizes(sizes);
    expect(all.largestEvent).toBeLessThan(PAYLOAD_WARN);
  }, 60 * 60_000);
});
