/**
 * A model agent on a lost host (docs/hosts.md, "Losing a host"): three real `cadre worker` processes, one agent
 * each at most, on one bare remote; two anthropic agents (through the real SDK against a local Messages API stub
 * that answers by agent and turn) write one file a turn. When both are in turn 3 — turns 1 and 2 done, so
 * checkpointed on the remote — the host of one of them (not the integration host) is killed with SIGKILL and its
 * state directory deleted. Checked: the run completes; the agent finishes on the third host; turns 1 and 2 were
 * asked of the model once, turn 3 (in flight at the kill) twice, none later twice; every file of every turn is on
 * the remote's integration branch; the transcript on the new host starts with the turns of the lost host (stored
 * there before the kill, restored from refs/cadre/state); the agent's branch has one checkpoint commit per turn.
 */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { transcriptStateRef } from '../../src/activities/model/checkpoint';
import { readTranscript } from '../../src/activities/model/transcript';
import { runProgressQuery, type RunProgress } from '../../src/shared/messages';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import { plan, task } from '../support/plans';
import { git, showFile } from '../support/repo';
import { testClient, uniqueId } from '../support/temporal';
import { killedAfterEach } from './support/childWorker';
import { eventMs, runsOf } from './support/history';
import { activitiesOf, bareRemote, HOSTS, startHosts } from './support/hosts';
import { agentTag, startKeyedStub, type KeyedReply } from './support/keyedStub';
import { describeStuck, pendingActivities, waitFor, within } from './support/scene';

const TURNS = 5;
/** The turn held open until the kill: the one in flight on the lost host. */
const HELD = 3;
const TAGS = ['m1', 'm2'];

/** Turn k < TURNS writes `<tag>/turn-k.txt`; turn TURNS finishes. */
function reply(tag: string, turn: number): KeyedReply {
  const usage = { input_tokens: 1000 + turn, output_tokens: 40 + turn };
  if (turn >= TURNS) return { content: [{ type: 'tool_use', name: 'finish', input: { summary: `${tag} done` } }], usage };
  return { content: [{ type: 'text', text: `turn ${turn}` }, { type: 'tool_use', name: 'write_file', input: { path: `${tag}/turn-${turn}.txt`, content: `${tag} ${turn}\n` } }], usage };
}

const workers = killedAfterEach();

