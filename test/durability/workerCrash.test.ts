/**
 * Worker crash: the real `cadre worker` runs a plan in a child process and is killed with SIGKILL while agents are
 * mid-turn (a model reply is streaming from the stub) and commands are running; a new worker process takes over and
 * the run completes. Counted per id afterwards: no completed task and no stored model turn ran again, in-flight
 * work ran at most once more, one commit per agent, one merge per task, one lock grant per task, no worktree left
 * or doubled, and the run's token total equals the usage of the distinct turns. Printed: kill → first activity completed on the new worker.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoKey } from '../../src/activities/paths';
import { locksQuery, lockWorkflowId } from '../../src/shared/locks';
import { runProgressQuery, type RunProgress } from '../../src/shared/messages';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import { commandTask, plan, task } from '../support/plans';
import { branches, makeRepo } from '../support/repo';
import { testAddress, testClient, testDir, uniqueId } from '../support/temporal';
import { killedAfterEach, startChildWorker } from './support/childWorker';
import { countingCommand, readMarks, tally, unfinished } from './support/counts';
import { activityAttempts, eventMs, runsOf } from './support/history';
import { agentTag, startKeyedStub, type KeyedReply } from './support/keyedStub';
import { agentCommits, describeStuck, gitActivities, mergesPerTask, pendingActivities, storedReplies, waitFor, within, worktreeDirs, worktrees } from './support/scene';

const TURNS = 8;
const modelTags = ['m1', 'm2', 'm3', 'm4'];
const usageOf = (tag: string, turn: number) => ({ input_tokens: 1000 + 10 * turn + Number(tag.slice(1)), output_tokens: 40 + turn });

/** Turn k < TURNS writes `<tag>/turn-k.txt`; turn TURNS finishes. */
function reply(tag: string, turn: number): KeyedReply {
  if (turn >= TURNS) return { content: [{ type: 'tool_use', name: 'finish', input: { summary: `${tag} done` } }], usage: usageOf(tag, turn) };
  return {
    content: [{ type: 'text', text: `turn ${turn}` }, { type: 'tool_use', name: 'write_file', input: { path: `${tag}/turn-${turn}.txt`, content: `${tag} ${turn}\n` } }],
    usage: usageOf(tag, turn),
  };
}

const workers = killedAfterEach();

