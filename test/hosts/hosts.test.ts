/**
 * Hosts without a server (docs/hosts.md): the names workers and workflows agree on, the configuration that sets a
 * host's identity, cap and remote, the placement slots that keep a host under its cap, and a clone of a remote.
 */
import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentSlots } from '../../src/activities/agentSlots';
import { cloneDir, localRepo } from '../../src/activities/remote';
import { loadConfig } from '../../src/node/config';
import { hostNameOf, hostQueue, isRemoteRepo, placementQueue } from '../../src/shared/hosts';
import { git, makeRepo } from '../support/repo';
import { testDir } from '../support/temporal';

describe('host names and queues', () => {
  it('derives the host and placement queues from the task queue', () => {
    expect(hostQueue('cadre', 'build-01')).toBe('cadre@build-01');
    expect(placementQueue('cadre')).toBe('cadre@placement');
  });

  it('makes a machine name fit for a queue name', () => {
    expect(hostNameOf('box.example.com')).toBe('box.example.com');
    expect(hostNameOf('my box/π')).toBe('my-box--');
    expect(hostNameOf('')).toBe('localhost');
    expect(hostNameOf('--x')).toBe('x');
  });

  it('tells a remote from a checkout on this machine', () => {
    for (const r of ['https://github.com/a/b.git', 'ssh://git@h/a/b', 'file:///srv/b', 'git@github.com:a/b.git', '/srv/git/project.git', '/srv/git/project.git/']) {
      expect(isRemoteRepo(r), r).toBe(true);
    }
    for (const r of ['/home/me/project', './project', 'C:\\work\\project', '/srv/git.d/project']) expect(isRemoteRepo(r), r).toBe(false);
  });
});

describe('host configuration', () => {
  it('reads CADRE_HOST, CADRE_MAX_AGENTS and CADRE_REMOTE, with the machine name as the default host', () => {
    const c = loadConfig({ CADRE_HOST: 'gpu-2', CADRE_MAX_AGENTS: '4', CADRE_REMOTE: 'git@example.com:team/app.git' });
    expect(c).toMatchObject({ host: 'gpu-2', maxAgents: 4, remote: 'git@example.com:team/app.git' });
    const d = loadConfig({});
    expect(d.host).toBe(hostNameOf(hostname()));
    expect(d.maxAgents).toBeUndefined();
    expect(d.remote).toBeUndefined();
  });

  it('names the variable at fault', () => {
    expect(() => loadConfig({ CADRE_HOST: 'a b' })).toThrow(/^bad configuration: CADRE_HOST: /);
    expect(() => loadConfig({ CADRE_HOST: '-x' })).toThrow(/^bad configuration: CADRE_HOST: /);
    expect(() => loadConfig({ CADRE_MAX_AGENTS: '0' })).toThrow(/^bad configuration: CADRE_MAX_AGENTS: /);
    expect(() => loadConfig({ CADRE_MAX_AGENTS: 'two' })).toThrow(/^bad configuration: CADRE_MAX_AGENTS: /);
    expect(() => loadConfig({ CADRE_REMOTE: '/home/me/project' })).toThrow(/^bad configuration: CADRE_REMOTE: /);
  });
});

describe('placement slots', () => {
  const ctx = {} as never;
  const abortable = () => new AbortController();

  it('hands out slots only while live workspaces plus slots handed out stay under the cap', async () => {
    const slots = new AgentSlots(2);
    const s = slots.supplier();
    const a = await s.reserveSlot(ctx, abortable().signal);
    expect(a).toBeDefined();
    slots.hold('/w/1'); // the first placement made a workspace…
    s.releaseSlot(ctx); // …and its slot went back
    expect(slots.used).toBe(1);
    await s.reserveSlot(ctx, abortable().signal); // one more fits
    expect(s.tryReserveSlot(ctx)).toBeNull(); // 1 live + 1 handed out = the cap
    let third = false;
    const waiting = s.reserveSlot(ctx, abortable().signal).then(() => void (third = true));
    slots.hold('/w/1'); // a retried creation counts once
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    slots.free('/w/1'); // the agent ended: its slot is free
    await waiting;
    expect(third).toBe(true);
  });

  it('gives up a waiting reservation when the SDK aborts it', async () => {
    const slots = new AgentSlots(1);
    const s = slots.supplier();
    slots.hold('/w/1');
    const abort = abortable();
    const waiting = s.reserveSlot(ctx, abort.signal);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    slots.free('/w/1');
    expect(s.tryReserveSlot(ctx)).not.toBeNull();
  });
});

describe('a host clone of a remote', () => {
  it('is made once under the state directory, and a checkout on this machine is used as it is', async () => {
    const origin = makeRepo();
    const remote = join(testDir('remote'), 'app.git');
    execFileSync('git', ['clone', '--quiet', '--bare', origin, remote]);
    const stateDir = testDir('state');
    const [a, b] = await Promise.all([localRepo(stateDir, remote), localRepo(stateDir, remote)]);
    expect(a).toBe(cloneDir(stateDir, remote));
    expect(b).toBe(a);
    expect(git(a, 'rev-parse', 'refs/remotes/origin/main')).toBe(git(origin, 'rev-parse', 'main'));
    expect(await localRepo(stateDir, origin)).toBe(origin);
  });

  it('fails naming the remote it could not clone', async () => {
    await expect(localRepo(testDir('state'), join(testDir('none'), 'missing.git'))).rejects.toThrow(/cloning .*missing\.git/);
  });
});
