/**
 * A local stand-in for the OpenAI Responses API (`POST /v1/responses`, streamed as server-sent events), so the real
 * Codex CLI can be driven offline through a custom model provider (`model_providers.<id>.base_url`).
 *
 * Replies come from a queue, in order: output items (assistant text, function calls) with usage, an HTTP error, or
 * a `hold` that keeps the request open without answering (to kill a worker while the session waits for the model).
 * Every request's body and headers are recorded, so a test can assert that a resumed session sent the earlier
 * turns again. An empty queue answers 400, so an unexpected call fails loudly instead of hanging.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ResponsesItem =
  | { type: 'message'; text: string }
  /** `namespace`: how the Responses API names a tool of a namespace (Codex puts an MCP server's tools in `mcp__<server>`). */
  | { type: 'function_call'; name: string; arguments: unknown; callId?: string; namespace?: string };

export interface ResponsesUsage {
  input_tokens?: number;
  cached_tokens?: number;
  output_tokens?: number;
}

export type ResponsesReply =
  | { kind?: 'reply'; output: ResponsesItem[]; usage?: ResponsesUsage }
  | { kind: 'error'; status: number; message?: string }
  /** Keep the request open until the stub closes (a session waiting for the model). */
  | { kind: 'hold' };

export interface RecordedResponsesRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  at: number;
}

export interface ResponsesStub {
  /** Base URL for a provider: `${url}/v1`. */
  url: string;
  requests: RecordedResponsesRequest[];
  enqueue(...replies: ResponsesReply[]): void;
  pending(): number;
  close(): Promise<void>;
}

export async function startResponsesStub(): Promise<ResponsesStub> {
  const queue: ResponsesReply[] = [];
  const requests: RecordedResponsesRequest[] = [];
  const held: ServerResponse[] = [];
  let count = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `stub failure: ${String(err)}` } }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers, body, at: Date.now() });
    if (req.method !== 'POST' || !(req.url ?? '').startsWith('/v1/responses')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `stub: no route ${req.method} ${req.url}` } }));
      return;
    }
    const next = queue.shift();
    if (!next || next.kind === 'error') {
      res.writeHead(next?.status ?? 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'invalid_request_error', message: next?.message ?? 'responses stub: no reply queued for this request' } }));
      return;
    }
    if (next.kind === 'hold') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      held.push(res);
      return;
    }
    const id = `resp_stub_${++count}`;
    const model = (body as { model?: string } | undefined)?.model ?? 'stub';
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (data: { type: string } & Record<string, unknown>): void => {
      res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    send({ type: 'response.created', response: { id, object: 'response', model, status: 'in_progress', output: [] } });
    const output = next.output.map((item, i) => {
      if (item.type === 'message') {
        return { type: 'message', id: `msg_${id}_${i}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: item.text, annotations: [] }] };
      }
      return {
        type: 'function_call',
        id: `fc_${id}_${i}`,
        status: 'completed',
        name: item.name,
        ...(item.namespace ? { namespace: item.namespace } : {}),
        call_id: item.callId ?? `call_${id}_${i}`,
        arguments: typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments),
      };
    });
    output.forEach((item, index) => {
      send({ type: 'response.output_item.added', output_index: index, item: { ...item, status: 'in_progress' } });
      if (item.type === 'message') {
        const t = (item.content as { text: string }[])[0].text;
        send({ type: 'response.output_text.delta', output_index: index, content_index: 0, item_id: item.id, delta: t });
      }
      send({ type: 'response.output_item.done', output_index: index, item });
    });
    const u = next.usage ?? {};
    const usage = {
      input_tokens: u.input_tokens ?? 0,
      input_tokens_details: { cached_tokens: u.cached_tokens ?? 0 },
      output_tokens: u.output_tokens ?? 0,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: (u.input_tokens ?? 0) + (u.output_tokens ?? 0),
    };
    send({ type: 'response.completed', response: { id, object: 'response', model, status: 'completed', output, usage } });
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...replies) => {
      queue.push(...replies);
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
