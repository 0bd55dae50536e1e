/**
 * The operator's view, through the built CLI as a subprocess: `cadre run` with and without a terminal, `watch` as
 * a live view (under a pseudo-terminal from util-linux `script`), as plain lines and as NDJSON, `status`, `tree`,
 * `list`, `logs` and `diff` on the demo plan, and exit codes that tell completed (0), failed (1) and cancelled (3)
 * apart. Runs go to the test run's server (TEMPORAL_ADDRESS) on a task queue of their own.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cadre, cadreBin, cliEnv, spawnCollect, workerForSuite, type CliResult } from '../support/cli';
import { makeRepo } from '../support/repo';
import { testAddress, testDir, uniqueId } from '../support/temporal';

const ESC = '\x1b[';
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs the CLI under a pseudo-terminal (`script -qefc`), so its stdout is a TTY; returns what the terminal got. */
function cadreInTty(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<CliResult> {
  const command = [process.execPath, cadreBin, ...args].map(quote).join(' ');
  return spawnCollect('script', ['-qefc', command, '/dev/null'], cliEnv({ ...env, COLUMNS: '120', LINES: '40' }), timeoutMs);
}

function jsonLines(text: string): Record<string, unknown>[] {
  const lines = text.trim().split('\n');
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('the demo plan through the CLI, without a terminal', () => {
  const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('ux-state'), CADRE_TASK_QUEUE: uniqueId('ux'), CADRE_UI_URL: 'http://localhost:8233' };
  const repo = makeRepo();
  let runId = '';
  let run: CliResult;

  beforeAll(async () => {
    run = await cadre(['run', 'examples/demo/plan.yaml', '--repo', repo], env, 240_000);
    runId = /started run (\S+) \(6 tasks\)/.exec(run.stdout)?.[1] ?? '';
  }, 300_000);

  it('cadre run prints one plain line per change, the table, the outcome, and exits 0', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(runId).toMatch(/^demo-[0-9a-f]{6}$/);
    const out = run.stdout;
    expect(out).not.toContain(ESC);
    expect(out).toContain(`Web UI: http://localhost:8233/namespaces/default/workflows/${runId}`);
    expect(out).toMatch(/^\[\+\d+s\] scaffold running — Scaffold the repository/m);
    expect(out).toMatch(/^\[\+\d+s\] scaffold completed \(1\/6 done\)$/m);
    // The hierarchy (every sub-agent is announced, even one that came and went between two polls)…
    expect(out).toMatch(/agent team\/writer spawned \(depth 1, budget 60,000 tok\)/);
    expect(out).toMatch(/agent team\/writer\/checker spawned \(depth 2, budget 25,000 tok\)/);
    expect(out).toMatch(/agent team\/writer\/checker completed/);
    // …the budget refusal…
    expect(out).toMatch(/agent frugal\/spender budget_exhausted \(11,500 tokens/);
    expect(out).toMatch(/agent frugal\/spender used 80% of its budget/);
    // …and two tasks on one file, one after the other.
    const aDone = out.search(/notes-a completed/);
    const bStart = out.search(/notes-b running/);
    expect(aDone).toBeGreaterThan(0);
    expect(bStart).toBeGreaterThan(aDone);
    expect(out).toMatch(/^wrap-up\s+completed\s+finish/m);
    expect(out).toMatch(new RegExp(`^run ${runId} completed in \\d+\\S*: 6 completed, 0 skipped, 0 failed, 0 blocked, 0 cancelled — [\\d,]+ tokens, \\$0\\.\\d+ \\(simulated\\)$`, 'm'));
    expect(out).toContain(`integration branch: cadre/${runId}/integration (in ${repo})`);
  });

  it('status shows the run\'s progress, budget and task table; --json is the progress', async () => {
    const s = await cadre(['status', runId], env);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain(`run ${runId} (demo) · completed`);
    expect(s.stdout).toMatch(/tasks\s+\[#{20}\] 6\/6 done/);
    expect(s.stdout).toMatch(/build\s+\[#{16}\] 4\/4/);
    expect(s.stdout).toMatch(/budget\s+\[#*\.*\] [\d,]+ of 400,000 tokens \(\d+%\)/);
    expect(s.stdout).toMatch(/^frugal\s+completed\s+build/m);
    // Costs at a glance: the rate, a forecast (all ended: what was spent) within the budget, and spend by model.
    expect(s.stdout).toMatch(/^costs\s+rate \$[\d.]+\/(min|h) \(simulated\) \([\d,]+ tok\/min\) · forecast \$[\d.]+ \(simulated\) · [\d,]+ tok · within budget$/m);
    expect(s.stdout).toMatch(/^models\s+claude-\S+ \$[\d.]+ \(simulated\) \([\d,]+ tok\)/m);
    const j = JSON.parse((await cadre(['status', runId, '--json'], env)).stdout) as {
      status: string;
      tasks: { id: string; status: string; costUsd?: number; tokens?: number }[];
      budget: { tokens: number };
      costUsd: number;
      tokens: number;
      models: Record<string, { usd: number; tokens: number }>;
      costs: { forecastUsd: number; tasksLeft: number; models: { model: string; usd: number; tokens: number }[] };
    };
    expect(j.status).toBe('completed');
    expect(j.tasks.map((t) => t.id)).toEqual(['scaffold', 'notes-a', 'notes-b', 'team', 'frugal', 'wrap-up']);
    expect(j.budget.tokens).toBe(400_000);
    // The rows, the models and the forecast all add up to the run's totals.
    expect(j.tasks.reduce((n, t) => n + (t.tokens ?? 0), 0)).toBe(j.tokens);
    expect(j.costs.models.reduce((n, m) => n + m.tokens, 0)).toBe(j.tokens);
    expect(j.costs.models.reduce((n, m) => n + m.usd, 0)).toBeCloseTo(j.costUsd, 6);
    expect(j.costs.tasksLeft).toBe(0);
    expect(j.costs.forecastUsd).toBeCloseTo(j.costUsd, 6);

    const task = await cadre(['status', `${runId}/frugal`], env);
    expect(task.stdout).toContain(`task frugal of run ${runId}`);
    expect(task.stdout).toMatch(/child spender budget_exhausted merged/);
  });

  it('tree shows three levels and the refused child', async () => {
    const t = await cadre(['tree', runId], env);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/└─ writer\s+completed/);
    expect(t.stdout).toMatch(/ {3}└─ checker\s+completed/);
    expect(t.stdout).toMatch(/└─ spender\s+budget_exhausted .* of 14,000 tok\s+alerts 50% 80%/);
    const j = JSON.parse((await cadre(['tree', runId, '--json'], env)).stdout) as { agentId: string; children: { children: unknown[] }[] }[];
    expect(j.find((n) => n.agentId === `${runId}/team`)?.children[0]?.children).toHaveLength(1);
  });

  it('list shows the run; --json too', async () => {
    const l = await cadre(['list'], env);
    expect(l.code).toBe(0);
    expect(l.stdout).toMatch(/^RUN\s+STATUS\s+STARTED \(UTC\)\s+TOOK\s+COST\s+PLAN\s+REPOSITORY$/m);
    expect(l.stdout).toMatch(new RegExp(`^${runId}\\s+completed\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\S+\\s+\\$0\\.\\d+\\s+demo\\s+${repo}`, 'm'));
    const j = JSON.parse((await cadre(['list', '--json'], env)).stdout) as { runId: string; status: string }[];
    expect(j.find((r) => r.runId === runId)?.status).toBe('completed');
  });

  it('logs shows a transcript (the refused request) and a command\'s output', async () => {
    const l = await cadre(['logs', `${runId}/frugal/spender`], env);
    expect(l.code).toBe(0);
    expect(l.stdout).toContain(`transcript of ${runId}/frugal/spender`);
    expect(l.stdout).toMatch(/→ request_budget \{"tokens":30000/);
    expect(l.stdout).toMatch(/← request_budget:\n\s+refused/);
    const c = await cadre(['logs', `${runId}/scaffold`], env);
    expect(c.stdout).toMatch(/command output \(.*\.log\)/);
    expect(c.stdout).toContain('scaffolded NOTES.md');
    const j = JSON.parse((await cadre(['logs', `${runId}/team`, '--json'], env)).stdout) as { transcript: { kind: string }[] };
    expect(j.transcript.filter((r) => r.kind === 'assistant')).toHaveLength(3);
  });

  it('diff shows an agent\'s work against its base, a task by id, and the run\'s integration branch', async () => {
    const a = await cadre(['diff', `${runId}/notes-a`], env);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('+Part 1: written by notes-a');
    expect(a.stdout).not.toContain('+Part 2');
    const stat = await cadre(['diff', `${runId}/team`, '--stat'], env);
    expect(stat.stdout).toMatch(/team\/greeting\.txt\s+\| 1 \+/);
    expect(stat.stdout).toMatch(/team\/CHECKED\.md/);
    const j = JSON.parse((await cadre(['diff', runId, '--json'], env)).stdout) as { files: { path: string }[] };
    expect(j.files.map((f) => f.path).sort()).toEqual(['NOTES.md', 'SUMMARY.md', 'frugal/spent.txt', 'team/CHECKED.md', 'team/PLAN.md', 'team/greeting.txt']);
    const missing = await cadre(['diff', `${runId}/nope`], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no run or agent with id/);
  });
});

describe('following a run: a live view on a terminal, plain lines, NDJSON; exit codes', () => {
  const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('ux-watch'), CADRE_TASK_QUEUE: uniqueId('uxw') };
  workerForSuite(env);

  function plan(name: string, yaml: string): string {
    const file = join(testDir('plans'), `${name}.yaml`);
    writeFileSync(file, yaml);
    return file;
  }

  it('a failing run: the terminal view redraws bars, agents and failures; lines and NDJSON tell the same story; all exit 1', async () => {
    const file = plan(
      'ux-fail',
      `name: ux-fail
maxConcurrency: 2
tasks:
  - { id: slow, phase: main, title: Sleep a little, command: ["sh", "-c", "sleep 4"] }
  - { id: boom, phase: main, title: Fail on purpose, dependsOn: [slow], command: ["sh", "-c", "echo something broke >&2; exit 3"] }
  - { id: after, phase: main, title: Never runs, dependsOn: [boom], command: ["true"] }
  - { id: side, phase: side, title: An independent branch, command: ["sh", "-c", "sleep 6"] }
`,
    );
    const started = await cadre(['run', file, '--repo', makeRepo(), '--detach', '--json'], env);
    expect(started.code).toBe(0);
    const first = JSON.parse(started.stdout.trim()) as { event: string; runId: string; webUi: string };
    expect(first.event).toBe('started');
    const runId = first.runId;

    const [tty, lines, json] = await Promise.all([
      hasScript ? cadreInTty(['watch', runId], env) : Promise.resolve(undefined),
      cadre(['watch', runId, '-v'], env),
      cadre(['watch', runId, '--json'], env),
    ]);

    // Plain lines: no escapes, the failure with its message, the blocked dependent, exit 1.
    expect(lines.code).toBe(1);
    expect(lines.stdout).not.toContain(ESC);
    expect(lines.stdout).toMatch(/\] boom failed: command exited 3: .*something broke/);
    expect(lines.stdout).toMatch(/\] after blocked by boom/);
    expect(lines.stdout).toMatch(new RegExp(`^run ${runId} failed: 2 completed, 0 skipped, 1 failed, 1 blocked, 0 cancelled`, 'm'));
    // -v: structured logs on stderr carry the run, task and agent ids.
    const logs = jsonLines(lines.stderr.split('\n').filter((l) => l.startsWith('{')).join('\n'));
    expect(logs).toContainEqual(expect.objectContaining({ run: runId, task: 'boom', agent: `${runId}/boom`, status: 'failed', msg: 'task failed' }));

    // NDJSON: every line is an event; the last one is the result.
    expect(json.code).toBe(1);
    const events = jsonLines(json.stdout);
    expect(events[0]).toMatchObject({ event: 'run', runId, status: 'running' });
    expect(events).toContainEqual(expect.objectContaining({ event: 'task', task: 'boom', status: 'failed', attempt: 1 }));
    expect(events).toContainEqual(expect.objectContaining({ event: 'task', task: 'after', status: 'blocked', blockedBy: ['boom'] }));
    expect(events).toContainEqual(expect.objectContaining({ event: 'agent', agentId: `${runId}/slow`, status: 'running' }));
    expect(events.filter((e) => e.event === 'progress').length).toBeGreaterThan(1);
    expect(events.at(-1)).toMatchObject({ event: 'result', runId, status: 'failed', counts: expect.objectContaining({ failed: 1, blocked: 1 }) });

    if (!tty) {
      console.warn('util-linux `script` not found: the terminal view was not tested');
      return;
    }
    // The terminal: frames redrawn in place (cursor up, clear), phase bars, agents at work, the failure list.
    expect(tty.code).toBe(1);
    const screen = tty.stdout;
    expect(screen).toContain(`${ESC}0J`);
    expect(screen).toMatch(/\[\d+A\r/);
    expect(screen).toContain('Web UI');
    expect(screen).toMatch(/main\s+\[#*\.*\] \d\/3/);
    expect(screen).toMatch(/side\s+\[#*\.*\] \d\/1/);
    expect(screen).toMatch(/agents at work \(\d\)/);
    expect(screen).toMatch(/run sh -c sleep/);
    expect(screen).toContain('recent failures, blocked tasks, budget');
    expect(screen).toMatch(/after\s+\S*blocked\S*\s+by boom/);
    expect(screen).toMatch(/run \S+ failed: 2 completed/);
  });

  it('a cancelled run: status while it runs shows what the agent does; watch exits 3 with a cancelled result', async () => {
    const file = plan('ux-cancel', `name: ux-cancel\ntasks:\n  - { id: long, title: Sleep for a minute, command: ["sh", "-c", "sleep 60"] }\n`);
    const started = await cadre(['run', file, '--repo', makeRepo(), '--detach'], env);
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/follow it with: cadre watch/);
    const runId = /started run (\S+)/.exec(started.stdout)![1]!;
    const watching = cadre(['watch', runId, '--json'], env);

    let status = '';
    for (let i = 0; i < 60 && !/agents at work \(1\)/.test(status); i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await cadre(['status', runId], env)).stdout;
    }
    expect(status).toMatch(/long\s+running\s+\d+s\s+0 tok\s+\$0\.00\s+run sh -c sleep 60/);

    const cancel = await cadre(['cancel', runId], env);
    expect(cancel.code).toBe(0);
    const w = await watching;
    expect(w.code).toBe(3);
    const events = jsonLines(w.stdout);
    expect(events).toContainEqual(expect.objectContaining({ event: 'task', task: 'long', status: 'cancelled' }));
    expect(events.at(-1)).toMatchObject({ event: 'result', runId, status: 'cancelled' });
  });
});
