/**
 * An inline command task's port block (plan option `inlineCommands`): leased by the task's own activity through the
 * lock manager's try-acquire Update, renewed while the program runs, given back when it ends — and nothing of it in
 * the scheduler's history. With every block taken the task fails at once, naming the cause.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runResultOf } from '../../src/client/results';
import { lockWorkflowId, locksQuery } from '../../src/shared/locks';
import { portLockKey } from '../../src/shared/ports';
import { plan, task } from '../support/plans';
import { portsFor, untilNoHolders } from '../support/ports';
import { makeRepo } from '../support/repo';
import { testDir, uniqueId, withWorker } from '../support/temporal';

/** Writes its port variables and start time to `<file>`, then runs for `<ms>` ms (or until `<file>.go` exists, when ms is 0). */
const DUMP_AND_WAIT = `
const fs = require('node:fs'); const [file, ms] = [process.argv[1], Number(process.argv[2])];
fs.writeFileSync(file, JSON.stringify({ PORT: process.env.PORT, CADRE_PORT_RANGE: process.env.CADRE_PORT_RANGE, at: Date.now() }));
if (ms > 0) setTimeout(() => process.exit(0), ms);
else { const t = setInterval(() => { if (fs.existsSync(file + '.go')) { clearInterval(t); process.exit(0); } }, 50); }`;

const PORT_ACTIVITIES = ['portPlan', 'requestPortLocks', 'boundPorts', 'releaseLocks'];

describe('inline command tasks lease their own port block', () => {
  it('holds the block in the activity past several leases, renewed, then gives it back; the scheduler history has no port steps', async () => {
    const repo = makeRepo();
    const dir = testDir('inline-ports');
    const host = uniqueId('host');
    const ports = portsFor(2);
    const out = join(dir, 'a.json');
    const { result, stats, activities } = await withWorker({ deps: { ports, portHost: host, portLeaseMs: 1500 } }, async ({ client, taskQueue }) => {
      const runId = uniqueId('inline-ports');
      // 5 s of program against a 1.5 s lease: without renewal the lease would expire at least twice.
      const t = task('a', { backend: 'command', command: ['node', '-e', DUMP_AND_WAIT, out, '5000'], timeoutSeconds: 120 });
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan([t], { inlineCommands: true }) }] });
      const result = await runResultOf(handle);
      await untilNoHolders(client, host, taskQueue);
      const view = await client.workflow.getHandle(lockWorkflowId(portLockKey(host, taskQueue))).query(locksQuery);
      const events = (await handle.fetchHistory()).events ?? [];
      const activities = events.flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));
      return { result, stats: view.stats, activities };
    });
    expect(result.tasks.map((t) => [t.id, t.status, t.error])).toEqual([['a', 'completed', undefined]]);
    const seen = JSON.parse(readFileSync(out, 'utf8')) as { PORT: string; CADRE_PORT_RANGE: string };
    expect([String(ports.base), String(ports.base + 10)]).toContain(seen.PORT);
    expect(seen.CADRE_PORT_RANGE).toBe(`${seen.PORT}-${Number(seen.PORT) + 9}`);
    expect(stats).toEqual({ granted: 1, released: 1, expired: 0, refused: 0 });
    expect(activities).toContain('runInlineCommandTask');
    expect(activities.filter((a) => PORT_ACTIVITIES.includes(a))).toEqual([]);
  });

  it('100 inline tasks at once, more than the Updates the server takes per workflow (10): all complete, no port held twice at a time', async () => {
    const repo = makeRepo();
    const dir = testDir('inline-many');
    const host = uniqueId('host');
    const ports = portsFor(110);
    const ids = Array.from({ length: 100 }, (_v, i) => `t${String(i).padStart(2, '0')}`);
    const { result, stats } = await withWorker({ deps: { ports, portHost: host } }, async ({ client, taskQueue }) => {
      const runId = uniqueId('inline-many');
      const tasks = ids.map((id) => task(id, { backend: 'command', command: ['node', '-e', DUMP_AND_WAIT, join(dir, `${id}.json`), '1500'], timeoutSeconds: 120 }));
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, maxConcurrency: 100, plan: plan(tasks, { inlineCommands: true }) }] });
      const result = await runResultOf(handle);
      await untilNoHolders(client, host, taskQueue);
      const view = await client.workflow.getHandle(lockWorkflowId(portLockKey(host, taskQueue))).query(locksQuery);
      return { result, stats: view.stats };
    });
    expect(result.tasks.filter((t) => t.status !== 'completed').map((t) => [t.id, t.status, t.error])).toEqual([]);
    // No two programs held one port at the same time: a block is leased again only after its program (1.5 s) ended.
    // (Without the retry of a shed Update tasks fail: "Workflow Update failed", heartbeat timeouts.)
    const seen = ids.map((id) => JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8')) as { PORT: string; at: number });
    const clashes = seen.flatMap((x, i) => seen.slice(i + 1).filter((y) => y.PORT === x.PORT && Math.abs(y.at - x.at) < 1490).map((y) => [x, y]));
    expect(clashes).toEqual([]);
    expect(stats.granted).toBe(ids.length);
    expect(stats.expired).toBe(0);
  });

  it('with every block taken an inline task fails at once naming the host; the other task is unharmed', async () => {
    const repo = makeRepo();
    const dir = testDir('inline-exhausted');
    const host = uniqueId('host');
    const ports = portsFor(1);
    const holderOut = join(dir, 'holder.json');
    const result = await withWorker({ deps: { ports, portHost: host } }, async ({ client, taskQueue }) => {
      const runId = uniqueId('inline-exhausted');
      // `holder` takes the only block and waits for `go`; `late` starts once holder is up (it depends on nothing,
      // but its command waits for holder's file first, so its lease is asked while the block is taken).
      const holder = task('holder', { backend: 'command', command: ['node', '-e', DUMP_AND_WAIT, holderOut, '0'], timeoutSeconds: 120 });
      const late = task('late', { backend: 'command', command: ['node', '-e', 'process.exit(0)'], timeoutSeconds: 60 });
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan([holder], { inlineCommands: true }) }] });
      for (let i = 0; i < 600 && !existsSync(holderOut); i++) await new Promise((r) => setTimeout(r, 100));
      const lateRun = uniqueId('inline-late');
      const lateResult = await runResultOf(await client.workflow.start('runPlan', { workflowId: lateRun, taskQueue, args: [{ runId: lateRun, repo, plan: plan([late], { inlineCommands: true }) }] }));
      writeFileSync(`${holderOut}.go`, '');
      const holderResult = await runResultOf(handle);
      await untilNoHolders(client, host, taskQueue);
      return { lateResult, holderResult };
    });
    expect(result.holderResult.tasks.map((t) => [t.id, t.status])).toEqual([['holder', 'completed']]);
    const refused = result.lateResult.tasks[0]!;
    expect(refused.status).toBe('failed');
    expect(refused.error).toContain(`no free port block on ${host}: all 1 blocks of 10 ports`);
    expect(refused.error).toContain('CADRE_PORT_BLOCKS');
  });
});
