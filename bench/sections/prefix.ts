/**
 * Prompt-prefix stability: a 20-turn scripted agent (3 file tools a turn, `finish` on the last) driven through
 * cadre's real `modelTurn` activity function, with the anthropic backend replaced by a recorder that builds each
 * request with `buildRequest` (src/activities/model/anthropic.ts) exactly as the real backend does, then answers
 * from the script. No network, no API key.
 *
 * For each request after the first:
 * - stable share: the length of the longest common prefix with the previous request, over the request's length.
 *   Requests are laid out in the API's cache order (tools, system, messages) with `cache_control` markers removed
 *   (the markers are not part of the cached content);
 * - modelled cache traffic (the Messages API rules as documented): every breakpoint of a request writes its prefix
 *   to the cache if it is at least 1,024 tokens; a later request reads the longest cached prefix that ends at one of
 *   its breakpoints or at a block boundary up to 20 blocks before one; what lies between that and its last
 *   breakpoint is written; the rest is uncached input.
 * Tokens are estimated as characters ÷ 4 (the estimate cadre's budget uses); prices come from src/shared/pricing.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRequest, type AnthropicRequest } from '../../src/activities/model/anthropic';
import type { ModelBackendClient } from '../../src/activities/model/backend';
import { createModelActivities } from '../../src/activities/model/modelTurn';
import { inActivities } from '../../test/support/activityContext';
import { parseScript, scriptedReply } from '../../src/activities/model/scripted';
import { priceFor } from '../../src/shared/pricing';
import type { ToolName, ToolResult } from '../../src/shared/tools';
import { log, type BenchEnv } from '../lib/env';
import { makeRepo } from '../lib/repo';
import { mean, round } from '../lib/stats';

const TOOLS: ToolName[] = ['read_file', 'write_file', 'edit_file', 'list_files', 'search_text', 'run_command', 'spawn_agent', 'wait_for_agents', 'request_budget', 'finish'];
const MODEL = 'claude-sonnet-4-6';
const MIN_CACHEABLE_TOKENS = 1024;
const LOOKBACK_BLOCKS = 20;

export interface PrefixTurn {
  turn: number;
  tokens: number;
  stableShare: number;
  /** Share of the previous request found unchanged at the start of this one (1 = append-only). */
  previousKept: number;
  cacheRead: number;
  cacheWrite: number;
  uncached: number;
}

export interface PrefixResult {
  turns: number;
  model: string;
  meanStableShare: number;
  minStableShare: number;
  /** Σ common prefix ÷ Σ request size over turns 2..N. */
  tokenWeightedStableShare: number;
  allAppendOnly: boolean;
  cachedInputUsd: number;
  uncachedInputUsd: number;
  costRatio: number;
  perTurn: PrefixTurn[];
}

interface Block {
  text: string;
  breakpoint: boolean;
}

/** The request as the cache sees it: tools, system, then every message block, markers stripped. */
function blocks(req: AnthropicRequest): Block[] {
  const strip = (b: object): { text: string; breakpoint: boolean } => {
    const { cache_control: cc, ...rest } = b as { cache_control?: unknown };
    return { text: JSON.stringify(rest), breakpoint: cc !== undefined };
  };
  return [
    ...req.tools.map(strip),
    ...req.system.map(strip),
    ...req.messages.flatMap((m) => m.content.map((b) => {
      const s = strip(b);
      return { ...s, text: `${m.role}:${s.text}` };
    })),
  ];
}

const tokens = (chars: number) => Math.ceil(chars / 4);

function script(turns: number): string {
  return JSON.stringify({
    turns: Array.from({ length: turns }, (_, i) => {
      const n = i + 1;
      const last = n === turns;
      return {
        text: `Turn ${n}: reading the module, adding step ${n}, then checking where steps are used.`,
        tools: [
          { read_file: { path: 'src/app.ts' } },
          { write_file: { path: `src/step${n}.ts`, content: `export const step${n} = (x: number): number => x + ${n};\n` } },
          last ? { finish: { summary: `added ${turns} steps` } } : { search_text: { pattern: 'step\\d+', path: 'src' } },
        ],
      };
    }),
  });
}

