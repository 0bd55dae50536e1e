/** Port leases, the pure parts: the lock table's ifFree requests, the block arithmetic and env, the configuration. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createPortActivities } from '../../src/activities/portActivities';
import { loadConfig } from '../../src/node/config';
import type { LockRequest } from '../../src/shared/locks';
import { portLeaseSchema } from '../../src/shared/portLease';
import { DEFAULT_PORT_CONFIG, portBlock, portBlockKey, portConfigProblem, portEnv, portLockKey, portRange } from '../../src/shared/ports';
import * as lt from '../../src/workflows/locks/lockTable';
import { renderAgent } from '../../src/client/commands/inspect';
import { defaultLimits, type AgentInput } from '../../src/shared/agent';
import { snapshot, treeNode } from '../../src/workflows/agent/reporting';
import { carryOf, initialState } from '../../src/workflows/agent/state';

const req = (requestId: string, paths: string[], extra: Partial<LockRequest> = {}): LockRequest => ({ requestId, holderId: `h-${requestId}`, paths, leaseMs: 10_000, ...extra });

describe('ifFree lock requests', () => {
  it('are granted at once when free, and answered busy and forgotten when not', () => {
    const t = lt.newLockTable();
    const first = lt.request(t, req('r1', ['port-block/0'], { ifFree: true }), 0);
    expect(first.map((e) => e.kind)).toEqual(['grant']);
    const busy = lt.request(t, req('r2', ['port-block/0'], { ifFree: true }), 1);
    expect(busy).toEqual([{ kind: 'lost', holderId: 'h-r2', requestId: 'r2', reason: 'busy', message: 'port-block/0 is taken' }]);
    expect(t.waiters).toEqual([]);
    // A repeat of the busy request is ignored, even once the block is free: the holder has moved on.
    lt.release(t, 'h-r1', ['r1'], 2);
    expect(lt.request(t, req('r2', ['port-block/0'], { ifFree: true }), 3)).toEqual([]);
    expect(t.holders).toEqual([]);
    expect(lt.request(t, req('r3', ['port-block/0'], { ifFree: true }), 4).map((e) => e.kind)).toEqual(['grant']);
  });

  it('never overtake a waiting request, and make nobody wait', () => {
    const t = lt.newLockTable();
    lt.request(t, req('r1', ['a']), 0);
    lt.request(t, req('r2', ['a', 'b']), 1); // waits for a, and b is promised to it
    expect(lt.request(t, req('r3', ['b'], { ifFree: true }), 2).map((e) => e.kind)).toEqual(['lost']);
    expect(t.waiters.map((w) => w.requestId)).toEqual(['r2']);
    expect(lt.request(t, req('r4', ['c'], { ifFree: true }), 3).map((e) => e.kind)).toEqual(['grant']);
  });
});

describe('port blocks', () => {
  it('block n starts at base + n·block; programs get CADRE_PORT, PORT and CADRE_PORT_RANGE', () => {
    const c = { base: 43000, block: 10, blocks: 5 };
    expect(portBlock(c, 0)).toEqual({ first: 43000, count: 10 });
    expect(portBlock(c, 3)).toEqual({ first: 43030, count: 10 });
    expect(portRange(portBlock(c, 3))).toBe('43030-43039');
    expect(portEnv({ first: 43000, count: 10 })).toEqual({ CADRE_PORT: '43000', PORT: '43000', CADRE_PORT_RANGE: '43000-43009' });
    expect(portEnv(undefined)).toEqual({});
    expect(portBlockKey(7)).toBe('port-block/7');
    expect(lt.nonCanonicalReason(portBlockKey(7))).toBeUndefined();
    expect(portLockKey('box.example', 'cadre')).toBe('ports@box.example/cadre');
    expect(portLockKey('we ird/host', '')).toBe('ports@we_ird_host/default');
  });

  it('a lease in an activity input is two numbers inside 1..65535', () => {
    expect(portLeaseSchema.safeParse({ first: 65530, count: 6 }).success).toBe(true);
    expect(portLeaseSchema.safeParse({ first: 65531, count: 6 }).success).toBe(false);
    expect(portLeaseSchema.safeParse({ first: 0, count: 1 }).success).toBe(false);
    expect(portLeaseSchema.safeParse({ first: 4000, count: 1, env: 'x' }).success).toBe(false);
  });

  it('refuses a configuration that does not fit, naming the variable', () => {
    expect(portConfigProblem(DEFAULT_PORT_CONFIG)).toBeUndefined();
    expect(portConfigProblem({ base: 0, block: 10, blocks: 1 })).toMatch(/^CADRE_PORT_BASE: /);
    expect(portConfigProblem({ base: 1000, block: 0, blocks: 1 })).toMatch(/^CADRE_PORT_BLOCK: /);
    expect(portConfigProblem({ base: 65000, block: 10, blocks: 100 })).toBe('CADRE_PORT_BLOCKS: 100 blocks of 10 ports from 65000 end at port 65999, above 65535');
    expect(portConfigProblem({ base: 65526, block: 10, blocks: 1 })).toBeUndefined();
  });

  it('reads CADRE_PORT_BASE, CADRE_PORT_BLOCK and CADRE_PORT_BLOCKS; bad values are configuration errors', () => {
    expect(loadConfig({}).ports).toEqual({ base: 20000, block: 10, blocks: 100 });
    expect(loadConfig({ CADRE_PORT_BASE: '43000', CADRE_PORT_BLOCK: '5', CADRE_PORT_BLOCKS: '0' }).ports).toEqual({ base: 43000, block: 5, blocks: 0 });
    expect(() => loadConfig({ CADRE_PORT_BASE: 'high' })).toThrow('bad configuration: CADRE_PORT_BASE: expected a port 1..65535');
    expect(() => loadConfig({ CADRE_PORT_BLOCK: '-1' })).toThrow('bad configuration: CADRE_PORT_BLOCK: expected a whole number 1..1000');
    expect(() => loadConfig({ CADRE_PORT_BLOCKS: '1.5' })).toThrow('bad configuration: CADRE_PORT_BLOCKS: expected a whole number');
    expect(() => loadConfig({ CADRE_PORT_BASE: '70000' })).toThrow('bad configuration: CADRE_PORT_BASE: expected a port 1..65535, got 70000');
    expect(() => loadConfig({ CADRE_PORT_BASE: '65000' })).toThrow('bad configuration: CADRE_PORT_BLOCKS: 100 blocks of 10 ports from 65000 end at port 65999, above 65535');
    expect(() => createPortActivities({ ports: { base: 1, block: 0, blocks: 1 } })).toThrow('bad configuration: CADRE_PORT_BLOCK');
  });

  it('the bind probe names the ports something already listens on', async () => {
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    try {
      const { boundPorts } = createPortActivities();
      expect(await boundPorts({ first: port, count: 1 })).toEqual({ bound: [port] });
    } finally {
      await new Promise((r) => server.close(r));
    }
    const { boundPorts } = createPortActivities();
    expect(await boundPorts({ first: port, count: 1 })).toEqual({ bound: [] });
  });
});

describe('an agent shows its ports', () => {
  it('in its status (and `cadre status`), its tree node, and carries the hold over continue-as-new', () => {
    const input: AgentInput = { repo: '/r', baseRef: 'HEAD', goal: 'g', backend: 'command', model: 'm', maxTokens: 1, maxTurns: 1, budget: {}, depth: 0, limits: defaultLimits };
    const s = initialState('a1', input, 0);
    expect(snapshot(input, s).ports).toBeUndefined();
    expect(treeNode(input, s).ports).toBeUndefined();
    const grant = { requestId: 'a1#lock-1', lockWorkflowId: 'locks/ports@h/q', repoKey: 'ports@h/q', paths: ['port-block/1'], token: 7, leaseMs: 180_000, grantedAt: 0, expiresAt: 180_000 };
    s.ports = { ports: { first: 20010, count: 10 }, block: 1, grant };
    s.workspace = { path: '/w', branch: 'cadre/a1', baseCommit: 'abc' };
    expect(snapshot(input, s).ports).toBe('20010-20019');
    expect(treeNode(input, s).ports).toBe('20010-20019');
    expect(renderAgent(snapshot(input, s), true)).toContain('workspace /w  ports 20010-20019');
    const next = initialState('a1', input, 1, carryOf(s));
    expect(next.ports).toEqual(s.ports);
  });
});
