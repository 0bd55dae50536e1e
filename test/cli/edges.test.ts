/**
 * The CLI's edges, through the built binary: usage errors exit 2 from every command, `-v` is verbose and
 * `--version` the version, `cadre agent --command` takes the rest of the line as the program's argv, the SDK's
 * own log lines stay out of the way unless asked for, gc names its repositories, `watch` tells an unreachable
 * server from a missing worker and shows a finished run's events at their real times, scripted dollars are
 * labelled simulated, and a run's task rows add up to its totals.
 */
import { writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fmtDuration } from '../../src/client/output';
import { coreFilter, sdkLevel } from '../../src/workers/logging';
import { spawn } from 'node:child_process';
import { cadre, cadreBin, cliEnv, root, workerForSuite } from '../support/cli';
import { makeRepo } from '../support/repo';
import { testAddress, testClient, testDir, uniqueId } from '../support/temporal';

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('usage errors exit 2 with one cadre: line and the help hint', () => {
  const env = { CADRE_STATE_DIR: testDir('edges-usage') };
  const cases: [string, string[], RegExp][] = [
    ['an invalid option value', ['run', 'plan.yaml', '--concurrency', '0'], /^cadre: option '-c, --concurrency <n>' argument '0' is invalid\. expected a positive integer$/m],
    ['an unknown option', ['status', 'x', '--bogus'], /^cadre: unknown option '--bogus'$/m],
    ['a missing argument', ['status'], /^cadre: missing required argument 'id'$/m],
    ['a missing argument of a nested command', ['budget', 'grant', 'agent-1'], /^cadre: missing required argument 'amount'$/m],
    ['an unknown command', ['nosuch'], /^cadre: unknown command 'nosuch'$/m],
    ['a bad value of another command', ['concurrency', 'run-1', 'many'], /^cadre: command-argument value 'many' is invalid for argument 'n'\. expected a positive integer$/m],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await cadre(args, env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('(run cadre --help for usage)');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    });
  }
});

describe('-v is verbose, --version the version', () => {
  it('--version prints the version; -v is --verbose in the help', async () => {
    const v = await cadre(['--version'], {});
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await cadre(['--help'], {});
    expect(help.stdout).toMatch(/^ {2}-v, --verbose\b/m);
    expect(help.stdout).toMatch(/^ {2}--version\b/m);
    expect(help.stdout).not.toMatch(/-V\b/);
  });
});

describe('the SDK\'s own log lines are one level quieter', () => {
  it('WARN → info, INFO → debug, DEBUG → trace; errors stay; cadre\'s own workflow and activity lines keep theirs', () => {
    expect(sdkLevel('WARN', { sdkComponent: 'core' })).toBe('info');
    expect(sdkLevel('WARN', { sdkComponent: 'worker' })).toBe('info');
    expect(sdkLevel('WARN')).toBe('info');
    // The host and placement queues' activity-only workers are cadre's design: the SDK's warning about them is debug.
    expect(sdkLevel('WARN', { sdkComponent: 'worker' }, 'No workflows registered, not polling for workflow tasks')).toBe('debug');
    expect(sdkLevel('WARN', { sdkComponent: 'worker' }, 'some other warning')).toBe('info');
    expect(sdkLevel('INFO', { sdkComponent: 'worker' })).toBe('debug');
    expect(sdkLevel('DEBUG', { sdkComponent: 'core' })).toBe('trace');
    expect(sdkLevel('ERROR', { sdkComponent: 'worker' })).toBe('error');
    expect(sdkLevel('WARN', { sdkComponent: 'workflow' })).toBe('warn');
    expect(sdkLevel('INFO', { sdkComponent: 'activity' })).toBe('info');
    expect(coreFilter(undefined)).toBe('WARN');
    expect(coreFilter('info')).toBe('WARN');
    expect(coreFilter('debug')).toBe('INFO');
    expect(coreFilter('trace')).toBe('DEBUG');
  });
});

