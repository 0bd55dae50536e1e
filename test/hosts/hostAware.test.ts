/**
 * A run across hosts, the pieces that were host-unaware (docs/hosts.md, "What is recovered and what is not"): a
 * merge conflict's resolution and the agents' port blocks. Three hosts in this process, each with a state directory
 * (so a clone of the bare remote) and a port manager name of its own: `hub` runs every workflow and holds the
 * integration worktree (it polls the shared queue and its host queue, not the placement queue), `h1` and `h2` take
 * the tasks' workspaces (their host queues and the placement queue). Every agent's workflow therefore runs on the
 * hub while its workspace is on h1 or h2: its port block must still come from its workspace's host, and the
 * resolution, whose conflict sits in a worktree on the integration host, must run there.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { lockWorkflowId, type LockGrant } from '../../src/shared/locks';
import { hostQueue, placementQueue } from '../../src/shared/hosts';
import { DEFAULT_PORT_CONFIG, portLockKey } from '../../src/shared/ports';
import type { RunPlanInput, RunPlanResult } from '../../src/shared/run';
import { activitiesOf as activitiesOfDeps, createCadreWorker } from '../../src/workers/worker';
import { runResultOf } from '../../src/client/results';
import { activitiesOf, runsOf, type RunHistory } from '../durability/support/history';
import { mergesPerTask } from '../durability/support/scene';
import { recordHistory } from '../support/histories';
import { commandTask, plan } from '../support/plans';
import { makeRepo, showFile } from '../support/repo';
import { nativeConnection, testAddress, testClient, testDir, uniqueId } from '../support/temporal';

const HUB = 'hub';
const TASK_HOSTS = ['h1', 'h2'];
const connections: NativeConnection[] = [];
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
});

/** The hub (workflows, the shared queue, its host queue) and the task hosts (their host queues, placement). */
async function startHosts(taskQueue: string, portHostOf: (h: string) => string): Promise<Worker[]> {
  const connection = await nativeConnection();
  const depsOf = (host: string) => ({ stateDir: testDir(`state-${host}`), host, portHost: portHostOf(host) });
  const hub = activitiesOfDeps({ deps: depsOf(HUB) });
  const workers = [
    await createCadreWorker({ connection, namespace: 'default', taskQueue, deps: depsOf(HUB), workflowBundle: { codePath: inject('workflowBundlePath') } }, hub),
    await Worker.create({ connection, namespace: 'default', taskQueue: hostQueue(taskQueue, HUB), activities: hub }),
  ];
  for (const host of TASK_HOSTS) {
    const activities = activitiesOfDeps({ deps: depsOf(host) });
    workers.push(await Worker.create({ connection, namespace: 'default', taskQueue: hostQueue(taskQueue, host), activities }));
    // Two pollers of one queue in one process need connections of their own.
    const own = await NativeConnection.connect({ address: testAddress() });
    connections.push(own);
    workers.push(await Worker.create({ connection: own, namespace: 'default', taskQueue: placementQueue(taskQueue), activities: { createWorkspace: activities.createWorkspace! } }));
  }
  return workers;
}

async function runAll<T>(workers: Worker[], p: Promise<T>): Promise<T> {
  const runs = Promise.all(workers.map((w) => w.run()));
  try {
    return await p;
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await runs;
  }
}

/** The port blocks granted to a workflow, in order (the lock grant signals of port managers). */
function portGrants(runs: RunHistory[]): LockGrant[] {
  return runs.flatMap((r) => r.events).flatMap((e) => {
    const sig = e.workflowExecutionSignaledEventAttributes;
    if (sig?.signalName !== 'cadre.locks.grant' || !sig.input?.payloads?.[0]) return [];
    const g = defaultPayloadConverter.fromPayload<LockGrant>(sig.input.payloads[0] as never);
    return g.repoKey.startsWith('ports@') ? [g] : [];
  });
}

/** The holders a port manager accepted try-acquire Updates from (activity-held leases), in order. */
async function updateHolders(client: Awaited<ReturnType<typeof testClient>>, host: string, taskQueue: string): Promise<string[]> {
  const runs = await runsOf(client, lockWorkflowId(portLockKey(host, taskQueue))).catch(() => [] as RunHistory[]);
  return runs.flatMap((r) => r.events).flatMap((e) => {
    const p = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads?.[0];
    return p ? [defaultPayloadConverter.fromPayload<{ holderId: string }>(p as never).holderId] : [];
  });
}

