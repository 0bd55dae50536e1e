/**
 * The parts of each page, rendered on the server. A page is its sections; the live stream (server.ts) renders them
 * again and sends those that changed, so there is one way to draw each part. Everything from a run is escaped
 * (html.ts). Buttons carry the action and its arguments; the page's script posts them (page.ts).
 */
import type { AgentTreeNode } from '../../shared/messages';
import { totalTokens } from '../../shared/model';
import type { InboxItem } from '../inbox';
import { fmtAge } from '../inbox';
import { fmtDuration, fmtTokens, fmtUsd } from '../output';
import { simulatedNote } from '../watch';
import { dagSvg } from './dag';
import { costLines } from '../costs';
import { budgetShare, type RunPage, type RunsPage } from './data';
import { html, type Html } from './html';
import { timelineSvg } from './timeline';
import type { Inbox } from '../commands/inbox';

export type Sections = Record<string, Html>;

const runHref = (runId: string, agentId?: string) => `/runs/${encodeURIComponent(runId)}${agentId ? `?agent=${encodeURIComponent(agentId)}` : ''}`;
const badge = (status: string) => html`<span class="badge st-${status}" data-status="${status}">${status.replace('_', ' ')}</span>`;

/** A button the page's script turns into a POST of `/api/<action>` with `args` (and the prompt's answer as `field`). */
function button(action: string, label: string, args: Record<string, string>, ask?: { field: string; question: string }, danger = false): Html {
  return html`<button class="act${danger ? ' danger' : ''}" data-action="${action}" data-args="${JSON.stringify(args)}"${ask ? html` data-field="${ask.field}" data-ask="${ask.question}"` : ''}>${label}</button>`;
}

function noWorkerNote(text: string | undefined): Html {
  return text ? html`<div class="note warn" id="no-worker"><b>No worker is running</b>: showing the data as of its last update (${text}), read from what Temporal stores. Start one with <code>cadre worker</code>; the buttons need it.</div>` : html``;
}

// ---- the runs list ---------------------------------------------------------------------------------------------

export function runsSections(p: RunsPage, now: number): Sections {
  const rows = p.runs.map(
    (r) => html`<tr data-run="${r.runId}"><td><a href="${runHref(r.runId)}">${r.runId}</a></td><td>${badge(r.status)}</td><td>${r.plan}</td>
<td class="num">${r.startedAt.replace('T', ' ').slice(0, 19)}</td><td class="num">${fmtDuration(r.closedAt ? r.durationMs : now - Date.parse(r.startedAt))}</td>
<td class="num">${r.costUsd !== undefined ? fmtUsd(r.costUsd) : ''}</td><td class="muted">${r.repo ?? ''}</td></tr>`,
  );
  const table = p.runs.length
    ? html`<table class="grid"><thead><tr><th>run</th><th>status</th><th>plan</th><th>started (UTC)</th><th>took</th><th>cost</th><th>repository</th></tr></thead><tbody>${rows}</tbody></table>`
    : html`<p class="muted">no runs yet: start one with <code>cadre run &lt;plan&gt;</code></p>`;
  return { notice: noWorkerNote(p.noWorker), runs: table };
}

// ---- a run -----------------------------------------------------------------------------------------------------

function bar(used: number, of: number): Html {
  const share = of > 0 ? Math.min(1, used / of) : 0;
  const level = share >= 0.95 ? 'hot' : share >= 0.8 ? 'warm' : 'ok';
  return html`<span class="bar ${level}" title="${Math.round(share * 100)}%"><span style="width:${(share * 100).toFixed(1)}%"></span></span>`;
}

