/**
 * `cadre inbox`: what waits for a person across the running runs and standalone agents (docs/cli.md "cadre inbox").
 * Finds them with one visibility query, asks each (with the query deadline; a run without a worker is read from its
 * history), and lists the items built by src/client/inbox.
 */
import type { Client } from '@temporalio/client';
import { agentStatusQuery, mailboxQuery } from '../../shared/messages';
import { CadreError } from '../../shared/errors';
import { CadreRole } from '../../shared/searchAttributes';
import { EXIT } from '../output';
import { openRuntime } from '../runtime';
import { hasWorker } from '../view';
import { agentItems, messageItems, renderInbox, runItems, sortItems, type InboxItem } from '../inbox';
import { loadRunProgress, queryWorkflow } from './inspect';

/**
 * The running runs and agents of one task queue: cadre's own (CADRE_TASK_QUEUE), not every workflow of the namespace,
 * which may hold other teams' and other cadre setups' work.
 */
export function inboxQuery(taskQueue: string): string {
  return `ExecutionStatus = 'Running' AND (WorkflowType = 'runPlan' OR WorkflowType = 'agent') AND TaskQueue = '${taskQueue.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface Inbox {
  items: InboxItem[];
  /** What could not be asked, one line each (no worker, an error). */
  notes: string[];
}

export async function collectInbox(client: Client, taskQueue: string): Promise<Inbox> {
  const items: InboxItem[] = [];
  const notes: string[] = [];
  const workers = new Map<string, Promise<boolean>>();
  const served = (q: string) => workers.get(q) ?? workers.set(q, hasWorker(client, q)).get(q)!;
  const unasked: string[] = [];
  for await (const w of client.workflow.list({ query: inboxQuery(taskQueue) })) {
    const id = w.workflowId;
    try {
      if (w.type === 'runPlan') {
        items.push(...runItems(await loadRunProgress(client, id)));
        continue;
      }
      if (!(await served(w.taskQueue))) {
        unasked.push(id);
        continue;
      }
      const h = client.workflow.getHandle(id);
      const snap = await queryWorkflow(client, id, () => h.query(agentStatusQuery));
      items.push(...agentItems(snap));
      // A standalone root agent keeps its own dead letters and messages to the operator; a run's agents send theirs to the run.
      if (w.typedSearchAttributes.get(CadreRole) === 'agent' || (!snap.runId && !snap.parentId)) {
        const box = await queryWorkflow(client, id, () => h.query(mailboxQuery));
        items.push(...messageItems(box.deadLetters, box.toOperator, undefined, id));
      }
    } catch (err) {
      notes.push(`${id} not asked: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  if (unasked.length) notes.push(`${unasked.length} agent(s) not asked for stalls, no worker polls their task queue: ${unasked.slice(0, 5).join(', ')}${unasked.length > 5 ? ', …' : ''}`);
  return { items: sortItems(items), notes };
}

export async function inboxCommand(opts: { json?: boolean }): Promise<number> {
  const rt = await openRuntime();
  try {
    let inbox: Inbox;
    try {
      inbox = await collectInbox(rt.client, rt.config.taskQueue);
    } catch (err) {
      if (err instanceof CadreError) throw err;
      throw new CadreError(`cannot list running workflows: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, EXIT.unavailable);
    }
    if (opts.json) process.stdout.write(JSON.stringify(inbox, null, 2) + '\n');
    else process.stdout.write(renderInbox(inbox.items, Date.now(), inbox.notes));
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}
