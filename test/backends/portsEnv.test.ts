/**
 * The CLI-agent backends start their program with the workspace's port variables (docs/workspaces.md, "Ports"): a
 * stand-in program that only writes its environment to the workspace shows what claude and codex would get.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSessionActivities } from '../../src/activities/backends/session';
import { runInContext, tmpDir } from './support';

describe('agent programs and port leases', () => {
  for (const backend of ['claude-code', 'codex'] as const) {
    it(`${backend} gets CADRE_PORT, PORT and CADRE_PORT_RANGE, and nothing of them without a lease`, async () => {
      const bin = join(tmpDir('bin'), backend);
      writeFileSync(bin, '#!/bin/sh\nenv > ./env.txt\n');
      chmodSync(bin, 0o755);
      const { runAgentSession } = createSessionActivities({
        stateDir: tmpDir('state'),
        env: { PATH: process.env.PATH, CADRE_CLAUDE_BIN: bin, CADRE_CODEX_BIN: bin, OPENAI_API_KEY: 'sk-test-0000000000000000' },
        forward: async () => ({ content: '' }),
      });
      const envOf = async (ports?: { first: number; count: number }): Promise<string[]> => {
        const workspace = tmpDir('ws');
        const input = { agentId: `a-${backend}`, backend, model: backend === 'codex' ? 'gpt-5' : 'claude-haiku-4-5', workspace, goal: 'g', budgetUsd: 1, ...(ports ? { ports } : {}) };
        // The stand-in prints no result, so the session fails; what matters is the environment it started with.
        await runInContext(() => runAgentSession(input)).result.catch(() => undefined);
        return readFileSync(join(workspace, 'env.txt'), 'utf8').split('\n');
      };
      const leased = await envOf({ first: 43000, count: 10 });
      expect(leased).toEqual(expect.arrayContaining(['CADRE_PORT=43000', 'PORT=43000', 'CADRE_PORT_RANGE=43000-43009']));
      const none = await envOf();
      expect(none.filter((l) => /^(CADRE_PORT|PORT|CADRE_PORT_RANGE)=/.test(l))).toEqual([]);
    });
  }
});
