#!/usr/bin/env node
/**
 * The `cadre` command line (docs/cli.md). Every command exits with a meaningful code: 0 success, 1 a run or agent
 * that failed, 2 bad input, 3 cancelled, 69 Temporal unavailable, 73 state directory not writable, 78 bad
 * configuration, 130 interrupted (Ctrl-C; a run goes on without us).
 */
import { BackendSchema, type PlanBackend } from '../shared/plan';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { CadreError } from '../shared/errors';
import { devCommand, workerCommand } from './commands/dev';
import { runCommand } from './commands/run';
import { validateCommand } from './commands/validate';
import { controlCommand, listCommand, statusCommand, watchCommand } from './commands/inspect';
import { agentCommand, type AgentOptions } from './commands/agent';
import { gcCommand } from './commands/gc';
import { serverCommand } from './commands/server';
import { budgetGrantCommand, budgetRefuseCommand, treeCommand } from './commands/tree';
import { dismissCommand, sendCommand } from './commands/send';
import { logsCommand } from './commands/logs';
import { diffCommand } from './commands/diff';
import { locksCommand } from './commands/locks';
import { inboxCommand } from './commands/inbox';
import { clusterCommand } from './commands/cluster';
import { DEFAULT_UI_PORT, uiCommand, type UiCommandOptions } from './commands/ui';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function wholeSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 30 * 86_400) throw new InvalidArgumentError('expected whole seconds, 0 to 2592000');
  return n;
}

function backendName(value: string): PlanBackend {
  const parsed = BackendSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`expected one of ${BackendSchema.options.join(', ')}`);
  return parsed.data;
}

function action<A extends unknown[]>(fn: (...args: A) => Promise<number>) {
  return async (...args: A) => {
    process.exitCode = await fn(...args);
  };
}

/**
 * `cadre agent … --command PROGRAM ARGS…`: everything after `--command` (and after a `--` right behind it) is the
 * program's argv, options like `sh -c` included, so it is split off before commander parses (which would take
 * `-c` for an option of cadre's). `--command` is therefore the last of cadre's options on the line.
 */
export function splitCommandArgv(argv: string[]): { argv: string[]; command?: string[] } {
  const i = argv.indexOf('--command', 2);
  const before = argv.slice(2, Math.max(i, 2));
  if (i < 0 || !before.includes('agent') || before.includes('--')) return { argv };
  const rest = argv.slice(i + 1);
  const command = rest[0] === '--' ? rest.slice(1) : rest;
  if (command.length === 0 || command[0] === '') {
    throw new CadreError('--command needs a program: --command PROGRAM [ARGS...], last on the line (e.g. --command sh -c "make test")', 2);
  }
  return { argv: argv.slice(0, i), command };
}

