/**
 * The scripted backend: script parsing and validation, deterministic replay through the modelTurn activity (with
 * the real file tools), and the end-of-script reply.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createModelActivities } from '../../src/activities/model/modelTurn';
import { inActivities } from '../support/activityContext';
import { loadScript, parseScript, scriptEndedText } from '../../src/activities/model/scripted';
import { readTranscript } from '../../src/activities/model/transcript';
import type { ModelTurnInput, ModelTurnOutput } from '../../src/shared/model';
import type { ToolName } from '../../src/shared/tools';

const scripts = path.resolve(__dirname, '../fixtures/scripts');
const tools: ToolName[] = ['read_file', 'write_file', 'edit_file', 'spawn_agent', 'send_message', 'finish'];

let dirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
beforeEach(() => {
  dirs = [];
});
afterEach(async () => {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

function input(workspace: string, turn: number, scriptPath: string, more: Partial<ModelTurnInput> = {}): ModelTurnInput {
  return {
    agentId: 'run-s/agent-1',
    turn,
    backend: 'scripted',
    model: 'scripted',
    maxTokens: 1000,
    workspace,
    goal: 'Greet the world.',
    tools,
    scriptPath,
    ...more,
  };
}

/** Runs turns 1..n of a script in a fresh state dir and workspace; the real file tools do the work. */
async function runScript(scriptPath: string, turns: number) {
  const stateDir = await tempDir('cadre-scripted-state-');
  const workspace = await tempDir('cadre-scripted-ws-');
  const { modelTurn } = inActivities(createModelActivities({ stateDir, clock: () => 42 }));
  const outputs: ModelTurnOutput[] = [];
  for (let turn = 1; turn <= turns; turn++) outputs.push(await modelTurn(input(workspace, turn, scriptPath)));
  return { outputs, workspace, transcript: await readTranscript(stateDir, 'run-s/agent-1') };
}

describe('scripted backend', () => {
  it('replays a YAML script through modelTurn, running its file tools for real', async () => {
    const { outputs, workspace } = await runScript(path.join(scripts, 'hello.yaml'), 4);
    expect(outputs.map((o) => o.stopReason)).toEqual(['tool_use', 'tool_use', 'tool_use', 'end_turn']);
    expect(outputs[0]!.text).toBe('Creating the greeting');
    expect(outputs[0]!.toolRuns).toEqual([{ name: 'write_file', summary: expect.stringContaining('hello.txt'), isError: false }]);
    expect(outputs[1]!.toolRuns).toEqual([{ name: 'edit_file', summary: expect.stringContaining('hello.txt'), isError: false }]);
    expect(outputs[2]!.orchestrationCalls).toEqual([{ id: 'toolu_s3_1', name: 'finish', input: { summary: 'wrote hello.txt' } }]);
    expect(outputs[3]).toMatchObject({ text: scriptEndedText, orchestrationCalls: [], toolRuns: [] });
    expect(await fs.readFile(path.join(workspace, 'hello.txt'), 'utf8')).toBe('hello\n');
  });

  it('is deterministic: the same script gives the same outputs, usage and transcript', async () => {
    const a = await runScript(path.join(scripts, 'hello.yaml'), 3);
    const b = await runScript(path.join(scripts, 'hello.yaml'), 3);
    expect(b.outputs).toEqual(a.outputs);
    expect(b.transcript).toEqual(a.transcript);
    const u = a.outputs[0]!.usage;
    expect(u.inputTokens).toBeGreaterThan(0);
    expect(u.outputTokens).toBeGreaterThan(10);
    expect(u.cacheWriteTokens + u.cacheReadTokens).toBe(0);
    // The conversation grows, so the deterministic input estimate grows with it.
    expect(a.outputs[1]!.usage.inputTokens).toBeGreaterThan(u.inputTokens);
  });

  it('reads JSON scripts and honours a per-turn usage override', async () => {
    const { outputs } = await runScript(path.join(scripts, 'hello.json'), 2);
    expect(outputs[0]!.toolRuns[0]!.isError).toBe(false);
    expect(outputs[1]!.usage).toEqual({ inputTokens: 1000, outputTokens: 50, cacheWriteTokens: 0, cacheReadTokens: 0 });
  });

  it('resolves a relative script path against the workspace', async () => {
    const stateDir = await tempDir('cadre-scripted-state-');
    const workspace = await tempDir('cadre-scripted-ws-');
    await fs.copyFile(path.join(scripts, 'hello.yaml'), path.join(workspace, 'plan-script.yaml'));
    const { modelTurn } = inActivities(createModelActivities({ stateDir }));
    const out = await modelTurn(input(workspace, 1, 'plan-script.yaml'));
    expect(out.text).toBe('Creating the greeting');
  });

  it('lets invalid tool inputs in a script reach the model as tool errors, like a real model', async () => {
    const { outputs, transcript } = await runScript(path.join(scripts, 'invalid-input.yaml'), 2);
    expect(outputs[0]!.toolRuns.map((r) => [r.name, r.isError])).toEqual([
      ['edit_file', true],
      ['spawn_agent', true],
    ]);
    expect(outputs[0]!.orchestrationCalls).toEqual([{ id: 'toolu_s1_3', name: 'send_message', input: { to: 'parent', text: 'started' } }]);
    const user2 = transcript.find((r) => r.kind === 'user' && r.turn === 2);
    expect(user2?.kind === 'user' && user2.content.map((b) => b.type === 'tool_result' && b.is_error === true)).toEqual([
      true,
      true,
      true, // send_message: the workflow gave no result in this test, so the activity filled in an error
    ]);
  });

  it('rejects invalid scripts with errors naming the file and the turn', async () => {
    const unknown = path.join(scripts, 'unknown-tool.yaml');
    await expect(loadScript(unknown)).rejects.toMatchObject({
      type: 'ModelBadRequest',
      nonRetryable: true,
      message: expect.stringMatching(new RegExp(`unknown-tool\\.yaml: turn 2.*unknown tool`)),
    });
    await expect(loadScript(path.join(scripts, 'not-yaml.yaml'))).rejects.toThrow(/not-yaml\.yaml: cannot parse/);
    await expect(loadScript(path.join(scripts, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: cannot read script: ENOENT/);
    expect(() => parseScript('turns:\n  - text: 1\n', 'inline.yaml')).toThrow(/inline\.yaml: turn 1 \(text\)/);
    expect(() => parseScript('steps: []\n', 'inline.yaml')).toThrow(/inline\.yaml/);
  });

  it('fails a scripted turn without a script path as a bad request', async () => {
    const stateDir = await tempDir('cadre-scripted-state-');
    const workspace = await tempDir('cadre-scripted-ws-');
    const { modelTurn } = inActivities(createModelActivities({ stateDir }));
    const { scriptPath: _none, ...noScript } = input(workspace, 1, 'x');
    await expect(modelTurn(noScript)).rejects.toMatchObject({ type: 'ModelBadRequest', nonRetryable: true });
  });
});
