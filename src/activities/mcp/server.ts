/**
 * cadre's orchestration tools, served to one agent-program session over MCP (the official SDK), streamable HTTP on
 * 127.0.0.1 with a per-session bearer secret.
 *
 * Why HTTP in the activity's own process rather than a stdio subprocess: every call must reach the agent workflow
 * as an Update sent with the activity's Temporal client, which lives here; a stdio server would be one more process
 * and one more channel back to the activity. The port is ephemeral and the secret random per attempt; a request
 * without `Authorization: Bearer <secret>` gets 401, so another local process cannot call an agent's tools.
 *
 * Stateless mode (a fresh MCP server object per HTTP request): nothing to lose when the program reconnects, and a
 * resumed session talks to the next attempt's server as if nothing happened.
 *
 * A call's input is validated with the tool's zod schema (src/shared/tools.ts) before it is forwarded; an invalid
 * input is answered with an MCP tool error and never reaches the workflow. A forwarder failure is a tool error too
 * (the program can go on); cancellation of the activity closes the server.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { OrchestrationCall, ToolResultLike } from '../../shared/session';
import { orchestrationToolSchemas, toolDescriptions, type OrchestrationToolName } from '../../shared/tools';
import { redact } from '../../node/redact';
import type { CallIds } from './callId';

export type OrchestrationForwarder = (call: OrchestrationCall) => Promise<ToolResultLike>;

export interface OrchestrationServerOptions {
  tools: readonly OrchestrationToolName[];
  callIds: CallIds;
  forward: OrchestrationForwarder;
  /** Called when a call starts and ends (progress for the live view). */
  onCall?: (name: string, phase: 'start' | 'end') => void;
}

export interface OrchestrationServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

/** The name the program sees: `cadre`; Claude Code calls the tools `mcp__cadre__<tool>`. */
export const MCP_SERVER_NAME = 'cadre';

function jsonSchema(name: OrchestrationToolName): Record<string, unknown> {
  const { $schema: _drop, ...schema } = z.toJSONSchema(orchestrationToolSchemas[name]) as Record<string, unknown>;
  return { ...schema, type: 'object' };
}

export async function startOrchestrationServer(options: OrchestrationServerOptions): Promise<OrchestrationServer> {
  const token = randomBytes(24).toString('hex');
  const expected = Buffer.from(`Bearer ${token}`);
  const tools = options.tools.map((name) => ({ name, description: toolDescriptions[name], inputSchema: jsonSchema(name) }));
  const allowed = new Set<string>(options.tools);

  function mcpServer(): Server {
    const server = new Server({ name: MCP_SERVER_NAME, version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      const { name, arguments: args } = request.params;
      if (!allowed.has(name)) return { content: [{ type: 'text' as const, text: `unknown tool ${name}` }], isError: true };
      const parsed = orchestrationToolSchemas[name as OrchestrationToolName].safeParse(args ?? {});
      if (!parsed.success) {
        return { content: [{ type: 'text' as const, text: `invalid input for ${name}: ${z.prettifyError(parsed.error)}` }], isError: true };
      }
      const { callId, done } = options.callIds.begin(name, parsed.data);
      options.onCall?.(name, 'start');
      try {
        const result = await options.forward({ callId, name: name as OrchestrationToolName, input: parsed.data });
        done();
        return { content: [{ type: 'text' as const, text: redact(result.content) }], isError: result.isError ?? false };
      } catch (err) {
        // Not counted as answered: a retry of the same call after resume keeps its id.
        return { content: [{ type: 'text' as const, text: redact(`cadre could not handle ${name}: ${(err as Error).message ?? String(err)}`) }], isError: true };
      } finally {
        options.onCall?.(name, 'end');
      }
    });
    return server;
  }

  const authorized = (req: IncomingMessage): boolean => {
    const got = Buffer.from(req.headers.authorization ?? '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };

  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!authorized(req)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized' }));
      return;
    }
    if (req.method !== 'POST') {
      // Stateless: no server-initiated stream (GET) and no session to delete (DELETE).
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const server = mcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
      });
  });
  // Long calls (wait_for_agents) hold their request open: no socket timeouts.
  http.requestTimeout = 0;
  http.headersTimeout = 0;
  http.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
