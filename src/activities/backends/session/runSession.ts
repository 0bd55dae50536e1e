/**
 * `runAgentSession`: one agent-program session (Claude Code or Codex) as one heartbeating activity.
 *
 * Durable across lost workers:
 * - the session id is heartbeated and written to `<stateDir>/sessions/<name>.json` the moment it is known (Claude:
 *   before the program starts, cadre chooses it; Codex: its first event);
 * - a retry (attempt > 1, or heartbeat details, or a record of the same workflow run) first kills the dead attempt's
 *   process group if it still runs on this host, then RESUMES the session with a short "continue" prompt instead of
 *   starting over. The program's conversation lives in its own HOME under the state directory;
 * - usage and cost: progressively from stream events (heartbeat details), finally from the program's result. A
 *   resumed session's figures include what the earlier attempts used, so the workflow settles the result once;
 * - budget: the session stops (process group killed) when its cost reaches `budgetUsd` and returns
 *   `budget_exhausted`; Claude Code is also given `--max-budget-usd`.
 *
 * Idempotency: on (agent id, workflow run). A completed session's result is kept in the record; a retry after the
 * program ended (the worker died before reporting) returns it without running anything. Orchestration tool calls are
 * forwarded with ids stable across resumes (../../mcp/callId.ts), so the workflow can dedupe them.
 *
 * Another host (runs through a remote only, ./checkpoint.ts): the worktree is committed and pushed and the session's
 * record and transcript saved to the remote at most every `checkpointSeconds` and at the session's end; a session
 * that starts on a host without its record restores them from there first and resumes the same session id (none
 * saved: a new session on the branch as pushed, said in the log and the live view).
 *
 * Cancellation kills the process group and rethrows the cancellation. Everything written is redacted.
 */
import { createBlobStore, type BlobStore } from '../../blobs';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { z } from 'zod';
import { ErrorType } from '../../../shared/errors';
import { zeroUsage, type Usage } from '../../../shared/model';
import { mergePriceTable } from '../../../shared/priceTable';
import { costUsd, defaultPriceTable, hasPrice, type PriceTable } from '../../../shared/pricing';
import { orchestrationCallUpdate, sessionInputSchema, type AgentProgramBackend, type SessionInput, type SessionProgress, type SessionResult, type SessionStatus } from '../../../shared/session';
import { orchestrationToolSchemas, type OrchestrationToolName } from '../../../shared/tools';
import { CallIds } from '../../mcp/callId';
import { startOrchestrationServer, type OrchestrationForwarder } from '../../mcp/server';
import { redact } from '../../../node/redact';
import { claudeCodeBackend } from '../claudeCode';
import { codexBackend } from '../codex';
import type { AgentProgramBackendImpl, SessionEvent } from './backend';
import { agentProgramEnv } from './env';
import { findAgentProgram } from './program';
import { killOrphan, startAgentProcess } from './spawn';
import { readSessionRecord, SessionLog, sessionPaths, writeSessionRecord, type SessionRecord } from './store';
import { checkpointLoop, DEFAULT_CHECKPOINT_SECONDS, restoreSessionState, type CheckpointLoop } from './checkpoint';
import { worktreeRemote } from '../../remote';
import { portEnv } from '../../../shared/ports';

export const agentProgramBackends: Record<AgentProgramBackend, AgentProgramBackendImpl> = {
  'claude-code': claudeCodeBackend,
  codex: codexBackend,
};

export interface SessionActivityDeps {
  stateDir: string;
  /**
   * Where provider settings (ANTHROPIC_API_KEY, OPENAI_BASE_URL, …) and the program's location (CADRE_CLAUDE_BIN,
   * PATH) are read from; default process.env. Only the named variables are passed on to the program.
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Sends one orchestration call to the agent workflow. Default: the `orchestrationCallUpdate` Update, sent to the
   * activity's own workflow with the worker's client (./forwarder.ts). Tests inject a fake.
   */
  forward?: OrchestrationForwarder;
  /** Where a goal passed by reference (`goalRef`) is read from; default a store of its own. */
  blobs?: BlobStore;
  /** How often progress is heartbeated and Codex's usage polled. Default 1 s. */
  pollMs?: number;
  /**
   * Runs through a remote: seconds between two checkpoints of a running session (./checkpoint.ts); 0 checkpoints
   * only at the session's end. Default DEFAULT_CHECKPOINT_SECONDS (CADRE_SESSION_CHECKPOINT_SECONDS).
   */
  checkpointSeconds?: number;
}