function runHead(p: RunPage, now: number): Html {
  const pr = p.progress;
  const c = pr.counts;
  const b = pr.budget;
  const sim = simulatedNote(p.simulated);
  const budget =
    b?.tokens !== undefined ? html`${bar(p.total.tokens, b.tokens)} ${fmtTokens(p.total.tokens)} of ${fmtTokens(b.tokens)} tokens`
    : b?.usd !== undefined ? html`${bar(p.total.costUsd, b.usd)} ${fmtUsd(p.total.costUsd)} of ${fmtUsd(b.usd)}`
    : html`<span class="muted">the plan sets no run budget</span>`;
  const counts = (['completed', 'running', 'waiting', 'pending', 'failed', 'blocked', 'cancelled', 'skipped'] as const).filter((k) => c[k]).map((k) => html`<span class="count st-${k}">${c[k]} ${k}</span> `);
  return html`<div class="run-head" data-run-status="${pr.status}"><h1>${pr.name} ${badge(pr.status)}</h1>
<p class="muted">${p.runId} · started ${new Date(p.startedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC · ${fmtDuration((p.closedAt ?? now) - p.startedAt)}${pr.integrationBranch ? html` · branch <code>${pr.integrationBranch}</code>` : ''}</p>
<p>${counts}</p>
<p class="spend">spent <b id="total-tokens" data-value="${p.total.tokens}">${fmtTokens(p.total.tokens)}</b> tokens · <b id="total-usd" data-value="${p.total.costUsd}">${fmtUsd(p.total.costUsd)}</b>${sim} · budget ${budget}</p>
${costLines(p.glance, b, sim).map((l) => html`<p class="spend glance">${l.replace(/^(costs|models)\s+/, (m, w: string) => `${w}: `)}</p>`)}</div>
${noWorkerNote(p.noWorker)}`;
}

function taskTable(p: RunPage): Html {
  const rows = p.progress.tasks.map((t, i) => {
    const c = p.costs[i]!;
    const actions: Html[] = [];
    const args = { runId: p.runId, taskId: t.id };
    if (p.running && !p.noWorker) {
      if (t.status === 'waiting' && t.waiting?.startsWith('approval')) {
        actions.push(button('approve', 'approve', args), button('reject', 'reject', args, { field: 'reason', question: `Why reject ${t.id}? (shown as its error)` }, true));
      }
      if (t.status === 'failed' || t.status === 'blocked' || t.status === 'cancelled') actions.push(button('retry', 'retry', args));
    }
    const note = t.status === 'blocked' ? `blocked by ${t.blockedBy?.join(', ')}` : t.status === 'waiting' ? `waiting for ${t.waiting ?? 'something'}` : (t.error ?? t.summary ?? '');
    return html`<tr data-task="${t.id}" data-status="${t.status}"><td>${t.agentId ? html`<a href="${runHref(p.runId, t.agentId)}">${t.id}</a>` : t.id}</td><td>${t.title}</td><td>${badge(t.status)}</td>
<td class="num">${t.attempts}</td><td class="num">${t.startedAt ? fmtDuration((t.endedAt ?? Date.now()) - t.startedAt) : ''}</td>
<td class="num cost-tokens" data-value="${c.tokens ?? 0}">${c.tokens !== undefined ? fmtTokens(c.tokens) : ''}</td><td class="num cost-usd" data-value="${c.costUsd ?? 0}">${c.costUsd !== undefined ? `${fmtUsd(c.costUsd)}${c.live ? ' so far' : ''}` : ''}</td>
<td class="note-cell">${note}</td><td>${actions}</td></tr>`;
  });
  return html`<table class="grid tasks"><thead><tr><th>task</th><th>title</th><th>status</th><th>tries</th><th>time</th><th>tokens</th><th>cost${simulatedNote(p.simulated)}</th><th>note</th><th></th></tr></thead>
<tbody>${rows}</tbody><tfoot><tr><td colspan="5">total (the sum of the rows)</td><td class="num">${fmtTokens(p.total.tokens)}</td><td class="num">${fmtUsd(p.total.costUsd)}</td><td colspan="2"></td></tr></tfoot></table>`;
}

