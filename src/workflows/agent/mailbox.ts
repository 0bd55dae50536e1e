/**
 * An agent's mailbox: pure and plain JSON, so it lives in workflow state and survives continue-as-new.
 * Order: priority (high, normal, low), then arrival (FIFO within a priority). A message id seen once is never
 * added again, so a signal delivered twice counts once. States: pending → delivered (shown to the model) →
 * processed (the turn that saw it completed).
 */
export type Priority = 'high' | 'normal' | 'low';
export type MessageState = 'pending' | 'delivered' | 'processed';

export interface Message {
  id: string;
  from: string;
  to: string;
  text: string;
  priority: Priority;
  /** The message this one answers. */
  replyTo?: string;
  /** The first message of the conversation this one belongs to. */
  thread: string;
  sentAt: number;
  state: MessageState;
  /** Arrival order in this mailbox. */
  seq: number;
}

export interface Mailbox {
  messages: Message[];
  /** Ids ever accepted (kept when old processed messages are dropped), for de-duplication. */
  seen: string[];
  nextSeq: number;
}

const RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };
/** Processed messages kept for thread listing; older ones are dropped to bound workflow state. */
const KEEP_PROCESSED = 500;

export const newMailbox = (): Mailbox => ({ messages: [], seen: [], nextSeq: 0 });

export function accept(box: Mailbox, msg: Omit<Message, 'state' | 'seq'>): boolean {
  if (box.seen.includes(msg.id)) return false;
  box.seen.push(msg.id);
  box.messages.push({ ...msg, state: 'pending', seq: box.nextSeq++ });
  return true;
}

export function pending(box: Mailbox): Message[] {
  return box.messages.filter((m) => m.state === 'pending').sort((a, b) => RANK[a.priority] - RANK[b.priority] || a.seq - b.seq);
}

/** Keep a message this agent sent, so its threads read in full; it never counts as pending. */
export function recordSent(box: Mailbox, msg: Omit<Message, 'state' | 'seq'>): void {
  if (box.seen.includes(msg.id)) return;
  box.seen.push(msg.id);
  box.messages.push({ ...msg, state: 'processed', seq: box.nextSeq++ });
}

/**
 * Hand the pending messages to the model, in order; they become delivered. With `ids`, only those (the ones the
 * turn's budget reservation counted): a message that arrived later waits for the next turn.
 */
export function deliver(box: Mailbox, ids?: readonly string[]): Message[] {
  const out = ids ? pending(box).filter((m) => ids.includes(m.id)) : pending(box);
  for (const m of out) m.state = 'delivered';
  return out;
}

/** A turn that will be done again (its host was lost): the messages shown to it are pending again. */
export function undeliver(box: Mailbox, ids: readonly string[]): void {
  for (const m of box.messages) if (m.state === 'delivered' && ids.includes(m.id)) m.state = 'pending';
}

/** The agent ended: take the messages no turn will see (still pending) out of the mailbox, for the dead letters. */
export function drainUnread(box: Mailbox): Message[] {
  const unread = pending(box);
  for (const m of unread) m.state = 'processed';
  return unread;
}

export function markProcessed(box: Mailbox, ids: string[]): void {
  for (const m of box.messages) if (ids.includes(m.id) && m.state === 'delivered') m.state = 'processed';
  const processed = box.messages.filter((m) => m.state === 'processed');
  if (processed.length > KEEP_PROCESSED) {
    const drop = new Set(processed.slice(0, processed.length - KEEP_PROCESSED).map((m) => m.id));
    box.messages = box.messages.filter((m) => !drop.has(m.id));
  }
}

/** Resolve a reply_to given in full or as a suffix of a received message's id (models and scripts may shorten). */
export function findMessage(box: Mailbox, ref: string): Message | undefined {
  return box.messages.find((m) => m.id === ref) ?? box.messages.find((m) => m.id.endsWith(ref));
}

export function thread(messages: Message[], threadId: string): Message[] {
  return messages.filter((m) => m.thread === threadId).sort((a, b) => a.sentAt - b.sentAt || a.seq - b.seq);
}

export function render(m: Pick<Message, 'id' | 'from' | 'priority' | 'text' | 'replyTo'>): string {
  return `[message ${m.id} from ${m.from}${m.priority !== 'normal' ? `, ${m.priority} priority` : ''}${m.replyTo ? `, reply to ${m.replyTo}` : ''}] ${m.text}`;
}
