/**
 * Stalls, shell side (docs/loops.md "Stalls"; the decisions are stall.ts's). A watch runs beside the agent's work:
 * when a whole `stallAfterSeconds` passes without progress the workflow saw, it asks the pending activities'
 * heartbeats (`lastProgress`); still nothing, and the agent is marked stalled (status query, tree, `cadre watch`)
 * and nudged with a message; as long again without progress, and the watch ends the agent — it cancels the work,
 * the ending commits the worktree as for any ending, the agent fails "stalled: no progress for …" — or restarts its
 * backend in the same worktree (`onStall: 'restart'`). Behind the patch `stall-watch`.
 */
import * as wf from '@temporalio/workflow';
import { bookkeeping } from '../presets';
import type { AgentContext } from './context';
import * as mail from './mailbox';
import { isTerminal } from './state';
import { MAX_STALL_RESTARTS, nextCheckMs, nudgeId, nudgeText, STALL_WATCH, stallAfterMsOf, stalledDoing, stallStep, withdrawNudge } from './stall';
import { patched } from '../patches';

const ONE_TIMER = 'stall-watch-one-timer';

export interface StallWatch {
  /** The scope of the backend's current run: a restart cancels it. */
  current?: wf.CancellationScope;
  restarting: boolean;
  stop(): void;
}

/** Start the watch (new histories only), or undefined. `work` is the scope a stall's end cancels. */
export function startStallWatch(ctx: AgentContext, work: wf.CancellationScope): StallWatch | undefined {
  if (!patched(STALL_WATCH)) return undefined;
  let stopped = false;
  const watch: StallWatch = { restarting: false, stop: () => void (stopped = true) };
  void watchLoop(ctx, work, watch, () => stopped).catch(() => undefined);
  return watch;
}

/** Run the backend; a stall's restart cancels this run and starts it again in the same worktree. */
export async function runRestartable(watch: StallWatch | undefined, backend: () => Promise<void>): Promise<void> {
  for (;;) {
    const scope = new wf.CancellationScope();
    if (watch) watch.current = scope;
    try {
      await scope.run(backend);
      return;
    } catch (err) {
      if (!watch?.restarting || !wf.isCancellation(err)) throw err;
      watch.restarting = false;
    } finally {
      if (watch) watch.current = undefined;
    }
  }
}

async function watchLoop(ctx: AgentContext, work: wf.CancellationScope, watch: StallWatch, stopped: () => boolean): Promise<void> {
  const { input, s } = ctx;
  const w = s.watch;
  const stallMs = stallAfterMsOf(input);
  let waitMs = nextCheckMs(w, stallMs, Date.now());
  // One timer per window (ONE_TIMER): progress does not wake the watch; when the timer fires after progress, it is
  // armed again for what is left of the window since that progress, so a stall is seen exactly when it was before.
  // Histories recorded before woke on every progress, cancelling the timer and starting another (two events each).
  const oneTimer = patched(ONE_TIMER);
  for (;;) {
    const seen = w.progressAt;
    const moved = await wf.condition(() => stopped() || (!oneTimer && w.progressAt !== seen), waitMs);
    if (stopped()) return;
    if (moved || (oneTimer && w.progressAt !== seen)) {
      waitMs = nextCheckMs(w, stallMs, Date.now());
      continue;
    }
    // A sub-agent that still runs has a watch of its own (its stall ends it, which is progress here).
    // Waiting for the operator's budget answer is waiting for a person, not a stall (operatorBudget.ts).
    if (s.children.some((c) => !isTerminal(c.status)) || s.operatorAsk) {
      ctx.progressed();
      waitMs = stallMs;
      continue;
    }
    const probed = await bookkeeping.lastProgress.executeWithOptions({ summary: 'read progress from heartbeats' }, [{}]).catch(() => undefined);
    if (stopped()) return;
    if (!probed) {
      // Nothing known about the activities' progress: no verdict, ask again after a window.
      waitMs = stallMs;
      continue;
    }
    const was = w.stall;
    const step = stallStep(w, input, Date.now(), s.doing, probed);
    if (was && !w.stall) {
      withdrawNudge(s.mailbox, s.agentId, w.stalls);
      showDoing(ctx, was.doing);
    }
    if (step.kind === 'wait') {
      waitMs = step.ms;
      continue;
    }
    if (step.kind === 'stall') {
      showDoing(ctx, stalledDoing(step.quietMs, s.doing));
      nudge(ctx, nudgeText(step.quietMs, input, w.restarts));
      void ctx.notifier.send({
        id: `${s.agentId}/stalled/${w.stalls}`,
        kind: 'stalled',
        inbox: true,
        ...(input.runId ? { runId: input.runId } : {}),
        ...(input.taskId ? { taskId: input.taskId } : {}),
        agentId: s.agentId,
        summary: s.doing.slice(0, 200),
        command: `cadre send ${s.agentId} '…'`,
      });
    } else if (step.kind === 'end') {
      s.stalledOut = step.error;
      work.cancel();
      return;
    } else {
      restart(ctx, watch);
    }
    waitMs = nextCheckMs(w, stallMs, Date.now());
  }
}

/** `doing` without counting as progress (ctx.setDoing would). */
function showDoing(ctx: AgentContext, doing: string): void {
  ctx.s.doing = doing;
  wf.setCurrentDetails(`${ctx.s.status}: ${doing}`);
  ctx.pushProgress();
}

/** A message from cadre: the model reads it at the start of its next turn; a session can read its mailbox. */
function nudge(ctx: AgentContext, text: string): void {
  const { s } = ctx;
  // A command cannot read messages: it is only marked (an unread nudge would end as a dead letter).
  if (ctx.input.backend === 'command') return;
  const id = nudgeId(s.agentId, s.watch.stalls);
  mail.accept(s.mailbox, { id, from: 'cadre', to: s.agentId, text, priority: 'high', thread: id, sentAt: Date.now() });
}

/** Cancel the backend's run; runRestartable starts it again. Messages shown to the cancelled turn are pending again. */
function restart(ctx: AgentContext, watch: StallWatch): void {
  const { s } = ctx;
  if (!watch.current) return;
  for (const m of s.mailbox.messages) if (m.state === 'delivered' && s.awaitingProcessing.includes(m.id)) m.state = 'pending';
  s.awaitingProcessing = [];
  watch.restarting = true;
  watch.current.cancel();
  showDoing(ctx, `restarting after a stall (restart ${s.watch.restarts} of ${MAX_STALL_RESTARTS})`);
}
