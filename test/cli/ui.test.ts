/**
 * `cadre ui` through the built CLI on the real dev server, driven by a headless Chromium (playwright-core, as the
 * Web UI test): during a run of a small plan with an approval gate the run page's DAG nodes change status as tasks
 * finish, the inbox's "approve" button answers the gate and the run goes on to complete; the cost table's total is
 * the sum of its rows and `cadre status`'s. A task title with `<script>` is shown as text. Bad POSTs (wrong Host,
 * wrong Origin, no token, unknown run or task, no reason) get a clear error and change nothing. With the worker
 * stopped, the page shows the run from history and says that no worker runs. Screenshots go to test-results/.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunProgress } from '../../src/shared/messages';
import { freePort } from '../support/globalSetup';
import { cadre, root, startCadre } from '../support/cli';
import { makeRepo } from '../support/repo';
import { testAddress, testClient, testDir, uniqueId } from '../support/temporal';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = join(root, 'test-results');
const BAD_TITLE = 'Wait for GO <script>window.__xss = 1</script> & "quoted"';

type Started = Awaited<ReturnType<typeof startCadre>>;

function stop(p: Started | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return Promise.resolve();
  return new Promise((res) => {
    p.child.once('exit', () => res());
    p.child.kill('SIGTERM');
  });
}

/** A POST as a script (not the page) would send it, with full control of Host and Origin. */
function post(port: number, action: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; json: { error?: string; message?: string } }> {
  return new Promise((res, rej) => {
    const data = JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/api/${action}`, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } }, (r) => {
      let text = '';
      r.on('data', (d: Buffer) => (text += d.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, json: JSON.parse(text) as { error?: string } }));
    });
    req.on('error', rej);
    req.end(data);
  });
}

describe.skipIf(!existsSync(CHROMIUM))('cadre ui', () => {
  const dir = testDir('ui-plan');
  const go = join(dir, 'GO');
  const env = { TEMPORAL_ADDRESS: testAddress(), CADRE_STATE_DIR: testDir('ui-state'), CADRE_TASK_QUEUE: uniqueId('ui') };
  let worker: Started | undefined;
  let ui: Started | undefined;
  let ui2: Started | undefined;
  let browser: Browser | undefined;
  const runs: string[] = [];

  afterAll(async () => {
    await browser?.close();
    await Promise.all([stop(ui), stop(ui2), stop(worker)]);
    const client = await testClient();
    for (const id of runs) await client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  });

  const status = async (runId: string) => JSON.parse((await cadre(['status', runId, '--json'], env)).stdout) as RunProgress & { source: string };
  const tokenOf = (page: Page) => page.evaluate<string>(`JSON.parse(document.getElementById('cadre-config').textContent).token`);
  const node = (page: Page, task: string, st: string) => page.locator(`svg.dag g.node[data-task="${task}"][data-status="${st}"]`).waitFor({ timeout: 120_000 });

  it('shows a run live, answers its gate from the inbox, refuses bad answers, and works without a worker', async () => {
    writeFileSync(join(dir, 'writer.yaml'), 'turns:\n  - tools:\n      - write_file: { path: notes.txt, content: "hi\\n" }\n  - tools:\n      - finish: { summary: wrote notes.txt }\n');
    const file = join(dir, 'plan.yaml');
    writeFileSync(
      file,
      `name: dashboard
tasks:
  - { id: slow, title: ${JSON.stringify(BAD_TITLE)}, command: ["sh", "-c", "while [ ! -f ${go} ]; do sleep 0.2; done; echo done > slow.txt"] }
  - { id: writer, title: Write notes, script: writer.yaml, budget: { tokens: 50000 } }
  - { id: review, title: Review by hand, dependsOn: [slow, writer], approval: "Check slow.txt", command: ["sh", "-c", "echo ok > review.txt"] }
  - { id: ship, title: Ship it, dependsOn: [review], command: ["true"] }
`,
    );
    const repo = makeRepo();
    worker = await startCadre(['worker'], env, /worker polling/, 180_000);
    const port = await freePort();
    ui = await startCadre(['ui', '--port', String(port)], env, /cadre dashboard at http:\/\/127\.0\.0\.1:\d+\//, 120_000);
    expect(ui.output()).toContain(`cadre dashboard at http://127.0.0.1:${port}/`);
    const base = `http://127.0.0.1:${port}`;

    // The default port taken: a clear error, exit 2.
    const taken = await cadre(['ui', '--port', String(port)], env);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/^cadre: cannot serve the dashboard on 127\.0\.0\.1:\d+: the port is in use/);

    const started = await cadre(['run', file, '--repo', repo, '--detach', '--no-worker'], env);
    expect(started.code, started.stderr).toBe(0);
    const runId = /run (dashboard-[0-9a-f]{6})/.exec(started.stdout + started.stderr)![1]!;
    runs.push(runId);

    mkdirSync(artifacts, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
    await page.goto(`${base}/runs/${runId}`, { waitUntil: 'domcontentloaded' });

    // 1. slow runs (held by the GO file); the title with <script> is text, not markup.
    await node(page, 'slow', 'running');
    await node(page, 'review', 'pending');
    expect(await page.evaluate('typeof window.__xss')).toBe('undefined');
    expect(await page.locator('table.tasks tr[data-task="slow"]').innerText()).toContain(BAD_TITLE);
    await page.screenshot({ path: join(artifacts, 'ui-run-running.png'), fullPage: true });

    // 2. Let it finish: the live stream turns its node completed, and the gated task waits.
    writeFileSync(go, '');
    await node(page, 'slow', 'completed');
    await node(page, 'writer', 'completed');
    await node(page, 'review', 'waiting');
    await page.locator('ul.tree li[data-agent$="/writer"] .bar').first().waitFor();
    await page.screenshot({ path: join(artifacts, 'ui-run-gate.png'), fullPage: true });

    // 3. Bad answers: refused with a reason, and the gate still waits.
    const token = await tokenOf(page);
    const ok = { host: `127.0.0.1:${port}`, origin: base, 'x-cadre-token': token };
    const gate = { runId, taskId: 'review' };
    const refused = [
      [await post(port, 'approve', gate, { ...ok, host: `evil.example:${port}` }), 403, /host "evil\.example:\d+" is not this dashboard's/],
      [await post(port, 'approve', gate, { ...ok, origin: 'http://evil.example' }), 403, /cross-site request refused: origin http:\/\/evil\.example/],
      [await post(port, 'approve', gate, { host: ok.host, origin: base }), 403, /X-Cadre-Token/],
      [await post(port, 'approve', { runId: 'nope-000000', taskId: 'review' }, ok), 404, /no run with id "nope-000000"/],
      [await post(port, 'approve', { runId, taskId: 'nope' }, ok), 400, /nope/],
      [await post(port, 'reject', { ...gate, reason: '  ' }, ok), 400, /reason: a rejection needs a reason/],
      [await post(port, 'grant', { agentId: `${runId}/nope`, amount: '10k' }, ok), 400, new RegExp(`no agent with id "${runId}/nope"`)],
      [await post(port, 'launch', gate, ok), 404, /unknown action "launch"/],
    ] as const;
    for (const [r, code, why] of refused) {
      expect(r.status, JSON.stringify(r.json)).toBe(code);
      expect(r.json.error).toMatch(why);
    }
    const still = await status(runId);
    expect(still.tasks.find((t) => t.id === 'review')?.status).toBe('waiting');

    // 4. The inbox lists the gate; its approve button answers it.
    await page.goto(`${base}/inbox`, { waitUntil: 'domcontentloaded' });
    const item = page.locator(`ul.inbox li[data-kind="gate"][data-run="${runId}"]`);
    await item.waitFor({ timeout: 60_000 });
    expect(await item.innerText()).toContain('Review by hand: Check slow.txt');
    await page.screenshot({ path: join(artifacts, 'ui-inbox.png'), fullPage: true });
    await item.locator('button[data-action="approve"]').click();
    await page.locator('#flash.ok', { hasText: 'approved review' }).waitFor({ timeout: 60_000 });

    // 5. The run goes on and completes; the total is the sum of the rows, and `cadre status`'s.
    await page.goto(`${base}/runs/${runId}`, { waitUntil: 'domcontentloaded' });
    await page.locator('[data-run-status="completed"]').waitFor({ timeout: 120_000 });
    for (const t of ['slow', 'writer', 'review', 'ship']) await node(page, t, 'completed');
    const sum = async (sel: string) => (await page.locator(sel).evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))))).reduce((a, b) => a + b, 0);
    const totalUsd = Number(await page.locator('#total-usd').getAttribute('data-value'));
    const totalTokens = Number(await page.locator('#total-tokens').getAttribute('data-value'));
    expect(totalTokens).toBeGreaterThan(0);
    expect(await sum('table.tasks td.cost-tokens')).toBe(totalTokens);
    expect(await sum('table.tasks td.cost-usd')).toBeCloseTo(totalUsd, 9);
    const done = await status(runId);
    expect(done.status).toBe('completed');
    expect(done.costUsd).toBeCloseTo(totalUsd, 9);
    expect(done.tokens).toBe(totalTokens);
    await page.screenshot({ path: join(artifacts, 'ui-run-completed.png'), fullPage: true });

    // The runs list shows it with its status colour.
    await page.goto(base, { waitUntil: 'domcontentloaded' });
    await page.locator(`tr[data-run="${runId}"] .badge.st-completed`).waitFor();

    // 6. No worker: a second run stopped at its gate is read from history, says so, and offers no buttons.
    const second = await cadre(['run', file, '--repo', repo, '--new', '--detach', '--no-worker'], env);
    const run2 = /run (dashboard-[0-9a-f]{6})/.exec(second.stdout + second.stderr)![1]!;
    runs.push(run2);
    for (let i = 0; i < 600 && (await status(run2)).tasks.find((t) => t.id === 'review')?.status !== 'waiting'; i++) await new Promise((r) => setTimeout(r, 200));
    await stop(worker);
    const port2 = await freePort();
    ui2 = await startCadre(['ui', '--port', String(port2)], { ...env, CADRE_POLLER_STALE_SECONDS: '1' }, /cadre dashboard at/, 120_000);
    await new Promise((r) => setTimeout(r, 1500)); // longer than CADRE_POLLER_STALE_SECONDS since the worker's last poll
    await page.goto(`http://127.0.0.1:${port2}/runs/${run2}`, { waitUntil: 'domcontentloaded' });
    await page.locator('#no-worker').waitFor({ timeout: 60_000 });
    expect(await page.locator('#no-worker').innerText()).toMatch(/No worker is running: showing the data as of its last update \(as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ; task queue ".*" has no poller\), read from what Temporal stores/);
    // The rows as `cadre status` reads them from history: the gated task, its agent done and nothing merged, waits.
    const fromHistory = JSON.parse((await cadre(['status', run2, '--json'], { ...env, CADRE_POLLER_STALE_SECONDS: '1' })).stdout) as RunProgress & { source: string };
    expect(fromHistory.source).toBe('history');
    expect(fromHistory.tasks.find((t) => t.id === 'slow')?.status).toBe('completed');
    expect(fromHistory.tasks.find((t) => t.id === 'review')).toMatchObject({ status: 'waiting', waiting: expect.stringMatching(/^approval: /) });
    for (const t of fromHistory.tasks) await node(page, t.id, t.status);
    expect(await page.locator('button[data-action]').count()).toBe(0);
    const token2 = await tokenOf(page);
    const r = await post(port2, 'approve', { runId: run2, taskId: 'review' }, { host: `127.0.0.1:${port2}`, origin: `http://127.0.0.1:${port2}`, 'x-cadre-token': token2 });
    expect(r.status).toBe(503);
    expect(r.json.error).toMatch(/no worker polls task queue ".*": start one with `cadre worker`/);
    await page.screenshot({ path: join(artifacts, 'ui-no-worker.png'), fullPage: true });
  }, 600_000);
});
