/**
 * A secret in the worker's environment never reaches workflow history, the transcript, command logs or tool results,
 * even when the model tries to read it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultCommandPolicy } from '../../src/activities/commandRunner';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { makeRepo } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';

const SECRET = 'sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
process.env.CADRE_TEST_SERVICE_TOKEN = SECRET;
afterAll(() => {
  delete process.env.CADRE_TEST_SERVICE_TOKEN;
});

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('secrets', () => {
  it('a secret in the worker environment never appears in history, transcripts, logs or tool results', async () => {
    // The repository itself holds the secret in a file the model reads, and a script that prints the env var.
    const repo = makeRepo({ 'config.txt': `token=${SECRET}\n`, 'show.sh': 'echo "token is $CADRE_TEST_SERVICE_TOKEN"\nenv\n' });
    const script = join(testDir('script'), 's.json');
    writeFileSync(
      script,
      JSON.stringify({
        turns: [
          { tools: [{ run_command: { argv: ['env'] } }, { run_command: { argv: ['printenv', 'CADRE_TEST_SERVICE_TOKEN'] } }, { run_command: { argv: ['sh', 'show.sh'] } }] },
          { tools: [{ read_file: { path: 'config.txt' } }, { search_text: { pattern: 'token' } }] },
          { text: `I saw ${SECRET}`, tools: [{ write_file: { path: 'leak.txt', content: 'copied\n' } }] },
          { tools: [{ finish: { summary: 'looked around' } }] },
        ],
      }),
    );
    const agentInput: AgentInput = { repo, baseRef: 'HEAD', goal: 'look for secrets', backend: 'scripted', model: 'scripted', maxTokens: 512, maxTurns: 10, budget: {}, depth: 0, limits: defaultLimits, script };
    const { result, history, stateDir } = await withWorker({ deps: { policy: { ...defaultCommandPolicy, allow: ['*'] } } }, async ({ client, taskQueue, stateDir }) => {
      const handle = await client.workflow.start('agent', { workflowId: uniqueId('secret'), taskQueue, args: [agentInput] });
      const result = (await handle.result()) as AgentResult;
      return { result, history: JSON.stringify(await handle.fetchHistory()), stateDir };
    });
    expect(result.status).toBe('completed');
    expect(history).not.toContain(SECRET);
    const stored = allFiles(stateDir).filter((f) => !f.includes(`${join('worktrees', '')}`));
    expect(stored.some((f) => f.endsWith('.jsonl'))).toBe(true);
    for (const f of stored) expect(readFileSync(f, 'utf8'), f).not.toContain(SECRET);
    const transcript = stored.filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(transcript).toContain('[redacted]');
  });
});
