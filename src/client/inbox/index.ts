/**
 * `cadre inbox` (docs/cli.md): everything that waits for a person, as items built from what a run's progress and an
 * agent's snapshot already say. Pure functions of those shapes; the command (commands/inbox.ts) finds and asks the
 * running workflows.
 */
import type { AgentMessage, AgentSnapshot, DeadLetter, RunProgress } from '../../shared/messages';

export type InboxKind = 'gate' | 'conflict' | 'stalled' | 'budget' | 'dead-letter' | 'message';

export interface InboxItem {
  kind: InboxKind;
  runId?: string;
  taskId?: string;
  agentId?: string;
  /** When it began waiting (epoch ms), if known. A gate: when its task started (rows record no time of the wait). */
  since?: number;
  /** One line. */
  summary: string;
  /** The command that answers it. */
  command: string;
  /** Other commands that answer it (`reject` for a gate, `refuse` for a budget request). */
  also?: string[];
  /** A budget request: its id and what it asks for. */
  requestId?: string;
  amount?: { tokens?: number; usd?: number };
}

/** A shell-safe word: as is when plain, else in single quotes. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,#~-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const oneLine = (s: string, n = 100) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
};

const APPROVAL = 'approval: ';
/** How the run words a task's unresolved merge conflict (src/workflows/run/resolution.ts, task.ts). */
const CONFLICT = 'merge conflict in ';

/** Gates, dead letters and messages to the operator of one run. */
export function runItems(p: RunProgress): InboxItem[] {
  const run = shellWord(p.runId);
  const items: InboxItem[] = [];
  for (const t of p.tasks) {
    if (t.status !== 'waiting' || !t.waiting?.startsWith('approval')) continue;
    const task = shellWord(t.id);
    items.push({
      kind: 'gate',
      runId: p.runId,
      taskId: t.id,
      agentId: t.agentId,
      since: t.startedAt,
      summary: `${t.title}: ${oneLine(t.waiting.startsWith(APPROVAL) ? t.waiting.slice(APPROVAL.length) : t.waiting)}`,
      command: `cadre approve ${run} ${task}`,
      also: [`cadre reject ${run} ${task} --reason '…'`],
    });
  }
  items.push(...conflictItems(p));
  items.push(...messageItems(p.deadLetters, p.toOperator, p.runId));
  return items;
}

/**
 * Tasks that failed on a merge conflict their resolver could not resolve (or that had no resolver; docs/loops.md
 * "Merge conflicts"): a person resolves it, or retries the task, which runs it again from the integration branch as
 * it is now. Its age is when the task ended.
 */
export function conflictItems(p: RunProgress): InboxItem[] {
  const run = shellWord(p.runId);
  return p.tasks
    .filter((t) => t.status === 'failed' && t.error?.startsWith(CONFLICT))
    .map((t) => ({
      kind: 'conflict' as const,
      runId: p.runId,
      taskId: t.id,
      agentId: t.agentId,
      since: t.endedAt,
      summary: `${t.title}: ${oneLine(t.error!, 200)}`,
      command: `cadre retry ${run} ${shellWord(t.id)}`,
    }));
}

/**
 * Dead letters and messages to the operator, from a run or kept by a standalone root agent (`holder`, the workflow
 * `cadre dismiss` asks; default the run).
 */
export function messageItems(deadLetters: DeadLetter[] | undefined, toOperator: AgentMessage[] | undefined, runId?: string, holder = runId): InboxItem[] {
  const items: InboxItem[] = [];
  for (const d of deadLetters ?? []) {
    const m = d.message;
    const why = `not delivered (${oneLine(d.reason, 60)}): ${oneLine(m.text, 60)}`;
    // The operator's own message that found no one: nobody to reply to; its recipient's status says what became of it.
    const mine = m.from === 'operator';
    items.push({
      kind: 'dead-letter',
      runId,
      agentId: mine ? m.to : m.from,
      since: d.at,
      summary: mine ? `your message ${m.id} to ${m.to} ${why}` : `${m.id} from ${m.from} to ${m.to} ${why}`,
      // Replying answers an agent's letter; the operator's own can only be read (status) and dismissed.
      command: mine && holder ? `cadre dismiss ${shellWord(holder)} ${shellWord(m.id)}` : mine ? `cadre status ${shellWord(m.to)}` : `cadre send ${shellWord(m.from)} '…' --reply-to ${shellWord(m.id)}`,
      ...(mine ? { also: [`cadre status ${shellWord(m.to)}`] } : {}),
    });
  }
  for (const m of toOperator ?? []) {
    items.push({
      kind: 'message',
      runId,
      agentId: m.from,
      since: m.sentAt,
      summary: `${m.id} from ${m.from}: ${oneLine(m.text)}`,
      command: `cadre send ${shellWord(m.from)} '…' --reply-to ${shellWord(m.id)}`,
    });
  }
  return items;
}

