/**
 * What cadre costs on top of an agent program: one claude-code task (a one-task plan through runPlan, on a worker in
 * this process) against running the same `claude -p` directly on the same Messages API stub. The model is the stub:
 * a `Write` tool call for the first request, a final text for the one after the tool result — so both sides make
 * the same two model requests and write the same file, and what differs is cadre: the scheduler and agent
 * workflows, the workspace (worktree), the session activity (MCP server, record, log, heartbeats), the commit,
 * the merge into the integration branch and the worktree's removal.
 *
 * Needs the Claude Code CLI (CADRE_CLAUDE_BIN, PATH or `npm run setup`'s copy); without it the section says so.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findAgentProgram } from '../../src/activities/backends/session/program';
import { createCadreWorker } from '../../src/workers/worker';
import type { Plan } from '../../src/shared/plan';
import { startMessagesStub, type StubResponse } from '../../test/support/messagesStub';
import { plan as makePlan, task } from '../../test/support/plans';
import { runPlanOnce } from '../lib/cadreRun';
import { log, uniqueId, type BenchEnv } from '../lib/env';
import { makeRepo } from '../lib/repo';
import { round, summarize, type Summary } from '../lib/stats';

const MODEL = 'claude-haiku-4-5';
const GOAL = 'Write the file note.txt with the text "note".';

export interface SessionBenchResult {
  program: string;
  samples: number;
  /** `claude -p` run directly in a fresh git checkout, start to exit. */
  directMs: Summary;
  /** The one-task plan through cadre, runPlan start to result. */
  cadreMs: Summary;
  /** cadre p50 ÷ direct p50. */
  ratio: number;
  /** cadre p50 − direct p50. */
  overheadMs: number;
  /** Model requests per sample on each side (both should be 2). */
  requestsDirect: number;
  requestsCadre: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function playModel(body: any): StubResponse {
  const text = JSON.stringify(body);
  const cwd = /Primary working directory: ([^\\"]+?)\\n/.exec(text)?.[1];
  const answered = JSON.stringify(body.messages?.[body.messages.length - 1]?.content ?? '').includes('tool_result');
  if (answered || !cwd) return { content: [{ type: 'text', text: 'done' }], usage: { input_tokens: 1200, output_tokens: 10 } };
  return { content: [{ type: 'tool_use', id: 'toolu_note', name: 'Write', input: { file_path: join(cwd, 'note.txt'), content: 'note\n' } }], usage: { input_tokens: 1000, output_tokens: 30 } };
}

function runDirect(program: string, cwd: string, home: string, baseURL: string): Promise<number> {
  const t0 = performance.now();
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
    ANTHROPIC_BASE_URL: baseURL,
    ANTHROPIC_API_KEY: 'sk-ant-bench-000000000',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
  };
  const argv = ['-p', GOAL, '--output-format', 'json', '--model', MODEL, '--permission-mode', 'acceptEdits', '--allowedTools=Write'];
  return new Promise((resolve, reject) => {
    const child = spawn(program, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`claude -p exited ${code}: ${err.slice(-300)}`))));
  });
}

export async function session(env: BenchEnv, size: { samples: number }): Promise<SessionBenchResult | { error: string }> {
  const found = findAgentProgram('claude-code');
  if (!found.ok) return { error: found.reason };
  const stub = await startMessagesStub();
  stub.respondWith(playModel);
  const posts = () => stub.requests.filter((r) => r.method === 'POST').length;
  const sessionEnv = { PATH: process.env.PATH, CADRE_CLAUDE_BIN: found.path, ANTHROPIC_BASE_URL: stub.url, ANTHROPIC_API_KEY: 'sk-ant-bench-000000000' };
  const taskQueue = uniqueId('tq-session');
  const worker = await createCadreWorker({
    connection: env.native,
    namespace: 'default',
    taskQueue,
    deps: { stateDir: env.dir('session-state'), sessionEnv },
    workflowBundle: { codePath: env.bundlePath },
  });
  const running = worker.run();
  try {
    const direct: number[] = [];
    const viaCadre: number[] = [];
    let requestsDirect = 0;
    let requestsCadre = 0;
    // One warm-up of each (the program's first start pays for reading its binary from disk), then alternate.
    for (let i = 0; i <= size.samples; i++) {
      const cwd = makeRepo(env.dir('session-direct'));
      const home = env.dir('session-home');
      mkdirSync(join(home, '.claude'), { recursive: true });
      let before = posts();
      const d = await runDirect(found.path, cwd, home, stub.url);
      if (i > 0) {
        direct.push(d);
        requestsDirect = posts() - before;
      }
      const repo = makeRepo(env.dir('session-repo'));
      const p: Plan = makePlan([task('T001', { prompt: GOAL, backend: 'claude-code', model: MODEL })], { name: 'session' });
      before = posts();
      const run = await runPlanOnce(env, taskQueue, p, repo, 1);
      if (i > 0) {
        viaCadre.push(run.makespanMs);
        requestsCadre = posts() - before;
      }
      log(`session sample ${i}${i === 0 ? ' (warm-up)' : ''}: direct ${Math.round(d)} ms, cadre ${Math.round(run.makespanMs)} ms`);
    }
    const directMs = summarize(direct, 0);
    const cadreMs = summarize(viaCadre, 0);
    return {
      program: found.path,
      samples: size.samples,
      directMs,
      cadreMs,
      ratio: round(cadreMs.p50 / directMs.p50, 2),
      overheadMs: round(cadreMs.p50 - directMs.p50, 0),
      requestsDirect,
      requestsCadre,
    };
  } finally {
    worker.shutdown();
    await running;
    await stub.close();
  }
}
