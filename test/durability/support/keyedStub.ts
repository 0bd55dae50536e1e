/**
 * A Messages API stand-in for crash tests, where many agents call the model at once and a worker dies mid-stream.
 *
 * Unlike test/support/messagesStub.ts (one queue, answered in arrival order) this one answers by *who is asking*:
 * the agent is named by a tag in its goal (`[agent:<tag>]`, found in the first user message) and the turn is one
 * more than the assistant messages in the request. So the reply of (tag, turn) is the same whichever worker asks,
 * in whatever order, however often — which is what lets a test count how often each turn was paid for.
 *
 * Every reply is streamed: message_start at once, then a pause of `delayMs` (the model "thinking"; a worker killed
 * now leaves the turn in flight; per request, it can wait for the test to let it go), then the blocks, message_delta with the usage and message_stop.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type KeyedBlock = { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: unknown };

export interface KeyedReply {
  content: KeyedBlock[];
  usage: { input_tokens: number; output_tokens: number };
}

export interface KeyedRequest {
  tag: string;
  turn: number;
  /** When the request arrived and, if the whole reply was written, when it ended (ms since epoch). */
  at: number;
  endedAt?: number;
}

export interface KeyedStub {
  url: string;
  requests: KeyedRequest[];
  /** Requests per `${tag}#${turn}`. */
  counts(): Map<string, number>;
  /** Requests received whose reply has not been fully written yet. */
  inFlight(): KeyedRequest[];
  close(): Promise<void>;
}

/** The goal text an agent must carry for the stub to know it. */
export const agentTag = (tag: string): string => `[agent:${tag}]`;

interface WireBody {
  model?: string;
  messages?: { role: string; content: unknown }[];
}

function findTag(body: WireBody): string | undefined {
  const first = JSON.stringify(body.messages?.[0]?.content ?? '');
  return /\[agent:([^\]\\]+)\]/.exec(first)?.[1];
}

/** How long a reply "thinks": milliseconds for every request, or per request (ms, or a promise to wait for). */
export type KeyedDelay = number | ((request: KeyedRequest) => number | Promise<unknown>);

export async function startKeyedStub(answer: (tag: string, turn: number) => KeyedReply, opts: { delayMs?: KeyedDelay } = {}): Promise<KeyedStub> {
  const requests: KeyedRequest[] = [];
  let seq = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: `keyed stub failure: ${String(err)}` } }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as WireBody;
    const tag = findTag(body);
    if (req.method !== 'POST' || !(req.url ?? '').startsWith('/v1/messages') || !tag) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'keyed stub: no [agent:<tag>] in the first message' } }));
      return;
    }
    const turn = 1 + (body.messages ?? []).filter((m) => m.role === 'assistant').length;
    const record: KeyedRequest = { tag, turn, at: Date.now() };
    requests.push(record);
    const reply = answer(tag, turn);
    const id = `msg_keyed_${++seq}`;
    const model = body.model ?? 'stub';
    // The worker may die while we "think": then nothing more is written and the request stays unanswered.
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    const send = (event: string, data: unknown): void => {
      if (!clientGone) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_${id}` });
    send('message_start', {
      type: 'message_start',
      message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: reply.usage.input_tokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
    });
    const delay = typeof opts.delayMs === 'function' ? opts.delayMs(record) : (opts.delayMs ?? 0);
    await (typeof delay === 'number' ? new Promise((r) => setTimeout(r, delay)) : delay);
    if (clientGone) return;
    let tools = 0;
    reply.content.forEach((block, index) => {
      if (block.type === 'text') {
        send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
      } else {
        const toolId = `toolu_${tag.replace(/[^A-Za-z0-9]/g, '')}_${turn}_${++tools}`;
        send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: toolId, name: block.name, input: {} } });
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
      }
      send('content_block_stop', { type: 'content_block_stop', index });
    });
    const stop = reply.content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
    send('message_delta', { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: reply.usage.output_tokens } });
    send('message_stop', { type: 'message_stop' });
    res.end();
    if (!clientGone) record.endedAt = Date.now();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    counts: () => {
      const m = new Map<string, number>();
      for (const r of requests) m.set(`${r.tag}#${r.turn}`, (m.get(`${r.tag}#${r.turn}`) ?? 0) + 1);
      return m;
    },
    inFlight: () => requests.filter((r) => r.endedAt === undefined),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
