/**
 * The page around the sections: plain CSS (status colours shared by badges, graph nodes and timeline bars) and one
 * small inline script, with no build step. The script
 *   - follows `/events` (server-sent events) and replaces a section when the server sends it again (it changed);
 *   - posts a button's action as JSON with the page's token in `X-Cadre-Token`: a cross-site page can neither read
 *     the token nor send that header (or a JSON body) without a CORS preflight the server never answers, and the
 *     server also checks Origin and Host (server.ts);
 *   - shows the answer (or the error) in a flash line.
 */
import { html, raw, scriptJson, type Html } from './html';
import type { Sections } from './sections';

const CSS = `
:root{--bg:#f7f8fa;--card:#fff;--ink:#1d2330;--muted:#6b7280;--line:#e3e6eb;
--pending:#9aa3af;--waiting:#d49b0b;--running:#2f6fde;--completed:#1f9d55;--failed:#d93b3b;--cancelled:#7c5c3b;--blocked:#b45309;--skipped:#8b95a1;--paused:#d49b0b}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--ink)}
header{display:flex;gap:18px;align-items:center;padding:10px 22px;background:#1d2330;color:#fff}header a{color:#cfd6e4;text-decoration:none}header a:hover{color:#fff}
header .brand{font-weight:700;color:#fff;margin-right:10px}main{padding:16px 22px;max-width:1400px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:0 0 8px;color:#374151}h3{font-size:13px;margin:0 0 6px}
section.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin:0 0 14px;overflow-x:auto}
.cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:14px}@media(max-width:1100px){.cols{grid-template-columns:1fr}}
.muted{color:var(--muted)}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f0f2f5;padding:1px 4px;border-radius:3px}
table.grid{border-collapse:collapse;width:100%}table.grid th{text-align:left;font-weight:600;color:var(--muted);font-size:12px;border-bottom:1px solid var(--line);padding:5px 8px}
table.grid td{border-bottom:1px solid #f0f1f4;padding:5px 8px;vertical-align:top}table.grid tfoot td{font-weight:600;border-top:1px solid var(--line)}.num{text-align:right;white-space:nowrap}
.note-cell{max-width:320px;color:#4b5563;font-size:12px;word-break:break-word}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:var(--pending)}
.count{font-size:12px;font-weight:600;margin-right:6px}.count.st-completed{color:var(--completed)}.count.st-running{color:var(--running)}.count.st-failed{color:var(--failed)}.count.st-waiting{color:var(--waiting)}.count.st-blocked{color:var(--blocked)}
.st-pending,.st-ready{--c:var(--pending)}.st-waiting{--c:var(--waiting)}.st-running{--c:var(--running)}.st-completed{--c:var(--completed)}.st-failed,.st-timed_out,.st-terminated{--c:var(--failed)}
.st-cancelled{--c:var(--cancelled)}.st-blocked,.st-budget_exhausted,.st-max_turns{--c:var(--blocked)}.st-skipped{--c:var(--skipped)}.st-paused{--c:var(--paused)}
.badge[class*=st-]{background:var(--c)}
svg.dag .node rect{fill:#fff;stroke:var(--c);stroke-width:2.5}svg.dag .node.st-running rect{fill:#eaf1fd}svg.dag .node.st-completed rect{fill:#e8f6ee}svg.dag .node.st-failed rect{fill:#fdecec}svg.dag .node.st-waiting rect{fill:#fdf5e1}svg.dag .node.st-blocked rect{fill:#fbf0e4}
svg.dag .node text.id{font-weight:600;font-size:13px;fill:var(--ink)}svg.dag .node text.sub{font-size:11px;fill:var(--c)}svg.dag .edge{fill:none;stroke:#a3abb8;stroke-width:1.5}svg.dag marker path{fill:#a3abb8}
svg.timeline .tl-label{font-size:12px;text-anchor:end;fill:var(--ink)}svg.timeline .tl-run{fill:var(--c)}svg.timeline .tl-wait{fill:#d6dae1}svg.timeline .tl-merge{fill:#6d28d9}
svg.timeline .tl-axis{stroke:#c5cad3}svg.timeline .tl-tick{font-size:11px;fill:var(--muted)}
.legend{font-size:12px;color:var(--muted)}.legend span{display:inline-block;width:14px;height:8px;margin:0 3px 0 10px;vertical-align:middle}.lg-wait{background:#d6dae1}.lg-run{background:var(--running)}.legend .lg-merge{width:auto;height:auto;color:#6d28d9}
.bar{display:inline-block;width:110px;height:8px;border-radius:4px;background:#e9ecf1;vertical-align:middle;overflow:hidden}.bar>span{display:block;height:100%;background:var(--completed)}.bar.warm>span{background:var(--waiting)}.bar.hot>span{background:var(--failed)}
ul.tree,ul.tree ul{list-style:none;margin:0;padding-left:18px}ul.tree{padding-left:0}ul.tree li{margin:4px 0}ul.tree ul{border-left:1px dashed #cdd2da;margin-left:6px}
.agent{display:flex;flex-wrap:wrap;gap:6px;align-items:center}.agent-name{font-weight:600}.spent{font-size:12px;color:#374151}.alert{font-size:12px;color:var(--blocked);font-weight:600}.doing{flex-basis:100%;font-size:12px}
pre.log{background:#141821;color:#d8dee9;padding:10px;border-radius:6px;max-height:420px;overflow:auto;font:12px/1.4 ui-monospace,Menlo,monospace;white-space:pre-wrap;word-break:break-word}
button.act{font:inherit;font-size:12px;padding:3px 10px;border-radius:5px;border:1px solid #2f6fde;background:#2f6fde;color:#fff;cursor:pointer;margin:1px 3px 1px 0}button.act.danger{background:#fff;color:var(--failed);border-color:var(--failed)}button.act:disabled{opacity:.5}
.note{padding:8px 12px;border-radius:6px;background:#eef2f7;margin:8px 0}.note.warn{background:#fff6e0;border:1px solid #f0d48a}
#flash{min-height:22px;margin:0 0 8px;font-weight:600}#flash.ok{color:var(--completed)}#flash.err{color:var(--failed)}#live{font-size:12px;color:#9fb0c8;margin-left:auto}
ul.inbox{list-style:none;padding:0;margin:0}ul.inbox li{border:1px solid var(--line);border-left:4px solid var(--waiting);border-radius:6px;padding:8px 12px;margin:0 0 8px;background:#fff}
ul.inbox .kind{font-weight:700;text-transform:uppercase;font-size:11px;color:var(--waiting);margin-right:8px}ul.inbox .cmd{margin:4px 0}
`;

