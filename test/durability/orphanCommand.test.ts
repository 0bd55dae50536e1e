/**
 * A command-backend agent whose worker is killed with SIGKILL while its program runs. The activity is retried on a
 * new worker and runs the program again; the first copy must not still be running in the same worktree by then
 * (two copies of a build or a code generator writing one worktree at once corrupt it). The new worker, on the same
 * host, notices that the old one's process is gone and has the attempt retried at once.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultLimits, type AgentInput, type AgentResult } from '../../src/shared/agent';
import { makeRepo } from '../support/repo';
import { testAddress, testClient, testDir, uniqueId } from '../support/temporal';
import { killedAfterEach, startChildWorker } from './support/childWorker';
import { readMarks } from './support/counts';
import { activityAttempts, eventTypeName, runsOf } from './support/history';
import { waitFor, within } from './support/scene';

const workers = killedAfterEach();

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("a command whose worker is killed", () => {
  it('does not keep running next to its retry', async () => {
    const client = await testClient();
    const repo = makeRepo();
    const stateDir = testDir('orphan-state');
    const log = join(testDir('orphan-log'), 'marks');
    const taskQueue = uniqueId('tq-orphan');
    const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_TASK_QUEUE: taskQueue, CADRE_STATE_DIR: stateDir };
    // A quiet program (it writes only to a file, so no broken pipe stops it) that outlives the ~2 s it takes the new
    // worker to retry it, and ends soon enough that the dead worker's sticky queue still counts as live when the
    // agent's next workflow task is due (the server gives up on a sticky queue without pollers after ~10 s).
    // Programs run in a PID namespace of their own, where $$ is the same small number for both copies: each copy
    // names itself with a random number instead (it stands in the marks' pid field; it is not a host pid).
    const sh = `id=$(od -An -N3 -tu4 /dev/urandom | tr -d ' '); echo "start cmd $id $(date +%s%N)" >> ${log}; sleep 6; echo done > out.txt; echo "end cmd $id $(date +%s%N)" >> ${log}`;
    const input: AgentInput = { repo, baseRef: 'HEAD', goal: 'run the program', backend: 'command', command: ['sh', '-c', sh], model: 'scripted', maxTokens: 1024, maxTurns: 1, budget: {}, depth: 0, limits: defaultLimits, timeoutSeconds: 300 };

    const w1 = await startChildWorker(env);
    workers.push(w1);
    const handle = await client.workflow.start('agent', { workflowId: uniqueId('orphan'), taskQueue, args: [input] });
    const first = await waitFor('the program to start', () => readMarks(log).find((m) => m.kind === 'start'), 90_000, 50);
    const killedAt = await w1.kill();
    const aliveAfterKill = alive(w1.pid);
    const w2 = await startChildWorker(env);
    workers.push(w2);
    const result = (await within(handle.result(), 120_000, 'the agent completing on the new worker')) as AgentResult;

    expect(result.status).toBe('completed');
    const marks = readMarks(log);
    const starts = marks.filter((m) => m.kind === 'start');
    expect(starts).toHaveLength(2);
    const retry = starts[1]!;
    const firstEnd = marks.find((m) => m.kind === 'end' && m.pid === first.pid);
    console.log(
      `[orphan command] killed worker still there right after the kill: ${aliveAfterKill}; retry started ${((retry.at - killedAt) / 1000).toFixed(1)} s after the kill; ` +
        `first copy ${firstEnd ? `finished ${((firstEnd.at - killedAt) / 1000).toFixed(1)} s after the kill` : 'never finished (killed)'}`,
    );
    // The new worker saw that the old one's process is gone and failed its attempt at once: the retry did not wait
    // for the heartbeat timeout.
    const runs = await runsOf(client, handle.workflowId);
    const command = activityAttempts(runs).find((a) => a.activityType === 'runCommandTask');
    expect(command).toMatchObject({ attempt: 2, outcome: 'completed', identity: w2.identity });
    expect(command!.lastFailure).toContain(`worker ${w1.identity} is gone`);
    // Its sticky queue (the dead worker's) was reset too: no workflow task waited there until it timed out.
    const timedOut = runs.flatMap((r) => r.events).filter((e) => eventTypeName(e).includes('WORKFLOW_TASK_TIMED_OUT'));
    expect(timedOut).toEqual([]);
    // The first copy is gone before the second starts: it never finishes after the retry began.
    expect(firstEnd === undefined || firstEnd.at < retry.at, `the first copy (${first.pid}) was still running when the retry started`).toBe(true);
  }, 180_000);
});
