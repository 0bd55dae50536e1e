/** `cadre agent "<goal>"`: one agent on a repository, shown while it works, then its result, branch and diff stat. */
import { DEFAULT_BUDGET_WAIT_SECONDS } from '../../shared/plan';
import { goalInput } from '../planRef';
import { randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { gitFor } from '../../activities/git';
import { backendProblem } from '../backends/choice';
import { transcriptPath } from '../../activities/model/transcript';
import { defaultLimits, type AgentInput, type AgentWorkflow } from '../../shared/agent';
import { workflowUrl } from '../../node/config';
import { CadreError } from '../../shared/errors';
import { agentStatusQuery } from '../../shared/messages';
import type { Backend } from '../../shared/model';
import { EXIT, parseAmount } from '../output';
import { loadPrices } from '../prices';
import { assertBaseRef, resolveRepo } from '../repo';
import { openRuntime, startInProcessWorker } from '../runtime';
import { renderAgent } from './inspect';
import { agentResultOf } from '../results';

export interface AgentOptions {
  repo?: string;
  backend: string;
  script?: string;
  command?: string[];
  model?: string;
  budget?: string;
  maxTurns: number;
  timeout?: number;
  id?: string;
  json?: boolean;
  shared?: boolean;
  /** Seconds a budget request waits for the operator (0: refused at once); default a day. */
  budgetWait?: number;
}

export async function agentCommand(goal: string, opts: AgentOptions): Promise<number> {
  if (!['anthropic', 'scripted', 'command', 'claude-code', 'codex'].includes(opts.backend)) throw new CadreError(`--backend: unknown backend "${opts.backend}" (claude-code, codex, anthropic, scripted or command)`, 2);
  const backend = opts.backend as Backend;
  if (backend === 'scripted' && !opts.script) throw new CadreError('--backend scripted needs --script FILE', 2);
  if (opts.script && !existsSync(opts.script)) throw new CadreError(`--script: ${opts.script} does not exist`, 2);
  if (backend === 'command' && !opts.command?.length) throw new CadreError('--backend command needs --command PROGRAM [ARGS...]', 2);
  let budget = {};
  try {
    budget = opts.budget ? parseAmount(opts.budget) : {};
  } catch (err) {
    throw new CadreError(`--budget: ${(err as Error).message}`, 2);
  }
  const repo = await resolveRepo(opts.repo);
  await assertBaseRef(repo, 'HEAD');
  const rt = await openRuntime();
  const { config, client } = rt;
  const missing = backend === 'claude-code' || backend === 'codex' ? backendProblem(backend, process.env) : undefined;
  if (missing) throw new CadreError(missing, 78);
  if (backend === 'anthropic' && !config.anthropicApiKey) {
    await rt.close();
    throw new CadreError('the anthropic backend needs ANTHROPIC_API_KEY in the environment (or use --backend scripted/command)', 78);
  }
  const agentId = opts.id ?? `agent-${randomBytes(3).toString('hex')}`;
  if (opts.id) {
    try {
      await assertIdUnused(client, config.stateDir, agentId);
    } catch (err) {
      await rt.close();
      throw err;
    }
  }
  const worker = await startInProcessWorker(config);
  try {
    const input: AgentInput = {
      repo,
      baseRef: 'HEAD',
      // A long goal travels by reference (docs/architecture.md, "Payload bounds"): the input carries a preview.
      ...(await goalInput(repo, goal)),
      backend,
      model: opts.model ?? config.model,
      maxTokens: 8192,
      maxTurns: opts.maxTurns,
      script: opts.script ? resolve(opts.script) : undefined,
      command: opts.command,
      timeoutSeconds: opts.timeout,
      budget,
      budgetWaitSeconds: opts.budgetWait ?? DEFAULT_BUDGET_WAIT_SECONDS,
      depth: 0,
      limits: defaultLimits,
      workspaceMode: opts.shared ? 'shared' : 'worktree',
      prices: loadPrices(config.pricesFile),
    };
    // REJECT_DUPLICATE: an id is never started twice, even if another client took it since the check above.
    const handle = await client.workflow
      .start<AgentWorkflow>('agent', { workflowId: agentId, taskQueue: config.taskQueue, args: [input], memo: { title: goal.slice(0, 200) }, workflowIdReusePolicy: 'REJECT_DUPLICATE' })
      .catch(async (err: unknown) => {
        if (err instanceof WorkflowExecutionAlreadyStartedError) await assertIdUnused(client, config.stateDir, agentId);
        throw err;
      });
    const info = (s: string) => (opts.json ? process.stderr : process.stdout).write(s);
    info(`agent ${agentId} started\nWeb UI: ${workflowUrl(config, agentId)}\n`);
    let lastDoing = '';
    const done = handle.result().then(
      () => true,
      () => true,
    );
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      const s = await handle.query(agentStatusQuery).catch(() => undefined);
      if (s && s.doing !== lastDoing && !opts.json) {
        process.stdout.write(`  ${s.doing}\n`);
        lastDoing = s.doing;
      }
      await Promise.race([done, new Promise((r) => setTimeout(r, 500))]);
    }
    const result = await agentResultOf(handle);
    if (opts.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else {
      process.stdout.write(`${renderAgent(result, false, backend === 'scripted')}\n`);
      if (result.baseCommit && result.commit) {
        const stat = await gitFor(repo).raw(['diff', '--stat', `${result.baseCommit}..${result.branch}`]);
        process.stdout.write(stat ? `${stat}` : '(no changes)\n');
      }
    }
    return result.status === 'completed' ? EXIT.ok : result.status === 'cancelled' ? EXIT.cancelled : EXIT.failed;
  } finally {
    await worker.stop();
    await rt.close();
  }
}

/**
 * An agent id names one piece of work: its transcript, its branch and its turns are keyed by it, so starting new
 * work under a used id would replay the old transcript instead of running (issue 16). Refused, saying what to do.
 */
async function assertIdUnused(client: Client, stateDir: string, agentId: string): Promise<void> {
  const d = await client.workflow
    .getHandle(agentId)
    .describe()
    .catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    });
  const what = d ? (d.status.name === 'RUNNING' ? 'is running' : `already ran (${d.status.name.toLowerCase()})`) : existsSync(transcriptPath(stateDir, agentId)) ? 'already ran (its transcript is kept)' : undefined;
  if (!what) return;
  throw new CadreError(
    `agent id "${agentId}" ${what}; an id is never reused — give the new goal a new id (e.g. --id ${agentId}-2) or leave out --id` +
      (d?.status.name === 'RUNNING' ? `; follow the running one with: cadre tree ${agentId}` : ''),
    2,
  );
}
