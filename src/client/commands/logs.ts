/**
 * `cadre logs <agent | run/task>`: what an agent said and did — its transcript (turn by turn: the message it got,
 * its reply, the tools it called and what they answered) and the output of the programs it ran (the command
 * backend's log, the verify command's log).
 *
 * Both live in the state directory of the worker that ran the agent (`<state>/transcripts/`, `<state>/logs/`), so
 * this reads this machine's state directory; an agent that ran on another host has its logs there. `--follow` keeps
 * printing what is appended until the agent ends.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readTranscript, transcriptPath, type TranscriptRecord } from '../../activities/model/transcript';
import { sanitizeRef } from '../../activities/paths';
import { readSessionLog, readSessionProgress, sessionPaths } from '../../activities/backends/session';
import { CadreError } from '../../shared/errors';
import { EXIT, fmtTokens, painter, colorWanted, type Paint } from '../output';
import { openRuntime } from '../runtime';
import { agentState, attemptLines, resolveTarget, reviewLines, resolutionLines } from './inspect';

export interface LogsOptions {
  json?: boolean;
  full?: boolean;
  follow?: boolean;
}

/** Where the programs an agent ran wrote their output (workspaceActivities: `logs/<sanitized name>.log`, bootstrap: `.setup.log`). */
export function commandLogFiles(stateDir: string, agentId: string): { kind: 'setup' | 'command' | 'verify'; path: string }[] {
  const name = sanitizeRef(agentId);
  const candidates: { kind: 'setup' | 'command' | 'verify'; path: string }[] = [
    // Bootstrap: the setup command's output and the dependency caches' restores and saves (workspace.ts, depCache.ts).
    { kind: 'setup', path: join(stateDir, 'logs', `${name}.setup.log`) },
    { kind: 'command', path: join(stateDir, 'logs', `${name}.log`) },
    // The verify log is named after the workspace directory (the sanitized id), or after the agent id when given.
    { kind: 'verify', path: join(stateDir, 'logs', `${sanitizeRef(`verify-${name}`)}.log`) },
    { kind: 'verify', path: join(stateDir, 'logs', `${sanitizeRef(`verify-${agentId}`)}.log`) },
  ];
  const seen = new Set<string>();
  return candidates.filter((c) => !seen.has(c.path) && seen.add(c.path) && existsSync(c.path));
}

const LIMIT = 1200;

function clip(text: string, full: boolean): string {
  if (full || text.length <= LIMIT) return text;
  return `${text.slice(0, LIMIT)}… [${text.length - LIMIT} more characters: --full]`;
}

