/**
 * The agent shell's context: its input, its plain-JSON state, and the few effects every part of the shell needs —
 * status changes (search attributes, the Web UI's current details, a progress signal to the parent), budget
 * requests to the parent, and committing the workspace. The rest of the shell (tools.ts, modelLoop.ts,
 * commandBackend.ts, ending.ts) takes this context.
 */
import * as wf from '@temporalio/workflow';
import type { AgentInput, AgentStatus, Amount } from '../../shared/agent';
import { budgetRequestSignal, childProgressSignal } from '../../shared/messages';
import type { ToolResultLike } from '../../shared/session';
import { mergePriceTable } from '../onDemand';
import { defaultPriceTable, type PriceTable } from '../../shared/pricing';
import { CadreBudgetUsed, CadreStatus } from '../../shared/searchAttributes';
import * as ledger from './ledger';
import { gitOpOn } from '../presets';
import { subtreeCost, treeNode } from './reporting';
import type { AgentState } from './state';
import { doingOf, verifyAttemptsOf } from './attempts';
import { noteProgress, withdrawNudge } from './stall';
import { createNotifier, type Notifier } from '../notifier';
import { askOperator } from './operatorBudget';
import { patched } from '../patches';
import { NOTIFY_ALERT_THRESHOLDS } from '../../shared/notify';

export interface AgentContext {
  readonly input: AgentInput;
  readonly s: AgentState;
  readonly prices: PriceTable;
  /** `shared` workspace mode: the agent edits the user's checkout under file locks; nothing is committed. */
  readonly shared: boolean;
  /** Runtime only (never carried): each running child's result, by name. */
  readonly childPromises: Map<string, Promise<void>>;
  /** Runtime only: session orchestration calls being answered, by call id (a repeat waits for the same answer). */
  readonly sessionCallsInFlight: Map<string, Promise<ToolResultLike>>;
  /** Notifications (docs/notifications.md): flushed before the agent ends or continues as new. */
  readonly notifier: Notifier;
  /** Runtime only: the command task's activity leases the port block itself (ports.ts, `portsLeasedByTask`). */
  portsInTask?: boolean;
  setDoing(what: string): void;
  /** The agent made progress (stalls, docs/loops.md): a stall is over, its unread nudge withdrawn. */
  progressed(): void;
  setStatus(next: AgentStatus): void;
  pushProgress(): void;
  raiseAlerts(fired: number[]): void;
  /** Sets CadreBudgetUsed unless it already shows `usd` (ONE_BUDGET_UPSERT; histories recorded before always set it). */
  showBudgetUsed(usd: number): void;
  askParent(amount: Amount): Promise<boolean>;
  commitWork(message: string): Promise<string | undefined>;
}

const ONE_BUDGET_UPSERT = 'budget-upsert-when-changed';

export function createContext(input: AgentInput, s: AgentState): AgentContext {
  /** What CadreBudgetUsed shows, as this run last set it. */
  let budgetShown: number | undefined;
  const ctx: AgentContext = {
    input,
    s,
    prices: input.prices ? mergePriceTable(input.prices) : defaultPriceTable,
    shared: input.workspaceMode === 'shared',
    childPromises: new Map(),
    sessionCallsInFlight: new Map(),
    notifier: createNotifier(),

    progressed() {
      if (noteProgress(s.watch, Date.now())) withdrawNudge(s.mailbox, s.agentId, s.watch.stalls);
    },

    setDoing(what) {
      ctx.progressed();
      s.doing = doingOf(s, verifyAttemptsOf(input), what);
      wf.setCurrentDetails(`${s.status}: ${s.doing || 'done'}`);
    },

    setStatus(next) {
      if (s.status === next) return;
      ctx.progressed();
      s.status = next;
      budgetShown = subtreeCost(s);
      wf.upsertSearchAttributes([
        { key: CadreStatus, value: next },
        { key: CadreBudgetUsed, value: budgetShown },
      ]);
      ctx.pushProgress();
    },

    showBudgetUsed(usd) {
      if (budgetShown === usd && patched(ONE_BUDGET_UPSERT)) return;
      budgetShown = usd;
      wf.upsertSearchAttributes([{ key: CadreBudgetUsed, value: usd }]);
    },

    /** Tell the parent (if any) that something in this subtree changed; signals are cheap and few (status changes). */
    pushProgress() {
      if (!input.parentId) return;
      void wf
        .getExternalWorkflowHandle(input.parentId)
        .signal(childProgressSignal, { childId: s.agentId, node: treeNode(input, s) })
        .catch(() => undefined);
    },

    /** Budget thresholds crossed by the last settlement: each fires once, visible in the UI memo, the tree, the parent. */
    raiseAlerts(fired) {
      if (!fired.length) return;
      wf.upsertMemo({ budgetAlerts: [...s.book.alerts] });
      budgetShown = subtreeCost(s);
      wf.upsertSearchAttributes([{ key: CadreBudgetUsed, value: budgetShown }]);
      ctx.pushProgress();
      // A root agent's alerts are notified (a sub-agent's slice is its parent's business).
      if (input.parentId) return;
      for (const threshold of fired.filter((t) => (NOTIFY_ALERT_THRESHOLDS as readonly number[]).includes(t))) {
        void ctx.notifier.send({
          id: `${s.agentId}/budget-alert/${threshold}`,
          kind: 'budget-alert',
          inbox: false,
          ...(input.runId ? { runId: input.runId } : {}),
          ...(input.taskId ? { taskId: input.taskId } : {}),
          agentId: s.agentId,
          threshold,
          budget: input.budget,
          summary: `${s.agentId} has spent ${threshold}% of its budget ($${subtreeCost(s).toFixed(4)})`,
        });
      }
    },

    /**
     * Ask the parent for budget by signal and wait for its grant or refusal, correlated by request id (a grant lands
     * in the ledger through the grant signal's handler). No answer in 10 minutes counts as a refusal. An agent with
     * no parent asks the operator (operatorBudget.ts).
     */
    async askParent(amount) {
      if (!input.parentId) return askOperator(ctx, amount);
      const requestId = `${s.agentId}#budget-${++s.requestSeq}`;
      await wf.getExternalWorkflowHandle(input.parentId).signal(budgetRequestSignal, { requestId, from: s.agentId, ...amount });
      const granted = () => ledger.hasGrant(s.book, requestId);
      const answered = await wf.condition(() => granted() || requestId in s.refusals, '10 minutes');
      return answered && granted();
    },

    async commitWork(message) {
      if (!s.workspace || ctx.shared) return undefined;
      const r = await gitOpOn(s.workspace).commitWorkspace.executeWithOptions({ summary: 'commit work' }, [{ path: s.workspace.path, message }]);
      return r.commit;
    },
  };
  return ctx;
}