function treeNode(p: RunPage, n: AgentTreeNode): Html {
  const share = budgetShare(n);
  const live = !['completed', 'failed', 'cancelled', 'budget_exhausted', 'timed_out', 'max_turns'].includes(n.status);
  const grant = live && p.running && !p.noWorker ? button('grant', 'grant', { agentId: n.agentId }, { field: 'amount', question: `Grant ${n.agentId} how much? tokens (50k) or dollars ($2)` }) : '';
  const name = n.agentId.startsWith(`${p.runId}/`) ? n.agentId.slice(p.runId.length + 1) : n.agentId;
  const spend = share
    ? html`${bar(share.used, share.of)} ${share.unit === 'tokens' ? `${fmtTokens(share.used)} of ${fmtTokens(share.of)} tok` : `${fmtUsd(share.used)} of ${fmtUsd(share.of)}`}`
    : html`<span class="muted">no budget of its own</span>`;
  return html`<li data-agent="${n.agentId}" data-status="${n.status}"><div class="agent"><a href="${runHref(p.runId, n.agentId)}" class="agent-name">${name}</a> ${badge(n.status)}
<span class="spent">${fmtTokens(totalTokens(n.usage))} tok · ${fmtUsd(n.costUsd)}</span> ${spend}
${n.alerts.length ? html`<span class="alert">alerts ${n.alerts.map((a) => `${a}%`).join(' ')}</span>` : ''} ${grant}
${live && n.doing ? html`<div class="doing muted">${n.doing}</div>` : ''}</div>
${n.children.length ? html`<ul>${n.children.map((c) => treeNode(p, c))}</ul>` : ''}</li>`;
}

export function runSections(p: RunPage, now: number): Sections {
  const link = (agentId?: string) => (agentId ? runHref(p.runId, agentId) : undefined);
  return {
    head: runHead(p, now),
    dag: dagSvg(p.progress.tasks.map((row) => ({ row, dependsOn: p.dependsOn[row.id] ?? [] })), (row) => link(row.agentId)),
    timeline: timelineSvg(p.progress.tasks, p.dependsOn, p.startedAt, p.closedAt ?? (p.noWorker && p.progress.asOf ? Date.parse(p.progress.asOf) : now)),
    tasks: taskTable(p),
    agents: p.trees.length ? html`<ul class="tree">${p.trees.map((t) => treeNode(p, t))}</ul>` : html`<p class="muted">no agents yet</p>`,
    log: p.log ? html`<h3>log of <code>${p.log.agentId}</code></h3><pre class="log" data-agent="${p.log.agentId}">${p.log.text}</pre>` : html`<p class="muted">no agent has started yet</p>`,
  };
}

// ---- the inbox -------------------------------------------------------------------------------------------------

function inboxItem(it: InboxItem, now: number): Html {
  const acts: Html[] = [];
  if (it.kind === 'gate' && it.runId && it.taskId) {
    const args = { runId: it.runId, taskId: it.taskId };
    acts.push(button('approve', 'approve', args), button('reject', 'reject', args, { field: 'reason', question: `Why reject ${it.taskId}? (shown as its error)` }, true));
  }
  const who = it.taskId && it.runId ? `${it.runId}/${it.taskId}` : (it.agentId ?? it.runId ?? '');
  return html`<li class="item kind-${it.kind}" data-kind="${it.kind}" data-run="${it.runId ?? ''}" data-task="${it.taskId ?? ''}"><span class="kind">${it.kind}</span>
<a href="${it.runId ? runHref(it.runId, it.agentId) : '#'}">${who}</a> <span class="muted">${it.since !== undefined ? fmtAge(now - it.since) : '?'} ago</span>
<div>${it.summary}</div><div class="cmd"><code>${it.command}</code>${(it.also ?? []).map((a) => html` <code>${a}</code>`)}</div><div>${acts}</div></li>`;
}

export function inboxSections(inbox: Inbox, now: number): Sections {
  const items = inbox.items.length ? html`<ul class="inbox">${inbox.items.map((it) => inboxItem(it, now))}</ul>` : html`<p class="muted" id="inbox-empty">nothing waits for you</p>`;
  return { inbox: html`${items}${inbox.notes.map((n) => html`<p class="note">${n}</p>`)}` };
}