function indent(text: string, prefix = '    '): string {
  return text
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

/**
 * Renders transcript records one at a time, as a person reads them: turns in order, tool calls with their inputs,
 * each result under its tool's name. A file tool's result is stored as its own record before the next user
 * message repeats it to the model, so the repeat is left out. Each record's text depends only on the records
 * before it, which lets `--follow` print new records as they come.
 */
export function transcriptRenderer(opts: { full?: boolean; paint?: Paint } = {}): (r: TranscriptRecord) => string[] {
  const paint = opts.paint ?? painter(false);
  const full = Boolean(opts.full);
  const toolNames = new Map<string, string>();
  const shown = new Set<string>();
  return (r) => {
    const lines: string[] = [];
    if (r.kind === 'user') {
      lines.push(paint(`── turn ${r.turn} ${'─'.repeat(60)}`, 'dim'));
      for (const b of r.content) {
        if (b.type === 'text') lines.push(`${paint('user', 'bold')}:`, indent(clip(b.text, full)));
        else if (!shown.has(b.tool_use_id)) {
          lines.push(`${paint('←', b.is_error ? 'red' : 'green')} ${toolNames.get(b.tool_use_id) ?? b.tool_use_id}${b.is_error ? paint(' (error)', 'red') : ''}:`, indent(clip(b.content, full)));
        }
      }
    } else if (r.kind === 'assistant') {
      const u = r.usage;
      lines.push(`${paint('assistant', 'bold')} (${r.model}, ${fmtTokens(u.inputTokens)} in / ${fmtTokens(u.outputTokens)} out${u.cacheReadTokens ? ` / ${fmtTokens(u.cacheReadTokens)} cached` : ''}, ${r.stopReason}):`);
      for (const b of r.content) {
        if (b.type === 'text') lines.push(indent(clip(b.text, full)));
        else {
          toolNames.set(b.id, b.name);
          lines.push(`${paint('→', 'cyan')} ${b.name} ${clip(JSON.stringify(b.input), full)}`);
        }
      }
    } else {
      shown.add(r.toolUseId);
      lines.push(`${paint('←', r.isError ? 'red' : 'green')} ${r.name}${r.isError ? paint(' (error)', 'red') : ''}: ${r.summary}`, indent(clip(r.content, full)));
    }
    return lines;
  };
}

export async function logsCommand(ref: string, opts: LogsOptions): Promise<number> {
  const rt = await openRuntime();
  try {
    const target = await resolveTarget(rt.client, ref);
    if (target.kind === 'run') {
      throw new CadreError(`"${ref}" is a run: name one of its agents, e.g. \`cadre logs ${ref}/<task>\` (see \`cadre tree ${ref}\`)`, EXIT.usage);
    }
    const { stateDir } = rt.config;
    const agentId = target.agentId;
    const transcript = await readTranscript(stateDir, agentId);
    const logs = commandLogFiles(stateDir, agentId);
    const session = readSessionLog(stateDir, agentId);
    // Fix-and-retry's verdicts come from the agent itself (its status, or its result once ended), not from a file.
    const state = await agentState(rt.client, agentId, target.running).catch(() => undefined);
    const attempts = state?.attempts ?? [];
    const reviews = state?.reviews ?? [];
    // Merge conflicts are the run's, on the task's row (`cadre logs <run>/<task>`); each resolver has its own logs.
    const resolutions = target.task?.resolutions ?? [];
    if (opts.json) {
      const doc = {
        agentId,
        stateDir,
        transcriptPath: transcriptPath(stateDir, agentId),
        transcript,
        logs: logs.map((l) => ({ ...l, text: readFileSync(l.path, 'utf8') })),
        ...(attempts.length ? { attempts, verifyAttempts: state?.verifyAttempts } : {}),
        ...(reviews.length ? { reviews } : {}),
        ...(resolutions.length ? { resolutions } : {}),
        ...(session.length ? { session: { path: sessionPaths(stateDir, agentId).transcript, progress: readSessionProgress(stateDir, agentId), events: session } } : {}),
      };
      process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
      return EXIT.ok;
    }
    const paint = painter(colorWanted());
    const out = (s: string) => process.stdout.write(s);
    if (!transcript.length && !logs.length && !session.length && !attempts.length && !reviews.length && !resolutions.length && !opts.follow) {
      out(`no transcript or command output for ${agentId} in ${stateDir} yet (they are kept by the worker that ran it, in its state directory)\n`);
      return EXIT.ok;
    }
    const render = transcriptRenderer({ full: opts.full, paint });
    if (transcript.length) out(`${paint(`transcript of ${agentId}`, 'bold')} (${transcriptPath(stateDir, agentId)})\n${transcript.flatMap(render).join('\n')}\n`);
    if (session.length) {
      const progress = readSessionProgress(stateDir, agentId);
      const head = progress ? ` ${progress.backend} ${progress.sessionId ?? ''}, $${progress.costUsd.toFixed(4)}, ${progress.turns} turns${progress.lastTool ? `, last: ${progress.lastTool}` : ''}` : '';
      out(`${paint(`session of ${agentId}`, 'bold')}${head} (${sessionPaths(stateDir, agentId).transcript})\n${session.flatMap((e) => renderSessionEvent(e, opts.full)).join('\n')}\n`);
    }
    if (attempts.length) out(`${paint(`verification of ${agentId}`, 'bold')}: ${attempts.length} attempt${attempts.length === 1 ? '' : 's'} of ${state?.verifyAttempts ?? attempts.length}\n${attemptLines(attempts).join('\n')}\n`);
    if (reviews.length) out(`${paint(`review of ${agentId}`, 'bold')}: ${reviews.length} round${reviews.length === 1 ? '' : 's'}\n${reviewLines(reviews).join('\n')}\n`);
    if (resolutions.length) {
      const resolvers = resolutions.flatMap((x) => (x.agentId ? [x.agentId] : []));
      const hint = resolvers.length ? `\n  (a resolver's own output: cadre logs ${resolvers[resolvers.length - 1]})` : '';
      out(`${paint(`merge conflicts of ${target.task!.id}`, 'bold')}: ${resolutions.length} round${resolutions.length === 1 ? '' : 's'}\n${resolutionLines(resolutions).join('\n')}${hint}\n`);
    }
    const offsets = new Map<string, number>();
    for (const l of logs) {
      const text = readFileSync(l.path, 'utf8');
      offsets.set(l.path, Buffer.byteLength(text));
      out(`${paint(`${l.kind} output`, 'bold')} (${l.path})\n${opts.full ? text : tailLines(text, 200)}${text.endsWith('\n') || !text ? '' : '\n'}`);
    }
    if (!opts.follow) return EXIT.ok;

    // --follow: print what is appended until the agent's workflow closes.
    let printed = transcript.length;
    const handle = rt.client.workflow.getHandle(agentId);
    let open = target.running;
    while (open) {
      await new Promise((r) => setTimeout(r, 1000));
      open = (await handle.describe()).status.name === 'RUNNING';
      const now = await readTranscript(stateDir, agentId);
      if (now.length > printed) {
        out(now.slice(printed).flatMap(render).join('\n') + '\n');
        printed = now.length;
      }
      for (const l of commandLogFiles(stateDir, agentId)) {
        const size = statSync(l.path).size;
        const from = offsets.get(l.path) ?? 0;
        if (size > from) {
          if (!offsets.has(l.path)) out(`${paint(`${l.kind} output`, 'bold')} (${l.path})\n`);
          out(readFileSync(l.path).subarray(from).toString('utf8'));
          offsets.set(l.path, size);
        }
      }
    }
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}

/**
 * One line per meaningful event of an agent program's stream (Claude Code stream-json, Codex --json), as stored
 * (redacted) in `<state>/sessions/<name>.jsonl`: attempts, text, tool calls, results.
 */
export function renderSessionEvent(raw: unknown, full = false): string[] {
  const e = (raw ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (e.type === 'cadre.attempt') return [`── ${e.fix ? `fix attempt ${e.fix}, ` : ''}attempt ${e.attempt}${e.resume ? ` (resuming ${e.resume})` : ''} ${'─'.repeat(40)}`];
  if (e.type === 'cadre.exit') return [`[exit ${e.code ?? e.signal}]`];
  if (e.type === 'system' && e.subtype === 'init') return [`session ${e.session_id} (${e.model ?? '?'})`];
  if (e.type === 'thread.started') return [`thread ${e.thread_id}`];
  if (e.type === 'assistant') {
    return ((e.message?.content ?? []) as { type: string; text?: string; name?: string; input?: unknown }[]).map((b) =>
      b.type === 'text' ? `assistant: ${clip(b.text ?? '', full)}` : b.type === 'tool_use' ? `→ ${b.name} ${clip(JSON.stringify(b.input), full)}` : `(${b.type})`);
  }
  if (e.type === 'user') {
    return ((e.message?.content ?? []) as { type: string; content?: unknown; is_error?: boolean }[])
      .filter((b) => b.type === 'tool_result')
      .map((b) => `← ${b.is_error ? '(error) ' : ''}${clip(typeof b.content === 'string' ? b.content : JSON.stringify(b.content), full)}`);
  }
  if (e.type === 'item.completed' || e.type === 'item.started') {
    const it = e.item ?? {};
    if (it.type === 'agent_message') return [`assistant: ${clip(it.text ?? '', full)}`];
    if (it.type === 'command_execution') return e.type === 'item.started' ? [`→ exec ${it.command}`] : [`← exit ${it.exit_code} ${clip(it.aggregated_output ?? '', full)}`];
    if (it.type === 'mcp_tool_call') return e.type === 'item.started' ? [`→ ${it.server}.${it.tool} ${clip(JSON.stringify(it.arguments), full)}`] : [`← ${it.status}${it.error ? `: ${it.error.message}` : ''}`];
    if (it.type === 'file_change') return [`✎ ${(it.changes ?? []).map((c: { kind: string; path: string }) => `${c.kind} ${c.path}`).join(', ')}`];
    return [];
  }
  if (e.type === 'result') return [`result: ${e.subtype} (${e.num_turns} turns, $${Number(e.total_cost_usd ?? 0).toFixed(4)}): ${clip(String(e.result ?? ''), full)}`];
  if (e.type === 'turn.completed') return [`turn completed (${e.usage?.input_tokens ?? 0} in / ${e.usage?.output_tokens ?? 0} out)`];
  if (e.type === 'turn.failed' || e.type === 'error') return [`error: ${e.error?.message ?? e.message ?? ''}`];
  return [];
}

export function tailLines(text: string, n: number): string {
  const lines = text.split('\n');
  if (lines.length <= n + 1) return text;
  return `[… ${lines.length - n - 1} earlier lines: --full]\n${lines.slice(-n - 1).join('\n')}`;
}
