/**
 * `cadre ui [--port N] [--host H]`: cadre's own web dashboard (docs/cli.md "cadre ui") on 127.0.0.1:7390 by
 * default, until Ctrl-C. It reads what the CLI reads and answers with what the CLI sends (src/client/ui), so it
 * needs no worker of its own: with none running it shows what Temporal stores and says so.
 */
import { serve, type ServerType } from '@hono/node-server';
import { randomBytes } from 'node:crypto';
import { CadreError } from '../../shared/errors';
import { EXIT } from '../output';
import { openRuntime } from '../runtime';
import { createUiApp } from '../ui/server';

export const DEFAULT_UI_PORT = 7390;

export interface UiCommandOptions {
  port?: number;
  host?: string;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

/** The Host header values a request may carry: the address we listen on, and its loopback names. */
export function allowedHosts(host: string, port: number): string[] {
  const names = LOOPBACK.includes(host) ? LOOPBACK : [host];
  return names.map((n) => (n.includes(':') ? `[${n}]:${port}` : `${n}:${port}`));
}

function listen(app: ReturnType<typeof createUiApp>, host: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port });
    server.once('listening', () => resolve(server));
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new CadreError(`cannot serve the dashboard on ${host}:${port}: the port is in use (another \`cadre ui\`?); choose another with --port`, EXIT.usage));
      else reject(new CadreError(`cannot serve the dashboard on ${host}:${port}: ${err.message}`, EXIT.usage));
    });
  });
}

export async function uiCommand(opts: UiCommandOptions): Promise<number> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_UI_PORT;
  const rt = await openRuntime();
  try {
    // A fresh token per process: a page of an earlier `cadre ui` (or another site) cannot post to this one.
    const token = randomBytes(18).toString('base64url');
    const app = createUiApp({ client: rt.client, config: rt.config, token, hosts: allowedHosts(host, port) });
    const server = await listen(app, host, port);
    const shown = host.includes(':') ? `[${host}]` : host;
    process.stdout.write(`cadre dashboard at http://${shown}:${port}/ (Temporal ${rt.config.address}, task queue "${rt.config.taskQueue}") — Ctrl-C to stop\n`);
    if (!LOOPBACK.includes(host)) process.stderr.write(`cadre: note: listening on ${host}: whoever reaches it can read your runs (answers still need the page's token)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}