describe('cadre agent --command takes the rest of the line', () => {
  const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('edges-agent'), CADRE_TASK_QUEUE: uniqueId('edges') };

  it('an argv with options of its own (sh -c …), with and without --; the embedded worker\'s SDK lines only at debug', async () => {
    const repo = makeRepo();
    const plain = uniqueId('cmd-plain');
    const p = await cadre(['agent', 'write a file', '-v', '--repo', repo, '--id', plain, '--backend', 'command', '--command', 'sh', '-c', 'echo hi from sh > hi.txt'], env, 180_000);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain(`agent ${plain} started`);
    expect(p.stdout).toMatch(/completed/);
    expect(p.stdout).toMatch(/hi\.txt/);
    // -v: cadre's own info lines, none of the SDK's (its INFO is debug now).
    const verbose = jsonLines(p.stderr);
    expect(verbose.filter((l) => l.sdkComponent !== undefined && (l.level as number) < 30)).toEqual([]);
    expect(verbose.filter((l) => l.sdkComponent === 'worker')).toEqual([]);

    const dashes = uniqueId('cmd-dashes');
    const d = await cadre(['agent', 'write another', '--repo', repo, '--id', dashes, '--backend', 'command', '--command', '--', 'sh', '-c', 'echo hi again > again.txt'], { ...env, CADRE_LOG_LEVEL: 'debug' }, 180_000);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/again\.txt/);
    // debug: the SDK's info lines (the worker's state changes), at level debug (20).
    const debug = jsonLines(d.stderr).filter((l) => l.sdkComponent === 'worker');
    expect(debug.length).toBeGreaterThan(0);
    expect(debug.every((l) => (l.level as number) <= 20 || (l.level as number) >= 50)).toBe(true);

    // Without -v nothing of the SDK's reaches the terminal.
    const quiet = await cadre(['agent', 'a third', '--repo', repo, '--id', uniqueId('cmd-quiet'), '--backend', 'command', '--command', 'true'], env, 180_000);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');

    // gc names the repository it looked at.
    const gc = await cadre(['gc'], env);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(new RegExp(`^${repo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ orphaned worktree\\(s\\), \\d+ pooled$`, 'm'));
    expect(gc.stdout).toMatch(/orphaned worktree\(s\) removed in \d+ repositor(y|ies)$/m);
  }, 600_000);

  it('an empty --command exits 2 and says what it needs', async () => {
    for (const tail of [[], ['--']]) {
      const r = await cadre(['agent', 'nothing', '--backend', 'command', '--command', ...tail], env);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe('cadre: --command needs a program: --command PROGRAM [ARGS...], last on the line (e.g. --command sh -c "make test")');
    }
  });
});

/** A TCP proxy in front of the test server, to take the server away from one client and give it back. */
function proxyTo(target: string): { address: () => string; start: () => Promise<void>; stop: () => Promise<void> } {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  let server: Server | undefined;
  let listenPort = 0;
  const sockets = new Set<Socket>();
  return {
    address: () => `127.0.0.1:${listenPort}`,
    start: () =>
      new Promise((res) => {
        server = createServer((c) => {
          const s = connect(port, host);
          for (const x of [c, s]) {
            sockets.add(x);
            x.on('error', () => undefined);
            x.on('close', () => sockets.delete(x));
          }
          c.pipe(s);
          s.pipe(c);
        });
        server.listen(listenPort, '127.0.0.1', () => {
          listenPort = (server!.address() as { port: number }).port;
          res();
        });
      }),
    stop: () =>
      new Promise((res) => {
        for (const x of sockets) x.destroy();
        sockets.clear();
        server?.close(() => res());
      }),
  };
}

async function until(what: string, check: () => boolean, tries = 240): Promise<void> {
  for (let i = 0; i < tries && !check(); i++) await new Promise((r) => setTimeout(r, 250));
  if (!check()) throw new Error(`never happened: ${what}`);
}

