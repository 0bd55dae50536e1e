/** Bad input and bad configuration: one line that says what is wrong, a non-zero exit, never a stack trace. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cadre } from '../support/cli';
import { testAddress, testDir } from '../support/temporal';

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('cadre CLI errors', () => {
  it('an unreachable TEMPORAL_ADDRESS', async () => {
    const r = await cadre(['list'], { TEMPORAL_ADDRESS: '127.0.0.1:1', CADRE_STATE_DIR: testDir('s') });
    expect(r.code).toBe(69);
    expect(oneLine(r.stderr)).toMatch(/^cadre: cannot reach Temporal at 127\.0\.0\.1:1/);
  });

  it('an unknown namespace', async () => {
    const r = await cadre(['list'], { TEMPORAL_ADDRESS: testAddress(), TEMPORAL_NAMESPACE: 'no-such-namespace', CADRE_STATE_DIR: testDir('s') });
    expect(r.code).toBe(69);
    expect(oneLine(r.stderr)).toBe(`cadre: namespace "no-such-namespace" not found at ${testAddress()}`);
  });

  it('an unwritable state directory', async () => {
    const r = await cadre(['list'], { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: '/etc/hostname/cadre' });
    expect(r.code).toBe(73);
    expect(oneLine(r.stderr)).toMatch(/^cadre: state directory \/etc\/hostname\/cadre is not writable \(ENOTDIR\)/);
  });

  it('a malformed setting', async () => {
    const r = await cadre(['list'], { CADRE_DEV_PORT: 'seventy', CADRE_STATE_DIR: testDir('s') });
    expect(r.code).toBe(78);
    expect(oneLine(r.stderr)).toMatch(/^cadre: bad configuration: CADRE_DEV_PORT: /);
  });

  it('a plan with a cycle is refused before anything runs, with the cycle printed', async () => {
    const state = testDir('s');
    const v = await cadre(['validate', 'test/fixtures/cli/cycle.yaml'], { CADRE_STATE_DIR: state });
    expect(v.code).toBe(2);
    expect(v.stdout + v.stderr).toMatch(/cycle: (a -> c -> b -> a|b -> a -> c -> b|c -> b -> a -> c)/);
    const r = await cadre(['run', 'test/fixtures/cli/cycle.yaml', '--repo', '.'], { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: state });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cycle: /);
    expect(existsSync(join(state, 'runs.json'))).toBe(false);
  });

  it('a --remote that is no remote, --remote with --repo, and a bad --host for `cadre worker`', async () => {
    const state = testDir('s');
    const r = await cadre(['run', 'examples/hello.yaml', '--remote', '/home/me/project'], { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: state });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/^cadre: --remote "\/home\/me\/project": expected a URL, an scp-like address/);
    const both = await cadre(['run', 'examples/hello.yaml', '--remote', '/srv/app.git', '--repo', '.'], { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: state });
    expect(both.code).toBe(2);
    expect(oneLine(both.stderr)).toBe('cadre: --remote and --repo name the repository twice: give one');
    const w = await cadre(['worker', '--host', 'a b'], { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: state });
    expect(w.code).toBe(78);
    expect(oneLine(w.stderr)).toMatch(/^cadre: bad configuration: CADRE_HOST: /);
  });

  it('--help and --version', async () => {
    const h = await cadre(['--help'], {});
    expect(h.code).toBe(0);
    for (const cmd of ['run', 'validate', 'agent', 'status', 'watch', 'list', 'retry', 'cancel', 'pause', 'resume', 'dev', 'worker', 'gc']) expect(h.stdout).toMatch(new RegExp(`\\n  ${cmd}\\b`));
    const v = await cadre(['--version'], {});
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
