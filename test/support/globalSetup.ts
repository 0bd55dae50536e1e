/**
 * One real Temporal dev server per test run (in memory, headless, on free ports) and one workflow bundle shared by
 * every test's workers. Never a mock of Temporal.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startDevServer, type DevServer } from '../../src/client/devServer';
import { requireTemporalBin } from '../../src/client/temporalBin';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    testRoot: string;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

let server: DevServer | undefined;
let root: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  root = mkdtempSync(join(tmpdir(), 'cadre-test-'));
  const [srv, bundle] = await Promise.all([
    startDevServer({ bin: requireTemporalBin(process.env.CADRE_TEMPORAL_BIN), port: await freePort(), headless: true, logFile: join(root, 'temporal.log') }),
    bundleWorkflowCode({ workflowsPath: resolve(__dirname, '../../src/workflows/index.ts'), logger: quietLogger }),
  ]);
  server = srv;
  const bundlePath = join(root, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  project.provide('temporalAddress', srv.address);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('testRoot', root);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (root && !process.env.CADRE_KEEP_TEST_ROOT) rmSync(root, { recursive: true, force: true });
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => console.error(m), log: noop };
