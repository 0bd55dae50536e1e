/** Looking at runs and agents, and steering runs: status, watch, list, pause/resume/retry/cancel/concurrency. */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { AgentResult } from '../../shared/agent';
import { workflowUrl } from '../../shared/config';
import { CadreError } from '../../shared/errors';
import {
  agentStatusQuery,
  cancelTaskUpdate,
  pauseRunUpdate,
  resumeRunUpdate,
  retryTaskUpdate,
  runProgressQuery,
  setConcurrencyUpdate,
  type AgentSnapshot,
  type RunProgress,
} from '../../shared/messages';
import type { RunPlanResult } from '../../workflows/runPlan';
import { EXIT, fmtAmount, fmtUsd, table } from '../output';
import { openRuntime } from '../runtime';
import { taskTable, watchRun } from '../watch';

async function describe(client: Client, id: string) {
  try {
    return await client.workflow.getHandle(id).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CadreError(`no run or agent with id "${id}"`, 2);
    throw err;
  }
}

export async function loadRunProgress(client: Client, id: string): Promise<RunProgress> {
  const handle = client.workflow.getHandle(id);
  const d = await describe(client, id);
  if (d.type !== 'runPlan') throw new CadreError(`"${id}" is an ${d.type} workflow, not a run`, 2);
  if (d.status.name === 'RUNNING') return handle.query(runProgressQuery);
  try {
    const r = (await handle.result()) as RunPlanResult;
    return { ...r, name: String(d.memo?.title ?? id), maxConcurrency: 0 };
  } catch {
    return handle.query(runProgressQuery);
  }
}

export function renderAgent(s: AgentSnapshot | AgentResult, running: boolean): string {
  const lines: string[] = [];
  if ('doing' in s) {
    lines.push(`agent ${s.agentId} — ${s.status}${running ? ` — ${s.doing}` : ''} — turn ${s.turn} — ${fmtUsd(s.costUsd)}`);
    lines.push(`branch ${s.branch ?? ''}${s.workspace ? `  workspace ${s.workspace}` : ''}`);
    lines.push(`budget: allocated ${fmtAmount(s.ledger.allocated)}, used ${fmtAmount(s.ledger.used)}, available ${fmtAmount(s.ledger.available)}${s.ledger.alerts.length ? `, alerts ${s.ledger.alerts.map((a) => `${a}%`).join(' ')}` : ''}`);
    for (const c of s.children) lines.push(`  child ${c.name} (${c.agentId}) ${c.status} ${c.costUsd !== undefined ? fmtUsd(c.costUsd) : ''}`);
    if (s.lastText) lines.push(`last said: ${s.lastText.replace(/\s+/g, ' ').slice(0, 200)}`);
  } else {
    lines.push(`agent ${s.agentId} — ${s.status} — ${s.turns} turns — ${fmtUsd(s.costUsd)}`);
    lines.push(`branch ${s.branch}${s.commit ? ` @ ${s.commit.slice(0, 10)}` : ''} — ${s.filesChanged.length} file(s) changed`);
    if (s.summary) lines.push(`summary: ${s.summary}`);
    if (s.error) lines.push(`error: ${s.error}`);
    for (const c of s.children) lines.push(`  child ${c.name} ${c.status}${c.merged ? ' merged' : ''}${c.conflicts?.length ? ` conflicts: ${c.conflicts.join(', ')}` : ''}`);
  }
  return lines.join('\n');
}