describe('runs through watch and status: times, costs, an unreachable server', () => {
  const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('edges-runs'), CADRE_TASK_QUEUE: uniqueId('edges-run') };
  workerForSuite(env);

  it('a scripted run: simulated dollars, rows that add up to the total (cache tokens too), a finished run\'s events at their times', async () => {
    const dir = testDir('edges-plan');
    writeFileSync(
      join(dir, 'cached.yaml'),
      `turns:
  - usage: { input: 1000, output: 50, cacheRead: 20000, cacheWrite: 3000 }
    tools:
      - write_file: { path: hello.txt, content: "hi\\n" }
  - usage: { input: 1100, output: 40, cacheRead: 21000 }
    tools:
      - finish: { summary: "wrote hello.txt" }
`,
    );
    const file = join(dir, 'edges-sim.yaml');
    writeFileSync(
      file,
      `name: edges-sim
tasks:
  - { id: first, title: Wait a little, command: ["sh", "-c", "sleep 2"] }
  - { id: hello, title: Write hello, dependsOn: [first], script: cached.yaml }
`,
    );
    const started = await cadre(['run', file, '--repo', makeRepo(), '--detach'], env);
    expect(started.code).toBe(0);
    const runId = /started run (\S+)/.exec(started.stdout)![1]!;
    const live = await cadre(['watch', runId], env, 180_000);
    expect(live.code).toBe(0);
    expect(live.stdout).toMatch(new RegExp(`^run ${runId} completed: 2 completed, 0 skipped, 0 failed, 0 blocked, 0 cancelled — [\\d,]+ tokens, \\$0\\.\\d+ \\(simulated\\)$`, 'm'));

    // The rows add up to the total, cache reads and writes included.
    const j = JSON.parse((await cadre(['status', runId, '--json'], env)).stdout) as { tokens: number; costUsd: number; tasks: { id: string; tokens?: number; costUsd?: number; startedAt: number; endedAt: number }[] };
    expect(j.tokens).toBe(1000 + 50 + 20000 + 3000 + 1100 + 40 + 21000);
    expect(j.tasks.reduce((n, t) => n + (t.tokens ?? 0), 0)).toBe(j.tokens);
    expect(j.tasks.reduce((n, t) => n + (t.costUsd ?? 0), 0)).toBeCloseTo(j.costUsd, 9);

    // status says the dollars are simulated, for the run and for the scripted task's agent.
    const s = await cadre(['status', runId], env);
    expect(s.stdout).toMatch(/^spent\s+[\d,]+ tokens · \$0\.\d+ \(simulated\) \(the plan sets no run budget\)$/m);
    const a = await cadre(['status', `${runId}/hello`], env);
    expect(a.stdout).toMatch(/— \$0\.\d+ \(simulated\)$/m);

    // Watched after it ended: each task event at the time its task ended, not at the time we looked.
    const start = (await (await testClient()).workflow.getHandle(runId).describe()).startTime.getTime();
    const byId = new Map(j.tasks.map((t) => [t.id, t]));
    const again = jsonLines((await cadre(['watch', runId, '--json'], env)).stdout);
    const taskEvents = again.filter((e) => e.event === 'task');
    expect(taskEvents.map((e) => e.task)).toEqual(['first', 'hello']);
    for (const e of taskEvents) expect(e.at).toBe(new Date(byId.get(e.task as string)!.endedAt).toISOString());
    expect(again.find((e) => e.event === 'progress')?.costSimulated).toBe('all');
    expect(again.at(-1)).toMatchObject({ event: 'result', status: 'completed', costSimulated: 'all' });
    const lines = (await cadre(['watch', runId], env)).stdout;
    for (const id of ['first', 'hello']) {
      expect(lines).toContain(`[+${fmtDuration(byId.get(id)!.endedAt - start)}] ${id} completed`);
    }
    expect(byId.get('hello')!.endedAt - byId.get('first')!.endedAt).toBeGreaterThan(0);
  }, 300_000);

  it('watch during a server outage says the server is unreachable, not that no worker runs, and goes on when it is back', async () => {
    const file = join(testDir('edges-plan'), 'edges-outage.yaml');
    writeFileSync(file, `name: edges-outage\ntasks:\n  - { id: nap, title: Sleep a while, command: ["sh", "-c", "sleep 6"] }\n`);
    const started = await cadre(['run', file, '--repo', makeRepo(), '--detach'], env);
    expect(started.code).toBe(0);
    const runId = /started run (\S+)/.exec(started.stdout)![1]!;

    const proxy = proxyTo(testAddress());
    await proxy.start();
    const child = spawn(process.execPath, [cadreBin, 'watch', runId], { env: cliEnv({ ...env, TEMPORAL_ADDRESS: proxy.address() }), cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    try {
      await until('watch shows the task running', () => /\] nap running/.test(stdout));
      await proxy.stop();
      await until('watch says the server is unreachable', () => stderr.includes('cannot reach'), 480);
      await proxy.start();
      const code = await exited;
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await proxy.stop();
    }
    expect(stderr).toContain(`cadre: cannot reach the Temporal server at ${proxy.address()}: still trying`);
    expect(stderr).toContain(`cadre: the Temporal server at ${proxy.address()} answers again`);
    expect(stderr).not.toMatch(/is one running\?/);
    expect(stdout).toMatch(new RegExp(`^run ${runId} completed`, 'm'));
  }, 300_000);
});