/** A command task's activity that leased its own block: it ran on its workspace's host and names the block. */
function taskLease(acts: ReturnType<typeof activitiesOf>): { queue: string; first: number } {
  const run = acts.filter((a) => a.type === 'runCommandTask' && a.result).at(-1)!;
  return { queue: run.queue, first: (run.result as { ports: { first: number } }).ports.first };
}

function bareRemote(files: Record<string, string>): string {
  const remote = join(testDir('remote'), 'project.git');
  execFileSync('git', ['clone', '--quiet', '--bare', makeRepo(files), remote]);
  return remote;
}

describe('a run across hosts: conflict resolution and port blocks on the owner host', () => {
  it('resolves a conflict on the integration host and leases every block from its workspace\'s host', async () => {
    const client = await testClient();
    const remote = bareRemote({ 'README.md': '# r\n', 'shared.txt': 'base\n' });
    const taskQueue = uniqueId('tq-hostaware');
    const tag = uniqueId('ports');
    const portHostOf = (h: string) => `${tag}-${h}`;
    const dir = testDir('hostaware');
    const runId = uniqueId('hostaware');
    const integration = `cadre/${runId}/integration`;
    // right waits until left is merged on the remote, then writes its own line over the same one: its merge conflicts.
    const leftMerged = `until git --git-dir=${remote} show ${integration}:shared.txt 2>/dev/null | grep -q left; do sleep 0.1; done`;
    const port = (name: string) => `echo "$CADRE_PORT" > ${join(dir, `port-${name}`)}`;
    // left has a setup command, so the agent leases its block (and leases again from its workspace's host); right and
    // the resolver lease theirs in their command task's activity, on the host where it runs.
    const tasks = [
      commandTask('left', `${port('left')}; echo left > shared.txt`, { bootstrap: { setup: ['true'] } }),
      commandTask('right', `${port('right')}; ${leftMerged}; echo right > shared.txt`, {
        verify: ['sh', '-c', 'grep -q right shared.txt'],
        resolve: { backend: 'command', command: ['sh', '-c', `${port('resolver')}; grep -q '^<<<<<<<' shared.txt && printf 'left\\nright\\n' > shared.txt`] },
      }),
    ];
    const workers = await startHosts(taskQueue, portHostOf);
    const result = (await runAll(workers, runResultOf(await client.workflow.start('runPlan', {
      workflowId: runId, taskQueue, args: [{ runId, repo: remote, plan: plan(tasks) } satisfies RunPlanInput],
    })))) as RunPlanResult;

    expect(result.status, JSON.stringify(result.tasks.map((t) => [t.id, t.status, t.error]))).toBe('completed');
    const right = result.tasks.find((t) => t.id === 'right')!;
    const resolverId = `${right.agentId}/resolve-1`;
    expect(right.resolutions).toMatchObject([{ round: 1, files: ['shared.txt'], outcome: 'resolved', agentId: resolverId }]);
    // Both changes on the remote's integration branch, each task merged once.
    expect(showFile(remote, result.integrationBranch, 'shared.txt')).toBe('left\nright\n');
    expect(mergesPerTask(remote, result.integrationBranch)).toEqual(new Map([['left', 1], ['right', 1]]));

    // ---- the resolution ran on the integration host ---------------------------------------------------------
    const runActs = (await runsOf(client, runId)).flatMap(activitiesOf);
    const made = runActs.find((a) => a.type === 'ensureIntegrationWorktree')!;
    expect((made.result as { host?: string }).host, 'the integration worktree is on the hub').toBe(HUB);
    const resolution = runActs.filter((a) => ['prepareResolution', 'createWorkspace', 'checkResolution', 'advanceBranch', 'removeWorkspace', 'mergeBranch'].includes(a.type));
    for (const type of ['prepareResolution', 'createWorkspace', 'checkResolution', 'advanceBranch', 'removeWorkspace']) {
      expect(resolution.map((a) => a.type), `the run's ${type}`).toContain(type);
    }
    for (const a of resolution) expect(a.queue, `the run's ${a.type}`).toBe(hostQueue(taskQueue, HUB));
    // The resolver was placed with its conflict, on the integration host, and ran its program there.
    const resolverActs = (await runsOf(client, resolverId)).flatMap(activitiesOf);
    const resolverWs = resolverActs.find((a) => a.type === 'createWorkspace' && a.result)!;
    expect(resolverWs.queue).toBe(hostQueue(taskQueue, HUB));
    expect((resolverWs.result as { host?: string }).host).toBe(HUB);
    expect(resolverActs.filter((a) => a.type === 'runCommandTask' || a.type === 'runAgentCommand').map((a) => a.queue)).toEqual([hostQueue(taskQueue, HUB)]);

    // ---- every agent's block is from its workspace's host --------------------------------------------------
    let moved = 0;
    const leftId = result.tasks.find((t) => t.id === 'left')!.agentId!;
    for (const [name, agentId] of [['left', leftId], ['right', right.agentId!], ['resolver', resolverId]] as const) {
      const runs = await runsOf(client, agentId);
      const acts = runs.flatMap(activitiesOf);
      const owner = (acts.find((a) => a.type === 'createWorkspace' && a.result)!.result as { host: string }).host;
      if (name !== 'resolver') expect(TASK_HOSTS, `${name}'s workspace on a task host`).toContain(owner);
      const grants = portGrants(runs);
      if (name !== 'left') {
        // Leased by its command task's activity: none by the agent; the activity ran on the owner, whose manager granted it.
        expect(grants, `${name}: no block leased by the agent`).toEqual([]);
        expect(acts.filter((a) => a.type === 'portPlan' || a.type === 'boundPorts'), `${name}: no port activities of the agent`).toEqual([]);
        const lease = taskLease(acts);
        expect(lease.queue, `${name}: its command task ran on its workspace's host`).toBe(hostQueue(taskQueue, owner));
        expect(await updateHolders(client, portHostOf(owner), taskQueue), `${name}: the owner's manager granted it`).toContain(agentId);
        expect(readFileSync(join(dir, `port-${name}`), 'utf8').trim(), `${name}: CADRE_PORT`).toBe(String(lease.first));
        continue;
      }
      const held = grants.at(-1)!;
      expect(held.repoKey, `${name}: the block it held`).toBe(portLockKey(portHostOf(owner), taskQueue));
      // The workflow ran on the hub: a first lease from the hub's manager was given back for the owner's.
      if (owner !== HUB) {
        expect(grants[0]!.repoKey, `${name}: its first lease, before the workspace's host was known`).toBe(portLockKey(portHostOf(HUB), taskQueue));
        expect(acts.filter((a) => a.type === 'portPlan' || a.type === 'boundPorts').map((a) => a.queue), `${name}: the owner's plan and probe`).toEqual(
          [hostQueue(taskQueue, owner), hostQueue(taskQueue, owner)],
        );
        moved++;
      } else expect(grants, `${name}: its first lease was already the owner's`).toHaveLength(1);
      // Its program saw that block.
      const block = Number(held.paths[0]!.split('/')[1]);
      expect(readFileSync(join(dir, `port-${name}`), 'utf8').trim(), `${name}: CADRE_PORT`).toBe(String(DEFAULT_PORT_CONFIG.base + block * DEFAULT_PORT_CONFIG.block));
    }
    expect(moved, 'agents whose block had to come from another host').toBe(1);
    // Replay fixtures of both new paths: the run's resolution on its host, an agent's block leased again.
    await recordHistory(client.workflow.getHandle(runId), 'runPlan-resolve-across-hosts');
    await recordHistory(client.workflow.getHandle(leftId), 'agent-ports-from-owner');
  }, 180_000);
});

