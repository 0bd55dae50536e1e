/**
 * The Web UI tells the story of a run without opening a payload: after `npm run demo`'s script (offline, on the
 * embedded server), a headless Chromium (Debian's, driven by playwright-core) finds the run's workflows by cadre's
 * search attributes, sees ids that read as paths, child and activity summaries on the run's timeline, and an
 * agent's summary under User Metadata. Screenshots are kept in test-results/ (git-ignored) as artifacts.
 *
 * Needs /usr/bin/chromium (scripts/ensure-chromium.sh installs it): skipped with a message when it is missing,
 * except under CI, where a missing browser is a failure.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { stopEmbeddedServer } from '../../src/client/devServer';
import { freePort } from '../support/globalSetup';
import { cliEnv, root, startCadre } from '../support/cli';
import { testDir } from '../support/temporal';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const artifacts = join(root, 'test-results');

if (!haveChromium && process.env.CI) {
  throw new Error(`${CHROMIUM} is missing: install it with scripts/ensure-chromium.sh (Debian's chromium package)`);
}
if (!haveChromium) {
  console.warn(`skipping the Web UI test: ${CHROMIUM} is missing (install it with: sudo bash scripts/ensure-chromium.sh)`);
}

function runDemo(env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'demo.mjs'), '--offline'], { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, out });
    });
  });
}

describe.skipIf(!haveChromium)('the Web UI after a demo run', () => {
  const stateDir = testDir('webui-state');
  const profile = mkdtempSync(join(tmpdir(), 'cadre-chromium-'));
  let browser: BrowserContext | undefined;
  let worker: Awaited<ReturnType<typeof startCadre>> | undefined;

  afterAll(async () => {
    await browser?.close();
    worker?.child.kill('SIGTERM');
    await stopEmbeddedServer(stateDir);
    rmSync(profile, { recursive: true, force: true });
  });

  async function open(page: Page, url: string, text: string | RegExp): Promise<void> {
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.getByText(text).first().waitFor({ timeout: 60_000 });
  }

  it('finds the run by CadreRun, shows path-like ids, summaries on the timeline and User Metadata', async () => {
    const [port, uiPort] = [await freePort(), await freePort()];
    const vars = { CADRE_STATE_DIR: stateDir, CADRE_DEV_PORT: String(port), CADRE_UI_PORT: String(uiPort) };
    const demo = await runDemo(cliEnv(vars));
    expect(demo.code, demo.out).toBe(0);
    const runId = /started run (demo-[0-9a-f]{6})/.exec(demo.out)?.[1];
    expect(runId).toBeDefined();
    const ui = `http://localhost:${uiPort}/namespaces/default`;
    const listUrl = `${ui}/workflows?query=${encodeURIComponent(`CadreRun="${runId}"`)}`;
    expect(demo.out).toContain(listUrl);

    // A worker, so the UI's queries (call stack, current details) of these workflows have someone to answer them.
    worker = await startCadre(['worker'], vars, /worker polling/, 180_000);

    mkdirSync(artifacts, { recursive: true });
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1600, height: 1000 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = browser.pages()[0] ?? (await browser.newPage());

    // 1. The list, filtered by the run's search attribute: the run and its 9 agent workflows, ids as paths.
    await open(page, listUrl, `${runId}/team/writer/checker`);
    const list = await page.innerText('main');
    for (const id of [runId!, `${runId}/scaffold`, `${runId}/notes-a`, `${runId}/notes-b`, `${runId}/team`, `${runId}/team/writer`, `${runId}/frugal`, `${runId}/frugal/spender`, `${runId}/wrap-up`]) {
      expect(list).toContain(id);
    }
    expect(list).toMatch(/\b10\s+Workflows\b/);
    await page.screenshot({ path: join(artifacts, 'webui-run-list.png'), fullPage: true });

    // 2. Search attributes are kept current: the refused sub-agent is found by its final status and depth.
    const refusedUrl = `${ui}/workflows?query=${encodeURIComponent(`CadreRun="${runId}" AND CadreStatus="budget_exhausted" AND CadreDepth=1`)}`;
    await open(page, refusedUrl, `${runId}/frugal/spender`);
    expect(await page.innerText('main')).toMatch(/\b1\s+Workflows?\b/);

    // 3. The run's page: its timeline names the task workflows and the merges without opening a payload.
    await open(page, `${ui}/workflows/${encodeURIComponent(runId!)}`, /merge team/);
    const runPage = await page.innerText('main');
    // The timeline folds events close in time into numbered groups, so not every task's row shows unfolded: some do.
    expect(runPage).toMatch(/task notes-a: Write part 1 of NOTES\.md/);
    expect(runPage).toMatch(/mergeBranch\s*•\s*merge notes-a/);
    await page.screenshot({ path: join(artifacts, 'webui-run.png'), fullPage: false });

    // A task agent's own page names it by the same summary (its User Metadata), whether or not the timeline folds it.
    await open(page, `${ui}/workflows/${encodeURIComponent(`${runId}/frugal`)}`, 'User Metadata');
    await page.getByText('User Metadata').first().click();
    await page.frameLocator('#user-metadata-summary').getByText('task frugal: Ask for more budget and be refused').waitFor({ timeout: 30_000 });

    // 4. An agent's User Metadata: its summary; current details when the workflows set them.
    await open(page, `${ui}/workflows/${encodeURIComponent(`${runId}/frugal/spender`)}`, 'User Metadata');
    await page.getByText('User Metadata').first().click();
    // Summary and current details are rendered as markdown in iframes (`/render?content=…`).
    await page.frameLocator('#user-metadata-summary').getByText(`sub-agent spender`).waitFor({ timeout: 30_000 });
    await page.waitForTimeout(1000);
    const rendered = page
      .frames()
      .map((f) => new URL(f.url()))
      .filter((u) => u.pathname === '/render')
      .map((u) => u.searchParams.get('content') ?? '');
    const details = rendered.filter((c) => c !== 'sub-agent spender' && c.trim());
    console.info(`Web UI: current details of ${runId}/frugal/spender: ${details.length ? JSON.stringify(details.join(' | ').slice(0, 300)) : '(none set)'}`);
    await page.screenshot({ path: join(artifacts, 'webui-agent-metadata.png'), fullPage: false });
  }, 420_000);
});
