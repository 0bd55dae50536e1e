/**
 * A run's plan drawn as a graph: dagre lays the tasks out (left to right, dependencies before dependents) and the
 * result is an SVG whose nodes carry their task's status (`data-status`, class `st-<status>`), so the page's CSS
 * colours them and a test can read them. Each node links to the task's agent log when it has an agent.
 */
import dagre from '@dagrejs/dagre';
import type { TaskRow } from '../../shared/messages';
import { html, type Html } from './html';

const W = 190;
const H = 46;

/** A task of the graph: its row (status, title) and the ids it depends on (from the run's plan). */
export interface DagTask {
  row: TaskRow;
  dependsOn: string[];
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function dagSvg(tasks: DagTask[], link: (row: TaskRow) => string | undefined): Html {
  if (!tasks.length) return html`<p class="muted">no tasks</p>`;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 46, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(tasks.map((t) => t.row.id));
  for (const t of tasks) g.setNode(t.row.id, { width: W, height: H });
  for (const t of tasks) for (const d of t.dependsOn) if (ids.has(d)) g.setEdge(d, t.row.id);
  dagre.layout(g);
  const { width = W, height = H } = g.graph();
  const edges = g.edges().map((e) => {
    const pts: { x: number; y: number }[] = g.edge(e).points ?? [];
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    return html`<path class="edge" d="${d}" marker-end="url(#arrow)" data-from="${e.v}" data-to="${e.w}"/>`;
  });
  const nodes = tasks.map(({ row }) => {
    const n = g.node(row.id);
    const x = n.x - W / 2;
    const y = n.y - H / 2;
    const href = link(row);
    const body = html`<rect x="${x}" y="${y}" width="${W}" height="${H}" rx="7"/>
<text x="${x + 10}" y="${y + 19}" class="id">${clip(row.id, 24)}</text>
<text x="${x + 10}" y="${y + 36}" class="sub">${row.status}${row.waiting && row.status === 'waiting' ? ` · ${clip(row.waiting, 18)}` : ''}</text>
<title>${row.id}: ${row.title} (${row.status})</title>`;
    const inner = href ? html`<a href="${href}">${body}</a>` : body;
    return html`<g class="node st-${row.status}" data-task="${row.id}" data-status="${row.status}">${inner}</g>`;
  });
  return html`<svg class="dag" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="task graph">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>
${edges}${nodes}</svg>`;
}