describe('a model agent on a host that is lost', () => {
  it('goes on from its last completed turn on another host: no completed turn asked again, its files and transcript kept', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held = new Set<string>();
    // The first request of turn HELD of each agent waits until the kill; every other one answers at once.
    const stub = await startKeyedStub(reply, {
      delayMs: (r) => {
        const key = `${r.tag}#${r.turn}`;
        if (r.turn !== HELD || held.has(key)) return 100;
        held.add(key);
        return gate;
      },
    });
    try {
      const client = await testClient();
      const remote = bareRemote();
      const taskQueue = uniqueId('tq-model-lost');
      const env = { CADRE_ANTHROPIC_BASE_URL: stub.url, ANTHROPIC_API_KEY: 'sk-ant-test-hosts-0000' };
      const { started, stateDirs, hostOfIdentity } = await startHosts(taskQueue, (w) => workers.push(w), { maxAgents: 1, env });
      const tasks = TAGS.map((tag) =>
        task(tag, { backend: 'anthropic', model: 'claude-sonnet-4-5', prompt: `${agentTag(tag)} write one file per turn`, maxTurns: 20, files: [`${tag}/turn-1.txt`] }),
      );
      const runId = uniqueId('model-lost');
      const handle = await client.workflow.start('runPlan', {
        workflowId: runId,
        taskQueue,
        args: [{ runId, repo: remote, plan: plan(tasks, { name: 'model-lost', maxConcurrency: 2 }) } satisfies RunPlanInput],
      });

      // Both agents in turn HELD (one host each: a cap of one agent); the victim is one that is not the integration host.
      const integrationHost = await waitFor('the integration worktree', async () => {
        const made = (await runsOf(client, runId)).flatMap(activitiesOf).find((a) => a.type === 'ensureIntegrationWorktree' && a.result);
        return (made?.result as { host?: string } | undefined)?.host;
      }, 60_000);
      const atKill = await waitFor(`both agents in turn ${HELD}`, async () => {
        if (!TAGS.every((tag) => stub.inFlight().some((r) => r.tag === tag && r.turn === HELD))) return undefined;
        const p: RunProgress = await handle.query(runProgressQuery);
        const pending = await pendingActivities(client, p.tasks.filter((t) => t.agentId).map((t) => t.agentId!));
        const turns = pending.filter((a) => a.state === 2 && a.type === 'modelTurn' && a.identity);
        if (turns.length < TAGS.length) return undefined;
        const onVictim = turns.find((a) => hostOfIdentity.get(a.identity!) !== integrationHost);
        return onVictim ? { victim: hostOfIdentity.get(onVictim.identity!)!, agentId: onVictim.workflowId } : undefined;
      }, 120_000).catch(async (err: unknown) => {
        throw new Error(`${String(err)}\n${await describeStuck(client, runId, remote)}\n${started.map((w) => w.output()).join('\n')}`);
      });
      const tag = atKill.agentId.slice(runId.length + 1);
      const other = TAGS.find((t) => t !== tag)!;
      const killedAt = await started[HOSTS.indexOf(atKill.victim)]!.kill();
      rmSync(stateDirs.get(atKill.victim)!, { recursive: true, force: true });
      release();

      const result = (await within(handle.result(), 240_000, 'the run completing on the two hosts left').catch(async (err: unknown) => {
        throw new Error(`${String(err)}\n${await describeStuck(client, runId, remote)}\n${started.map((w) => w.output()).join('\n')}`);
      })) as RunPlanResult;
      expect(result.status, JSON.stringify(result.tasks)).toBe('completed');
      expect(result.counts.completed).toBe(TAGS.length);
      expect(result.tasks.every((t) => t.attempts === 1), 'no task needed a second attempt').toBe(true);

      // ---- the agent moved once, to a host still alive -----------------------------------------------------------
      const acts = (await runsOf(client, atKill.agentId)).flatMap(activitiesOf);
      const creations = acts.filter((a) => a.type === 'createWorkspace' && a.result).map((a) => a.result as { host: string; branch: string });
      expect(creations.map((c) => c.host)[0], `${tag} first ran on the lost host`).toBe(atKill.victim);
      expect(creations, `${tag}: workspaces made`).toHaveLength(2);
      const newHost = creations[1]!.host;
      expect(newHost, `${tag} moved to a live host`).not.toBe(atKill.victim);
      for (const a of acts) if (a.startedAt && a.startedAt > killedAt) expect(hostOfIdentity.get(a.identity!), `${tag}: ${a.type} after the kill`).not.toBe(atKill.victim);
      const turnsDone = acts.filter((a) => a.type === 'modelTurn' && a.result).length;
      expect(turnsDone, `${tag}: turn activities completed (each once)`).toBe(TURNS);

      // ---- model calls: completed turns never asked again; the turn in flight asked once more ----------------------
      const perTurn = stub.counts();
      for (let turn = 1; turn <= TURNS; turn++) {
        expect(perTurn.get(`${tag}#${turn}`), `requests for ${tag}#${turn}`).toBe(turn === HELD ? 2 : 1);
        expect(perTurn.get(`${other}#${turn}`), `requests for ${other}#${turn}`).toBe(1);
      }
      expect(perTurn.get(`${tag}#${TURNS + 1}`), `${tag} asked for a turn past finish`).toBeUndefined();
      const requested = stub.requests.filter((r) => r.tag === tag);
      expect(requested.filter((r) => r.turn < HELD).every((r) => r.at < killedAt), `${tag}: turns before ${HELD} asked before the kill only`).toBe(true);

      // ---- the remote: every turn's file on the integration branch; one checkpoint per turn on the agent's branch --
      for (const t of TAGS) for (let turn = 1; turn < TURNS; turn++) {
        expect(showFile(remote, result.integrationBranch, `${t}/turn-${turn}.txt`), `${t}/turn-${turn}.txt on the remote`).toBe(`${t} ${turn}\n`);
      }
      const checkpoints = git(remote, 'log', '--format=%s', creations[1]!.branch).split('\n').filter((s) => s.includes(': checkpoint after turn '));
      expect(checkpoints.map((s) => Number(s.slice(s.lastIndexOf(' ') + 1))).sort()).toEqual([1, 2, 3, 4]);
      expect(git(remote, 'for-each-ref', '--format=%(refname)', transcriptStateRef(atKill.agentId))).toBe(transcriptStateRef(atKill.agentId));

      // ---- the transcript on the new host starts with the turns done on the lost one -----------------------------
      const records = await readTranscript(stateDirs.get(newHost)!, atKill.agentId);
      const replies = records.filter((r) => r.kind === 'assistant');
      expect(replies.map((r) => r.turn)).toEqual([1, 2, 3, 4, 5]);
      expect(records[0]).toMatchObject({ kind: 'user', turn: 1 });
      expect(replies.filter((r) => r.turn < HELD).every((r) => r.at < killedAt), 'turns 1 and 2 came from the lost host (restored)').toBe(true);
      expect(replies.filter((r) => r.turn >= HELD).every((r) => r.at > killedAt), `turns ${HELD}.. were answered on the new host`).toBe(true);

      const moveEvent = (await runsOf(client, atKill.agentId)).flatMap((r) => r.events).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'createWorkspace')[1];
      console.log(`[model host lost] killed ${atKill.victim} with ${tag} in turn ${HELD} (integration on ${integrationHost}); moved to ${newHost} ${((eventMs(moveEvent!) - killedAt) / 1000).toFixed(1)} s after the kill`);
    } finally {
      release();
      await stub.close();
    }
  }, 400_000);
});
