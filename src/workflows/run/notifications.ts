/**
 * The run's notification events, pure (docs/notifications.md): a task waiting at its gate, a dead letter, a
 * message to the operator, the run's budget alerts and its end. Ids are made from what the history already holds
 * (the run id, the task and its attempt, the message id, the threshold), so a replay makes the same ids.
 */
import type { AgentMessage, DeadLetter, TaskRow } from '../../shared/messages';
import { NOTIFY_ALERT_THRESHOLDS, type NotifyEvent } from '../../shared/notify';
import type { Plan } from '../../shared/plan';
import type { RunPlanResult } from '../../shared/run';

type Event = Omit<NotifyEvent, 'at'> & { at?: number };

const line = (s: string, n = 200) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
};

/** A row that turned `waiting` for a person's approval, else undefined. */
export function gateEvent(runId: string, r: TaskRow): Event | undefined {
  if (r.status !== 'waiting' || !r.waiting?.startsWith('approval')) return undefined;
  return {
    id: `${runId}/gate/${r.id}#${r.attempts}`,
    kind: 'gate',
    inbox: true,
    runId,
    taskId: r.id,
    agentId: r.agentId,
    summary: line(`${r.title}: ${r.waiting.replace(/^approval: /, '')}`),
    command: `cadre approve ${runId} ${r.id}`,
  };
}

export function deadLetterEvent(holder: string, d: DeadLetter, runId?: string): Event {
  const m = d.message;
  return {
    id: `${holder}/dead-letter/${m.id}`,
    kind: 'dead-letter',
    inbox: true,
    ...(runId ? { runId } : {}),
    agentId: m.from === 'operator' ? m.to : m.from,
    summary: line(`${m.id} from ${m.from} to ${m.to} not delivered (${d.reason})`),
    command: m.from === 'operator' ? `cadre dismiss ${holder} ${m.id}` : `cadre send ${m.from} '…' --reply-to ${m.id}`,
  };
}

export function operatorMessageEvent(holder: string, m: AgentMessage, runId?: string): Event {
  return {
    id: `${holder}/message/${m.id}`,
    kind: 'message',
    inbox: true,
    ...(runId ? { runId } : {}),
    agentId: m.from,
    // The text is the agent's words to the operator: a line of it, as `cadre inbox` shows it.
    summary: line(`${m.id} from ${m.from}: ${m.text}`),
    command: `cadre send ${m.from} '…' --reply-to ${m.id}`,
  };
}

/**
 * Thresholds of the run's budget its spend has crossed and that are not in `sent` yet (they are added). The run's
 * spend is counted when a task's agent ends, so an alert comes at the end of the task that crossed it.
 */
export function runAlertEvents(runId: string, plan: Plan, spent: { costUsd: number; tokens: number }, sent: Set<number>): Event[] {
  const b = plan.budget;
  if (!b) return [];
  const pct = Math.max(b.usd ? (spent.costUsd / b.usd) * 100 : 0, b.tokens ? (spent.tokens / b.tokens) * 100 : 0);
  const out: Event[] = [];
  for (const threshold of NOTIFY_ALERT_THRESHOLDS) {
    if (pct < threshold || sent.has(threshold)) continue;
    sent.add(threshold);
    out.push({
      id: `${runId}/budget-alert/${threshold}`,
      kind: 'budget-alert',
      inbox: false,
      runId,
      threshold,
      budget: b,
      summary: `run ${runId} has spent ${threshold}% of its budget ($${spent.costUsd.toFixed(4)}, ${spent.tokens} tokens)`,
    });
  }
  return out;
}

/** The run's end; `finishing` marks a later run that finishes an ended one (same run id, its own end). */
export function runEndedEvent(r: RunPlanResult, finishing?: string): Event {
  const c = r.counts;
  return {
    id: `${r.runId}/run-ended${finishing ? `/${finishing}` : ''}`,
    kind: 'run-ended',
    inbox: false,
    runId: r.runId,
    status: r.status,
    totals: { costUsd: r.costUsd, tokens: r.tokens, counts: { ...c } },
    summary: `run ${r.runId} ${r.status}: ${c.completed} completed, ${c.failed} failed, ${c.blocked} blocked, ${c.cancelled} cancelled; $${r.costUsd.toFixed(4)}, ${r.tokens} tokens`,
  };
}
