/**
 * Reading runs and agents when no worker answers queries: is a worker polling the workflow's task queue, and if not,
 * what Temporal itself stores (search attributes, memo, history) rebuilt into the shapes the commands print.
 */
import { planOf } from '../planRef';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import type { AgentInput, AgentResult, AgentStatus } from '../../shared/agent';
import type { RunPlanInput } from '../../shared/run';
import type { AgentTreeNode, RunProgress, TaskStatus } from '../../shared/messages';
import { zeroUsage } from '../../shared/model';
import { CadreBudgetUsed, CadreDepth, CadreStatus } from '../../shared/searchAttributes';
import { childWorkflows, lastEventTime, liveAgentStatus, runFromHistory, startInput, type HistoryEvent } from './history';

/**
 * A poller the server has not heard from for this long is gone. The server lists a worker that stopped for minutes
 * after (its poller history); a live one polls again at least every minute (the server's long-poll interval).
 * `CADRE_POLLER_STALE_SECONDS` overrides it (tests, servers with another interval).
 */
export function pollerStaleMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.CADRE_POLLER_STALE_SECONDS);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 70_000;
}

/**
 * Whether a worker polls the workflow task queue `taskQueue` (one heard from within `pollerStaleMs`). When the
 * server will not say (an API key without that permission), assume one does: the caller asks, with its deadline.
 */
export async function hasWorker(client: Client, taskQueue: string, now = Date.now()): Promise<boolean> {
  let r: temporal.api.workflowservice.v1.IDescribeTaskQueueResponse;
  try {
    r = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
  } catch {
    return true;
  }
  return (r.pollers ?? []).some((p) => {
    const t = p.lastAccessTime;
    const at = t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : now;
    return now - at < pollerStaleMs();
  });
}

/** The whole history of the workflow's current execution, as proto3 JSON events. */
export async function readHistory(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({ namespace: client.options.namespace, execution: { workflowId }, nextPageToken });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return (JSON.parse(historyToJSON(temporal.api.history.v1.History.create({ events }))) as { events: HistoryEvent[] }).events;
}

/** Where an answer came from: a worker's query, or what the server stores. */
export type Source = 'query' | 'history';

/** An answer read from history because no worker answered: when it was true, and why it was read so. */
export interface FromHistory {
  source: 'history';
  /** The time of the workflow's last event (ISO). */
  asOf: string;
  /** `no worker polls task queue "q"`: why no worker was asked. */
  reason: string;
}

/** The line printed above an answer read from history. */
export function historyNotice(h: Pick<FromHistory, 'asOf' | 'reason'>): string {
  return `as of ${h.asOf.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} (no worker is running: ${h.reason}; read from history)`;
}

export const noPollerReason = (taskQueue: string) => `task queue "${taskQueue}" has no poller`;

const zeroCounts = (): Record<TaskStatus, number> => ({ pending: 0, ready: 0, running: 0, waiting: 0, completed: 0, failed: 0, blocked: 0, cancelled: 0, skipped: 0 });

/** A run's progress rebuilt from its history and search attributes. */
export async function runProgressFromHistory(client: Client, d: WorkflowExecutionDescription, reason: string): Promise<RunProgress & FromHistory> {
  const events = await readHistory(client, d.workflowId);
  // A plan by reference is read back for the rows of tasks that have not started (a blob of the run's repository).
  const { input, tasks } = runFromHistory(events, await planOf(startInput<RunPlanInput>(events)));
  const counts = zeroCounts();
  for (const t of tasks) counts[t.status]++;
  const sa = d.typedSearchAttributes;
  // The workflow's own status wins when it did not end by returning or failing (terminated, timed out), as in `list`.
  const ended = d.status.name === 'COMPLETED' || d.status.name === 'FAILED';
  const status = (d.status.name === 'RUNNING' ? 'running' : ended ? (sa.get(CadreStatus) ?? d.status.name.toLowerCase()) : d.status.name.toLowerCase()) as RunProgress['status'];
  return {
    runId: d.workflowId,
    name: String(d.memo?.title ?? input?.plan?.name ?? input?.planName ?? d.workflowId),
    status,
    maxConcurrency: input?.maxConcurrency ?? 0,
    tasks,
    counts,
    costUsd: sa.get(CadreBudgetUsed) ?? tasks.reduce((n, t) => n + (t.costUsd ?? 0), 0),
    tokens: 0,
    budget: input?.plan?.budget,
    source: 'history',
    asOf: new Date(lastEventTime(events) ?? Date.now()).toISOString(),
    reason,
  };
}

/**
 * An agent's tree rebuilt without a worker: an ended agent's (or ended child's) own result carries its tree; a
 * running one shows its status and spend from its search attributes and its children from its history.
 */
export async function treeFromHistory(client: Client, agentId: string, depthLeft = 8): Promise<(AgentTreeNode & { asOf?: string }) | undefined> {
  const d = await client.workflow.getHandle(agentId).describe().catch(() => undefined);
  if (!d) return undefined;
  const events = await readHistory(client, agentId);
  const agentInput = startInput<AgentInput>(events);
  const children: AgentTreeNode[] = [];
  for (const c of childWorkflows(events)) {
    if (c.workflowType !== 'agent') continue;
    const res = c.result as Partial<AgentResult> | undefined;
    if (c.end && res?.tree) children.push(res.tree);
    else if (!c.end && depthLeft > 0) {
      const sub = await treeFromHistory(client, c.workflowId, depthLeft - 1);
      if (sub) children.push(sub);
    } else children.push(leaf(c.workflowId, (c.input as AgentInput | undefined)?.depth ?? 0, (res?.status ?? (c.end === 'completed' ? 'completed' : 'failed')) as AgentStatus));
  }
  const sa = d.typedSearchAttributes;
  const status = (d.status.name === 'RUNNING' ? liveAgentStatus(events, sa.get(CadreStatus)) : (sa.get(CadreStatus) ?? d.status.name.toLowerCase())) as AgentStatus;
  return {
    agentId,
    name: typeof d.memo?.title === 'string' ? d.memo.title : undefined,
    depth: sa.get(CadreDepth) ?? agentInput?.depth ?? 0,
    status,
    doing: '',
    allocated: agentInput?.budget ?? {},
    usage: zeroUsage(),
    costUsd: sa.get(CadreBudgetUsed) ?? 0,
    alerts: Array.isArray(d.memo?.budgetAlerts) ? (d.memo.budgetAlerts as number[]) : [],
    children,
    asOf: new Date(lastEventTime(events) ?? Date.now()).toISOString(),
  };
}

function leaf(agentId: string, depth: number, status: AgentStatus): AgentTreeNode {
  return { agentId, depth, status, doing: '', allocated: {}, usage: zeroUsage(), costUsd: 0, alerts: [], children: [] };
}
