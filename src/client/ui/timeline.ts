/**
 * A run's tasks on a time axis, from the rows' own timestamps (the workflow's clock, as its history records them):
 * a task *waited* from when it could have started (the end of its last dependency, else the run's start) until it
 * started, *ran* until it ended (or until now), and, when it completed with a commit, was *merged* when it ended —
 * a completed row ends after its branch is merged. Rows record no other times, so a task waiting at its gate or for
 * a lock shows as running in its status colour.
 */
import type { TaskRow } from '../../shared/messages';
import { fmtDuration } from '../output';
import { html, type Html } from './html';

const LABEL = 170;
const PLOT = 760;
const ROW = 24;

export function timelineSvg(tasks: TaskRow[], dependsOn: Record<string, string[]>, startedAt: number, now: number): Html {
  const rows = tasks.filter((t) => t.startedAt !== undefined);
  if (!rows.length) return html`<p class="muted">no task has started yet</p>`;
  const end = Math.max(now, ...rows.map((t) => t.endedAt ?? 0));
  const span = Math.max(1, end - startedAt);
  const x = (t: number) => LABEL + ((Math.min(Math.max(t, startedAt), end) - startedAt) / span) * PLOT;
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const height = rows.length * ROW + 26;
  const bars = rows.map((t, i) => {
    const y = i * ROW + 4;
    const deps = (dependsOn[t.id] ?? []).map((d) => byId.get(d)?.endedAt).filter((n): n is number => n !== undefined);
    const ready = deps.length ? Math.max(...deps) : startedAt;
    const ranTo = t.endedAt ?? now;
    const merged = t.status === 'completed' && t.commit && t.endedAt !== undefined;
    const title = `${t.id}: waited ${fmtDuration(t.startedAt! - ready)}, ran ${fmtDuration(ranTo - t.startedAt!)}${merged ? ', merged' : ''} (${t.status})`;
    return html`<g class="tl-row st-${t.status}" data-task="${t.id}" data-status="${t.status}"><title>${title}</title>
<text x="${LABEL - 8}" y="${y + 14}" class="tl-label">${t.id.length > 22 ? `${t.id.slice(0, 21)}…` : t.id}</text>
${t.startedAt! > ready ? html`<rect class="tl-wait" x="${x(ready)}" y="${y + 6}" width="${Math.max(1, x(t.startedAt!) - x(ready))}" height="6"/>` : ''}
<rect class="tl-run" x="${x(t.startedAt!)}" y="${y + 2}" width="${Math.max(2, x(ranTo) - x(t.startedAt!))}" height="14" rx="3"/>
${merged ? html`<path class="tl-merge" d="M${x(t.endedAt!)},${y + 1} l5,8 l-5,8 l-5,-8 z"/>` : ''}</g>`;
  });
  const axis = html`<line class="tl-axis" x1="${LABEL}" y1="${height - 18}" x2="${LABEL + PLOT}" y2="${height - 18}"/>
<text class="tl-tick" x="${LABEL}" y="${height - 4}">0s</text><text class="tl-tick" x="${LABEL + PLOT}" y="${height - 4}" text-anchor="end">${fmtDuration(span)}</text>`;
  return html`<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="${LABEL + PLOT + 10}" height="${height}" viewBox="0 0 ${LABEL + PLOT + 10} ${height}">${bars}${axis}</svg>
<p class="legend"><span class="lg-wait"></span> waited <span class="lg-run"></span> ran (in its status colour) <span class="lg-merge">◆</span> merged</p>`;
}
