/**
 * History per agent turn: a scripted agent of N turns with 3 file-tool calls per turn (write, read, search; the last
 * turn writes, reads and calls `finish`), run by cadre's `agent` workflow with real activities in a real worktree.
 * Counted from the agent's history: events and encoded bytes in total, per turn on average, and per turn in the
 * steady state (between two consecutive modelTurn activities), with the bytes of the modelTurn input and result.
 */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { transcriptPath } from '../../src/activities/model/transcript';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { log, startWorker, uniqueId, type BenchEnv } from '../lib/env';
import { countByType, historyEvents, totalBytes } from '../lib/history';
import { makeRepo } from '../lib/repo';
import { mean, round } from '../lib/stats';

export interface HistoryResult {
  turns: number;
  toolCallsPerTurn: number;
  status: string;
  totalEvents: number;
  totalBytes: number;
  perTurnAverage: { events: number; bytes: number };
  perTurnSteadyState: { events: number; bytes: number; eventTypes: Record<string, number> };
  /** Events and bytes outside the turns: start, workspace, ending (commit, diff, removal), search attributes. */
  fixed: { events: number; bytes: number };
  modelTurnInputBytes: number;
  /** The modelTurn input's fields and their JSON sizes in bytes (one steady-state turn). */
  modelTurnInputFields: Record<string, number>;
  modelTurnResultBytes: number;
  /** What stays out of history: the transcript store's bytes per turn (messages, tool inputs and outputs). */
  transcriptBytesPerTurn: number;
}

function script(turns: number): { turns: unknown[] } {
  const body = (n: number) =>
    `export function step${n}(input: number[]): number {\n  // step ${n} of the benchmark agent\n  return input.reduce((a, b) => a + b * ${n}, 0);\n}\n`;
  return {
    turns: Array.from({ length: turns }, (_, i) => {
      const n = i + 1;
      const path = `src/step${n}.ts`;
      const last = n === turns;
      return {
        text: `Turn ${n}: adding ${path} and checking it.`,
        tools: [
          { write_file: { path, content: body(n) } },
          { read_file: { path } },
          last ? { finish: { summary: `added ${turns} step files` } } : { search_text: { pattern: `step${n}\\b`, path: 'src' } },
        ],
      };
    }),
  };
}

export async function history(env: BenchEnv, o: { turns: number; toolsPerTurn: number }): Promise<HistoryResult> {
  const repo = makeRepo(env.dir('repo-history'), { 'README.md': '# history bench\n', 'src/index.ts': 'export {};\n' });
  const scriptPath = join(env.dir('script'), 'agent.json');
  writeFileSync(scriptPath, JSON.stringify(script(o.turns)));
  const w = await startWorker(env);
  const agentId = uniqueId('hist');
  let result: AgentResult;
  try {
    const input: AgentInput = {
      repo,
      baseRef: 'main',
      goal: `Add ${o.turns} step files under src/.`,
      backend: 'scripted',
      model: 'claude-sonnet-4-6',
      maxTokens: 8192,
      maxTurns: o.turns + 10,
      script: scriptPath,
      budget: {},
      depth: 0,
      limits: defaultLimits,
    };
    result = (await env.client.workflow.execute('agent', { workflowId: agentId, taskQueue: w.taskQueue, args: [input] })) as AgentResult;
  } finally {
    await w.stop();
  }
  if (result.turns !== o.turns) throw new Error(`the scripted agent ran ${result.turns} turns, expected ${o.turns} (${result.status}: ${result.error ?? result.summary})`);
  const ev = await historyEvents(env.client, agentId);
  const turnStarts = ev
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.raw.activityTaskScheduledEventAttributes?.activityType?.name === 'modelTurn')
    .map(({ i }) => i);
  const steadyEvents: number[] = [];
  const steadyBytes: number[] = [];
  const types: Record<string, number> = {};
  // Turns 2 .. N-1: from one modelTurn being scheduled to the next.
  for (let k = 1; k + 1 < turnStarts.length; k++) {
    const slice = ev.slice(turnStarts[k]!, turnStarts[k + 1]!);
    steadyEvents.push(slice.length);
    steadyBytes.push(totalBytes(slice));
    for (const [t, n] of Object.entries(countByType(slice))) types[t] = (types[t] ?? 0) + n;
  }
  const steadyTurns = Math.max(1, turnStarts.length - 2);
  const inputs = ev.filter((e) => e.raw.activityTaskScheduledEventAttributes?.activityType?.name === 'modelTurn').map((e) => e.bytes);
  const modelTurnIds = new Set(ev.filter((e) => e.raw.activityTaskScheduledEventAttributes?.activityType?.name === 'modelTurn').map((e) => e.id));
  const results = ev.filter((e) => e.raw.activityTaskCompletedEventAttributes && modelTurnIds.has(Number(e.raw.activityTaskCompletedEventAttributes.scheduledEventId))).map((e) => e.bytes);
  const total = totalBytes(ev);
  const fields: Record<string, number> = {};
  const sample = ev.filter((e) => e.raw.activityTaskScheduledEventAttributes?.activityType?.name === 'modelTurn')[Math.floor(turnStarts.length / 2)];
  const data = sample?.raw.activityTaskScheduledEventAttributes?.input?.payloads?.[0]?.data;
  if (data) {
    const decoded = JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(decoded)) fields[k] = Buffer.byteLength(JSON.stringify(v));
  }
  const perTurnEvents = mean(steadyEvents);
  const perTurnBytes = mean(steadyBytes);
  let transcriptBytes = 0;
  try {
    transcriptBytes = statSync(transcriptPath(w.stateDir, agentId)).size;
  } catch {
    // a transcript store laid out differently: report 0 rather than guess
  }
  const out: HistoryResult = {
    turns: o.turns,
    toolCallsPerTurn: o.toolsPerTurn,
    status: result.status,
    totalEvents: ev.length,
    totalBytes: total,
    perTurnAverage: { events: round(ev.length / o.turns, 2), bytes: round(total / o.turns, 0) },
    perTurnSteadyState: {
      events: round(perTurnEvents, 2),
      bytes: round(perTurnBytes, 0),
      eventTypes: Object.fromEntries(Object.entries(types).map(([k, v]) => [k, round(v / steadyTurns, 2)])),
    },
    fixed: { events: round(ev.length - perTurnEvents * o.turns, 0), bytes: round(total - perTurnBytes * o.turns, 0) },
    modelTurnInputBytes: round(mean(inputs), 0),
    modelTurnInputFields: fields,
    modelTurnResultBytes: round(mean(results), 0),
    transcriptBytesPerTurn: round(transcriptBytes / o.turns, 0),
  };
  log(`history: ${out.perTurnSteadyState.events} events and ${out.perTurnSteadyState.bytes} bytes per turn (steady state); ${out.perTurnAverage.events} / ${out.perTurnAverage.bytes} on average`);
  return out;
}
