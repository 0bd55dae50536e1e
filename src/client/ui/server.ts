/**
 * The dashboard's HTTP server (hono on Node): three pages (runs, a run, the inbox), a server-sent event stream per
 * page that re-sends the sections that changed, and POST endpoints whose answers are the CLI's own: `steerRun`
 * (the Updates of `cadre approve|reject|retry`) and `grantBudget` (`cadre budget grant`).
 *
 * Guards, because any web page the operator opens could try to reach 127.0.0.1: every request's Host must be this
 * server's (no DNS rebinding), and a POST must carry the per-process token the pages embed (`X-Cadre-Token`) and,
 * when the browser sends one, an Origin of this server. A refused or invalid request changes nothing.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../../node/config';
import { CadreError } from '../../shared/errors';
import { steerRun } from '../commands/inspect';
import { grantBudget } from '../commands/tree';
import { parseAmount } from '../output';
import { hasWorker } from '../view';
import { loadInboxPage, loadRunPage, loadRunsPage } from './data';
import { errorPage, inboxBody, page, runBody, runsBody } from './page';
import { inboxSections, runSections, runsSections, type Sections } from './sections';

export interface UiOptions {
  client: Client;
  config: Config;
  /** The token a POST must carry; the pages embed it. */
  token: string;
  /** `host:port` values a request's Host may have. */
  hosts: string[];
  /** How often the live stream samples (ms). */
  pollMs?: number;
}

/** How long an answer may take before the POST gives up (the Update itself is durable either way). */
const ANSWER_DEADLINE_MS = 30_000;

const TaskArgs = z.object({ runId: z.string().min(1).max(300), taskId: z.string().min(1).max(300) }).strict();
const Bodies = {
  approve: TaskArgs,
  retry: TaskArgs,
  reject: TaskArgs.extend({ reason: z.string().trim().min(1, 'a rejection needs a reason').max(2000) }).strict(),
  grant: z.object({ agentId: z.string().min(1).max(600), amount: z.string().min(1).max(40) }).strict(),
};
type Action = keyof typeof Bodies;

class HttpError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 503,
    message: string,
  ) {
    super(message);
  }
}

type View = { kind: 'runs' } | { kind: 'inbox' } | { kind: 'run'; id: string; agent?: string };

export function createUiApp(o: UiOptions): Hono {
  const { client, config } = o;
  const app = new Hono();

  const sectionsOf = async (v: View): Promise<Sections> => {
    const now = Date.now();
    if (v.kind === 'runs') return runsSections(await loadRunsPage(client, config), now);
    if (v.kind === 'inbox') return inboxSections(await loadInboxPage(client, config), now);
    return runSections(await loadRunPage(client, config, v.id, v.agent), now);
  };
  const eventsUrl = (v: View) => `/events?${new URLSearchParams(v.kind === 'run' ? { view: 'run', id: v.id, ...(v.agent ? { agent: v.agent } : {}) } : { view: v.kind })}`;

  app.use('*', async (c, next) => {
    if (!o.hosts.includes(c.req.header('host') ?? '')) return c.json({ error: `host "${c.req.header('host') ?? ''}" is not this dashboard's (${o.hosts[0]})` }, 403);
    await next();
  });

  app.get('/', async (c) => {
    const v: View = { kind: 'runs' };
    return c.html(page({ title: 'runs', nav: 'runs', body: runsBody, sections: await sectionsOf(v), events: eventsUrl(v), token: o.token }));
  });
  app.get('/inbox', async (c) => {
    const v: View = { kind: 'inbox' };
    return c.html(page({ title: 'inbox', nav: 'inbox', body: inboxBody, sections: await sectionsOf(v), events: eventsUrl(v), token: o.token }));
  });
  app.get('/runs/:id', async (c) => {
    const v: View = { kind: 'run', id: c.req.param('id'), agent: c.req.query('agent') || undefined };
    try {
      return c.html(page({ title: v.id, nav: 'runs', body: runBody, sections: await sectionsOf(v), events: eventsUrl(v), token: o.token }));
    } catch (err) {
      if (err instanceof CadreError) return c.html(errorPage(o.token, 'no such run', err.message), 404);
      throw err;
    }
  });

  app.get('/events', (c) => {
    const q = c.req.query();
    const v: View = q.view === 'run' && q.id ? { kind: 'run', id: q.id, agent: q.agent || undefined } : q.view === 'inbox' ? { kind: 'inbox' } : { kind: 'runs' };
    return streamSSE(c, async (stream) => {
      const last = new Map<string, string>();
      while (!stream.aborted) {
        try {
          for (const [id, h] of Object.entries(await sectionsOf(v))) {
            if (last.get(id) === h.text) continue;
            last.set(id, h.text);
            await stream.writeSSE({ event: 'section', data: JSON.stringify({ id, html: h.text }) });
          }
          await stream.writeSSE({ event: 'tick', data: JSON.stringify({ at: Date.now() }) });
        } catch (err) {
          await stream.writeSSE({ event: 'problem', data: JSON.stringify({ error: err instanceof Error ? err.message.split('\n')[0] : String(err) }) });
        }
        await stream.sleep(o.pollMs ?? 1000);
      }
    });
  });

  app.post('/api/:action', async (c) => {
    try {
      guard(c, o);
      const action = c.req.param('action');
      if (!(action in Bodies)) throw new HttpError(404, `unknown action "${action}": one of ${Object.keys(Bodies).join(', ')}`);
      const parsed = Bodies[action as Action].safeParse(await c.req.json().catch(() => undefined));
      if (!parsed.success) throw new HttpError(400, `${action}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
      const message = await client.connection.withDeadline(Date.now() + ANSWER_DEADLINE_MS, () => answer(client, action as Action, parsed.data));
      return c.json({ message });
    } catch (err) {
      if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
      if (err instanceof CadreError) return c.json({ error: err.message }, 400);
      throw err;
    }
  });

  app.onError((err, c) => c.json({ error: err.message.split('\n')[0] }, 500));
  return app;
}

/** Refuses a POST without this process's token or from another site's page. */
function guard(c: Context, o: UiOptions): void {
  const origin = c.req.header('origin');
  if (origin !== undefined && !o.hosts.some((h) => origin === `http://${h}`)) throw new HttpError(403, `cross-site request refused: origin ${origin} is not this dashboard's`);
  const given = Buffer.from(c.req.header('x-cadre-token') ?? '');
  const want = Buffer.from(o.token);
  if (given.length !== want.length || !timingSafeEqual(given, want)) throw new HttpError(403, 'missing or wrong X-Cadre-Token: reload the dashboard page');
}

type Args = z.infer<(typeof Bodies)[Action]>;

async function answer(client: Client, action: Action, args: Args): Promise<string> {
  if (action === 'grant') {
    const a = args as z.infer<typeof Bodies.grant>;
    let amount;
    try {
      amount = parseAmount(a.amount);
    } catch (err) {
      throw new HttpError(400, `grant: ${(err as Error).message}`);
    }
    return grantBudget(client, a.agentId, amount);
  }
  const t = args as z.infer<typeof Bodies.reject>;
  const d = await client.workflow
    .getHandle(t.runId)
    .describe()
    .catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw new HttpError(404, `no run with id "${t.runId}"`);
      throw err;
    });
  // An Update waits for a worker to take it: without one, say so now rather than hang.
  if (d.status.name === 'RUNNING' && !(await hasWorker(client, d.taskQueue))) {
    throw new HttpError(503, `no worker polls task queue "${d.taskQueue}": start one with \`cadre worker\`, then answer again`);
  }
  return steerRun(client, action, t.runId, t.taskId, t.reason, d);
}
