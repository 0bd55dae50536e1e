/**
 * The `agent` workflow: one model-driven loop (or one command) in a git worktree of its own.
 *
 * Loop: reserve budget for the turn's worst case → one model turn (the activity also runs the file tools the model
 * asked for, in the worktree) → settle usage → handle orchestration tools here, deterministically. Whatever way it
 * ends (finished, out of turns, out of budget, failed, cancelled, timed out) the ending runs in a non-cancellable
 * scope: finished children are merged, the work is committed, outputs verified, the worktree removed (the branch is
 * kept), unused budget handed back to the parent.
 */
import * as wf from '@temporalio/workflow';
import { terminalAgentStatuses, type AgentInput, type AgentResult, type AgentStatus, type Amount } from '../shared/agent';
import {
  agentMessageSignal,
  agentStatusQuery,
  agentTreeQuery,
  deadLetterSignal,
  mailboxQuery,
  operatorMessageSignal,
  type AgentMessage,
  type DeadLetter,
  childProgressSignal,
  budgetGrantSignal,
  budgetRefusalSignal,
  budgetRequestSignal,
  childEndedSignal,
  type AgentSnapshot,
  type AgentTreeNode,
  type ChildEnded,
} from '../shared/messages';
import { totalTokens, zeroUsage, type ModelTurnOutput, type PendingWrite, type Usage } from '../shared/model';
import { costUsd, defaultPriceTable, hasPrice, mergePriceTable, worstCaseUsd } from '../shared/pricing';
import { CadreDepth, CadreRole, CadreRun, CadreStatus, CadreTask, CadreBudgetUsed } from '../shared/searchAttributes';
import { orchestrationToolSchemas, type ToolCall, type ToolName, type ToolResult } from '../shared/tools';
import * as ledger from './ledger';
import { acquire, release } from './locks';
import * as mail from './mailbox';
import { commandOp, commandTaskOp, gitOp, modelTurn, verifyOp } from './presets';
import { commandVerdict, endCommitMessage, missingOutputsError, taskVerdict, verifyFailedError, type CommandTaskResult, type Verdict } from '../shared/commandTask';

const MODEL_TOOLS: ToolName[] = [
  'read_file', 'write_file', 'edit_file', 'list_files', 'search_text', 'run_command',
  'spawn_agent', 'wait_for_agents', 'send_message', 'read_messages', 'request_budget', 'finish',
];

interface ChildRecord {
  name: string;
  agentId: string;
  status: AgentStatus;
  allocated: Amount;
  branch?: string;
  usage?: Usage;
  costUsd?: number;
  merged: boolean;
  conflicts?: string[];
  summary?: string;
  /** The child's subtree as it last reported it. */
  node?: AgentTreeNode;
}

const addUsage = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
  cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
});

const errorMessage = (err: unknown): string => {
  if (err instanceof wf.ActivityFailure || err instanceof wf.ChildWorkflowFailure) return errorMessage(err.cause);
  return err instanceof Error ? err.message : String(err);
};

function dirnameOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Command agents run their program and their ending in one activity (histories from before it replay as they were). */
const COMMAND_TASK_IN_ONE_ACTIVITY = 'command-task-in-one-activity';

/** What an agent carries across continue-as-new. Children still running are never carried: it waits for them. */
export interface AgentCarry {
  ledger: ledger.Ledger;
  turn: number;
  ownUsage: Usage;
  ownCost: number;
  summary: string;
  lastText: string;
  nextInputEstimate: number;
  workspace: { path: string; branch: string; baseCommit: string };
  children: ChildRecord[];
  handledRequests: string[];
  requestSeq: number;
  toolResults: ToolResult[];
  mailbox: mail.Mailbox;
  messageSeq: number;
  deadLetters: DeadLetter[];
  toOperator: AgentMessage[];
  /** Workflow time at which the agent's timeout fires, if it has one. */
  deadline?: number;
  generation: number;
}

