/**
 * Three hosts on one machine (docs/hosts.md): three real `cadre worker` processes with distinct CADRE_HOST, state
 * directories of their own (so each makes its own clone of one bare remote) and at most two agents each, run a
 * 30-task plan of command tasks through the remote. Checked from history: tasks ran on all three hosts, every
 * worktree activity was scheduled on its owner's host queue and started by that host's process, and the remote's
 * integration branch has one merge per task, with every dependent task seeing its dependency's file (its branch
 * was started from the integration branch as the remote had it).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sanitizeRef } from '../../src/activities/paths';
import { hostQueue, placementQueue } from '../../src/shared/hosts';
import { runProgressQuery, type RunProgress } from '../../src/shared/messages';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import { runResultOf } from '../../src/client/results';
import { recordHistory } from '../support/histories';
import { commandTask, plan } from '../support/plans';
import { showFile } from '../support/repo';
import { testClient, testDir, uniqueId } from '../support/temporal';
import { killedAfterEach } from './support/childWorker';
import { countingCommand, readMarks, tally, unfinished } from './support/counts';
import { eventMs, runsOf } from './support/history';
import { activitiesOf, bareRemote, HOSTS, startHosts } from './support/hosts';
import { describeStuck, mergesPerTask, pendingActivities, waitFor, within } from './support/scene';

const TASKS = 30;
/** Activities that touch a worktree or the host's state directory: they must run on the owner's host. */
const WORKTREE_ACTIVITIES = new Set(['commitWorkspace', 'removeWorkspace', 'mergeBranch', 'diffStat', 'runCommandTask', 'runAgentCommand', 'verifyOutputs', 'verifyChecks', 'runVerify', 'modelTurn', 'applyWrites', 'runAgentSession', 'runInlineCommandTask']);

const workers = killedAfterEach();

