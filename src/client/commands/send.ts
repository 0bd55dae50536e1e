/**
 * `cadre send <agent-id> "text"`: a message from the operator into an agent's mailbox (it reaches the model at the
 * start of its next turn). A message to an agent that has ended or never existed is not lost: it goes to its run's
 * dead-letter list, and the command says so and exits 1.
 */
import { randomBytes } from 'node:crypto';
import { CadreError } from '../../shared/errors';
import { agentMessageSignal, deadLetterSignal, type AgentMessage } from '../../shared/messages';
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
      await handle.signal(agentMessageSignal, message);
      process.stdout.write(`sent ${message.id} to ${agentId}\n`);
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
