/**
 * `cadre cluster check|setup` and the worker's refusal, against the real dev server: a namespace registered here,
 * without cadre's search attributes, stands for a cluster nobody has prepared yet.
 */
import { msToTs } from '@temporalio/common/lib/time';
import { describe, expect, it } from 'vitest';
import { cadre } from '../support/cli';
import { testAddress, testClient, testDir, uniqueId } from '../support/temporal';

async function bareNamespace(): Promise<string> {
  const client = await testClient();
  const namespace = uniqueId('bare');
  await client.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  // The frontend learns of a new namespace from its cache: wait until it answers for it.
  for (let i = 0; ; i++) {
    try {
      await client.workflowService.describeNamespace({ namespace });
      return namespace;
    } catch (err) {
      if (i > 60) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

describe('cadre cluster', () => {
  it('the test server\'s default namespace is ready: exit 0, every attribute registered', async () => {
    const r = await cadre(['cluster', 'check', '--json'], { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('s'), CADRE_TASK_QUEUE: uniqueId('q') });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { searchAttributes: unknown; worker: boolean; namespace: string };
    expect(out).toMatchObject({ searchAttributes: 'ok', worker: false, namespace: 'default' });
  });

  it('a namespace without cadre\'s search attributes: check names each and the fix, a worker refuses, setup registers them', async () => {
    const namespace = await bareNamespace();
    const env = { TEMPORAL_ADDRESS: testAddress(), TEMPORAL_NAMESPACE: namespace, CADRE_STATE_DIR: testDir('s'), CADRE_TASK_QUEUE: uniqueId('q') };

    const check = await cadre(['cluster', 'check'], env);
    expect(check.code).toBe(78);
    for (const name of ['CadreRun', 'CadreTask', 'CadrePhase', 'CadreRole', 'CadreDepth', 'CadreStatus', 'CadreBudgetUsed']) {
      expect(check.stdout).toContain(`  ${name} (`);
    }
    expect(check.stdout).toContain(`temporal operator search-attribute create --namespace ${namespace} --name CadreRun --type Keyword`);
    expect(check.stdout).toContain('no worker polls it');

    const worker = await cadre(['worker'], env, 60_000);
    expect(worker.code).toBe(78);
    expect(worker.stderr).toMatch(new RegExp(`^cadre: namespace "${namespace}" lacks cadre's search attributes:`));
    expect(worker.stdout).not.toContain('worker polling');

    const setup = await cadre(['cluster', 'setup'], env);
    expect(setup.stderr).toBe('');
    expect(setup.stdout).toMatch(/registered: CadreRun, CadreTask/);
    expect(setup.code).toBe(0);

    const again = await cadre(['cluster', 'check', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ searchAttributes: 'ok', registered: [] });
  });

  it('TLS settings that cannot work are refused before connecting, naming the variable', async () => {
    const half = await cadre(['cluster', 'check'], { TEMPORAL_ADDRESS: testAddress(), TEMPORAL_TLS_CERT: '/tmp/c.pem', CADRE_STATE_DIR: testDir('s') });
    expect(half.code).toBe(78);
    expect(half.stderr.trim()).toBe('cadre: bad configuration: TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY: a client certificate needs both (docs/cluster.md)');
    const ca = await cadre(['cluster', 'check'], { TEMPORAL_ADDRESS: testAddress(), TEMPORAL_TLS_CA: '/nonexistent/ca.pem', CADRE_STATE_DIR: testDir('s') });
    expect(ca.code).toBe(78);
    expect(ca.stderr.trim()).toBe('cadre: bad configuration: TEMPORAL_TLS_CA=/nonexistent/ca.pem: ENOENT');
  });

  it('an unknown action is a usage error', async () => {
    const r = await cadre(['cluster', 'launch'], { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('s') });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('cadre: unknown cluster action "launch": use check or setup');
  });
});