export async function agent(input: AgentInput, carry?: AgentCarry): Promise<AgentResult> {
  const agentId = wf.workflowInfo().workflowId;
  // Scripted turns are priced at the nominal `scripted` rate, whatever model name the plan carries.
  const priceModel = input.backend === 'scripted' ? 'scripted' : input.model;
  const prices = input.prices ? mergePriceTable(input.prices) : defaultPriceTable;
  // Only for display before the workspace exists: the real branch name comes from createWorkspace.
  const branchOf = (id: string) => `cadre/${id.replace(/\//g, '.')}`;
  const book = carry?.ledger ?? ledger.newLedger(input.budget);
  let status: AgentStatus = carry ? 'running' : 'starting';
  let doing = carry ? `model turn ${carry.turn}` : 'creating workspace';
  let turn = carry?.turn ?? 0;
  let ownUsage = carry?.ownUsage ?? zeroUsage();
  let ownCost = carry?.ownCost ?? 0;
  let summary = carry?.summary ?? '';
  let lastText = carry?.lastText ?? '';
  let error: string | undefined;
  let nextInputEstimate = carry?.nextInputEstimate ?? Math.ceil(input.goal.length / 3) + 2000;
  let workspace: { path: string; branch: string; baseCommit: string } | undefined = carry?.workspace;
  /** A command agent's ending, done by its one activity (commit, diff, removal); undefined on every other path. */
  let ended: CommandTaskResult | undefined;
  const children: ChildRecord[] = carry?.children ?? [];
  const childPromises = new Map<string, Promise<void>>();
  const grantsSeen = new Set<string>(book.grantIds);
  const refusals = new Map<string, string>();
  const handledRequests = new Set<string>(carry?.handledRequests);
  let requestSeq = carry?.requestSeq ?? 0;
  const deadline = carry?.deadline ?? (input.timeoutSeconds ? Date.now() + input.timeoutSeconds * 1000 : undefined);
  let turnsThisRun = 0;
  const shared = input.workspaceMode === 'shared';
  /** Shared mode: the files this agent wrote (there is no branch to diff). */
  const written = new Set<string>();
  const mailbox = carry?.mailbox ?? mail.newMailbox();
  let messageSeq = carry?.messageSeq ?? 0;
  /** Kept here only for a standalone agent; inside a run they go to the run. */
  const deadLetters: DeadLetter[] = carry?.deadLetters ?? [];
  const toOperator: AgentMessage[] = carry?.toOperator ?? [];
  /** Messages shown to the model whose turn has not completed yet (they become processed when it does). */
  let awaitingProcessing: string[] = [];

  /** What the agent does now: shown by the status query, the tree, and the Web UI's current details. */
  function setDoing(what: string): void {
    doing = what;
    wf.setCurrentDetails(`${status}: ${what || 'done'}`);
  }
  wf.setCurrentDetails(`${status}: ${doing}`);

  const subtreeUsage = () => children.reduce((u, c) => (c.usage ? addUsage(u, c.usage) : u), ownUsage);
  const subtreeCost = () => children.reduce((s, c) => s + (c.costUsd ?? 0), ownCost);

  wf.setHandler(agentStatusQuery, (): AgentSnapshot => ({
    agentId,
    parentId: input.parentId,
    runId: input.runId,
    taskId: input.taskId,
    depth: input.depth,
    status,
    backend: input.backend,
    turn,
    doing,
    branch: workspace?.branch ?? branchOf(agentId),
    workspace: workspace?.path,
    usage: subtreeUsage(),
    costUsd: subtreeCost(),
    ledger: ledger.view(book),
    children: children.map((c) => ({ name: c.name, agentId: c.agentId, status: c.status, allocated: c.allocated, usage: c.usage, costUsd: c.costUsd })),
    lastText,
  }));

  function treeNode(): AgentTreeNode {
    return {
      agentId,
      name: input.parentId ? agentId.slice(input.parentId.length + 1) : undefined,
      depth: input.depth,
      status,
      doing,
      allocated: { tokens: add(input.budget.tokens, input.budget.tokens !== undefined ? book.granted.tokens : undefined), usd: add(input.budget.usd, input.budget.usd !== undefined ? book.granted.usd : undefined) },
      usage: subtreeUsage(),
      costUsd: subtreeCost(),
      alerts: [...book.alerts],
      children: children.map(
        (c) => c.node ?? { agentId: c.agentId, name: c.name, depth: input.depth + 1, status: c.status, doing: '', allocated: c.allocated, usage: c.usage ?? zeroUsage(), costUsd: c.costUsd ?? 0, alerts: [], children: [] },
      ),
    };
  }
  wf.setHandler(agentTreeQuery, treeNode);

  wf.setHandler(agentMessageSignal, (m) => {
    const replied = m.replyTo ? mail.findMessage(mailbox, m.replyTo) : undefined;
    mail.accept(mailbox, { ...m, thread: m.thread ?? replied?.thread ?? m.replyTo ?? m.id });
  });
  wf.setHandler(mailboxQuery, () => ({
    messages: mailbox.messages.map(({ seq: _seq, ...m }) => m),
    deadLetters,
    toOperator,
  }));

  /** Tell the parent (if any) that something in this subtree changed; signals are cheap and few (status changes). */
  function pushProgress(): void {
    if (!input.parentId) return;
    void wf
      .getExternalWorkflowHandle(input.parentId)
      .signal(childProgressSignal, { childId: agentId, node: treeNode() })
      .catch(() => undefined);
  }

  wf.setHandler(childProgressSignal, ({ childId, node }) => {
    const rec = children.find((c) => c.agentId === childId);
    if (!rec) return;
    // A late progress report never overrides the child's final state.
    if (rec.node && terminalAgentStatuses.includes(rec.node.status) && !terminalAgentStatuses.includes(node.status)) return;
    rec.node = node;
    if (!terminalAgentStatuses.includes(rec.status)) rec.status = node.status;
    pushProgress();
  });

  wf.setHandler(budgetGrantSignal, (grant) => {
    ledger.applyGrant(book, grant.grantId, grant);
    grantsSeen.add(grant.grantId);
  });
  wf.setHandler(budgetRefusalSignal, (r) => {
    refusals.set(r.requestId, r.reason);
  });
  wf.setHandler(childEndedSignal, (ended) => recordChildEnd(ended));
  wf.setHandler(budgetRequestSignal, async (req) => {
    if (handledRequests.has(req.requestId)) return;
    handledRequests.add(req.requestId);
    const amount: Amount = { tokens: req.tokens, usd: req.usd };
    const child = wf.getExternalWorkflowHandle(req.from);
    let ok = ledger.tryGive(book, amount);
    if (!ok && input.parentId) ok = (await askParent(amount)) && ledger.tryGive(book, amount);
    if (ok) {
      const rec = children.find((c) => c.agentId === req.from);
      if (rec) rec.allocated = { tokens: add(rec.allocated.tokens, req.tokens), usd: add(rec.allocated.usd, req.usd) };
      await child.signal(budgetGrantSignal, { grantId: req.requestId, tokens: req.tokens, usd: req.usd, from: agentId });
    } else {
      await child.signal(budgetRefusalSignal, { requestId: req.requestId, reason: `${agentId} has no budget left to give` });
    }
  });

  function add(a: number | undefined, b: number | undefined): number | undefined {
    return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
  }

  function recordChildEnd(ended: ChildEnded): void {
    const rec = children.find((c) => c.agentId === ended.childId);
    ledger.reclaim(book, ended.childId, ended.returned);
    if (rec) {
      rec.status = ended.status;
      rec.usage = ended.usage;
      rec.costUsd = ended.costUsd;
      if (ended.node) rec.node = ended.node;
    }
  }

  /** Ask the parent for budget by signal and wait for its grant or refusal (correlated by request id). */
  async function askParent(amount: Amount): Promise<boolean> {
    if (!input.parentId) return false;
    const requestId = `${agentId}#budget-${++requestSeq}`;
    await wf.getExternalWorkflowHandle(input.parentId).signal(budgetRequestSignal, { requestId, from: agentId, ...amount });
    const answered = await wf.condition(() => grantsSeen.has(requestId) || refusals.has(requestId), '10 minutes');
    return answered && grantsSeen.has(requestId);
  }

  function setStatus(next: AgentStatus): void {
    if (status === next) return;
    status = next;
    wf.upsertSearchAttributes([
      { key: CadreStatus, value: next },
      { key: CadreBudgetUsed, value: subtreeCost() },
    ]);
    pushProgress();
  }

  /** Budget thresholds crossed by the last settlement: each fires once, visible in the UI memo, the tree, the parent. */
  function raiseAlerts(fired: number[]): void {
    if (!fired.length) return;
    wf.upsertMemo({ budgetAlerts: [...book.alerts] });
    wf.upsertSearchAttributes([{ key: CadreBudgetUsed, value: subtreeCost() }]);
    pushProgress();
  }

  wf.upsertSearchAttributes([
    { key: CadreRole, value: input.parentId ? 'subagent' : input.taskId ? 'task' : 'agent' },
    { key: CadreDepth, value: input.depth },
    { key: CadreStatus, value: status },
    ...(input.runId ? [{ key: CadreRun, value: input.runId }] : []),
    ...(input.taskId ? [{ key: CadreTask, value: input.taskId }] : []),
  ]);

  async function commitWork(message: string): Promise<string | undefined> {
    if (!workspace || shared) return undefined;
    const r = await gitOp.commitWorkspace.executeWithOptions({ summary: 'commit work' }, [{ path: workspace.path, message }]);
    return r.commit;
  }

  // ---- orchestration tools ------------------------------------------------------------------------------------

  /**
   * Everything up to starting the child happens synchronously (validation, the budget slice, the record), so a
   * batch of spawns in one turn is allocated in order before any child can ask for more budget.
   */
  async function spawnChild(call: ToolCall, base: string): Promise<string> {
    const args = orchestrationToolSchemas.spawn_agent.parse(call.input);
    if (input.depth + 1 > input.limits.maxDepth) {
      throw new ToolError(`depth limit reached: agents may nest at most ${input.limits.maxDepth} levels (you are at depth ${input.depth})`);
    }
    if (children.length >= input.limits.maxChildren) {
      throw new ToolError(`fan-out limit reached: at most ${input.limits.maxChildren} sub-agents per agent`);
    }
    if (children.some((c) => c.name === args.name)) throw new ToolError(`a sub-agent named "${args.name}" already exists`);
    const av = ledger.available(book);
    // Default slice: a quarter of what is available, in each limited dimension.
    const slice: Amount = {
      tokens: args.budget_tokens ?? (av.tokens !== undefined ? Math.floor(av.tokens / 4) : undefined),
      usd: args.budget_usd ?? (av.usd !== undefined ? av.usd / 4 : undefined),
    };
    if (!ledger.tryGive(book, slice)) {
      throw new ToolError(`not enough budget for that slice (asked ${fmtAmount(slice)}, available ${fmtAmount(av)})`);
    }
    const backend = args.backend ?? input.backend;
    const script = args.script && input.script && !args.script.startsWith('/') ? `${dirnameOf(input.script)}/${args.script}` : args.script;
    const childId = `${agentId}/${args.name}`;
    const childInput: AgentInput = {
      ...input,
      baseRef: base,
      goal: args.goal,
      backend,
      script: backend === 'scripted' ? script : undefined,
      command: backend === 'command' ? args.command : undefined,
      budget: slice,
      depth: input.depth + 1,
      parentId: agentId,
      files: args.files,
      outputs: undefined,
      verify: undefined,
    };
    const rec: ChildRecord = { name: args.name, agentId: childId, status: 'starting', allocated: slice, merged: false };
    children.push(rec);
    const handle = await wf.startChild(agent, {
      workflowId: childId,
      args: [childInput],
      parentClosePolicy: 'REQUEST_CANCEL',
      cancellationType: 'WAIT_CANCELLATION_COMPLETED',
      staticSummary: `sub-agent ${args.name}`,
    });
    rec.status = 'running';
    childPromises.set(
      args.name,
      handle.result().then(
        (result) => {
          recordChildEnd({ childId, status: result.status, usage: result.usage, costUsd: result.costUsd, returned: result.returned });
          rec.branch = result.branch;
          rec.summary = result.summary;
        },
        (err: unknown) => {
          // The child's own ending signals its usage and returned budget; if it could not (terminated), its slice
          // stays spent, which keeps the invariant (never more than allocated) on the safe side.
          rec.status = wf.isCancellation(err) ? 'cancelled' : 'failed';
          rec.summary = errorMessage(err);
        },
      ),
    );
    return `spawned ${args.name} (${childId}) with budget ${fmtAmount(slice)}`;
  }

  async function waitForChildren(names?: string[]): Promise<string> {
    const targets = names?.length ? children.filter((c) => names.includes(c.name)) : children;
    const unknown = (names ?? []).filter((n) => !children.some((c) => c.name === n));
    if (unknown.length) throw new ToolError(`no sub-agent named ${unknown.join(', ')}`);
    setDoing(`waiting for ${targets.length} agent${targets.length === 1 ? '' : 's'}`);
    setStatus('waiting');
    await Promise.all(targets.map((c) => childPromises.get(c.name)));
    setStatus('running');
    await mergeChildren(targets);
    return targets
      .map((c) => `${c.name}: ${c.status}${c.merged ? ', merged' : ''}${c.conflicts?.length ? `, merge conflict in ${c.conflicts.join(', ')}` : ''}${c.summary ? ` — ${c.summary}` : ''}`)
      .join('\n');
  }

  /** Merge finished children into our branch one at a time, in the order they were spawned. */
  async function mergeChildren(targets: ChildRecord[]): Promise<void> {
    if (!workspace || shared) return;
    for (const c of targets) {
      if (c.merged || c.conflicts || !c.branch || !['completed', 'budget_exhausted', 'max_turns'].includes(c.status)) continue;
      await commitWork(`cadre: ${agentId}: work before merging ${c.name}`);
      setDoing(`merge ${c.name}`);
      const r = await gitOp.mergeBranch.executeWithOptions({ summary: `merge ${c.name}` }, [
        { repo: input.repo, worktree: workspace.path, branch: c.branch, message: `cadre: merge ${c.agentId}` },
      ]);
      if (r.ok) c.merged = true;
      else c.conflicts = r.conflicts;
    }
  }

  // ---- messages ---------------------------------------------------------------------------------------------------

  /** Hand something to the run this agent belongs to; true when the run took it (else the caller keeps it). */
  async function toRun<T>(signal: wf.SignalDefinition<[T]>, payload: T): Promise<boolean> {
    if (!input.runId) return false;
    try {
      await wf.getExternalWorkflowHandle(input.runId).signal(signal, payload);
      return true;
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      return false;
    }
  }

  /** A message that cannot be delivered is never lost: it goes to the run's dead-letter list (or ours). */
  async function deadLetter(message: AgentMessage, reason: string): Promise<void> {
    const letter: DeadLetter = { message, reason, at: Date.now() };
    if (!(await toRun(deadLetterSignal, letter))) deadLetters.push(letter);
  }

  async function toTheOperator(message: AgentMessage): Promise<void> {
    if (!(await toRun(operatorMessageSignal, message))) toOperator.push(message);
  }

  async function sendMessage(args: { to: string; text: string; priority?: 'high' | 'normal' | 'low'; reply_to?: string }): Promise<string> {
    const replied = args.reply_to ? mail.findMessage(mailbox, args.reply_to) : undefined;
    if (args.reply_to && !replied) throw new ToolError(`no message "${args.reply_to}" in your mailbox to reply to`);
    let targets: string[];
    if (args.to === 'operator') targets = ['operator'];
    else if (args.to === 'parent') {
      if (!input.parentId) throw new ToolError('you have no parent agent; write to "operator" instead');
      targets = [input.parentId];
    } else if (args.to === 'children') {
      targets = children.filter((c) => !terminalAgentStatuses.includes(c.status)).map((c) => c.agentId);
      if (!targets.length) throw new ToolError('you have no running sub-agents to broadcast to');
    } else targets = [children.find((c) => c.name === args.to)?.agentId ?? args.to];
    const lines: string[] = [];
    for (const to of targets) {
      const id = `${agentId}#${++messageSeq}`;
      const message: AgentMessage = { id, from: agentId, to, text: args.text, priority: args.priority ?? 'normal', replyTo: replied?.id, thread: replied?.thread ?? id, sentAt: Date.now() };
      mail.recordSent(mailbox, { ...message, thread: message.thread! });
      if (to === 'operator') {
        await toTheOperator(message);
        lines.push(`sent ${id} to the operator`);
        continue;
      }
      try {
        await wf.getExternalWorkflowHandle(to).signal(agentMessageSignal, message);
        lines.push(`sent ${id} to ${to}`);
      } catch (err) {
        if (wf.isCancellation(err)) throw err;
        const reason = `${to} has ended or does not exist (${errorMessage(err)})`;
        await deadLetter(message, reason);
        lines.push(`not delivered: ${reason}; kept in the dead-letter list`);
      }
    }
    return lines.join('\n');
  }

  async function readMessages(waitSeconds?: number): Promise<string> {
    if (!mail.pending(mailbox).length && waitSeconds) {
      setDoing('waiting for messages');
      await wf.condition(() => mail.pending(mailbox).length > 0, waitSeconds * 1000);
    }
    const got = mail.deliver(mailbox);
    awaitingProcessing.push(...got.map((m) => m.id));
    return got.length ? got.map(mail.render).join('\n') : 'no messages';
  }

  async function handleCall(call: ToolCall, spawnBase?: string): Promise<ToolResult> {
    try {
      let content: string;
      switch (call.name) {
        case 'spawn_agent':
          content = await spawnChild(call, spawnBase ?? input.baseRef);
          break;
        case 'wait_for_agents':
          content = await waitForChildren(orchestrationToolSchemas.wait_for_agents.parse(call.input).names);
          break;
        case 'request_budget': {
          const a = orchestrationToolSchemas.request_budget.parse(call.input);
          const ok = await askParent({ tokens: a.tokens, usd: a.usd });
          content = ok ? `granted ${fmtAmount({ tokens: a.tokens, usd: a.usd })}` : 'refused: no budget available above you';
          break;
        }
        case 'send_message':
          content = await sendMessage(orchestrationToolSchemas.send_message.parse(call.input));
          break;
        case 'read_messages':
          content = await readMessages(orchestrationToolSchemas.read_messages.parse(call.input).wait_seconds);
          break;
        case 'finish':
          summary = orchestrationToolSchemas.finish.parse(call.input).summary;
          content = 'finished';
          break;
        default:
          throw new ToolError(`tool ${call.name} is not available to this agent`);
      }
      return { toolUseId: call.id, content };
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      if (err instanceof ToolError) return { toolUseId: call.id, content: err.message, isError: true };
      if (err instanceof Error && err.name === 'ZodError') return { toolUseId: call.id, content: `invalid input: ${err.message}`, isError: true };
      throw err;
    }
  }

  // ---- the loop -------------------------------------------------------------------------------------------------

  async function modelLoop(): Promise<void> {
    if (!hasPrice(priceModel, prices)) throw new Error(`no price known for model "${priceModel}": add it with CADRE_PRICES (docs/backends.md)`);
    let toolResults: ToolResult[] = carry?.toolResults ?? [];
    const modelBackend = input.backend === 'anthropic' ? 'anthropic' : 'scripted';
    for (;;) {
      await maybeContinueAsNew(toolResults);
      if (turn >= input.maxTurns) {
        setStatus('max_turns');
        summary ||= `stopped after ${turn} turns (the turn limit)`;
        return;
      }
      const reservation: Amount = {
        tokens: nextInputEstimate + input.maxTokens,
        usd: worstCaseUsd(nextInputEstimate, input.maxTokens, priceModel, prices),
      };
      if (!ledger.tryReserve(book, reservation)) {
        setDoing('asking for budget');
        const av = ledger.available(book);
        const need: Amount = {
          tokens: av.tokens !== undefined ? Math.max(0, (reservation.tokens ?? 0) - av.tokens) : undefined,
          usd: av.usd !== undefined ? Math.max(0, (reservation.usd ?? 0) - av.usd) : undefined,
        };
        if (!(await askParent(need)) || !ledger.tryReserve(book, reservation)) {
          setStatus('budget_exhausted');
          summary ||= `stopped: budget exhausted after ${turn} turns`;
          return;
        }
      }
      turn++;
      turnsThisRun++;
      setDoing(`model turn ${turn}`);
      // Messages reach the model at the start of its turn; they count as processed once the turn completes.
      const inbox = mail.deliver(mailbox);
      awaitingProcessing.push(...inbox.map((m) => m.id));
      let out: ModelTurnOutput;
      try {
        out = await modelTurn.modelTurn.executeWithOptions({ summary: `model turn ${turn}` }, [
          {
            agentId,
            turn,
            backend: modelBackend,
            model: input.model,
            maxTokens: input.maxTokens,
            workspace: workspace!.path,
            goal: input.goal,
            system: input.system,
            tools: MODEL_TOOLS,
            toolResults,
            inbox: inbox.map(mail.render),
            scriptPath: input.script,
            deferWrites: shared,
          },
        ]);
      } catch (err) {
        ledger.release(book, reservation);
        throw err;
      }
      const fired = ledger.settle(book, reservation, { tokens: totalTokens(out.usage), usd: costUsd(out.usage, priceModel, prices) });
      mail.markProcessed(mailbox, awaitingProcessing);
      awaitingProcessing = [];
      ownUsage = addUsage(ownUsage, out.usage);
      ownCost += costUsd(out.usage, priceModel, prices);
      nextInputEstimate = out.nextInputEstimate;
      raiseAlerts(fired);
      if (out.text) lastText = out.text;
      if (out.pendingWrites?.length) await writeUnderLock(out.pendingWrites);
      if (out.toolRuns.length) setDoing(out.toolRuns[out.toolRuns.length - 1]!.summary);
      toolResults = [];
      let finished = false;
      const calls = out.orchestrationCalls;
      for (let i = 0; i < calls.length; ) {
        if (calls[i]!.name === 'spawn_agent') {
          // A run of spawns: commit our work once (children branch from it), then start them all together.
          let j = i;
          while (j < calls.length && calls[j]!.name === 'spawn_agent') j++;
          const base = (await commitWork(`cadre: ${agentId}: before spawning sub-agents`)) ?? input.baseRef;
          toolResults.push(...(await Promise.all(calls.slice(i, j).map((c) => handleCall(c, base)))));
          i = j;
          continue;
        }
        toolResults.push(await handleCall(calls[i]!));
        if (calls[i]!.name === 'finish') finished = true;
        i++;
      }
      if (finished) break;
      if (out.stopReason !== 'tool_use') {
        summary ||= out.text || 'done';
        break;
      }
    }
    setStatus('completed');
  }

  /**
   * Shared mode: the turn's writes run only under a lock on their paths, taken all at once (sorted, all-or-nothing:
   * no deadlock with another agent), each write fenced by the grant's token; the lock is released right after.
   */
  async function writeUnderLock(writes: PendingWrite[]): Promise<void> {
    const paths = [...new Set(writes.map((w) => w.path))];
    setDoing(`waiting for the lock on ${paths.join(', ')}`.slice(0, 120));
    const grant = await acquire(input.repo, paths, { label: `${agentId} turn ${turn}` });
    try {
      setDoing(`write ${paths.join(', ')}`.slice(0, 120));
      const r = await modelTurn.applyWrites.executeWithOptions({ summary: `write ${paths.join(', ')}`.slice(0, 100) }, [
        { agentId, turn, workspace: workspace!.path, writes, fence: { repo: input.repo, token: grant.token } },
      ]);
      writes.forEach((w, i) => {
        if (r.toolRuns[i] && !r.toolRuns[i]!.isError) written.add(w.path);
      });
    } finally {
      await release(grant);
    }
  }

  async function commandBackend(): Promise<void> {
    const timeout = input.timeoutSeconds ?? 3600;
    setDoing(`run ${input.command?.join(' ') ?? '(no command)'}`.slice(0, 120));
    if (!input.command?.length) throw new Error('the command backend needs a command');
    if (!shared && wf.patched(COMMAND_TASK_IN_ONE_ACTIVITY)) {
      // Run, commit, verify, diff and remove in one activity: the ending below only reads its result.
      ended = await commandTaskOp(timeout).runCommandTask.executeWithOptions({ summary: doing }, [
        { agentId, repo: input.repo, workspace: { path: workspace!.path, branch: workspace!.branch, baseCommit: workspace!.baseCommit }, argv: input.command, timeoutSeconds: timeout, outputs: input.outputs, verify: input.verify },
      ]);
      applyVerdict(taskVerdict(ended, timeout));
      return;
    }
    const r = await commandOp(timeout).runAgentCommand.executeWithOptions({ summary: doing }, [
      { agentId, workspace: workspace!.path, argv: input.command, timeoutMs: timeout * 1000 },
    ]);
    applyVerdict(commandVerdict(r, timeout));
  }

  function applyVerdict(v: Verdict): void {
    summary = v.summary;
    if (v.error) error = v.error;
    setStatus(v.status);
  }

  /**
   * History stays bounded: between turns, when the server suggests it (or every `continueAsNewEvery` turns), the
   * agent continues as new with its state. Never while a child runs (children belong to this run): it waits.
   */
  async function maybeContinueAsNew(toolResults: ToolResult[]): Promise<void> {
    const due = wf.workflowInfo().continueAsNewSuggested || (input.continueAsNewEvery !== undefined && turnsThisRun >= input.continueAsNewEvery);
    if (!due || !workspace || children.some((c) => !terminalAgentStatuses.includes(c.status))) return;
    await wf.condition(wf.allHandlersFinished);
    const next: AgentCarry = {
      ledger: book,
      turn,
      ownUsage,
      ownCost,
      summary,
      lastText,
      nextInputEstimate,
      workspace,
      children,
      handledRequests: [...handledRequests],
      requestSeq,
      toolResults,
      mailbox,
      messageSeq,
      deadLetters,
      toOperator,
      deadline,
      generation: (carry?.generation ?? 0) + 1,
    };
    await wf.continueAsNew<typeof agent>(input, next);
  }

  // ---- run, then end cleanly whatever happened ------------------------------------------------------------------

  let timedOut = false;
  const work = new wf.CancellationScope();
  const timer = new wf.CancellationScope();
  if (deadline !== undefined && input.backend !== 'command') {
    void timer.run(() =>
      wf.sleep(Math.max(1, deadline - Date.now())).then(() => {
        timedOut = true;
        work.cancel();
      }),
    ).catch(() => undefined);
  }
  try {
    await work.run(async () => {
      workspace ??= shared
        ? { path: input.repo, branch: '', baseCommit: '' }
        : await gitOp.createWorkspace.executeWithOptions({ summary: 'create workspace' }, [
            { repo: input.repo, agentId, baseRef: input.baseRef, bootstrap: input.bootstrap },
          ]);
      setStatus('running');
      if (input.backend === 'command') await commandBackend();
      else await modelLoop();
    });
  } catch (err) {
    if (err instanceof wf.ContinueAsNew) throw err;
    if (wf.isCancellation(err)) {
      setStatus(timedOut ? 'timed_out' : 'cancelled');
      error = timedOut ? `timed out after ${input.timeoutSeconds} s` : 'cancelled';
    } else {
      setStatus('failed');
      error = errorMessage(err);
    }
  } finally {
    timer.cancel();
  }

  return wf.CancellationScope.nonCancellable(async () => {
    setDoing('finishing');
    // Children of a cancelled or failed agent were asked to cancel with it; wait for their endings.
    await Promise.all([...childPromises.values()]);
    let commit: string | undefined;
    let filesChanged: string[] = [];
    if (workspace && shared) {
      // Shared checkout: nothing to merge, commit or remove; what changed is what this agent wrote.
      filesChanged = [...written].sort();
      if (status === 'completed') await verify();
    } else if (workspace && ended) {
      commit = ended.commit;
      filesChanged = ended.files;
    } else if (workspace) {
      await mergeChildren(children).catch((err: unknown) => {
        error ??= `merging children: ${errorMessage(err)}`;
      });
      const c = await gitOp.commitWorkspace.executeWithOptions({ summary: 'commit work' }, [
        { path: workspace.path, message: endCommitMessage(agentId, summary || status) },
      ]);
      commit = c.commit;
      if (status === 'completed') await verify();
      const diff = await gitOp.diffStat.executeWithOptions({ summary: 'diff stat' }, [
        { repo: input.repo, branch: workspace.branch, base: workspace.baseCommit },
      ]);
      filesChanged = diff.files;
      await gitOp.removeWorkspace.executeWithOptions({ summary: 'remove workspace' }, [{ repo: input.repo, path: workspace.path }]);
    }
    const returned = ledger.unused(book);
    const result: AgentResult = {
      agentId,
      status,
      summary: summary.slice(0, 2000),
      branch: workspace?.branch ?? branchOf(agentId),
      baseCommit: workspace?.baseCommit,
      commit,
      filesChanged: filesChanged.slice(0, 200),
      usage: subtreeUsage(),
      costUsd: subtreeCost(),
      turns: turn,
      error,
      returned,
      children: children.map((c) => ({ name: c.name, agentId: c.agentId, status: c.status, merged: c.merged, conflicts: c.conflicts })),
    };
    setDoing('');
    result.tree = treeNode();
    if (input.parentId) {
      await wf
        .getExternalWorkflowHandle(input.parentId)
        .signal(childEndedSignal, { childId: agentId, status, usage: result.usage, costUsd: result.costUsd, returned, node: treeNode() })
        .catch(() => undefined);
    }
    wf.upsertSearchAttributes([{ key: CadreBudgetUsed, value: result.costUsd }]);
    return result;

    async function verify(): Promise<void> {
      if (input.outputs?.length) {
        const r = await verifyOp.verifyOutputs.executeWithOptions({ summary: 'verify outputs' }, [{ path: workspace!.path, outputs: input.outputs }]);
        if (r.missing.length) {
          setStatus('failed');
          error = missingOutputsError(r.missing);
          return;
        }
      }
      if (input.verify?.length) {
        const r = await verifyOp.runVerify.executeWithOptions({ summary: `verify ${input.verify.join(' ')}`.slice(0, 100) }, [
          { path: workspace!.path, argv: input.verify, timeoutMs: 10 * 60_000 },
        ]);
        if (r.exitCode !== 0) {
          setStatus('failed');
          error = verifyFailedError(r.exitCode, r.tail);
        }
      }
    }
  });
}

class ToolError extends Error {}

function fmtAmount(a: Amount): string {
  const parts: string[] = [];
  if (a.tokens !== undefined) parts.push(`${a.tokens} tokens`);
  if (a.usd !== undefined) parts.push(`$${a.usd.toFixed(4)}`);
  return parts.length ? parts.join(' / ') : 'unlimited';
}