/** A budget request waiting for the operator (docs/cli.md "cadre budget"): grant what it asks, or refuse. */
function budgetItems(s: AgentSnapshot): InboxItem[] {
  const r = s.budgetRequest;
  if (!r) return [];
  const agent = shellWord(s.agentId);
  const amount = r.tokens ? String(Math.ceil(r.tokens)) : r.usd ? `$${(Math.ceil(r.usd * 100) / 100).toFixed(2)}` : '50k';
  const asked = [r.tokens ? `${Math.ceil(r.tokens)} tokens` : '', r.usd ? `$${r.usd.toFixed(4)}` : ''].filter(Boolean).join(' / ');
  return [
    {
      kind: 'budget',
      runId: s.runId,
      taskId: s.taskId,
      agentId: s.agentId,
      since: r.since,
      summary: `out of budget, asks for ${asked || 'more'} (refused if unanswered by ${new Date(r.until).toISOString()})`,
      command: `cadre budget grant ${agent} ${shellWord(amount)} --id ${shellWord(r.requestId)}`,
      also: [`cadre budget refuse ${agent}`],
      requestId: r.requestId,
      amount: { ...(r.tokens ? { tokens: r.tokens } : {}), ...(r.usd ? { usd: r.usd } : {}) },
    },
  ];
}

/**
 * An agent's own items: a budget request waiting for the operator, and a stall (docs/loops.md "Stalls": a hint
 * unsticks it; a task's agent can also be cancelled or retried).
 */
export function agentItems(s: AgentSnapshot): InboxItem[] {
  const budget = budgetItems(s);
  if (!s.stalled) return budget;
  const agent = shellWord(s.agentId);
  const also = s.runId && s.taskId ? [`cadre cancel ${shellWord(s.runId)} ${shellWord(s.taskId)}`] : undefined;
  return [
    ...budget,
    {
      kind: 'stalled',
      runId: s.runId,
      taskId: s.taskId,
      agentId: s.agentId,
      since: s.stalled.since,
      // `doing` reads `stalled: no progress for 10 min (nudged) — was: run ./x.sh` while stalled (docs/loops.md).
      summary: s.doing.startsWith('stalled') ? oneLine(s.doing) : `no progress since ${new Date(s.stalled.since).toISOString()} (nudged) — ${oneLine(s.doing, 60)}`,
      command: `cadre send ${agent} '…'`,
      ...(also ? { also } : {}),
    },
  ];
}

/** Oldest first; items of unknown age last. */
export function sortItems(items: InboxItem[]): InboxItem[] {
  return [...items].sort((a, b) => (a.since ?? Infinity) - (b.since ?? Infinity));
}

/** `3m`, `2h05m`, `4d` — how long something has waited. */
export function fmtAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d`;
}

/** The text listing: one block per item, oldest first; the empty inbox says so. */
export function renderInbox(items: InboxItem[], now: number, notes: string[] = []): string {
  const lines: string[] = [];
  if (!items.length) lines.push('nothing waits for you');
  for (const it of sortItems(items)) {
    const who = it.taskId && it.runId ? `${it.runId}/${it.taskId}` : (it.agentId ?? it.runId ?? '');
    const age = it.since !== undefined ? fmtAge(now - it.since) : '?';
    lines.push(`${it.kind.padEnd(11)} ${who}  ${age}  ${it.summary}`);
    lines.push(`            → ${it.command}${it.also?.length ? `   (or ${it.also.join(', ')})` : ''}`);
  }
  for (const n of notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}