const SCRIPT = `
(() => {
  const cfg = JSON.parse(document.getElementById('cadre-config').textContent);
  const flash = (text, ok) => { const f = document.getElementById('flash'); f.textContent = text; f.className = ok ? 'ok' : 'err'; };
  const live = document.getElementById('live');
  if (cfg.events) {
    const es = new EventSource(cfg.events);
    es.addEventListener('section', (e) => {
      const { id, html } = JSON.parse(e.data);
      const el = document.getElementById(id);
      if (!el) return;
      const log = el.querySelector('pre.log');
      const atEnd = !log || log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      el.innerHTML = html;
      const pre = el.querySelector('pre.log');
      if (pre && atEnd) pre.scrollTop = pre.scrollHeight;
    });
    es.addEventListener('problem', (e) => { live.textContent = 'update failed: ' + JSON.parse(e.data).error; });
    es.addEventListener('tick', (e) => { live.textContent = 'live · ' + new Date(JSON.parse(e.data).at).toLocaleTimeString(); });
    es.onerror = () => { live.textContent = 'reconnecting…'; };
  }
  const pre = document.querySelector('pre.log');
  if (pre) pre.scrollTop = pre.scrollHeight;
  document.addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-action]');
    if (!b) return;
    const body = JSON.parse(b.dataset.args);
    if (b.dataset.field) {
      const answer = window.prompt(b.dataset.ask);
      if (answer === null) return;
      body[b.dataset.field] = answer;
    }
    b.disabled = true;
    try {
      const r = await fetch('/api/' + b.dataset.action, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cadre-token': cfg.token }, body: JSON.stringify(body) });
      const j = await r.json().catch(() => ({ error: r.statusText }));
      flash(r.ok ? j.message : j.error, r.ok);
    } catch (err) {
      flash(String(err), false);
    } finally {
      b.disabled = false;
    }
  });
})();
`;

export interface PageOptions {
  title: string;
  /** Which nav entry is current. */
  nav: 'runs' | 'inbox';
  /** The page's sections, in order, with the layout around them. */
  body: (s: Sections) => Html;
  sections: Sections;
  /** The live stream of this page's sections, or none. */
  events?: string;
  token: string;
}

export function page(o: PageOptions): string {
  const cfg = scriptJson({ token: o.token, events: o.events });
  const nav = (key: PageOptions['nav'], href: string, label: string) => html`<a href="${href}"${o.nav === key ? raw(' aria-current="page"') : ''}>${label}</a>`;
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${o.title} · cadre</title><style>${raw(CSS)}</style></head>
<body><header><span class="brand">cadre</span>${nav('runs', '/', 'runs')}${nav('inbox', '/inbox', 'inbox')}<span id="live">${o.events ? 'connecting…' : ''}</span></header>
<main><div id="flash" role="status"></div>${o.body(o.sections)}</main>
<script type="application/json" id="cadre-config">${cfg}</script><script>${raw(SCRIPT)}</script></body></html>`}`;
}

/** A section's container: the live stream replaces its content by id. */
export const section = (s: Sections, id: string, title?: string, extra = '') =>
  html`<section class="card${extra ? ` ${extra}` : ''}">${title ? html`<h2>${title}</h2>` : ''}<div id="${id}">${s[id]}</div></section>`;

export const runsBody = (s: Sections) => html`<div id="notice">${s.notice}</div>${section(s, 'runs', 'Runs')}`;
export const inboxBody = (s: Sections) => html`${section(s, 'inbox', 'Waiting for you')}`;
export const runBody = (s: Sections) => html`<div id="head">${s.head}</div>${section(s, 'dag', 'Plan')}${section(s, 'timeline', 'Timeline')}${section(s, 'tasks', 'Tasks and costs')}
<div class="cols">${section(s, 'agents', 'Agents and budgets')}${section(s, 'log', 'Log')}</div>`;

export const errorPage = (token: string, title: string, message: string) =>
  page({ title, nav: 'runs', token, sections: {}, body: () => html`<section class="card"><h1>${title}</h1><p>${message}</p></section>` });
