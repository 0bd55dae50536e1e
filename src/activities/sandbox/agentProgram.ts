/**
 * How every program an agent can influence is started: run_command, the `command` backend, verification, bootstrap
 * setup, and the CLI-agent backends to come. Use {@link agentEnv} for its environment and {@link agentSpawn} (or
 * {@link spawnAgentProgram}) to start it; never `child_process.spawn` with the worker's environment.
 *
 * Two routes to the worker's secrets are closed:
 *
 * 1. The program's own environment: {@link agentEnv} is built from scratch (PATH, HOME, LANG, LC_ALL, TERM, TMPDIR and
 *    what the plan or policy gives, plus the workspace's CADRE_PORT/PORT/CADRE_PORT_RANGE from its port lease),
 *    never copied from `process.env`.
 * 2. Another process's environment. `/proc/<pid>/environ` shows the environment a process *started* with, so
 *    deleting a variable from `process.env` hides nothing, and the worker's ancestors (the CLI, the user's shell) and
 *    siblings (the Temporal dev server) hold the same secrets. So the program starts in its own user, PID and mount
 *    namespaces with a /proc of its own (`unshare --user --map-current-user --pid --fork --mount-proc`): it sees only
 *    itself and its children. The user namespace matters even for root: without it a root program could unmount
 *    its /proc and read the host's; inside it, the kernel refuses it the host processes' environ and memory
 *    (no CAP_SYS_PTRACE in their namespace), whichever /proc it looks through.
 *
 * The program is not PID 1 of its namespace: a small shell init is, which forwards SIGTERM/SIGINT/SIGHUP (PID 1
 * ignores signals it has no handler for, so `sleep` as PID 1 could not be stopped but by SIGKILL) and exits with the
 * program's status. A program killed by signal N therefore ends the init with 128+N, which runCommand maps back to
 * the signal. When the init ends, the kernel kills everything left in the namespace, so a program that calls
 * setsid() no longer outlives its command.
 *
 * Fallback: where the namespaces cannot be made (no util-linux `unshare`, user namespaces disabled, a seccomp
 * profile that forbids them), programs start directly, with the scrubbed environment only, and the worker logs one
 * warning; `CADRE_AGENT_SANDBOX=off` asks for that explicitly, `=require` refuses to run programs without it.
 * Residue (documented in docs/workspaces.md): the network (the Temporal port included) and the file system are
 * shared with the worker.
 */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { logger } from '../../node/logger';

/** The only variables copied from the worker's environment into a program's. */
export const BASE_ENV_VARS = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TERM', 'TMPDIR'] as const;

/** A program's complete environment: the few base variables of the worker, then `extra` (plan or policy). */
export function agentEnv(extra: Record<string, string> = {}, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of BASE_ENV_VARS) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

export const UNSHARE_FLAGS = ['--user', '--map-current-user', '--pid', '--fork', '--mount-proc', '--kill-child'] as const;

/** PID 1 of the namespace: forwards the usual stop signals to the program and exits with its status. */
const INIT = [
  'command -v "$1" >/dev/null 2>&1 || { echo "cadre: cannot run $1: not found" >&2; exit 127; }',
  'trap \'kill -TERM "$c" 2>/dev/null\' TERM',
  'trap \'kill -INT "$c" 2>/dev/null\' INT',
  'trap \'kill -HUP "$c" 2>/dev/null\' HUP',
  '"$@" & c=$!',
  'while :; do wait "$c"; s=$?; kill -0 "$c" 2>/dev/null || break; done',
  'exit "$s"',
].join('\n');

export type SandboxMode = 'auto' | 'off' | 'require';

let probed: boolean | undefined;

/** Whether programs can be started in their own namespaces here (probed once per process). */
export function sandboxAvailable(): boolean {
  if (probed === undefined) {
    const r = spawnSync('unshare', [...UNSHARE_FLAGS, 'true'], { stdio: 'ignore', timeout: 10_000 });
    probed = r.status === 0;
    if (!probed) {
      logger().warn({ error: r.error?.message, status: r.status }, 'agent programs cannot get namespaces of their own here (util-linux unshare with user namespaces); they start with a scrubbed environment only and could read the worker\'s secrets from /proc');
    }
  }
  return probed;
}

function sandboxMode(env: NodeJS.ProcessEnv = process.env): SandboxMode {
  const v = env.CADRE_AGENT_SANDBOX;
  return v === 'off' || v === 'require' ? v : 'auto';
}

export interface AgentCommand {
  file: string;
  args: string[];
  /** True when the program runs behind the namespace init (its 128+N exit codes mean signal N). */
  sandboxed: boolean;
}

/** The command line that starts `argv` as an agent program. Throws when the sandbox is required but unavailable. */
export function agentCommand(argv: readonly string[]): AgentCommand {
  const mode = sandboxMode();
  if (mode !== 'off' && sandboxAvailable()) {
    return { file: 'unshare', args: [...UNSHARE_FLAGS, '--', '/bin/sh', '-c', INIT, 'cadre-init', ...argv], sandboxed: true };
  }
  if (mode === 'require') throw new Error('CADRE_AGENT_SANDBOX=require, but programs cannot be started in namespaces of their own here (see docs/workspaces.md, "Threat model")');
  return { file: argv[0], args: argv.slice(1), sandboxed: false };
}

/**
 * Start `argv` as an agent program with exactly `env` (build it with {@link agentEnv}). Options as for
 * `child_process.spawn`, except that `env` and `shell` are not negotiable.
 */
export function spawnAgentProgram(argv: readonly string[], env: Record<string, string>, options: Omit<SpawnOptions, 'env' | 'shell'> = {}) {
  const cmd = agentCommand(argv);
  return { child: spawn(cmd.file, cmd.args, { ...options, env, shell: false }), sandboxed: cmd.sandboxed };
}
