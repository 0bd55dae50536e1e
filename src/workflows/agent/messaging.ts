/**
 * The agent's messages, shell side: `send_message` and `read_messages`, and where undeliverable mail goes. The
 * mailbox itself (mailbox.ts) is pure. A message that cannot be delivered is never lost: it goes to the run's
 * dead-letter list (or the agent's own, for a standalone agent).
 */
import * as wf from '@temporalio/workflow';
import { agentMessageSignal, deadLetterSignal, operatorMessageSignal, type AgentMessage, type DeadLetter } from '../../shared/messages';
import { addressProblem } from './addresses';
import { runningChildIds, ToolError } from './children';
import type { AgentContext } from './context';
import * as mail from './mailbox';
import { deadLetterEvent, operatorMessageEvent } from '../run/notifications';

export interface SendArgs {
  to: string;
  text: string;
  priority?: 'high' | 'normal' | 'low';
  reply_to?: string;
}

/** Hand something to the run this agent belongs to; true when the run took it (else the caller keeps it). */
async function toRun<T>(ctx: AgentContext, signal: wf.SignalDefinition<[T]>, payload: T): Promise<boolean> {
  if (!ctx.input.runId) return false;
  try {
    await wf.getExternalWorkflowHandle(ctx.input.runId).signal(signal, payload);
    return true;
  } catch (err) {
    if (wf.isCancellation(err)) throw err;
    return false;
  }
}

async function deadLetter(ctx: AgentContext, message: AgentMessage, reason: string): Promise<void> {
  const letter: DeadLetter = { message, reason, at: Date.now() };
  if (await toRun(ctx, deadLetterSignal, letter)) return;
  ctx.s.deadLetters.push(letter);
  void ctx.notifier.send(deadLetterEvent(ctx.s.agentId, letter));
}

/**
 * The agent is ending: every message still pending in its mailbox will never be read, so each goes to the dead
 * letters (the run's, or its own for a standalone agent) with the reason. Repeated until none is left, since a
 * message can arrive while the letters are being handed over.
 */
export async function deadLetterUnread(ctx: AgentContext): Promise<void> {
  const { s } = ctx;
  for (let unread = mail.drainUnread(s.mailbox); unread.length; unread = mail.drainUnread(s.mailbox)) {
    for (const { seq: _seq, state: _state, ...message } of unread) {
      await deadLetter(ctx, message, `${s.agentId} ended (${s.status}) before reading it`);
    }
  }
}

async function toTheOperator(ctx: AgentContext, message: AgentMessage): Promise<void> {
  if (await toRun(ctx, operatorMessageSignal, message)) return;
  ctx.s.toOperator.push(message);
  void ctx.notifier.send(operatorMessageEvent(ctx.s.agentId, message));
}

/** The addresses `to` names: the operator, the parent, all running children, a child by name, or an agent id. */
function recipients(ctx: AgentContext, to: string): string[] {
  const { input, s } = ctx;
  if (to === 'operator') return ['operator'];
  if (to === 'parent') {
    if (!input.parentId) throw new ToolError('you have no parent agent; write to "operator" instead');
    return [input.parentId];
  }
  if (to === 'children') {
    const ids = runningChildIds(s);
    if (!ids.length) throw new ToolError('you have no running sub-agents to broadcast to');
    return ids;
  }
  const id = s.children.find((c) => c.name === to)?.agentId ?? to;
  const problem = addressProblem(input, s.agentId, id);
  if (problem) throw new ToolError(`not sent: ${problem}`);
  return [id];
}

export async function sendMessage(ctx: AgentContext, args: SendArgs): Promise<string> {
  const { s } = ctx;
  const replied = args.reply_to ? mail.findMessage(s.mailbox, args.reply_to) : undefined;
  if (args.reply_to && !replied) throw new ToolError(`no message "${args.reply_to}" in your mailbox to reply to`);
  const lines: string[] = [];
  for (const to of recipients(ctx, args.to)) {
    const id = `${s.agentId}#${++s.messageSeq}`;
    const thread = replied?.thread ?? id;
    const message: AgentMessage = { id, from: s.agentId, to, text: args.text, priority: args.priority ?? 'normal', replyTo: replied?.id, thread, sentAt: Date.now() };
    mail.recordSent(s.mailbox, { ...message, thread });
    if (to === 'operator') {
      await toTheOperator(ctx, message);
      lines.push(`sent ${id} to the operator`);
      continue;
    }
    try {
      await wf.getExternalWorkflowHandle(to).signal(agentMessageSignal, message);
      lines.push(`sent ${id} to ${to}`);
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      const reason = `${to} has ended or does not exist (${errorMessage(err)})`;
      await deadLetter(ctx, message, reason);
      lines.push(`not delivered: ${reason}; kept in the dead-letter list`);
    }
  }
  return lines.join('\n');
}

export async function readMessages(ctx: AgentContext, waitSeconds?: number): Promise<string> {
  const { s } = ctx;
  if (!mail.pending(s.mailbox).length && waitSeconds) {
    ctx.setDoing('waiting for messages');
    await wf.condition(() => mail.pending(s.mailbox).length > 0, waitSeconds * 1000);
  }
  const got = mail.deliver(s.mailbox);
  s.awaitingProcessing.push(...got.map((m) => m.id));
  return got.length ? got.map(mail.render).join('\n') : 'no messages';
}

/** The message of a failure, unwrapped from the activity or child failure around it. */
export function errorMessage(err: unknown): string {
  if (err instanceof wf.ActivityFailure || err instanceof wf.ChildWorkflowFailure) return errorMessage(err.cause);
  return err instanceof Error ? err.message : String(err);
}