export async function statusCommand(id: string, opts: { json?: boolean }): Promise<number> {
  const rt = await openRuntime();
  try {
    const d = await describe(rt.client, id);
    const handle = rt.client.workflow.getHandle(id);
    const running = d.status.name === 'RUNNING';
    if (d.type === 'runPlan') {
      const p = await loadRunProgress(rt.client, id);
      if (opts.json) process.stdout.write(JSON.stringify(p, null, 2) + '\n');
      else process.stdout.write(`run ${id} — ${running ? p.status : d.status.name.toLowerCase()}\n${taskTable(p)}\nWeb UI: ${workflowUrl(rt.config, id)}\n`);
      return EXIT.ok;
    }
    const s: AgentSnapshot | AgentResult = running ? await handle.query(agentStatusQuery) : ((await handle.result().catch(() => handle.query(agentStatusQuery))) as AgentResult);
    process.stdout.write(opts.json ? JSON.stringify(s, null, 2) + '\n' : `${renderAgent(s, running)}\nWeb UI: ${workflowUrl(rt.config, id)}\n`);
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}

export async function watchCommand(id: string, opts: { json?: boolean }): Promise<number> {
  const rt = await openRuntime();
  try {
    await describe(rt.client, id);
    const handle = rt.client.workflow.getHandle(id);
    const tty = Boolean(process.stdout.isTTY) && !opts.json;
    const last = await watchRun(rt.client, handle, {
      tty,
      out: opts.json ? () => undefined : (s) => process.stdout.write(s),
    });
    const p = await loadRunProgress(rt.client, id).catch(() => last);
    if (!p) return EXIT.failed;
    process.stdout.write(opts.json ? JSON.stringify(p, null, 2) + '\n' : `\n${taskTable(p)}\nrun ${id} ${p.status}\n`);
    return p.status === 'completed' ? EXIT.ok : p.status === 'cancelled' ? EXIT.cancelled : EXIT.failed;
  } finally {
    await rt.close();
  }
}

export async function listCommand(opts: { limit: number; json?: boolean }): Promise<number> {
  const rt = await openRuntime();
  try {
    const rows: { id: string; status: string; started: string; closed: string; title: string }[] = [];
    for await (const w of rt.client.workflow.list({ query: `WorkflowType = 'runPlan'` })) {
      rows.push({
        id: w.workflowId,
        status: w.status.name.toLowerCase(),
        started: w.startTime.toISOString(),
        closed: w.closeTime?.toISOString() ?? '',
        title: String(w.memo?.title ?? ''),
      });
      if (rows.length >= opts.limit) break;
    }
    if (opts.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else if (!rows.length) process.stdout.write('no runs yet\n');
    else process.stdout.write(table([['RUN', 'STATUS', 'STARTED', 'CLOSED', 'PLAN'], ...rows.map((r) => [r.id, r.status, r.started, r.closed, r.title])]) + '\n');
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}

export async function controlCommand(what: 'pause' | 'resume' | 'retry' | 'cancel' | 'concurrency', run: string, arg?: string): Promise<number> {
  const rt = await openRuntime();
  try {
    const d = await describe(rt.client, run);
    if (d.type !== 'runPlan') throw new CadreError(`"${run}" is not a run`, 2);
    if (d.status.name !== 'RUNNING') throw new CadreError(`run ${run} is ${d.status.name.toLowerCase()}, not running`, 2);
    const h = rt.client.workflow.getHandle(run);
    let msg: string;
    try {
      switch (what) {
        case 'pause':
          await h.executeUpdate(pauseRunUpdate);
          msg = `run ${run} paused: running tasks finish, no new ones start`;
          break;
        case 'resume':
          await h.executeUpdate(resumeRunUpdate);
          msg = `run ${run} resumed`;
          break;
        case 'retry':
          msg = await h.executeUpdate(retryTaskUpdate, { args: [arg!] });
          break;
        case 'concurrency':
          msg = `concurrency set to ${await h.executeUpdate(setConcurrencyUpdate, { args: [Number(arg)] })}`;
          break;
        case 'cancel':
          if (arg) msg = await h.executeUpdate(cancelTaskUpdate, { args: [arg] });
          else {
            await h.cancel();
            msg = `cancelling run ${run}`;
          }
          break;
      }
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new CadreError(err.cause?.message ?? err.message, 2);
      throw err;
    }
    process.stdout.write(`${msg}\n`);
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}