const SUMMARY_CHARS = 300;
const MAX_FILES = 50;
const DEFAULT_CONTINUE = 'You were interrupted. Continue the task from where you stopped; do not redo work that is already done.';

function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
  };
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

function clip(text: string, max = SUMMARY_CHARS, env: NodeJS.ProcessEnv = process.env): string {
  const t = redact(text.trim(), env);
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

interface StoredResult {
  result: SessionResult;
}

export function createSessionActivities(deps: SessionActivityDeps) {
  const sourceEnv = deps.env ?? process.env;
  /** Whose secret-looking values are scrubbed from everything written: the worker's and the injected settings. */
  const secretsEnv = sourceEnv === process.env ? process.env : { ...process.env, ...sourceEnv };
  const pollMs = deps.pollMs ?? 1_000;
  const checkpointMs = (deps.checkpointSeconds ?? DEFAULT_CHECKPOINT_SECONDS) * 1000;
  const blobs = deps.blobs ?? createBlobStore();

  async function runAgentSession(raw: SessionInput): Promise<SessionResult> {
    const parsed = sessionInputSchema.safeParse(raw);
    if (!parsed.success) {
      throw ApplicationFailure.create({ type: ErrorType.InvalidToolInput, message: `runAgentSession: ${z.prettifyError(parsed.error)}`, nonRetryable: true });
    }
    // A long goal travels by reference; the session reads it here (cached per worker), never from history.
    const input = parsed.data.goalRef ? { ...parsed.data, goal: await blobs.text(parsed.data.goalRef) } : parsed.data;
    const impl = agentProgramBackends[input.backend];
    const ctx = activityContext();
    const found = findAgentProgram(input.backend, sourceEnv);
    if (!found.ok) throw ApplicationFailure.create({ type: ErrorType.AgentProgramMissing, message: found.reason, nonRetryable: true });
    let prices: PriceTable = defaultPriceTable;
    if (input.prices) prices = mergePriceTable(input.prices);
    if (input.backend === 'codex' && !hasPrice(input.model, prices)) {
      // Codex's budget is enforced by cadre from its usage: a model without a price would be a budget of nothing.
      throw ApplicationFailure.create({ type: ErrorType.ModelBadRequest, message: `no price for model "${input.model}": add it to CADRE_PRICES to run it on codex`, nonRetryable: true });
    }

    const paths = sessionPaths(deps.stateDir, input.agentId);
    const runId = ctx?.info.workflowExecution?.runId;
    const through = await worktreeRemote(deps.stateDir, input.workspace);
    let saved = readSessionRecord(deps.stateDir, input.agentId);
    // A host without the session's record (the session moved here from a lost host): its saved state, if any.
    const restoring = through !== undefined && !(saved && (runId === undefined || saved.runId === runId));
    const restoredFrom = restoring ? await restoreSessionState(deps.stateDir, through.remote, input.agentId, input.backend, input.workspace) : undefined;
    if (restoredFrom) saved = readSessionRecord(deps.stateDir, input.agentId);
    // A record of another workflow run of the same agent id belongs to another session.
    const record = saved && (runId === undefined || saved.runId === runId) ? (saved as SessionRecord & Partial<StoredResult>) : undefined;
    // Fix-and-retry: a record of the attempt before is where this attempt resumes from, not its result.
    const fixAttempt = input.fix?.attempt ?? 1;
    const sameAttempt = (record?.fixAttempt ?? 1) >= fixAttempt;
    if (record?.result && sameAttempt) return record.result;
    const beat = (ctx?.info.heartbeatDetails ?? undefined) as SessionProgress | undefined;
    // Whichever is newer: heartbeats are throttled by the SDK, the record is written on every change.
    const earlier: SessionProgress | undefined = !beat ? record : !record ? beat : (beat.updatedAt ?? 0) >= (record.updatedAt ?? 0) ? beat : record;
    killOrphan(earlier);
    if (record && earlier !== record) killOrphan(record);

    const resumeId = earlier?.sessionId;
    const resumed = resumeId !== undefined;
    const prior = impl.usageScope === 'process' && resumed ? { usage: earlier?.usage ?? zeroUsage(), costUsd: earlier?.costUsd ?? 0 } : { usage: zeroUsage(), costUsd: 0 };
    const answered: Record<string, number> = { ...((record as { answered?: Record<string, number> } | undefined)?.answered ?? {}) };

    const progress: SessionProgress & { answered: Record<string, number> } = {
      backend: input.backend,
      sessionId: resumeId ?? (impl.backend === 'claude-code' ? randomUUID() : undefined),
      host: os.hostname(),
      usage: earlier?.usage ?? zeroUsage(),
      costUsd: earlier?.costUsd ?? 0,
      turns: earlier?.turns ?? 0,
      lastTool: earlier?.lastTool,
      filesTouched: [...(earlier?.filesTouched ?? [])],
      starts: (earlier?.starts ?? 0) + 1,
      updatedAt: Date.now(),
      ...(earlier?.checkpoint ? { checkpoint: earlier.checkpoint } : {}),
      ...(restoredFrom ?? earlier?.restoredFrom ? { restoredFrom: restoredFrom ?? earlier?.restoredFrom } : {}),
      answered,
    };
    if (restoring) {
      progress.lastTool = restoredFrom ? `resumed here from the session's checkpoint on the remote (${restoredFrom.slice(0, 12)})` : 'no saved session on the remote: a new session on the branch as pushed';
      ctx?.log.info(`${input.agentId}: ${progress.lastTool}`);
    }
    // Once the session ended: its result, kept by every later write of the record (a last checkpoint's).
    let stored: Partial<StoredResult> = {};
    const persist = (extra: Partial<StoredResult> = stored): void => {
      progress.updatedAt = Date.now();
      writeSessionRecord(deps.stateDir, { ...progress, agentId: input.agentId, runId, priorUsage: prior.usage, priorCostUsd: prior.costUsd, ...(input.fix ? { fixAttempt } : {}), ...extra } as SessionRecord);
    };
    // The program's last line of output (a stream event): its progress for the stall watch.
    let lastLineAt = 0;
    const heartbeat = (): void => {
      const { answered: _a, ...details } = progress;
      // `progressAt`: the session's last event, read by the agent's stall watch (activities/progress.ts).
      ctx?.heartbeat({ ...details, progressAt: Math.max(progress.updatedAt ?? 0, lastLineAt), beatAt: Date.now() });
    };
    const finish = (status: SessionStatus, summary: string, error?: string): SessionResult => {
      const result: SessionResult = {
        status,
        ...(progress.sessionId ? { sessionId: progress.sessionId } : {}),
        usage: progress.usage,
        costUsd: progress.costUsd,
        summary: clip(summary, SUMMARY_CHARS, secretsEnv),
        turns: progress.turns,
        resumed,
        ...(error ? { error: clip(error, 1000, secretsEnv) } : {}),
        transcriptRef: paths.transcriptRef,
        filesTouched: progress.filesTouched.slice(0, MAX_FILES),
      };
      stored = { result };
      persist();
      heartbeat();
      return result;
    };

    if (prior.costUsd >= input.budgetUsd || (impl.usageScope === 'session' && progress.costUsd >= input.budgetUsd)) {
      return finish('budget_exhausted', '', `the session had spent ${progress.costUsd.toFixed(6)} USD of its ${input.budgetUsd} USD slice before this attempt`);
    }

    fs.mkdirSync(paths.home, { recursive: true, mode: 0o700 });
    const log = new SessionLog(paths.transcript, secretsEnv);
    log.open();
    log.write(JSON.stringify({ type: 'cadre.attempt', attempt: ctx?.info.attempt ?? 1, resume: resumeId ?? null, ...(input.fix ? { fix: fixAttempt } : {}), ...(restoring ? { restored: restoredFrom ?? null } : {}), at: new Date().toISOString() }));

    const tools = (input.tools ?? (Object.keys(orchestrationToolSchemas) as OrchestrationToolName[])) as OrchestrationToolName[];
    const forward = deps.forward ?? defaultForwarder();
    const mcp = await startOrchestrationServer({
      tools,
      callIds: new CallIds(() => progress.sessionId ?? input.agentId, answered, () => persist()),
      forward,
      onCall: (name, phase) => {
        progress.lastTool = phase === 'start' ? `${name} (waiting for cadre)` : name;
        heartbeat();
      },
    });

    let budgetStopped = false;
    let cancelled = false;
    let last: Extract<SessionEvent, { kind: 'result' }> | undefined;
    let lastText = '';
    let proc: ReturnType<typeof startAgentProcess> | undefined;
    const checkpoints: CheckpointLoop | undefined = through && checkpointLoop({
      ...through,
      stateDir: deps.stateDir,
      workspace: input.workspace,
      agentId: input.agentId,
      backend: input.backend,
      intervalMs: checkpointMs,
      secretsEnv,
      sessionId: () => progress.sessionId,
      onCheckpoint: (c) => {
        progress.checkpoint = c;
        persist();
        heartbeat();
      },
      warn: (message) => ctx?.log.warn(redact(message, secretsEnv)),
    });
    const apply = (events: SessionEvent[]): void => {
      for (const ev of events) {
        if (ev.kind === 'session' && ev.sessionId !== progress.sessionId) {
          progress.sessionId = ev.sessionId;
          persist();
          heartbeat();
        } else if (ev.kind === 'usage') {
          progress.usage = impl.usageScope === 'process' ? addUsage(prior.usage, ev.usage) : ev.usage;
          const own = ev.costUsd ?? (hasPrice(input.model, prices) ? costUsd(ev.usage, input.model, prices) : 0);
          progress.costUsd = (impl.usageScope === 'process' ? prior.costUsd : 0) + own;
          if (ev.turns !== undefined) progress.turns = ev.turns;
          // On disk at once: a worker killed now must not take the usage of this attempt with it.
          persist();
          if (progress.costUsd >= input.budgetUsd && !budgetStopped) {
            budgetStopped = true;
            proc?.stop();
          }
        } else if (ev.kind === 'turn') {
          progress.turns++;
        } else if (ev.kind === 'tool') {
          progress.lastTool = clip(ev.summary, 160, secretsEnv);
          if (ev.file) {
            const rel = ev.file.startsWith(`${input.workspace}/`) ? ev.file.slice(input.workspace.length + 1) : ev.file;
            if (!progress.filesTouched.includes(rel) && progress.filesTouched.length < MAX_FILES) progress.filesTouched.push(rel);
          }
        } else if (ev.kind === 'text') {
          lastText = ev.text;
        } else if (ev.kind === 'result') {
          last = ev;
        }
      }
    };
    const parser = impl.parser({ prices, model: input.model });
    const poll = (): void => {
      if (impl.pollUsage && progress.sessionId) apply(impl.pollUsage({ home: paths.home, sessionId: progress.sessionId, prices, model: input.model }));
    };

    try {
      const launch = await impl.prepare({
        program: found.path,
        workspace: input.workspace,
        home: paths.home,
        model: input.model,
        goal: input.goal,
        system: input.system,
        budgetUsd: input.budgetUsd - prior.costUsd,
        maxTurns: input.maxTurns,
        permissions: input.permissions ?? {},
        // A new fix attempt tells the session what failed; a retry within an attempt only asks it to go on.
        resume: resumeId ? { sessionId: resumeId, prompt: input.fix && !(sameAttempt && record) ? input.fix.prompt : (input.continuePrompt ?? DEFAULT_CONTINUE) } : undefined,
        newSessionId: progress.sessionId ?? randomUUID(),
        mcp: { url: mcp.url, token: mcp.token, tools },
        sourceEnv,
      });
      proc = startAgentProcess({
        argv: launch.argv,
        cwd: input.workspace,
        env: { ...agentProgramEnv(sourceEnv, paths.home, launch.env), ...portEnv(input.ports) },
        onLine: (line) => {
          lastLineAt = Date.now();
          log.write(line);
          let event: unknown;
          try {
            event = JSON.parse(line);
          } catch {
            return; // not an event (a warning line): it is in the log
          }
          apply(parser.feed(event));
        },
      });
      progress.pid = proc.pid;
      persist();
      heartbeat();
      const timer = setInterval(() => {
        poll();
        heartbeat();
        checkpoints?.tick();
      }, pollMs);
      const onAbort = (): void => {
        cancelled = true;
        proc?.stop();
      };
      ctx?.cancellationSignal.addEventListener('abort', onAbort, { once: true });
      let exit: Awaited<typeof proc.exited>;
      try {
        exit = await proc.exited;
      } finally {
        clearInterval(timer);
        ctx?.cancellationSignal.removeEventListener('abort', onAbort);
      }
      poll();
      progress.pid = undefined;
      if (last?.usage) {
        // The program's own totals are authoritative; a result without a cost is priced by cadre.
        progress.usage = impl.usageScope === 'process' ? addUsage(prior.usage, last.usage) : last.usage;
        const own = last.costUsd ?? (hasPrice(input.model, prices) ? costUsd(last.usage, input.model, prices) : 0);
        progress.costUsd = (impl.usageScope === 'process' ? prior.costUsd : 0) + own;
      }
      if (last?.turns !== undefined) progress.turns = (impl.usageScope === 'process' ? earlier?.turns ?? 0 : 0) + last.turns;
      log.write(JSON.stringify({ type: 'cadre.exit', code: exit.code, signal: exit.signal, at: new Date().toISOString() }));

      if (cancelled) {
        persist();
        throw ctx?.cancellationSignal.reason ?? new CancelledFailure('session cancelled');
      }
      const summary = last?.summary || lastText;
      if (budgetStopped || last?.budgetExceeded) {
        return finish('budget_exhausted', summary, `stopped at ${progress.costUsd.toFixed(6)} USD of its ${input.budgetUsd} USD slice`);
      }
      if (last?.ok && (exit.code === 0 || exit.code === null)) return finish('completed', summary);
      if (last && !last.ok) return finish('failed', summary, last.error);
      // Died without a verdict (killed from outside, crashed): retryable, and the retry resumes the session.
      persist();
      const why = exit.spawnError ?? (exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`);
      throw ApplicationFailure.create({
        type: ErrorType.AgentSessionFailed,
        message: redact(`${input.backend} ended without a result (${why})${exit.stderr.trim() ? `: ${exit.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`, secretsEnv),
        nonRetryable: false,
      });
    } finally {
      proc?.stop();
      // The session's end (a result, or a death the retry resumes): its last checkpoint, unless it was cancelled.
      // It heartbeats meanwhile: a slow push must not look like a dead worker.
      if (checkpoints && proc && !cancelled) {
        const beating = setInterval(heartbeat, pollMs);
        await checkpoints.final().finally(() => clearInterval(beating));
      }
      log.close();
      await mcp.close();
    }
  }

  return { runAgentSession };
}

/** The default forwarder: the Update to this activity's own workflow, with the worker's client. */
function defaultForwarder(): OrchestrationForwarder {
  return async (call) => {
    const ctx = Context.current();
    const wf = ctx.info.workflowExecution;
    if (!wf) throw new Error('runAgentSession forwards orchestration calls to its workflow: it must run as a workflow activity');
    const handle = ctx.client.workflow.getHandle(wf.workflowId, wf.runId);
    // Long calls (wait_for_agents) are fine: the Update waits for the workflow's answer; the activity heartbeats
    // on its own timer meanwhile.
    return handle.executeUpdate(orchestrationCallUpdate, { args: [call], updateId: call.callId });
  };
}

export type SessionActivities = ReturnType<typeof createSessionActivities>;
