/**
 * A local stand-in for the Anthropic Messages API, so the real SDK can be exercised without network or key.
 *
 * `POST /v1/messages` answers from a queue of scripted responses, in order: a reply (text and tool_use blocks with
 * usage), an HTTP error (status, headers, JSON error body), or an `error` event in the middle of a stream. Requests
 * with `stream: true` get server-sent events the way the API sends them (message_start, content_block_start /
 * delta / stop with text_delta and input_json_delta, message_delta with usage, message_stop); others get one JSON
 * message. A `hold` keeps the request open unanswered (a program killed while it waits for the model). Every
 * request's body and headers are recorded for assertions. An empty queue answers 400, so a test
 * that makes an unexpected call fails loudly instead of hanging.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StubBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id?: string; name: string; input: unknown };

export interface StubUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export interface StubReply {
  kind?: 'reply';
  content: StubBlock[];
  /** Default: 'tool_use' when there is a tool_use block, else 'end_turn'. */
  stopReason?: string;
  usage?: StubUsage;
  model?: string;
}

export interface StubHttpError {
  kind: 'error';
  status: number;
  headers?: Record<string, string>;
  /** The whole JSON body; default `{type:'error', error:{type: errorType, message}}`. */
  body?: unknown;
  errorType?: string;
  message?: string;
}

/** A 200 stream that sends message_start and then an `error` event (e.g. overloaded mid-stream). */
export interface StubStreamError {
  kind: 'stream_error';
  errorType: string;
  message: string;
}

/** Keep the request open without answering until the stub closes (a session waiting for the model). */
export interface StubHold {
  kind: 'hold';
}

export type StubResponse = StubReply | StubHttpError | StubStreamError | StubHold;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON body. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** When the request arrived (ms since epoch). */
  at?: number;
}

export interface MessagesStub {
  /** Base URL to give the SDK (`baseURL`). */
  url: string;
  requests: RecordedRequest[];
  enqueue(...responses: StubResponse[]): void;
  /** Answers requests when the queue is empty (e.g. by what the request says); undefined falls through to 400. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  respondWith(responder: (body: any) => StubResponse | undefined): void;
  /** Responses still queued. */
  pending(): number;
  close(): Promise<void>;
}

const defaultErrorType: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export async function startMessagesStub(): Promise<MessagesStub> {
  const queue: StubResponse[] = [];
  const requests: RecordedRequest[] = [];
  const held: ServerResponse[] = [];
  let messageCount = 0;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let responder: ((body: any) => StubResponse | undefined) | undefined;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: `stub failure: ${String(err)}` } }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
    const body: unknown = text ? JSON.parse(text) : undefined;
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers, body, at: Date.now() });

    if (req.method !== 'POST' || !(req.url ?? '').startsWith('/v1/messages')) {
      sendError(res, { kind: 'error', status: 404, message: `stub: no route ${req.method} ${req.url}` });
      return;
    }
    const next = queue.shift() ?? responder?.(body);
    if (!next) {
      sendError(res, { kind: 'error', status: 400, message: 'messages stub: no response queued for this request' });
      return;
    }
    if (next.kind === 'error') {
      sendError(res, next);
      return;
    }
    if (next.kind === 'hold') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      held.push(res);
      return;
    }
    const request = (body ?? {}) as { model?: string; stream?: boolean };
    const id = `msg_stub_${++messageCount}`;
    if (next.kind === 'stream_error') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      writeEvent(res, 'message_start', { type: 'message_start', message: emptyMessage(id, request.model ?? 'stub', {}) });
      writeEvent(res, 'error', { type: 'error', error: { type: next.errorType, message: next.message } });
      res.end();
      return;
    }
    const message = fullMessage(id, request.model ?? 'stub', next);
    if (request.stream) streamMessage(res, message);
    else {
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${id}` });
      res.end(JSON.stringify(message));
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...responses) => {
      queue.push(...responses);
    },
    respondWith: (fn) => {
      responder = fn;
    },
    pending: () => queue.length,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function sendError(res: ServerResponse, e: StubHttpError): void {
  const type = e.errorType ?? defaultErrorType[e.status] ?? 'api_error';
  const body = e.body ?? { type: 'error', error: { type, message: e.message ?? `stub error ${e.status}` } };
  res.writeHead(e.status, { 'content-type': 'application/json', 'request-id': 'req_stub_error', ...(e.headers ?? {}) });
  res.end(JSON.stringify(body));
}

interface WireMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ({ type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown })[];
  stop_reason: string | null;
  stop_sequence: null;
  usage: Required<StubUsage>;
}

function usageOf(u: StubUsage): Required<StubUsage> {
  return {
    input_tokens: u.input_tokens ?? 0,
    output_tokens: u.output_tokens ?? 0,
    cache_creation_input_tokens: u.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: u.cache_read_input_tokens ?? 0,
  };
}

function emptyMessage(id: string, model: string, usage: StubUsage): WireMessage {
  return { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usageOf(usage), output_tokens: 1 } };
}

function fullMessage(id: string, model: string, reply: StubReply): WireMessage {
  let toolCount = 0;
  const content = reply.content.map((b) =>
    b.type === 'text' ? { type: 'text' as const, text: b.text } : { type: 'tool_use' as const, id: b.id ?? `toolu_stub_${id}_${++toolCount}`, name: b.name, input: b.input },
  );
  const stop = reply.stopReason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
  return { id, type: 'message', role: 'assistant', model: reply.model ?? model, content, stop_reason: stop, stop_sequence: null, usage: usageOf(reply.usage ?? {}) };
}

function writeEvent(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

function streamMessage(res: ServerResponse, m: WireMessage): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_${m.id}` });
  const { output_tokens, ...inputUsage } = m.usage;
  writeEvent(res, 'message_start', { type: 'message_start', message: { ...m, content: [], stop_reason: null, usage: { ...inputUsage, output_tokens: 1 } } });
  m.content.forEach((block, index) => {
    if (block.type === 'text') {
      writeEvent(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      for (const part of pieces(block.text, Math.max(1, Math.ceil(block.text.length / 2)))) {
        writeEvent(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: part } });
      }
    } else {
      writeEvent(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      for (const part of pieces(JSON.stringify(block.input ?? {}), 12)) {
        writeEvent(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: part } });
      }
    }
    writeEvent(res, 'content_block_stop', { type: 'content_block_stop', index });
  });
  writeEvent(res, 'message_delta', { type: 'message_delta', delta: { stop_reason: m.stop_reason, stop_sequence: null }, usage: { output_tokens } });
  writeEvent(res, 'message_stop', { type: 'message_stop' });
  res.end();
}