export function buildProgram(commandArgv?: string[]): Command {
  const program = new Command('cadre')
    .description('Durable orchestration of hierarchical AI coding agents on Temporal')
    .version(version, '--version')
    .option('-v, --verbose', 'structured logs (pino, JSON on stderr) at level info; CADRE_LOG_LEVEL=debug for more')
    .showHelpAfterError('(run cadre --help for usage)')
    // Usage errors (unknown option or command, missing or invalid argument) throw instead of exiting 1, so main()
    // exits 2 as documented, and read `cadre: …` like every other error. Set before the subcommands are added:
    // each one inherits both (commander copies them in .command()).
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'cadre: ')) })
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 a run or agent failed, 2 bad input, 3 cancelled, 69 Temporal unavailable,\n' +
        '73 state directory not writable, 78 bad configuration, 130 interrupted (the run goes on).\n' +
        'Ids: a run (<plan>-<6 hex>), a task as <run>/<task>, an agent as <run>/<task>/<child>… — see docs/cli.md.',
    );
  // -v anywhere on the line: the logger reads CADRE_LOG_LEVEL when it is first used, after this hook.
  program.hook('preAction', (cmd) => {
    if (cmd.optsWithGlobals().verbose && !['debug', 'trace'].includes(process.env.CADRE_LOG_LEVEL ?? '')) process.env.CADRE_LOG_LEVEL = 'info';
  });

  program
    .command('run')
    .description('run a plan on a repository (re-attaches if this plan already has a run going)')
    .argument('<plan>', 'plan file or directory: YAML/JSON, GSD .planning, spec-kit tasks.md, or a tasks/ directory')
    .option('--repo <path>', 'repository to work on (default: the git checkout of the current directory)')
    .option('--remote <url>', 'run through this remote (URL, git@host:path or bare repo ending in .git): every host works in its own clone, branches move through it (default CADRE_REMOTE)')
    .option('-c, --concurrency <n>', 'most tasks running at once (default: the plan\'s, else 5)', positiveInt)
    .option('--run-id <id>', 'use this run id (re-attach to it if running)')
    .option('--new', 'start a new run even if this plan has one running')
    .option('--base <ref>', 'ref the integration branch starts from (default HEAD)')
    .option('--status-dir <dir>', 'mirror task status as seed-003 JSON files in this directory (and skip the tasks they say completed)')
    .option('--format <format>', 'read the plan as gsd | speckit | tasks-dir | native (default: detected)')
    .option('--inline-commands', 'run command tasks as activities of the scheduler, not as agent workflows (faster; plan field inlineCommands)')
    .option('--backend <name>', 'backend of tasks that name none: claude-code | codex | anthropic | scripted | command (default: the plan\'s, else CADRE_BACKEND, else claude-code)', backendName)
    .option('--model <name>', 'default model of the run\'s tasks (a task\'s own model wins)')
    .option('--no-worker', 'do not run a worker in this process (another `cadre worker` serves the run)')
    .option('--detach', 'start the run and return at once (follow it with `cadre watch`)')
    .option('--json', 'one JSON event per line (NDJSON) per change, then the result; words go to stderr')
    .action(action(runCommand));

  program
    .command('validate')
    .description('check a plan and print its tasks, phases, waves and critical path')
    .argument('<plan>')
    .option('--json', 'print JSON: the summary, every task (dependencies, files, backend, checks, gate…) and the warnings')
    .option('--format <format>', 'read the plan as gsd | speckit | tasks-dir | native (default: detected)')
    .option('--status-dir <dir>', 'take done states from these seed-003 status files')
    .action(action((plan: string, opts: { json?: boolean; format?: string; statusDir?: string }) => validateCommand(plan, opts)));

  program
    .command('agent')
    .description('run one agent on a repository and print its result, branch and diff stat')
    .argument('<goal>', 'what the agent should do')
    .option('--repo <path>', 'repository (default: current git checkout)')
    .option('--backend <name>', 'claude-code | codex | anthropic | scripted | command', backendName, 'anthropic')
    .option('--script <file>', 'script of model turns (scripted backend)')
    .option('--command <argv...>', 'program and arguments (command backend); last on the line: everything after it is the program\'s, e.g. --command sh -c "make test"')
    .option('--model <name>', 'model name (anthropic, claude-code, codex backends)')
    .option('--budget <amount>', 'budget: tokens (50k) or dollars ($2)')
    .option('--max-turns <n>', 'turn limit', positiveInt, 50)
    .option('--timeout <seconds>', 'give up after this many seconds', positiveInt)
    .option('--budget-wait <seconds>', 'how long a budget request waits for `cadre budget grant|refuse` (0: refused at once; default 86400)', wholeSeconds)
    .option('--id <id>', 'agent id (default: generated)')
    .option('--shared', 'edit the repository checkout itself, each write under a file lock (no worktree, no commit)')
    .option('--json', 'print the result as JSON')
    .action(action((goal: string, opts: AgentOptions) => agentCommand(goal, commandArgv ? { ...opts, command: commandArgv } : opts)));

  program
    .command('send')
    .description('send a message to an agent; it reaches the model at the start of its next turn')
    .argument('<agent-id>')
    .argument('<text>')
    .option('--priority <level>', 'high | normal | low', 'normal')
    .option('--reply-to <message-id>', 'the message this one answers (joins its thread)')
    .option('--id <id>', 'message id (repeats of one id are delivered once)')
    .action(action(sendCommand));

  program
    .command('status')
    .description('a run\'s progress and task table, or an agent\'s state (ids: <run>, <run>/<task>, an agent id)')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(action(statusCommand));
  program
    .command('watch')
    .description('follow a run live until it ends; exit 0 completed, 1 failed, 3 cancelled')
    .argument('<run>')
    .option('--json', 'one JSON event per line (NDJSON) per change, then the result')
    .action(action(watchCommand));
  program
    .command('tree')
    .description('the agent hierarchy with status and budget per agent')
    .argument('<id>', 'a run or an agent')
    .option('--json', 'print JSON')
    .action(action(treeCommand));
  program
    .command('logs')
    .description('an agent\'s transcript (turns, tool calls, results) and the output of the commands it ran')
    .argument('<agent>', 'an agent id, or <run>/<task> for the task\'s latest attempt')
    .option('--full', 'do not shorten long messages and outputs')
    .option('-f, --follow', 'keep printing until the agent ends')
    .option('--json', 'print JSON')
    .action(action(logsCommand));
  program
    .command('diff')
    .description('git diff of an agent\'s work against where it started (a run: its integration branch)')
    .argument('<id>', 'an agent id, <run>/<task>, or a run')
    .option('--stat', 'a diffstat instead of the patch')
    .option('--name-only', 'changed files with their status')
    .option('--json', 'print JSON: files with line counts, and the patch')
    .action(action(diffCommand));
  program
    .command('locks')
    .description('who holds which paths of a repository, and who waits')
    .option('--repo <path>', 'repository (default: current git checkout)')
    .option('--json', 'print JSON')
    .action(action((opts: { repo?: string; json?: boolean }) => locksCommand(opts)));
  const budget = program.command('budget').description('answer budget requests: budget grant <agent-id> <amount>, budget refuse <agent-id>');
  budget
    .command('grant')
    .description('grant an agent budget (answers its waiting request, or tops it up): amount in tokens (50k) or dollars ($2)')
    .argument('<agent-id>')
    .argument('<amount>')
    .option('--id <grant-id>', 'grant id: the same id granted again counts once (default: a new one)')
    .action(action((agentId: string, amount: string, opts: { id?: string }) => budgetGrantCommand(agentId, amount, opts)));
  budget
    .command('refuse')
    .description('refuse the budget request an agent waits on; it goes on without it (or ends budget_exhausted)')
    .argument('<agent-id>')
    .option('--reason <text>', 'why (the agent is told)')
    .action(action((agentId: string, opts: { reason?: string }) => budgetRefuseCommand(agentId, opts)));
  program
    .command('dismiss')
    .description('take a dead letter or a message to the operator out of the inbox without replying')
    .argument('<holder>', 'the run (or standalone agent) that keeps it, as `cadre inbox` shows')
    .argument('<message-id>')
    .action(action(dismissCommand));
  program
    .command('inbox')
    .description('what waits for you across running runs and agents: approval gates, stalled agents, budget requests, dead letters, messages to the operator — each with the command that answers it')
    .option('--json', 'print JSON: {items: [{kind, runId, taskId, agentId, since, summary, command, also}], notes}')
    .action(action((opts: { json?: boolean }) => inboxCommand(opts)));
  program
    .command('ui')
    .description('the web dashboard: runs, a run\'s DAG, timeline, agents, budgets, costs and logs, live; the inbox with buttons that answer')
    .option('--port <n>', `port (default ${DEFAULT_UI_PORT})`, positiveInt)
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .action(action((opts: UiCommandOptions) => uiCommand(opts)));
  program.command('list').description('recent runs, newest first').option('-n, --limit <n>', 'how many', positiveInt, 20).option('--json', 'print JSON').action(action(listCommand));

  program.command('pause').description('stop starting new tasks').argument('<run>').action(action((run: string) => controlCommand('pause', run)));
  program
    .command('resume')
    .description('start tasks again after pause; on a run that ended failed: run every failed task again, keeping the completed ones')
    .argument('<run>')
    .option('--detach', 'finishing an ended run: start it and return (a worker must be running)')
    .option('--json', 'finishing an ended run: NDJSON events')
    .action(action((run: string, opts: { detach?: boolean; json?: boolean }) => controlCommand('resume', run, undefined, opts)));
  program
    .command('retry')
    .description('retry a failed, blocked or cancelled task (its dependents return to pending); works on a run that ended failed too')
    .argument('<run>')
    .argument('<task>')
    .option('--detach', 'finishing an ended run: start it and return (a worker must be running)')
    .option('--json', 'finishing an ended run: NDJSON events')
    .action(action((run: string, task: string, opts: { detach?: boolean; json?: boolean }) => controlCommand('retry', run, task, opts)));
  program.command('approve').description('approve a task waiting at its gate (it then completes)').argument('<run>').argument('<task>').action(action((run: string, task: string) => controlCommand('approve', run, task)));
  program
    .command('reject')
    .description('reject a task waiting at its gate: it fails with the reason')
    .argument('<run>')
    .argument('<task>')
    .requiredOption('--reason <text>', 'why (shown as the task\'s error)')
    .action(action((run: string, task: string, opts: { reason: string }) => controlCommand('reject', run, task, { reason: opts.reason })));
  program.command('cancel').description('cancel a task, or the whole run when no task is given').argument('<run>').argument('[task]').action(action((run: string, task?: string) => controlCommand('cancel', run, task)));
  program.command('concurrency').description('change how many tasks a run may run at once').argument('<run>').argument('<n>', 'new limit', positiveInt).action(action((run: string, n: number) => controlCommand('concurrency', run, String(n))));

  program.command('dev').description('start the embedded Temporal dev server and a worker; Ctrl-C stops both').action(action(devCommand));
  program
    .command('worker')
    .description('run a worker on the configured task queue, its host queue and the placement queue (docs/hosts.md)')
    .option('--host <name>', 'this host\'s identity (default CADRE_HOST, else the machine\'s host name)')
    .option('--max-agents <n>', 'agents this host runs at once (default CADRE_MAX_AGENTS, else no cap of its own)', positiveInt)
    .action(action((opts: { host?: string; maxAgents?: number }) => {
      // Through the environment, so the one configuration loader validates them with the rest.
      if (opts.host !== undefined) process.env.CADRE_HOST = opts.host;
      if (opts.maxAgents !== undefined) process.env.CADRE_MAX_AGENTS = String(opts.maxAgents);
      return workerCommand();
    }));
  program
    .command('server')
    .description('manage the background embedded server: start | stop | status')
    .argument('<action>', 'start, stop or status')
    .action(action(serverCommand));
  program
    .command('cluster')
    .description('check that the Temporal server is ready for cadre (namespace, search attributes, a worker): check | setup (registers missing search attributes)')
    .argument('<action>', 'check or setup')
    .option('--json', 'print JSON')
    .action(action((what: string, opts: { json?: boolean }) => clusterCommand(what, opts)));
  program.command('gc').description('remove worktrees whose agent is no longer running, and the worktree pools').option('--repo <path>').option('--dry-run').option('--list', 'list rescue refs (saved unsaved work) instead of cleaning').action(action(gcCommand));
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    const split = splitCommandArgv(argv);
    await buildProgram(split.command).parseAsync(split.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed the message already; --help and --version end here with code 0.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
    } else if (err instanceof CadreError) {
      process.stderr.write(`cadre: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      const e = err as Error;
      process.stderr.write(`cadre: ${e?.message ?? String(err)}\n`);
      if (process.env.CADRE_DEBUG) process.stderr.write(`${e?.stack}\n`);
      process.exitCode = 1;
    }
  }
}

if (require.main === module) {
  void main();
}
