import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { retryTaskUpdate, runProgressQuery } from '../../src/shared/messages';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import { commandTask, plan } from '../support/plans';
import { makeRepo, showFile } from '../support/repo';
import { recordHistory } from '../support/histories';
import { testDir, uniqueId, withWorker } from '../support/temporal';
import { runResultOf } from '../../src/client/results';

interface Span {
  id: string;
  start: number;
  end: number;
}

/** Each task appends "start <id> <ns>" and "end <id> <ns>" to one log: the timeline of real work. */
function spans(log: string): Span[] {
  const m = new Map<string, Partial<Span>>();
  for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
    const [kind, id, ns] = line.split(' ');
    const s = m.get(id!) ?? { id };
    s[kind as 'start' | 'end'] = Number(BigInt(ns!) / 1000n) / 1000;
    m.set(id!, s);
  }
  return [...m.values()] as Span[];
}

const timed = (log: string, id: string, seconds = 0.3) => `echo "start ${id} $(date +%s%N)" >> ${log}; sleep ${seconds}; echo "end ${id} $(date +%s%N)" >> ${log}`;

/** The tasks' running intervals as the scheduler recorded them (workflow time: deterministic, no sleeps involved). */
function rowSpans(rows: RunPlanResult['tasks']): Span[] {
  return rows.map((r) => ({ id: r.id, start: r.startedAt!, end: r.endedAt! - 0.001 }));
}

function maxOverlap(ss: Span[]): number {
  const events = ss.flatMap((s) => [{ t: s.start, d: 1 }, { t: s.end, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
  let cur = 0;
  let max = 0;
  for (const e of events) max = Math.max(max, (cur += e.d));
  return max;
}

async function runToEnd(input: Omit<RunPlanInput, 'runId'>, during?: (h: { runId: string }) => Promise<void>) {
  return withWorker({}, async ({ client, taskQueue }) => {
    const runId = uniqueId('run');
    const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ ...input, runId }] });
    if (during) await during({ runId });
    return { result: await runResultOf(handle), handle, client };
  });
}