describe('a worker killed with SIGKILL in the middle of a plan run', () => {
  it('is replaced by a new worker process; the run completes with nothing done twice that was already done', async () => {
    const stub = await startKeyedStub(reply, { delayMs: 1500 });
    try {
      const client = await testClient();
      const repo = makeRepo();
      const stateDir = testDir('crash-state');
      const counts = join(testDir('crash-counts'), 'counts');
      const taskQueue = uniqueId('tq-crash');
      const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_TASK_QUEUE: taskQueue, CADRE_STATE_DIR: stateDir, CADRE_ANTHROPIC_BASE_URL: stub.url, ANTHROPIC_API_KEY: 'sk-ant-test-crash-0000' };

      // c1, c2 are quick (done before the kill), c3, c4 slow (running at the kill), c5-c8 wait for a model agent each
      // (they start after the kill).
      const seconds = [1, 1, 5, 5, 2, 2, 2, 2];
      const commands = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'].map((id, i) =>
        commandTask(id, countingCommand(counts, id, seconds[i]!), { dependsOn: i >= 4 ? [`m${i - 3}`] : [], files: [`${id}.txt`] }),
      );
      const models = modelTags.map((tag) =>
        task(tag, { backend: 'anthropic', model: 'claude-sonnet-4-5', prompt: `${agentTag(tag)} write one file per turn`, maxTurns: 20, files: [`${tag}/turn-1.txt`] }),
      );
      const last = commandTask('final', countingCommand(counts, 'final', 1), { dependsOn: [...commands, ...models].map((t) => t.id), files: ['final.txt'] });
      const tasks = [...models, ...commands, last];
      const runId = uniqueId('crash');
      const agentIds = tasks.map((t) => `${runId}/${t.id}`);

      const w1 = await startChildWorker(env);
      workers.push(w1);
      const handle = await client.workflow.start('runPlan', {
        workflowId: runId,
        taskQueue,
        args: [{ runId, repo, plan: plan(tasks, { name: 'crash', maxConcurrency: 6 }) } satisfies RunPlanInput],
      });

      // The moment to kill: c1 and c2 done, the slow c3 and c4 just started, every model agent in the middle of a turn
      // (not its last), file locks held. Nothing can start or end in the next seconds, so no git operation is in
      // flight (that case has its own test: a git operation has no heartbeat and stalls for minutes).
      const locks = client.workflow.getHandle(lockWorkflowId(repoKey(repo)));
      const atKill = await waitFor(
        'c1, c2 done; c3, c4 running; every model agent mid-turn; locks held; no git operation in flight',
        async () => {
          const p: RunProgress = await handle.query(runProgressQuery);
          if (p.counts.completed < 2) return undefined;
          const marks = readMarks(counts).filter((m) => m.kind === 'start' && ['c3', 'c4'].includes(m.id));
          if (marks.length < 2 || marks.some((m) => Date.now() - m.at > 2500)) return undefined;
          const streaming = stub.inFlight();
          if (streaming.length === 0 || streaming.some((r) => r.turn >= TURNS - 1)) return undefined;
          const pending = await pendingActivities(client, [runId, ...p.tasks.filter((t) => t.status === 'running').map((t) => t.agentId!)]);
          const startedIn = (type: string, id: string) => pending.some((a) => a.state === 2 && a.type === type && a.workflowId === `${runId}/${id}`);
          if (!['c3', 'c4'].every((id) => startedIn('runCommandTask', id)) || !modelTags.every((tag) => startedIn('modelTurn', tag))) return undefined;
          if (pending.some((a) => gitActivities.has(a.type))) return undefined;
          const held = await locks.query(locksQuery).then((v) => v.holders.length, () => 0);
          return held > 0 ? { progress: p, pending, held } : undefined;
        },
        90_000,
        50,
      ).catch(async (err: unknown) => {
        throw new Error(`${String(err)}\n${await describeStuck(client, runId, repo)}\nstub in flight: ${JSON.stringify(stub.inFlight())}\ncounts: ${JSON.stringify(readMarks(counts))}`);
      });
      const killedAt = await w1.kill();

      // What was durable at the moment of the kill.
      const marksAtKill = readMarks(counts);
      const repliesAtKill = new Map(modelTags.map((tag) => [tag, storedReplies(stateDir, `${runId}/${tag}`)]));
      const requestsAtKill = stub.requests.length;
      const inFlightAtKill = stub.inFlight().map((r) => `${r.tag}#${r.turn}`);

      const w2 = await startChildWorker(env);
      workers.push(w2);
      const result = (await within(handle.result(), 100_000, 'the run completing on the new worker').catch(async (err: unknown) => {
        throw new Error(`${String(err)}\n${await describeStuck(client, runId, repo)}`);
      })) as RunPlanResult;

      // ---- the run ---------------------------------------------------------------------------------------------
      expect(result.status).toBe('completed');
      expect(result.counts.completed).toBe(tasks.length);
      expect(result.tasks.every((t) => t.attempts === 1)).toBe(true);

      // ---- tasks: completed ones never again, in-flight ones at most once more --------------------------------
      const runEvents = (await runsOf(client, runId)).flatMap((r) => r.events);
      const doneBeforeKill = new Set(
        runEvents
          .filter((e) => e.childWorkflowExecutionCompletedEventAttributes && eventMs(e) < killedAt)
          .map((e) => e.childWorkflowExecutionCompletedEventAttributes!.workflowExecution!.workflowId!.slice(runId.length + 1)),
      );
      const marks = readMarks(counts);
      const starts = tally(marks, 'start');
      const commandIds = [...commands, last].map((t) => t.id);
      for (const id of commandIds) {
        expect(starts.get(id), `command of ${id} started`).toBeGreaterThanOrEqual(1);
        expect(starts.get(id), `command of ${id} started at most twice`).toBeLessThanOrEqual(2);
        if (doneBeforeKill.has(id)) expect(starts.get(id), `${id} completed before the kill and ran again`).toBe(1);
      }
      const rerunCommands = commandIds.filter((id) => (starts.get(id) ?? 0) > 1);
      for (const id of rerunCommands) expect(unfinished(marksAtKill), `${id} ran twice but was not running at the kill`).toContain(id);

      // ---- model turns: a stored reply is never asked for again; the in-flight one at most once more ----------
      const perTurn = stub.counts();
      for (const tag of modelTags) {
        for (let turn = 1; turn <= TURNS; turn++) {
          const key = `${tag}#${turn}`;
          expect(perTurn.get(key), `requests for ${key}`).toBeGreaterThanOrEqual(1);
          expect(perTurn.get(key), `requests for ${key}`).toBeLessThanOrEqual(2);
          if (repliesAtKill.get(tag)!.has(turn)) expect(perTurn.get(key), `${key} was stored before the kill and requested again`).toBe(1);
        }
        expect(perTurn.get(`${tag}#${TURNS + 1}`), `${tag} asked for a turn past finish`).toBeUndefined();
      }
      const repeatedTurns = [...perTurn].filter(([, n]) => n > 1).map(([k]) => k);
      for (const key of repeatedTurns) {
        const [tag, turn] = key.split('#');
        expect(repliesAtKill.get(tag!)!.has(Number(turn)), `${key} repeated although stored`).toBe(false);
      }

      // ---- budget: the run's tokens are the usage of the distinct turns, each counted once --------------------
      const expectedTokens = modelTags.reduce((s, tag) => s + Array.from({ length: TURNS }, (_, i) => usageOf(tag, i + 1)).reduce((a, u) => a + u.input_tokens + u.output_tokens, 0), 0);
      expect(result.tokens).toBe(expectedTokens);
      for (const tag of modelTags) {
        const row = result.tasks.find((t) => t.id === tag)!;
        const own = Array.from({ length: TURNS }, (_, i) => usageOf(tag, i + 1)).reduce((a, u) => a + u.input_tokens + u.output_tokens, 0);
        expect(row.tokens, `tokens of ${tag}`).toBe(own);
      }

      // ---- git: one commit per agent, one merge per task, one branch per agent, no worktree left --------------
      const merges = mergesPerTask(repo, result.integrationBranch);
      for (const t of tasks) expect(merges.get(t.id), `merges of ${t.id}`).toBe(1);
      for (const id of agentIds) expect(agentCommits(repo, id), `commits of ${id}`).toBe(1);
      const agentBranches = branches(repo).filter((b) => b.startsWith(`cadre/${runId}.`));
      expect(agentBranches.sort()).toEqual(agentIds.map((id) => `cadre/${id.replace(/\//g, '.')}`).sort());
      // The main checkout and the run's integration worktree (kept after the run, see docs/durability.md).
      // The integration worktree is removed at the end of the run too: only the main checkout remains.
    expect(worktrees(repo)).toHaveLength(1);
      expect(worktreeDirs(stateDir)).toEqual([]);

      // ---- locks: one grant per task (a retried request is not granted twice), all released, none expired ------
      const lockView = await locks.query(locksQuery);
      expect(lockView.holders).toEqual([]);
      expect(lockView.waiters).toEqual([]);
      expect(lockView.stats).toMatchObject({ granted: tasks.length, released: tasks.length, expired: 0 });

      // ---- how fast the dead worker was replaced --------------------------------------------------------------
      const attempts = activityAttempts((await Promise.all([runId, ...agentIds].map((id) => runsOf(client, id)))).flat());
      const onNew = attempts.filter((a) => a.identity === w2.identity && a.outcome === 'completed').sort((a, b) => a.closedAt! - b.closedAt!);
      const retried = attempts.filter((a) => (a.attempt ?? 1) > 1);
      expect(onNew.length).toBeGreaterThan(0);
      const firstOnNew = (onNew[0]!.closedAt! - killedAt) / 1000;
      const inFlight = atKill.pending.filter((a) => a.state === 2).map((a) => `${a.type} (${a.workflowId.slice(runId.length + 1) || 'run'})`);
      console.log(
        [
          `[worker crash] killed ${w1.identity} with ${atKill.held} lock grants held and ${inFlight.length} activities in flight: ${inFlight.join(', ')}`,
          `  model requests in flight at the kill: ${inFlightAtKill.join(', ') || 'none'}; stub requests before/after: ${requestsAtKill}/${stub.requests.length}`,
          `  new worker polling ${((w2.readyAt - killedAt) / 1000).toFixed(1)} s after the kill`,
          `  kill → first activity completed on the new worker: ${firstOnNew.toFixed(1)} s (${onNew[0]!.activityType})`,
          `  kill → retried commands started again: ${marks.filter((m) => m.kind === 'start' && m.at > killedAt && rerunCommands.includes(m.id)).map((m) => `${m.id} ${((m.at - killedAt) / 1000).toFixed(1)} s`).join(', ') || '-'}`,
          ...retried.map((a) => `  retried: ${a.activityType} of ${a.workflowId.slice(runId.length + 1) || 'run'}, attempt ${a.attempt}, completed ${((a.closedAt! - killedAt) / 1000).toFixed(1)} s after the kill`),
          `  commands re-run: ${rerunCommands.join(', ') || 'none'}; model turns re-requested: ${repeatedTurns.join(', ') || 'none'}`,
          `  tasks completed before the kill: ${[...doneBeforeKill].join(', ')}`,
        ].join('\n'),
      );
      // "In seconds, not minutes": the in-flight work is retried within a minute of the kill.
      for (const a of retried) expect(a.closedAt! - killedAt, `${a.activityType} retried late`).toBeLessThan(60_000);
    } finally {
      await stub.close();
    }
  }, 240_000);
});
