/**
 * The activity factory: everything with side effects, built from injected dependencies so tests can swap the
 * model endpoint, the state directory or the command policy. Workflows import only the `Activities` type.
 */
import type { Config } from '../node/config';
import { defaultCommandPolicy, type CommandPolicy } from './commandRunner';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { assertFence, createLockActivities } from './lockActivities';
import { LockErrorType } from '../shared/locks';
import { createModelActivities } from './model/modelTurn';
import { writeTaskStatus } from './statusFiles';
import { createCommandTaskActivity } from './commandTask';
import { createWorkspaceActivities } from './workspaceActivities';
import { createSessionActivities } from './backends/session';
import { createPortActivities, portBlockHolder } from './portActivities';
import type { PortConfig } from '../shared/ports';
import { createProgressActivities } from './progress';
import { createResolveActivities } from './resolve';
import { createNotifyActivities } from './notify';
import type { NotifyTarget } from '../node/config';
import type { AgentSlots } from './agentSlots';
import { createBlobActivities, createBlobStore, type BlobStore } from './blobs';

export interface ActivityDeps {
  stateDir: string;
  config?: Config;
  /** Messages API endpoint (tests point it at a local stub). */
  anthropicBaseURL?: string;
  anthropicApiKey?: string;
  policy?: CommandPolicy;
  /** Ready worktrees kept per repository (CADRE_WORKTREE_POOL); unset: the config's value, else the default (2). */
  worktreePool?: number;
  /**
   * Where the claude-code and codex sessions read their provider settings and program paths (ANTHROPIC_*, OPENAI_*,
   * CADRE_CLAUDE_BIN, CADRE_CODEX_BIN, PATH; docs/backends.md). Default: the worker's environment, with
   * `anthropicBaseURL` as ANTHROPIC_BASE_URL when set. Only the named variables reach the program.
   */
  sessionEnv?: NodeJS.ProcessEnv;
  /** Ports leased to workspaces (CADRE_PORT_*); unset: the config's, else 20000, blocks of 10, 100 blocks. */
  ports?: PortConfig;
  /** Names the port lock manager (`locks/ports@<host>/<taskQueue>`); default this machine's host name. */
  portHost?: string;
  /** Lease of a port block's grant (default 3 minutes); tests shorten it. */
  portLeaseMs?: number;
  /** Where notifications go (CADRE_NOTIFY); unset: the config's, else none are sent. */
  notify?: NotifyTarget;
  /**
   * This worker's host identity (docs/hosts.md), reported with every workspace it creates so the workflows send
   * that workspace's activities to its host queue. Unset (tests, one-queue workers): nothing is routed.
   */
  host?: string;
  /** The agent workspaces on this host, counted for placement (agentSlots.ts); one per process. */
  slots?: AgentSlots;
  /** The blob store plans, prompts and huge task tables are read from (src/activities/blobs.ts); one per worker by default. */
  blobs?: BlobStore;
}

export function createActivities(deps: ActivityDeps) {
  const policy: CommandPolicy = deps.policy ?? (deps.config?.commandAllow ? { ...defaultCommandPolicy, allow: deps.config.commandAllow } : defaultCommandPolicy);
  const blobs = deps.blobs ?? createBlobStore();
  const portDeps = { ports: deps.ports ?? deps.config?.ports, host: deps.portHost, leaseMs: deps.portLeaseMs };
  const workspace = createWorkspaceActivities({ stateDir: deps.stateDir, policy, worktreePool: deps.worktreePool ?? deps.config?.worktreePool, host: deps.host, slots: deps.slots });
  return {
    ...workspace,
    ...createCommandTaskActivity(deps.stateDir, workspace, portBlockHolder(portDeps)),
    ...createResolveActivities(deps.stateDir, workspace),
    ...createModelActivities({
      stateDir: deps.stateDir,
      apiKey: deps.anthropicApiKey ?? deps.config?.anthropicApiKey,
      anthropicBaseURL: deps.anthropicBaseURL ?? deps.config?.anthropicBaseURL,
      policy,
      fenceCheck,
      blobs,
    }),
    ...createSessionActivities({ stateDir: deps.stateDir, env: deps.sessionEnv ?? sessionEnvOf(deps), blobs, checkpointSeconds: deps.config?.sessionCheckpointSeconds }),
    writeTaskStatus,
    ...createLockActivities(),
    ...createPortActivities(portDeps),
    ...createProgressActivities(),
    ...createNotifyActivities({ stateDir: deps.stateDir, target: deps.notify ?? deps.config?.notify }),
    ...createBlobActivities(blobs),
  };
}

function sessionEnvOf(deps: ActivityDeps): NodeJS.ProcessEnv {
  const baseURL = deps.anthropicBaseURL ?? deps.config?.anthropicBaseURL;
  return baseURL ? { ...process.env, ANTHROPIC_BASE_URL: baseURL } : process.env;
}

/** A fenced write is refused (with the lock manager's reason) when its token no longer holds the path. */
async function fenceCheck(input: { repo: string; paths: string[]; token: number }): Promise<string | undefined> {
  try {
    await assertFence(Context.current().client, input);
    return undefined;
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === LockErrorType.LockLost) return err.message;
    throw err;
  }
}

export type Activities = ReturnType<typeof createActivities>;