describe('three hosts on one machine, one bare remote', () => {
  it('places tasks on all three, runs every worktree activity on its owner, and merges each task once on the remote', async () => {
    const client = await testClient();
    const remote = bareRemote();
    const taskQueue = uniqueId('tq-hosts');
    const { started, stateDirs, hostOfIdentity } = await startHosts(taskQueue, (w) => workers.push(w));

    // t1..t6 start at once (6 running, 2 per host: every host is needed); t7.. each needs the file of the task six
    // before it, which reaches its workspace only through the remote's integration branch.
    const tasks = Array.from({ length: TASKS }, (_, i) => {
      const id = `t${i + 1}`;
      const dep = i >= 6 ? `t${i - 5}` : undefined;
      const check = dep ? `test -f out/${dep}.txt && ` : '';
      return commandTask(id, `${check}mkdir -p out && echo ${id} > out/${id}.txt && sleep 1`, { dependsOn: dep ? [dep] : [] });
    });
    const runId = uniqueId('hosts');
    const handle = await client.workflow.start('runPlan', {
      workflowId: runId,
      taskQueue,
      args: [{ runId, repo: remote, plan: plan(tasks, { name: 'hosts', maxConcurrency: 6 }) } satisfies RunPlanInput],
    });
    const result = (await within(handle.result(), 200_000, 'the run completing on three hosts').catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${await describeStuck(client, runId, remote)}\n${started.map((w) => w.output()).join('\n')}`);
    })) as RunPlanResult;
    expect(result.status).toBe('completed');
    expect(result.counts.completed).toBe(TASKS);

    // ---- placement and routing, from history ------------------------------------------------------------------
    const hostOfTask = new Map<string, string>();
    for (const t of tasks) {
      const acts = (await runsOf(client, `${runId}/${t.id}`)).flatMap(activitiesOf);
      const create = acts.find((a) => a.type === 'createWorkspace')!;
      expect(create.queue, `${t.id}: workspace placed through the placement queue`).toBe(placementQueue(taskQueue));
      const host = (create.result as { host?: string }).host!;
      expect(HOSTS, `${t.id}: the host its workspace reported`).toContain(host);
      expect(hostOfIdentity.get(create.identity!), `${t.id}: the workspace was made by the host it names`).toBe(host);
      hostOfTask.set(t.id, host);
      const pinned = acts.filter((a) => WORKTREE_ACTIVITIES.has(a.type));
      expect(pinned.length, `${t.id}: worktree activities after the creation`).toBeGreaterThan(0);
      for (const a of pinned) {
        expect(a.queue, `${t.id}: ${a.type} scheduled on its owner's queue`).toBe(hostQueue(taskQueue, host));
        expect(hostOfIdentity.get(a.identity!), `${t.id}: ${a.type} started by its owner`).toBe(host);
      }
      // The program really ran on that host: its log is in that host's state directory, and in no other.
      for (const [h, dir] of stateDirs) {
        expect(existsSync(join(dir, 'logs', `${sanitizeRef(`${runId}/${t.id}`)}.log`)), `${t.id}: log in ${h}'s state directory`).toBe(h === host);
      }
    }
    expect(new Set(hostOfTask.values()), 'hosts that ran tasks').toEqual(new Set(HOSTS));
    for (const [h, dir] of stateDirs) expect(readdirSync(join(dir, 'clones')), `${h}'s own clone of the remote`).toHaveLength(1);

    const runActs = (await runsOf(client, runId)).flatMap(activitiesOf);
    const integration = runActs.find((a) => a.type === 'ensureIntegrationWorktree')!;
    const integrationHost = (integration.result as { host?: string }).host!;
    expect(hostOfIdentity.get(integration.identity!)).toBe(integrationHost);
    const merges = runActs.filter((a) => a.type === 'mergeBranch' || a.type === 'removeWorkspace');
    expect(merges.filter((a) => a.type === 'mergeBranch')).toHaveLength(TASKS);
    for (const a of merges) {
      expect(a.queue, `${a.type} of the run on the integration host's queue`).toBe(hostQueue(taskQueue, integrationHost));
      expect(hostOfIdentity.get(a.identity!), `${a.type} of the run started by the integration host`).toBe(integrationHost);
    }

    // ---- the remote: one merge per task on the integration branch, every task's file there ---------------------
    const perTask = mergesPerTask(remote, result.integrationBranch);
    for (const t of tasks) {
      expect(perTask.get(t.id), `merges of ${t.id} on the remote`).toBe(1);
      expect(showFile(remote, result.integrationBranch, `out/${t.id}.txt`), `out/${t.id}.txt on the remote`).toBe(`${t.id}\n`);
    }
    console.log(`[three hosts] tasks per host: ${HOSTS.map((h) => `${h} ${[...hostOfTask.values()].filter((x) => x === h).length}`).join(', ')}; integration on ${integrationHost}`);
  }, 300_000);

  it('loses a host (kill -9, state directory deleted) mid-run: the run completes on the other two, its in-flight tasks move once', async () => {
    const client = await testClient();
    const remote = bareRemote();
    const taskQueue = uniqueId('tq-lost');
    const { started, stateDirs, hostOfIdentity } = await startHosts(taskQueue, (w) => workers.push(w));
    const counts = join(testDir('lost-counts'), 'counts');
    // Long enough (3 s) that every host has tasks running whenever one is killed; t7.. need the task six before.
    const tasks = Array.from({ length: TASKS }, (_, i) => {
      const id = `t${i + 1}`;
      const dep = i >= 6 ? `t${i - 5}` : undefined;
      const check = dep ? `test -f out/${dep}.txt && ` : '';
      return commandTask(id, `${check}mkdir -p out && cd out && ${countingCommand(counts, id, 3)}`, { dependsOn: dep ? [dep] : [] });
    });
    const runId = uniqueId('lost');
    const handle = await client.workflow.start('runPlan', {
      workflowId: runId,
      taskQueue,
      args: [{ runId, repo: remote, plan: plan(tasks, { name: 'lost', maxConcurrency: 6 }) } satisfies RunPlanInput],
    });

    // The victim: not the integration host, with a task's program running on it right now, a few tasks done.
    const integrationHost = await waitFor('the integration worktree', async () => {
      const made = (await runsOf(client, runId)).flatMap(activitiesOf).find((a) => a.type === 'ensureIntegrationWorktree' && a.result);
      return (made?.result as { host?: string } | undefined)?.host;
    }, 60_000);
    const atKill = await waitFor('a non-integration host running a task, six tasks done', async () => {
      const p: RunProgress = await handle.query(runProgressQuery);
      if (p.counts.completed < 6) return undefined;
      const running = p.tasks.filter((t) => t.status === 'running' && t.agentId).map((t) => t.agentId!);
      const pending = await pendingActivities(client, running);
      const busy = pending.filter((a) => a.state === 2 && a.type === 'runCommandTask' && a.identity && hostOfIdentity.get(a.identity) !== integrationHost);
      return busy.length ? { victim: hostOfIdentity.get(busy[0]!.identity!)!, onVictim: busy.filter((a) => a.identity === busy[0]!.identity).map((a) => a.workflowId) } : undefined;
    }, 120_000, 100);
    const victim = started[HOSTS.indexOf(atKill.victim)]!;
    const killedAt = await victim.kill();
    rmSync(stateDirs.get(atKill.victim)!, { recursive: true, force: true });
    const marksAtKill = readMarks(counts);

    const result = (await within(handle.result(), 240_000, 'the run completing on the two hosts left').catch(async (err: unknown) => {
      const logs = started.map((w, i) => `--- ${HOSTS[i]} worker output (last 3000 chars):\n${w.output().slice(-3000)}`).join('\n');
      throw new Error(`${String(err)}\n${await describeStuck(client, runId, remote)}\n${logs}`);
    })) as RunPlanResult;
    expect(result.status).toBe('completed');
    expect(result.counts.completed).toBe(TASKS);
    expect(result.tasks.every((t) => t.attempts === 1), 'no task needed a second attempt').toBe(true);

    // ---- per id: what was done before the kill never ran again; what ran on the lost host moved and ran once more
    const runEvents = (await runsOf(client, runId)).flatMap((r) => r.events);
    const doneBeforeKill = new Set(
      runEvents
        .filter((e) => e.childWorkflowExecutionCompletedEventAttributes && eventMs(e) < killedAt)
        .map((e) => e.childWorkflowExecutionCompletedEventAttributes!.workflowExecution!.workflowId!.slice(runId.length + 1)),
    );
    const starts = tally(readMarks(counts), 'start');
    const moved: string[] = [];
    for (const t of tasks) {
      const agentId = `${runId}/${t.id}`;
      expect(starts.get(t.id), `${t.id} ran`).toBeGreaterThanOrEqual(1);
      if (doneBeforeKill.has(t.id)) expect(starts.get(t.id), `${t.id} completed before the kill and ran again`).toBe(1);
      const acts = (await runsOf(client, agentId)).flatMap(activitiesOf);
      const creations = acts.filter((a) => a.type === 'createWorkspace' && a.result).map((a) => a.result as { host: string; baseCommit: string; branch: string });
      if (creations[0]!.host === atKill.victim && !doneBeforeKill.has(t.id)) {
        // Its workspace was made again on a host still alive, from its branch as the remote had it (same base).
        expect(creations, `${t.id}: workspaces made`).toHaveLength(2);
        expect(creations[1]!.host, `${t.id} moved to a live host`).not.toBe(atKill.victim);
        expect(creations[1]!.baseCommit, `${t.id} continued from its pushed branch`).toBe(creations[0]!.baseCommit);
        expect(starts.get(t.id), `${t.id}: its program ran at most once more, on the new host`).toBeLessThanOrEqual(2);
        moved.push(t.id);
      } else {
        expect(creations.length, `${t.id} workspace made once`).toBe(1);
        if (!unfinished(marksAtKill).includes(t.id)) expect(starts.get(t.id), `${t.id} ran once`).toBe(1);
      }
      // Nothing of it ran on the lost host after the kill.
      for (const a of acts) if (a.startedAt && a.startedAt > killedAt) expect(hostOfIdentity.get(a.identity!), `${t.id}: ${a.type} after the kill`).not.toBe(atKill.victim);
    }
    // The task whose program was running on the lost host at the kill is among them, and ran again once.
    for (const agentId of atKill.onVictim) {
      const id = agentId.slice(runId.length + 1);
      expect(moved, 'tasks moved off the lost host').toContain(id);
      expect(starts.get(id), `${id}: killed mid-program, ran again once`).toBe(2);
    }

    // ---- the remote: one merge per task, every task's file
    const perTask = mergesPerTask(remote, result.integrationBranch);
    for (const t of tasks) {
      expect(perTask.get(t.id), `merges of ${t.id} on the remote`).toBe(1);
      expect(showFile(remote, result.integrationBranch, `out/${t.id}.txt`), `out/${t.id}.txt on the remote`).toBe(`${t.id}\n`);
    }
    console.log(`[host lost] killed ${atKill.victim} (integration on ${integrationHost}); moved: ${moved.join(', ')}; done before the kill: ${doneBeforeKill.size}`);
  }, 400_000);
  it('loses the integration host with inline command tasks running on it: the worktree moves and they run again there', async () => {
    const client = await testClient();
    const remote = bareRemote();
    const taskQueue = uniqueId('tq-inline-lost');
    const { started, stateDirs, hostOfIdentity } = await startHosts(taskQueue, (w) => workers.push(w));
    const counts = join(testDir('inline-lost-counts'), 'counts');
    const INLINE = 8;
    const tasks = Array.from({ length: INLINE }, (_, i) => commandTask(`t${i + 1}`, `mkdir -p out && cd out && ${countingCommand(counts, `t${i + 1}`, 3)}`));
    const runId = uniqueId('inline-lost');
    const handle = await client.workflow.start('runPlan', {
      workflowId: runId,
      taskQueue,
      args: [{ runId, repo: remote, plan: plan(tasks, { name: 'inline-lost', maxConcurrency: 3, inlineCommands: true }) } satisfies RunPlanInput],
    });
    // Inline tasks run on the integration host: kill it while one of them is in its program, two tasks done.
    const victimHost = await waitFor('an inline task running on the integration host, two tasks done', async () => {
      const made = (await runsOf(client, runId)).flatMap(activitiesOf).find((a) => a.type === 'ensureIntegrationWorktree' && a.result);
      const host = (made?.result as { host?: string } | undefined)?.host;
      const p: RunProgress = await handle.query(runProgressQuery);
      // Every inline program runs on the integration host: one that has started and not ended runs there now.
      return host && p.counts.completed >= 2 && unfinished(readMarks(counts)).length > 0 ? host : undefined;
    }, 120_000, 100);
    const killedAt = await started[HOSTS.indexOf(victimHost)]!.kill();
    rmSync(stateDirs.get(victimHost)!, { recursive: true, force: true });
    const inProgram = unfinished(readMarks(counts));
    expect(inProgram.length, 'inline tasks in their program at the kill').toBeGreaterThan(0);

    const result = (await within(handle.result(), 240_000, 'the run completing after its integration host was lost').catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${await describeStuck(client, runId, remote)}`);
    })) as RunPlanResult;
    expect(result.status, JSON.stringify(result.tasks.map((t) => [t.id, t.status, t.error]))).toBe('completed');
    expect(result.counts.completed).toBe(INLINE);
    expect(result.tasks.every((t) => t.attempts === 1), 'no task needed a second attempt').toBe(true);

    // The integration worktree was made again on a host still alive, and the inline tasks after the kill ran there.
    const runActs = (await runsOf(client, runId)).flatMap(activitiesOf);
    const hosts = runActs.filter((a) => a.type === 'ensureIntegrationWorktree' && a.result).map((a) => (a.result as { host: string }).host);
    expect(hosts, 'integration worktrees made').toHaveLength(2);
    expect(hosts[0]).toBe(victimHost);
    const newHost = hosts[1]!;
    expect(newHost).not.toBe(victimHost);
    const after = runActs.filter((a) => a.type === 'runInlineCommandTask' && a.startedAt && a.startedAt > killedAt);
    expect(after.length, 'inline tasks run after the kill').toBeGreaterThan(0);
    for (const a of after) {
      expect(a.queue, 'an inline task after the kill, on the new integration host\'s queue').toBe(hostQueue(taskQueue, newHost));
      expect(hostOfIdentity.get(a.identity!)).toBe(newHost);
    }
    // The tasks killed in their program ran it once more; the others at most once more (one killed after its program,
    // before its activity reported, runs again too).
    const starts = tally(readMarks(counts), 'start');
    for (const t of tasks) {
      if (inProgram.includes(t.id)) expect(starts.get(t.id), `${t.id}: killed in its program, runs of it`).toBe(2);
      else expect(starts.get(t.id), `${t.id}: runs of its program`).toBeLessThanOrEqual(2);
    }
    const perTask = mergesPerTask(remote, result.integrationBranch);
    for (const t of tasks) {
      expect(perTask.get(t.id), `merges of ${t.id} on the remote`).toBe(1);
      expect(showFile(remote, result.integrationBranch, `out/${t.id}.txt`), `out/${t.id}.txt on the remote`).toBe(`${t.id}\n`);
    }
    await recordHistory(handle, 'runPlan-inline-integration-moved');
    console.log(`[integration host lost] killed ${victimHost}; moved to ${newHost}; killed in their program: ${inProgram.join(', ')}`);
  }, 400_000);
  it('loses the integration host while a conflict is resolved there: the task fails as unresolved, the run ends', async () => {
    const client = await testClient();
    const remote = bareRemote();
    const taskQueue = uniqueId('tq-resolve-lost');
    const { started, stateDirs } = await startHosts(taskQueue, (w) => workers.push(w));
    const dir = testDir('resolve-lost');
    const resolving = join(dir, 'resolving');
    const runId = uniqueId('resolve-lost');
    const leftMerged = `until git --git-dir=${remote} show cadre/${runId}/integration:shared.txt 2>/dev/null | grep -q left; do sleep 0.1; done`;
    // The resolver says it runs, then waits (two minutes): it is killed with its host.
    const tasks = [
      commandTask('left', 'echo left > shared.txt'),
      commandTask('right', `${leftMerged}; echo right > shared.txt`, {
        resolve: { backend: 'command', command: ['sh', '-c', `grep -q '^<<<<<<<' shared.txt && touch ${resolving} && sleep 120`] },
      }),
    ];
    const handle = await client.workflow.start('runPlan', {
      workflowId: runId, taskQueue, args: [{ runId, repo: remote, plan: plan(tasks, { name: 'resolve-lost' }) } satisfies RunPlanInput],
    });
    await waitFor('the resolver running', async () => (existsSync(resolving) ? true : undefined), 120_000, 100);
    const made = (await runsOf(client, runId)).flatMap(activitiesOf).find((a) => a.type === 'ensureIntegrationWorktree' && a.result)!;
    const integrationHost = (made.result as { host: string }).host;
    await started[HOSTS.indexOf(integrationHost)]!.kill();
    rmSync(stateDirs.get(integrationHost)!, { recursive: true, force: true });

    const result = (await within(runResultOf(handle), 240_000, 'the run ending after its integration host was lost mid-resolution').catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${await describeStuck(client, runId, remote)}`);
    })) as RunPlanResult;
    const row = (id: string) => result.tasks.find((t) => t.id === id)!;
    expect(row('left').status).toBe('completed');
    expect(row('right').status).toBe('failed');
    expect(row('right').error).toMatch(/^merge conflict in shared\.txt \(resolver: /);
    expect(row('right').error).toContain(`the integration host ${integrationHost} was lost while the conflict was resolved`);
    // The integration branch never took an unchecked merge: left only, on the remote.
    expect(showFile(remote, result.integrationBranch, 'shared.txt')).toBe('left\n');
    expect(mergesPerTask(remote, result.integrationBranch)).toEqual(new Map([['left', 1]]));
    console.log(`[integration host lost mid-resolution] killed ${integrationHost}; right: ${row('right').error}`);
  }, 400_000);
});