describe('runPlan scheduler', () => {
  it('50 tasks under a cap of 5: never more than 5 at once, higher priority first, no two tasks on one file at once', async () => {
    const repo = makeRepo();
    const log = join(testDir('timeline'), 'log');
    writeFileSync(log, '');
    const tasks = Array.from({ length: 50 }, (_, i) => {
      const id = `t${String(i).padStart(2, '0')}`;
      const shared = i % 7 === 0; // every 7th task declares the same file
      return commandTask(id, `${timed(log, id, 0.2)}; echo ${id} > ${id}.txt`, {
        priority: 1 + ((i * 37) % 10),
        files: shared ? ['shared/config.json'] : [`${id}.txt`],
      });
    });
    const { result } = await runToEnd({ repo, plan: plan(tasks, { maxConcurrency: 5 }) });
    expect(result.status).toBe('completed');
    expect(result.counts.completed).toBe(50);
    const ss = spans(log);
    expect(ss).toHaveLength(50);
    expect(maxOverlap(ss)).toBeLessThanOrEqual(5);
    // Not vacuous: by the scheduler's own clock the cap was reached (tasks started together in one workflow task).
    expect(maxOverlap(rowSpans(result.tasks))).toBe(5);
    // Tasks declaring shared/config.json never overlap each other.
    const sharedSpans = ss.filter((s) => Number(s.id.slice(1)) % 7 === 0);
    expect(maxOverlap(sharedSpans)).toBe(1);
    // Among tasks that were all ready from the start and not held back by a file, a higher priority never starts later.
    const rows = new Map(result.tasks.map((t) => [t.id, t]));
    const free = tasks.filter((t) => Number(t.id.slice(1)) % 7 !== 0);
    for (const a of free) for (const b of free) {
      if (a.priority > b.priority) expect(rows.get(a.id)!.startedAt!).toBeLessThanOrEqual(rows.get(b.id)!.startedAt!);
    }
    // All work reached the integration branch.
    expect(showFile(repo, result.integrationBranch, 't49.txt')).toBe('t49\n');
  });

  it('a failing task blocks exactly its transitive dependents; retrying it after a fix completes the plan', async () => {
    const repo = makeRepo();
    const fixed = join(testDir('fix'), 'fixed');
    const tasks = [
      commandTask('a', 'echo a > a.txt'),
      commandTask('b', `test -f ${fixed} && echo b > b.txt`, { dependsOn: ['a'] }),
      commandTask('c', 'echo c > c.txt', { dependsOn: ['b'] }),
      commandTask('d', 'echo d > d.txt', { dependsOn: ['c'] }),
      commandTask('e', 'echo e > e.txt', { dependsOn: ['a'] }),
      commandTask('f', 'echo f > f.txt'),
    ];
    const { result } = await runToEnd({ repo, plan: plan(tasks) });
    expect(result.status).toBe('failed');
    const st = Object.fromEntries(result.tasks.map((t) => [t.id, t.status]));
    expect(st).toEqual({ a: 'completed', b: 'failed', c: 'blocked', d: 'blocked', e: 'completed', f: 'completed' });
    expect(result.tasks.find((t) => t.id === 'd')!.blockedBy).toEqual(['b']);
  });

  it('retry after a fix: the failed task and its dependents run again and the plan completes', async () => {
    const repo = makeRepo();
    const fixed = join(testDir('fix'), 'fixed');
    const tasks = [
      commandTask('a', 'echo a > a.txt'),
      commandTask('b', `test -f ${fixed} && echo b > b.txt`, { dependsOn: ['a'] }),
      commandTask('c', 'echo c > c.txt', { dependsOn: ['b'] }),
      // A slow independent task keeps the run open while the operator fixes and retries.
      commandTask('slow', `while [ ! -f ${fixed}.retried ]; do sleep 0.2; done`),
    ];
    const { result } = await withWorker({}, async ({ client, taskQueue }) => {
      const runId = uniqueId('retry');
      const handle = await client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: plan(tasks) }] });
      for (let i = 0; i < 300; i++) {
        const p = await handle.query(runProgressQuery);
        if (p.tasks.find((t) => t.id === 'b')!.status === 'failed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const p = await handle.query(runProgressQuery);
      expect(p.tasks.find((t) => t.id === 'c')!.status).toBe('blocked');
      const refused = await handle.executeUpdate(retryTaskUpdate, { args: ['a'] }).then(() => undefined, (e: Error) => e);
      expect((refused?.cause as Error | undefined)?.message).toMatch(/task "a" is completed; only failed, blocked or cancelled/);
      writeFileSync(fixed, 'yes');
      const msg = await handle.executeUpdate(retryTaskUpdate, { args: ['b'] });
      expect(msg).toMatch(/2 task\(s\) back to pending: b, c/);
      writeFileSync(`${fixed}.retried`, 'yes');
      return { result: await runResultOf(handle) };
    });
    expect(result.status).toBe('completed');
    expect(result.tasks.find((t) => t.id === 'b')!.attempts).toBe(2);
    expect(showFile(repo, result.integrationBranch, 'c.txt')).toBe('c\n');
    expect(existsSync(fixed)).toBe(true);
  });

  it('a task whose declared outputs are missing ends failed with "missing outputs" naming them', async () => {
    const repo = makeRepo();
    const tasks = [commandTask('gen', 'echo x > present.txt', { outputs: ['present.txt', 'dist/bundle.js', 'docs/api.md'] }), commandTask('after', 'true', { dependsOn: ['gen'] })];
    const { result } = await runToEnd({ repo, plan: plan(tasks) });
    const gen = result.tasks.find((t) => t.id === 'gen')!;
    expect(gen.status).toBe('failed');
    expect(gen.error).toBe('missing outputs: dist/bundle.js, docs/api.md');
    expect(result.tasks.find((t) => t.id === 'after')!.status).toBe('blocked');
  });

  it('honours per-phase limits and fail-fast', async () => {
    const repo = makeRepo();
    const log = join(testDir('timeline'), 'log');
    writeFileSync(log, '');
    const tasks = Array.from({ length: 6 }, (_, i) => commandTask(`p${i}`, timed(log, `p${i}`, 0.3), { phase: 'build' }));
    const { result } = await runToEnd({ repo, plan: plan(tasks, { phaseLimits: { build: 2 } }) });
    expect(result.status).toBe('completed');
    expect(maxOverlap(spans(log))).toBeLessThanOrEqual(2);
    expect(maxOverlap(rowSpans(result.tasks))).toBe(2);

    const ff = [commandTask('boom', 'exit 3'), commandTask('later', 'true', { dependsOn: ['boom'] }), commandTask('other', 'sleep 0.5', { priority: 1 })];
    const r2 = await runToEnd({ repo, plan: plan(ff, { failFast: true, maxConcurrency: 1 }) });
    expect(r2.result.status).toBe('cancelled');
    const st = Object.fromEntries(r2.result.tasks.map((t) => [t.id, t.status]));
    expect(st.boom).toBe('failed');
    expect(st.later).toBe('blocked');
    expect(st.other).toBe('cancelled');
  });

  it('skips tasks already done in the source and still unblocks their dependents', async () => {
    const repo = makeRepo();
    const tasks = [commandTask('old', 'exit 1', { done: true }), commandTask('new', 'echo n > n.txt', { dependsOn: ['old'] })];
    const { result } = await runToEnd({ repo, plan: plan(tasks) });
    expect(result.status).toBe('completed');
    expect(Object.fromEntries(result.tasks.map((t) => [t.id, t.status]))).toEqual({ old: 'skipped', new: 'completed' });
  });
});

describe('runPlan with the fileLocks workflow', () => {
  it('two runs on one repository never work on the same declared file at once', async () => {
    const repo = makeRepo();
    const log = join(testDir('timeline'), 'log');
    writeFileSync(log, '');
    const mk = (id: string) => plan([commandTask(id, `${timed(log, id, 1)}; echo ${id} > ${id}.txt`, { files: ['./shared/../shared.txt'] })]);
    const { results, lockHistory } = await withWorker({}, async ({ client, taskQueue }) => {
      const ids = [uniqueId('runa'), uniqueId('runb')];
      const handles = await Promise.all(
        ids.map((runId, i) => client.workflow.start('runPlan', { workflowId: runId, taskQueue, args: [{ runId, repo, plan: mk(i ? 'b' : 'a') }] })),
      );
      const results = await Promise.all(handles.map((h) => runResultOf(h)));
      await recordHistory(handles[0]!, 'runPlan-with-locks');
      let lockId: string | undefined;
      for await (const w of client.workflow.list({ query: `WorkflowType = 'fileLocks'` })) {
        const d = await client.workflow.getHandle(w.workflowId).describe();
        if (d.taskQueue === taskQueue) lockId = w.workflowId;
      }
      const lockHandle = client.workflow.getHandle(lockId!);
      await recordHistory(lockHandle, 'fileLocks-two-holders');
      return { results, lockHistory: await lockHandle.fetchHistory() };
    });
    expect(results.map((r) => r.status)).toEqual(['completed', 'completed']);
    expect(maxOverlap(spans(log))).toBe(1);
    expect(lockHistory.events!.length).toBeGreaterThan(0);
  });
});