export async function prefix(env: BenchEnv, o: { turns: number }): Promise<PrefixResult> {
  const app = Array.from({ length: 40 }, (_, i) => `export function helper${i}(value: number): number {\n  return value * ${i} + 1;\n}\n`).join('\n');
  const workspace = makeRepo(env.dir('repo-prefix'), { 'src/app.ts': app, 'README.md': '# prefix bench\n' });
  const scriptDir = env.dir('prefix-script');
  mkdirSync(scriptDir, { recursive: true });
  const parsed = parseScript(script(o.turns), join(scriptDir, 'script.json'));
  writeFileSync(join(scriptDir, 'script.json'), script(o.turns));
  const requests: AnthropicRequest[] = [];
  const recorder: ModelBackendClient = {
    name: 'anthropic',
    async call(request) {
      requests.push(buildRequest(request));
      return scriptedReply(parsed, request);
    },
  };
  const acts = inActivities(createModelActivities({ stateDir: env.dir('state-prefix'), backends: { anthropic: recorder } }));
  let toolResults: ToolResult[] = [];
  for (let turn = 1; turn <= o.turns; turn++) {
    const out = await acts.modelTurn({
      agentId: 'prefix-agent',
      turn,
      backend: 'anthropic',
      model: MODEL,
      maxTokens: 8192,
      workspace,
      goal: `Add ${o.turns} small step modules under src/ and keep src/app.ts untouched.`,
      tools: TOOLS,
      toolResults,
    });
    toolResults = out.orchestrationCalls.map((c) => ({ toolUseId: c.id, content: 'finished' }));
  }

  const price = priceFor(MODEL);
  const cache = new Set<string>();
  const perTurn: PrefixTurn[] = [];
  let prevText = '';
  let cachedUsd = 0;
  let uncachedUsd = 0;
  let commonSum = 0;
  let totalSum = 0;
  requests.forEach((req, i) => {
    const bs = blocks(req);
    const ends: number[] = [];
    let text = '';
    for (const b of bs) {
      text += b.text;
      ends.push(text.length);
    }
    let lcp = 0;
    const max = Math.min(text.length, prevText.length);
    while (lcp < max && text.charCodeAt(lcp) === prevText.charCodeAt(lcp)) lcp++;
    // Cache read: the longest prefix already cached, ending at a breakpoint or up to 20 blocks before one.
    let readChars = 0;
    bs.forEach((b, k) => {
      if (!b.breakpoint) return;
      for (let j = k; j >= Math.max(0, k - LOOKBACK_BLOCKS + 1); j--) {
        if (cache.has(text.slice(0, ends[j]))) {
          readChars = Math.max(readChars, ends[j]!);
          break;
        }
      }
    });
    const lastBreak = bs.map((b, k) => (b.breakpoint ? ends[k]! : 0)).reduce((a, b) => Math.max(a, b), 0);
    const read = tokens(readChars);
    const write = Math.max(0, tokens(lastBreak) - read);
    const uncached = tokens(text.length) - read - write;
    bs.forEach((b, k) => {
      if (b.breakpoint && tokens(ends[k]!) >= MIN_CACHEABLE_TOKENS) cache.add(text.slice(0, ends[k]));
    });
    cachedUsd += (read * price.cacheRead + write * price.cacheWrite + uncached * price.input) / 1e6;
    uncachedUsd += (tokens(text.length) * price.input) / 1e6;
    if (i > 0) {
      commonSum += lcp;
      totalSum += text.length;
    }
    perTurn.push({
      turn: i + 1,
      tokens: tokens(text.length),
      stableShare: i === 0 ? 0 : round(lcp / text.length, 4),
      previousKept: i === 0 ? 0 : round(lcp / prevText.length, 4),
      cacheRead: read,
      cacheWrite: write,
      uncached,
    });
    prevText = text;
  });
  const later = perTurn.slice(1);
  const out: PrefixResult = {
    turns: o.turns,
    model: MODEL,
    meanStableShare: round(mean(later.map((t) => t.stableShare)), 4),
    minStableShare: round(Math.min(...later.map((t) => t.stableShare)), 4),
    tokenWeightedStableShare: round(commonSum / totalSum, 4),
    allAppendOnly: later.every((t) => t.previousKept === 1),
    cachedInputUsd: round(cachedUsd, 4),
    uncachedInputUsd: round(uncachedUsd, 4),
    costRatio: round(cachedUsd / uncachedUsd, 3),
    perTurn,
  };
  log(`prefix: mean stable share ${out.meanStableShare}, min ${out.minStableShare}; modelled input cost ${out.cachedInputUsd} USD cached vs ${out.uncachedInputUsd} USD uncached`);
  return out;
}
