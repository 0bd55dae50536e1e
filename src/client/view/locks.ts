/**
 * A lock manager's table without a worker to ask: the `fileLocks` workflow applies every request, renewal and
 * release signal, every request Update it accepted (acquire, tryAcquire) and its lease timer to the pure lock table,
 * so replaying its history's signals and Updates through the same functions gives the table as of its last event.
 * Times are the events' times (the workflow used its task's clock, a few milliseconds later), so ages are close, not
 * exact.
 */
import type { LockRelease, LockRenewal, LockRequest, LocksView } from '../../shared/locks';
import * as lt from '../../workflows/locks/lockTable';
import { decodePayload, lastEventTime, startInput, type HistoryEvent } from './history';

interface FileLocksStart {
  repoKey: string;
  repo?: string;
  carried?: { table: lt.LockTableState; generation: number };
}

export function locksFromHistory(events: HistoryEvent[], lockWorkflowId: string): LocksView | undefined {
  const input = startInput<FileLocksStart>(events);
  if (!input?.repoKey) return undefined;
  const startedAt = events[0]?.eventTime ? Date.parse(events[0].eventTime) : 1;
  const table: lt.LockTableState = input.carried?.table ? structuredClone(input.carried.table) : lt.newLockTable(Math.max(1, Math.floor(startedAt)));
  for (const e of events) {
    const at = e.eventTime ? Date.parse(e.eventTime) : startedAt;
    if (e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED') {
      const a = e.workflowExecutionSignaledEventAttributes as { signalName?: string; input?: { payloads?: { metadata?: Record<string, string>; data?: string }[] } };
      const arg = decodePayload(a.input?.payloads?.[0]);
      if (!arg || typeof arg !== 'object') continue;
      if (a.signalName === 'cadre.locks.request') lt.request(table, arg as LockRequest, at);
      else if (a.signalName === 'cadre.locks.renew') {
        const r = arg as LockRenewal;
        lt.renew(table, r.holderId, Array.isArray(r.requestIds) ? r.requestIds : [], at);
      } else if (a.signalName === 'cadre.locks.release') {
        const r = arg as LockRelease;
        lt.release(table, r.holderId, r.all ? undefined : Array.isArray(r.requestIds) ? r.requestIds : [], at);
      }
    } else if (e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED') {
      // A request asked in the call: applied as the handler applied it (acquire waits; tryAcquire is ifFree).
      const a = e.workflowExecutionUpdateAcceptedEventAttributes as { acceptedRequest?: { input?: { name?: string; args?: { payloads?: { metadata?: Record<string, string>; data?: string }[] } } } };
      const name = a.acceptedRequest?.input?.name;
      const arg = decodePayload(a.acceptedRequest?.input?.args?.payloads?.[0]);
      if (!arg || typeof arg !== 'object') continue;
      if (name === 'cadre.locks.acquire') lt.request(table, { ...(arg as LockRequest), ifFree: false }, at);
      else if (name === 'cadre.locks.tryAcquire') lt.request(table, { ...(arg as LockRequest), ifFree: true }, at);
    } else if (e.eventType === 'EVENT_TYPE_TIMER_FIRED') {
      lt.expire(table, at);
    } else if (e.eventType === 'EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED') {
      // The holder was unreachable: the workflow released everything it held or waited for.
      const a = e.signalExternalWorkflowExecutionFailedEventAttributes as { workflowExecution?: { workflowId?: string } };
      if (a.workflowExecution?.workflowId) lt.release(table, a.workflowExecution.workflowId, undefined, at);
    }
  }
  const now = lastEventTime(events) ?? startedAt;
  return lt.locksView(table, { repoKey: input.repoKey, repo: input.repo, lockWorkflowId, generation: (input.carried?.generation ?? 0) + 1 }, now);
}
