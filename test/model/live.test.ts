/**
 * Live smoke test against the real Messages API. Runs only when ANTHROPIC_API_KEY is set; costs a fraction of a
 * cent (one short haiku turn). CADRE_LIVE_MODEL overrides the model.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModelActivities } from '../../src/activities/model/modelTurn';
import { inActivities } from '../support/activityContext';
import { costUsd } from '../../src/shared/pricing';

describe('anthropic backend, live', () => {
  it.skipIf(!process.env.ANTHROPIC_API_KEY)('takes one real turn that calls finish', async () => {
    const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cadre-live-state-'));
    const workspace = await fs.mkdtemp(path.join(os.tmpdir(), 'cadre-live-ws-'));
    try {
      const { modelTurn } = inActivities(createModelActivities({ stateDir }));
      const out = await modelTurn({
        agentId: 'live-smoke',
        turn: 1,
        backend: 'anthropic',
        model: process.env.CADRE_LIVE_MODEL ?? 'claude-haiku-4-5',
        maxTokens: 200,
        workspace,
        goal: 'Call the finish tool right away with the summary "ok". Do nothing else.',
        tools: ['finish'],
      });
      expect(out.replayed).toBe(false);
      expect(out.usage.inputTokens + out.usage.cacheWriteTokens + out.usage.cacheReadTokens).toBeGreaterThan(0);
      expect(out.usage.outputTokens).toBeGreaterThan(0);
      expect(out.orchestrationCalls.map((c) => c.name)).toContain('finish');
      expect(costUsd(out.usage, out.model)).toBeGreaterThan(0);
      expect(JSON.stringify(out)).not.toContain(process.env.ANTHROPIC_API_KEY);
    } finally {
      await fs.rm(stateDir, { recursive: true, force: true });
      await fs.rm(workspace, { recursive: true, force: true });
    }
  });
});
