/**
 * Several hosts on one machine (docs/hosts.md): real `cadre worker` processes with distinct CADRE_HOST and state
 * directories of their own, on one bare remote; and what a run's history says about where its activities ran.
 * Shared by multiHost.test.ts, multiHostModel.test.ts and multiHostSession.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { makeRepo } from '../../support/repo';
import { testAddress, testDir } from '../../support/temporal';
import { startChildWorker, type ChildWorker, type ChildWorkerEnv } from './childWorker';

export const HOSTS = ['h1', 'h2', 'h3'];

/** Where a run's activities ran (kept in ./history.ts with the other history readers). */
export { activitiesOf } from './history';

export interface Hosts {
  started: ChildWorker[];
  stateDirs: Map<string, string>;
  hostOfIdentity: Map<string, string>;
}

/** One `cadre worker` process per host, each with its own state directory and a cap of `maxAgents` agents. */
export async function startHosts(taskQueue: string, push: (w: ChildWorker) => void, opts: { hosts?: string[]; maxAgents?: number; env?: Partial<ChildWorkerEnv> } = {}): Promise<Hosts> {
  const started: ChildWorker[] = [];
  const stateDirs = new Map<string, string>();
  const hosts = opts.hosts ?? HOSTS;
  for (const host of hosts) {
    const stateDir = testDir(`state-${host}`);
    stateDirs.set(host, stateDir);
    const w = await startChildWorker({
      ...opts.env,
      TEMPORAL_ADDRESS: testAddress(),
      CADRE_TASK_QUEUE: taskQueue,
      CADRE_STATE_DIR: stateDir,
      CADRE_HOST: host,
      CADRE_MAX_AGENTS: String(opts.maxAgents ?? 2),
    });
    push(w);
    started.push(w);
  }
  return { started, stateDirs, hostOfIdentity: new Map(started.map((w, i) => [w.identity, hosts[i]!])) };
}

/** A bare repository made from a one-file repository: the run's remote. */
export function bareRemote(): string {
  const origin = makeRepo({ 'README.md': '# multi-host\n' });
  const remote = join(testDir('remote'), 'project.git');
  execFileSync('git', ['clone', '--quiet', '--bare', origin, remote]);
  return remote;
}
