/**
 * The embedded default, end to end through the built CLI: `cadre run` starts the dev server (SQLite in the state
 * directory, Web UI), the official `temporal` CLI sees the run, the UI page loads, and `cadre dev` after a server
 * stop finds the earlier run again.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { requireTemporalBin } from '../../src/client/temporalBin';
import { serverAnswers, stopEmbeddedServer } from '../../src/client/devServer';
import { freePort } from '../support/globalSetup';
import { cadre, startCadre } from '../support/cli';
import { makeRepo } from '../support/repo';
import { testDir } from '../support/temporal';

const stateDir = testDir('embedded-state');

afterAll(async () => {
  await stopEmbeddedServer(stateDir);
});

function temporalList(port: number): string {
  return execFileSync(requireTemporalBin(), ['workflow', 'list', '--address', `127.0.0.1:${port}`], { encoding: 'utf8' });
}

describe('the embedded default', () => {
  it('cadre run starts the server; the run is visible to `temporal workflow list` and in the Web UI; it survives a restart', async () => {
    const port = await freePort();
    const uiPort = await freePort();
    const env = { CADRE_STATE_DIR: stateDir, CADRE_DEV_PORT: String(port), CADRE_UI_PORT: String(uiPort) };
    const repo = makeRepo();

    const run = await cadre(['run', 'examples/hello.yaml', '--repo', repo], env, 180_000);
    expect(run.stderr).toContain('started the Temporal dev server');
    expect(run.code).toBe(0);
    const runId = /run (\S+) completed/.exec(run.stdout)?.[1];
    expect(runId).toMatch(/^hello-[0-9a-f]{6}$/);
    expect(run.stdout).toContain(`Web UI: http://localhost:${uiPort}/namespaces/default/workflows/${runId}`);

    expect(temporalList(port)).toContain(runId);
    const page = await fetch(`http://localhost:${uiPort}/namespaces/default/workflows/${runId}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);

    const status = await cadre(['status', runId!], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/greet\s+completed/);
    const list = await cadre(['list'], env);
    expect(list.stdout).toContain(runId);

    // Stop the background server, then `cadre dev` brings it back on the same SQLite file.
    expect((await cadre(['server', 'stop'], env)).code).toBe(0);
    expect(await serverAnswers(`127.0.0.1:${port}`)).toBe(false);
    const dev = await startCadre(['dev'], env, /worker polling/);
    try {
      expect(dev.output()).toContain('started Temporal');
      expect(temporalList(port)).toContain(runId);
    } finally {
      dev.child.kill('SIGINT');
    }
    const code = await new Promise((r) => dev.child.on('exit', r));
    expect(code).toBe(0);
    expect(await serverAnswers(`127.0.0.1:${port}`)).toBe(false);
  });
});
