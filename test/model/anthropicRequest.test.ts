/** buildRequest is pure: these pin down the request layout that prompt caching depends on. */
import { describe, expect, it } from 'vitest';
import { buildRequest, maxCacheBreakpoints, retryDelayMs } from '../../src/activities/model/anthropic';
import type { ConversationMessage } from '../../src/activities/model/backend';

const conversation = (turns: number): ConversationMessage[] => {
  const out: ConversationMessage[] = [{ role: 'user', content: [{ type: 'text', text: 'goal' }] }];
  for (let t = 1; t < turns; t++) {
    out.push({ role: 'assistant', content: [{ type: 'tool_use', id: `t${t}`, name: 'read_file', input: { path: 'a' } }] });
    out.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `t${t}`, content: 'x' }] });
  }
  return out;
};

function countBreakpoints(req: ReturnType<typeof buildRequest>): number {
  const blocks: object[] = [...req.tools, ...req.system, ...req.messages.flatMap((m) => m.content)];
  return blocks.filter((b) => 'cache_control' in b).length;
}

describe('buildRequest', () => {
  it('orders tools canonically whatever the input order, and marks only the last', () => {
    const a = buildRequest({ model: 'm', maxTokens: 10, system: 's', tools: ['finish', 'read_file', 'write_file'], messages: conversation(1) });
    const b = buildRequest({ model: 'm', maxTokens: 10, system: 's', tools: ['write_file', 'finish', 'read_file', 'finish'], messages: conversation(1) });
    expect(a.tools.map((t) => t.name)).toEqual(['read_file', 'write_file', 'finish']);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(a.tools.map((t) => 'cache_control' in t)).toEqual([false, false, true]);
    expect(a.tools[0]!.input_schema).toMatchObject({ type: 'object', required: ['path'], additionalProperties: false });
    expect('$schema' in a.tools[0]!.input_schema).toBe(false);
  });

  it('never uses more than four cache breakpoints, however long the conversation', () => {
    for (const turns of [1, 2, 3, 10]) {
      const req = buildRequest({ model: 'm', maxTokens: 10, system: 's', tools: ['read_file'], messages: conversation(turns) });
      expect(countBreakpoints(req)).toBeLessThanOrEqual(maxCacheBreakpoints);
      expect(req.messages.at(-1)!.content.at(-1)!.cache_control).toEqual({ type: 'ephemeral' });
      expect(req.system[0]!.cache_control).toEqual({ type: 'ephemeral' });
    }
  });

  it('does not mutate the stored conversation', () => {
    const messages = conversation(3);
    const before = JSON.stringify(messages);
    buildRequest({ model: 'm', maxTokens: 10, system: 's', tools: ['read_file'], messages });
    expect(JSON.stringify(messages)).toBe(before);
  });
});

describe('retryDelayMs', () => {
  const h = (init: Record<string, string>) => new Headers(init);
  it('reads seconds, milliseconds and HTTP dates', () => {
    expect(retryDelayMs(h({ 'retry-after': '2' }), 0)).toBe(2000);
    expect(retryDelayMs(h({ 'retry-after': '0.5' }), 0)).toBe(500);
    expect(retryDelayMs(h({ 'retry-after-ms': '250', 'retry-after': '9' }), 0)).toBe(250);
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(retryDelayMs(h({ 'retry-after': 'Tue, 01 Jan 2030 00:00:30 GMT' }), now)).toBe(30_000);
    expect(retryDelayMs(h({ 'retry-after': 'Tue, 01 Jan 2029 00:00:30 GMT' }), now)).toBe(0);
  });
  it('gives up on absent or unusable values', () => {
    expect(retryDelayMs(undefined, 0)).toBeUndefined();
    expect(retryDelayMs(h({}), 0)).toBeUndefined();
    expect(retryDelayMs(h({ 'retry-after': 'soon' }), 0)).toBeUndefined();
  });
});
