/**
 * `cadre send <agent-id> "text"`: a message from the operator into an agent's mailbox (it reaches the model at the
 * start of its next turn), as an Update that says what became of it (a repeated `--id` is delivered once). A reply
 * (`--reply-to <message-id>`) also takes the message it answers out of the inbox (the run's, or a standalone
 * agent's). A message to an agent that has ended or never existed is not lost: it goes to its run's dead-letter
 * list, and the command says so and exits 1.
 * `cadre dismiss <run-or-agent> <message-id>`: a dead letter (or a message to the operator) leaves the inbox unanswered.
 */
import { randomBytes } from 'node:crypto';
import { CadreError } from '../../shared/errors';
import type { Client } from '@temporalio/client';
import { deadLetterSignal, messageAnsweredUpdate, operatorSendUpdate, type AgentMessage } from '../../shared/messages';
import { answerAgent } from './tree';
import { EXIT } from '../output';
import { openRuntime } from '../runtime';

export interface SendOptions {
  priority?: string;
  replyTo?: string;
  id?: string;
}

export async function sendCommand(agentId: string, text: string, opts: SendOptions): Promise<number> {
  const priority = (opts.priority ?? 'normal') as AgentMessage['priority'];
  if (!['high', 'normal', 'low'].includes(priority)) throw new CadreError(`--priority: expected high, normal or low, got "${opts.priority}"`, 2);
  if (!text.trim()) throw new CadreError('the message text is empty', 2);
  const rt = await openRuntime();
  try {
    const message: AgentMessage = {
      id: opts.id ?? `operator#${randomBytes(6).toString('hex')}`,
      from: 'operator',
      to: agentId,
      text,
      priority,
      replyTo: opts.replyTo,
      sentAt: Date.now(),
    };
    const handle = rt.client.workflow.getHandle(agentId);
    const d = await handle.describe().catch(() => undefined);
    if (d?.type === 'agent' && d.status.name === 'RUNNING') {
      const answer = await answerAgent(agentId, () => handle.executeUpdate(operatorSendUpdate, { args: [message] }));
      process.stdout.write(`${answer}\n`);
      if (opts.replyTo) {
        const answered = await markAnswered(rt.client, agentId, opts.replyTo);
        if (answered) process.stdout.write(`${answered}\n`);
      }
      return EXIT.ok;
    }
    const reason = d ? `${agentId} has ended (${d.status.name.toLowerCase()})` : `${agentId} does not exist`;
    // The run is the first segment of an agent id (`<run>/<task>/...`).
    const runId = agentId.split('/')[0]!;
    const run = rt.client.workflow.getHandle(runId);
    const rd = runId !== agentId ? await run.describe().catch(() => undefined) : undefined;
    if (rd?.type === 'runPlan' && rd.status.name === 'RUNNING') {
      await run.signal(deadLetterSignal, { message, reason, at: Date.now() });
      process.stderr.write(`cadre: not delivered: ${reason}; kept in run ${runId}'s dead-letter list (cadre status ${runId})\n`);
    } else {
      process.stderr.write(`cadre: not delivered: ${reason}, and no running run to keep it for you\n`);
    }
    return EXIT.failed;
  } finally {
    await rt.close();
  }
}

/**
 * The holder of a message to the operator from `agentId` (its run, or the agent itself when it is standalone) marks
 * `messageId` answered. Undefined when no holder has it (a reply to a message the inbox never listed).
 */
async function markAnswered(client: Client, agentId: string, messageId: string): Promise<string | undefined> {
  const runId = agentId.split('/')[0]!;
  for (const holder of runId !== agentId ? [runId, agentId] : [agentId]) {
    const h = client.workflow.getHandle(holder);
    const d = await h.describe().catch(() => undefined);
    if (!d || d.status.name !== 'RUNNING') continue;
    try {
      return await h.executeUpdate(messageAnsweredUpdate, { args: [messageId] });
    } catch {
      // Not this holder's message (its validator refused): the next one may hold it.
    }
  }
  return undefined;
}

export async function dismissCommand(holder: string, messageId: string): Promise<number> {
  const rt = await openRuntime();
  try {
    const h = rt.client.workflow.getHandle(holder);
    const d = await h.describe().catch(() => undefined);
    if (!d || (d.type !== 'runPlan' && d.type !== 'agent')) throw new CadreError(`no run or agent with id "${holder}"`, 2);
    if (d.status.name !== 'RUNNING') throw new CadreError(`${holder} has ended (${d.status.name.toLowerCase()}): its inbox items went with it`, 2);
    process.stdout.write(`${await answerAgent(holder, () => h.executeUpdate(messageAnsweredUpdate, { args: [messageId] }))}\n`);
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}
