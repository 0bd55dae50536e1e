/**
 * The dashboard's pure parts, without a server: escaping (a title from a plan file can hold markup), the DAG's
 * nodes and edges with their status attributes, the cost rows and their total, and the Host values it accepts.
 */
import { describe, expect, it } from 'vitest';
import type { TaskRow } from '../../src/shared/messages';
import { allowedHosts } from '../../src/client/commands/ui';
import { dagSvg } from '../../src/client/ui/dag';
import { sumCosts, taskCosts } from '../../src/client/ui/data';
import { escapeHtml, html, raw, scriptJson } from '../../src/client/ui/html';
import type { RunView } from '../../src/client/watch';

const row = (id: string, extra: Partial<TaskRow> = {}): TaskRow => ({ id, title: id, priority: 5, status: 'pending', attempts: 0, ...extra });

describe('dashboard html', () => {
  it('escapes every interpolated value unless it is markup built by html or raw', () => {
    expect(escapeHtml(`<script>"x" & 'y'</script>`)).toBe('&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;');
    const title = '<img src=x onerror=alert(1)>';
    expect(html`<td title="${title}">${title}</td>`.text).toBe('<td title="&lt;img src=x onerror=alert(1)&gt;">&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(html`<p>${[html`<b>${'a<b'}</b>`, raw('<i>ok</i>'), undefined, false, 3]}</p>`.text).toBe('<p><b>a&lt;b</b><i>ok</i>3</p>');
    expect(scriptJson({ t: '</script><script>alert(1)</script>' }).text).not.toMatch(/<\/script>/i);
  });

  it('draws one node per task with its status, one edge per dependency, and escapes titles', () => {
    const svg = dagSvg(
      [
        { row: row('a', { status: 'completed', title: '<script>alert(1)</script>', agentId: 'r/a' }), dependsOn: [] },
        { row: row('b', { status: 'running' }), dependsOn: ['a'] },
        { row: row('c', { status: 'waiting', waiting: 'approval: look' }), dependsOn: ['a', 'b', 'gone'] },
      ],
      (r) => (r.agentId ? `/runs/r?agent=${encodeURIComponent(r.agentId)}` : undefined),
    ).text;
    expect(svg.match(/<g class="node st-(\w+)" data-task="(\w)" data-status="\1">/g)).toHaveLength(3);
    expect(svg).toContain('data-task="b" data-status="running"');
    expect(svg.match(/<path class="edge"/g)).toHaveLength(3);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(svg).toContain('href="/runs/r?agent=r%2Fa"');
  });

  it('a task costs what its row says, a running one what its agents spent so far; the total is their sum', () => {
    const tasks = [row('done', { status: 'completed', costUsd: 0.5, tokens: 100 }), row('live', { status: 'running' }), row('later')];
    const view = { agents: [{ agentId: 'r/live', name: 'live', taskId: 'live', depth: 0, status: 'running', doing: '', tokens: 40, costUsd: 0.25, allocated: {}, alerts: [] }] } as unknown as RunView;
    const costs = taskCosts(tasks, view);
    expect(costs).toEqual([{ taskId: 'done', tokens: 100, costUsd: 0.5 }, { taskId: 'live', tokens: 40, costUsd: 0.25, live: true }, { taskId: 'later' }]);
    expect(sumCosts(costs)).toEqual({ tokens: 140, costUsd: 0.75 });
    expect(taskCosts(tasks, undefined)[1]).toEqual({ taskId: 'live' });
  });

  it('accepts the loopback names of a loopback address, only the address itself otherwise', () => {
    expect(allowedHosts('127.0.0.1', 7390)).toEqual(['127.0.0.1:7390', 'localhost:7390', '[::1]:7390']);
    expect(allowedHosts('10.0.0.5', 80)).toEqual(['10.0.0.5:80']);
  });
});
