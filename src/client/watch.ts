/**
 * Following a run while it goes on. On a TTY the view is redrawn in place (progress per phase, running tasks,
 * failures); otherwise each task transition is printed as one plain line, which suits logs and CI.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { agentStatusQuery, runProgressQuery, type RunProgress, type TaskRow } from '../shared/messages';
import { fmtDuration, fmtUsd, table } from './output';

export interface WatchOptions {
  tty: boolean;
  out: (s: string) => void;
  intervalMs?: number;
  uiUrl?: string;
}

const bar = (done: number, total: number, width = 20) => {
  const filled = total ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
};

export function renderProgress(p: RunProgress, doing: Map<string, string>, now: number): string {
  const c = p.counts;
  const total = p.tasks.length;
  const finished = c.completed + c.skipped;
  const lines = [
    `run ${p.runId} (${p.name}) — ${p.status} — ${finished}/${total} done, ${c.running} running, ${c.failed} failed, ${c.blocked} blocked — ${fmtUsd(p.costUsd)}, ${p.tokens.toLocaleString('en-US')} tokens — concurrency ${p.maxConcurrency}`,
  ];
  const phases = new Map<string, TaskRow[]>();
  for (const t of p.tasks) phases.set(t.phase ?? '(no phase)', [...(phases.get(t.phase ?? '(no phase)') ?? []), t]);
  for (const [phase, tasks] of phases) {
    const d = tasks.filter((t) => t.status === 'completed' || t.status === 'skipped').length;
    lines.push(`  ${phase.padEnd(24).slice(0, 24)} ${bar(d, tasks.length)} ${d}/${tasks.length}`);
  }
  const running = p.tasks.filter((t) => t.status === 'running');
  if (running.length) lines.push('running:');
  for (const t of running) lines.push(`  ${t.id}  ${fmtDuration(now - (t.startedAt ?? now))}  ${doing.get(t.agentId ?? '') ?? ''}`);
  const bad = p.tasks.filter((t) => t.status === 'failed' || t.status === 'blocked');
  if (bad.length) lines.push('failed / blocked:');
  for (const t of bad.slice(-8)) lines.push(`  ${t.id}  ${t.status}  ${t.status === 'blocked' ? `by ${t.blockedBy?.join(', ')}` : (t.error ?? '').slice(0, 100)}`);
  return lines.join('\n');
}

export function taskTable(p: RunProgress): string {
  const rows = [['TASK', 'STATUS', 'PHASE', 'PRI', 'TRIES', 'TIME', 'COST', 'NOTE']];
  for (const t of p.tasks) {
    const time = t.startedAt ? fmtDuration((t.endedAt ?? Date.now()) - t.startedAt) : '';
    const note = t.status === 'blocked' ? `blocked by ${t.blockedBy?.join(', ')}` : (t.error ?? t.summary ?? '').replace(/\s+/g, ' ').slice(0, 80);
    rows.push([t.id, t.status, t.phase ?? '', String(t.priority), String(t.attempts), time, t.costUsd !== undefined ? fmtUsd(t.costUsd) : '', note]);
  }
  return table(rows);
}

/** Polls the run until it closes; returns the last progress seen. */
export async function watchRun(client: Client, handle: WorkflowHandle, opts: WatchOptions): Promise<RunProgress | undefined> {
  const seen = new Map<string, string>();
  const start = Date.now();
  let last: RunProgress | undefined;
  let drawnLines = 0;
  const closed = handle.result().then(
    () => true,
    () => true,
  );
  let done = false;
  void closed.then(() => (done = true));
  while (!done) {
    try {
      last = await handle.query(runProgressQuery);
    } catch {
      // The workflow may be between tasks on a restarting worker; the next poll tries again.
    }
    if (last) {
      if (opts.tty) {
        const doing = new Map<string, string>();
        await Promise.all(
          last.tasks
            .filter((t) => t.status === 'running' && t.agentId)
            .map(async (t) => {
              const s = await client.workflow.getHandle(t.agentId!).query(agentStatusQuery).catch(() => undefined);
              if (s) doing.set(t.agentId!, `${s.doing} (turn ${s.turn}, ${fmtUsd(s.costUsd)})`);
            }),
        );
        const text = renderProgress(last, doing, Date.now());
        if (drawnLines) opts.out(`\x1b[${drawnLines}A\x1b[0J`);
        opts.out(text + '\n');
        drawnLines = text.split('\n').length;
      } else {
        for (const t of last.tasks) {
          const key = `${t.status}:${t.attempts}`;
          if (seen.get(t.id) === key) continue;
          if (seen.has(t.id) || t.status !== 'pending') {
            const extra = t.status === 'blocked' ? ` by ${t.blockedBy?.join(', ')}` : t.error ? `: ${t.error.slice(0, 200)}` : '';
            opts.out(`[${fmtDuration(Date.now() - start)}] ${t.id} ${t.status}${extra}\n`);
          }
          seen.set(t.id, key);
        }
      }
    }
    await Promise.race([closed, new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000))]);
  }
  return last;
}
