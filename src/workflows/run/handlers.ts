/**
 * The run's signal, query and update handlers: dead letters and operator mail, progress, pause and resume,
 * concurrency, retry, cancel, and approve or reject at a gate. Validators refuse what the task table says cannot be
 * done (table.ts), so a refused update never reaches history.
 */
import * as wf from '@temporalio/workflow';
import { answer, answerProblem } from '../answers';
import { messageAnsweredUpdate, approveTaskUpdate, cancelTaskUpdate, deadLetterSignal, operatorMessageSignal, pauseRunUpdate, rejectTaskUpdate, resumeRunUpdate, retryTaskUpdate, runProgressQuery, setConcurrencyUpdate, type TaskRow, type TaskStatus } from '../../shared/messages';
import type { Plan } from '../../shared/plan';
import * as table from './table';
import type { Notifier } from '../notifier';
import { deadLetterEvent, operatorMessageEvent } from './notifications';

export interface HandlerDeps {
  plan: Plan;
  s: table.RunState;
  running: Map<string, wf.CancellationScope>;
  changed(): void;
  setRow(r: TaskRow, status: TaskStatus, patch?: Partial<TaskRow>): Promise<void>;
  blockDependents(id: string): Promise<void>;
  notifier: Notifier;
}

export function setHandlers({ plan, s, running, changed, setRow, blockDependents, notifier }: HandlerDeps): void {
  wf.setHandler(deadLetterSignal, (d) => {
    if (s.deadLetters.some((x) => x.message.id === d.message.id) || s.answered.includes(d.message.id)) return;
    s.deadLetters.push(d);
    void notifier.send(deadLetterEvent(s.runId, d, s.runId));
  });
  wf.setHandler(operatorMessageSignal, (m) => {
    if (s.toOperator.some((x) => x.id === m.id) || s.answered.includes(m.id)) return;
    s.toOperator.push(m);
    void notifier.send(operatorMessageEvent(s.runId, m, s.runId));
  });
  // The operator answered a message (a reply, or dismissing a dead letter): it leaves the inbox.
  wf.setHandler(messageAnsweredUpdate, (id) => answer(s, id), { validator: (id) => throwIf(answerProblem(s, id)) });
  wf.setHandler(runProgressQuery, () => ({ ...table.progress(s, plan), ...(notifier.failures.length ? { notifyFailures: notifier.failures } : {}) }));
  wf.setHandler(pauseRunUpdate, () => {
    s.paused = true;
    s.status = 'paused';
    changed();
  });
  wf.setHandler(resumeRunUpdate, () => {
    s.paused = false;
    s.status = 'running';
    changed();
  });
  wf.setHandler(
    setConcurrencyUpdate,
    (n) => {
      s.maxConcurrency = n;
      changed();
      return n;
    },
    {
      validator: (n) => {
        if (!Number.isInteger(n) || n < 1) throw new Error(`concurrency must be a positive integer, got ${n}`);
      },
    },
  );
  wf.setHandler(
    retryTaskUpdate,
    async (id) => {
      const reset = table.retrySet(plan, s, id);
      for (const r of reset) await setRow(r, 'pending', { error: undefined, blockedBy: undefined });
      return `${reset.length} task(s) back to pending: ${reset.map((r) => r.id).join(', ')}`;
    },
    { validator: (id) => throwIf(table.retryProblem(s, id)) },
  );
  wf.setHandler(
    approveTaskUpdate,
    (id) => {
      s.gateAnswers[id] = { approved: true };
      changed();
      return `approved ${id}`;
    },
    { validator: (id) => throwIf(table.gateProblem(plan, s, id)) },
  );
  wf.setHandler(
    rejectTaskUpdate,
    (id, reason) => {
      s.gateAnswers[id] = { approved: false, reason: reason.slice(0, 500) };
      changed();
      return `rejected ${id}: it fails with the reason`;
    },
    {
      validator: (id, reason) => {
        throwIf(table.gateProblem(plan, s, id));
        if (typeof reason !== 'string' || !reason.trim()) throw new Error('a rejection needs a reason');
      },
    },
  );
  wf.setHandler(
    cancelTaskUpdate,
    async (id) => {
      const r = table.rowOf(s, id)!;
      if (r.status === 'running' || r.status === 'waiting') {
        running.get(id)?.cancel();
        return `cancelling ${id}`;
      }
      await setRow(r, 'cancelled', { error: 'cancelled by operator' });
      await blockDependents(id);
      return `cancelled ${id}`;
    },
    { validator: (id) => throwIf(table.cancelProblem(s, id)) },
  );
}

function throwIf(problem: string | undefined): void {
  if (problem) throw new Error(problem);
}