describe('an owner lost right after it made the workspace', () => {
  for (const setup of [true, false]) it(setup
    ? 'keeps the block, moves the workspace on the next call and leases again from the new host (an agent with a setup command leases itself)'
    : 'moves the workspace on the next call, whose command task leases its block on the new host', async () => {
    const client = await testClient();
    const remote = bareRemote({ 'README.md': '# r\n' });
    const taskQueue = uniqueId('tq-ownerlost');
    const tag = uniqueId('ports');
    const portHostOf = (h: string) => `${tag}-${h}`;
    const connection = await nativeConnection();
    const depsOf = (host: string) => ({ stateDir: testDir(`state-${host}`), host, portHost: portHostOf(host) });
    const hubActs = activitiesOfDeps({ deps: depsOf(HUB) });
    const hub = [
      await createCadreWorker({ connection, namespace: 'default', taskQueue, deps: depsOf(HUB), workflowBundle: { codePath: inject('workflowBundlePath') } }, hubActs),
      await Worker.create({ connection, namespace: 'default', taskQueue: hostQueue(taskQueue, HUB), activities: hubActs }),
    ];
    const hostWorkers = async (host: string, onMade?: () => void): Promise<Worker[]> => {
      const activities = activitiesOfDeps({ deps: depsOf(host) });
      const own = await NativeConnection.connect({ address: testAddress() });
      connections.push(own);
      const createWorkspace = async (input: Parameters<NonNullable<typeof activities.createWorkspace>>[0]) => {
        const made = await activities.createWorkspace!(input);
        onMade?.();
        return made;
      };
      return [
        await Worker.create({ connection, namespace: 'default', taskQueue: hostQueue(taskQueue, host), activities }),
        await Worker.create({ connection: own, namespace: 'default', taskQueue: placementQueue(taskQueue), activities: { createWorkspace } }),
      ];
    };
    // h1 makes the workspace and is gone the moment it has (both its pollers stop); h2 comes up then.
    const runs: Promise<void>[] = [];
    let h1: Worker[] = [];
    let gone: Promise<void> | undefined;
    h1 = await hostWorkers('h1', () => {
      gone ??= (async () => {
        await new Promise((r) => setTimeout(r, 0));
        for (const w of h1) w.shutdown();
        const h2 = await hostWorkers('h2');
        runs.push(...h2.map((w) => w.run()));
        all.push(...h2);
      })();
    });
    const all = [...hub, ...h1];
    runs.push(...all.map((w) => w.run()));
    const runId = uniqueId('ownerlost');
    try {
      const result = (await runResultOf(await client.workflow.start('runPlan', {
        workflowId: runId, taskQueue, args: [{ runId, repo: remote, plan: plan([commandTask('only', 'echo "$CADRE_PORT" > port.txt', setup ? { bootstrap: { setup: ['true'] } } : {})]) } satisfies RunPlanInput],
      }))) as RunPlanResult;
      expect(result.status, JSON.stringify(result.tasks.map((t) => [t.id, t.status, t.error]))).toBe('completed');
      const agentId = result.tasks[0]!.agentId!;
      const agentRuns = await runsOf(client, agentId);
      const hosts = agentRuns.flatMap(activitiesOf).filter((a) => a.type === 'createWorkspace' && a.result).map((a) => (a.result as { host: string }).host);
      expect(hosts, 'made on h1, made again on h2').toEqual(['h1', 'h2']);
      const grants = portGrants(agentRuns);
      let first: number;
      if (setup) {
        expect(grants.at(-1)!.repoKey, 'the block held at the end is h2\'s').toBe(portLockKey(portHostOf('h2'), taskQueue));
        first = DEFAULT_PORT_CONFIG.base + Number(grants.at(-1)!.paths[0]!.split('/')[1]) * DEFAULT_PORT_CONFIG.block;
      } else {
        expect(grants, 'no block leased by the agent').toEqual([]);
        const lease = taskLease(agentRuns.flatMap(activitiesOf));
        expect(lease.queue, 'the command task ran on h2').toBe(hostQueue(taskQueue, 'h2'));
        expect(await updateHolders(client, portHostOf('h2'), taskQueue), 'h2\'s manager granted it').toContain(agentId);
        first = lease.first;
      }
      expect((showFile(remote, result.integrationBranch, 'port.txt') ?? '').trim(), 'the program saw that block').toBe(String(first));
    } finally {
      await gone;
      for (const w of all) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.all(runs);
    }
  }, 240_000);
});
