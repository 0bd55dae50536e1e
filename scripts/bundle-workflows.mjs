#!/usr/bin/env node
// Prebuilds the workflow bundle (dist/workflow-bundle.js) so a worker starts polling in about a second instead of
// bundling the workflow code with webpack at every start. Run by `npm run build` and `npm run setup`.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { bundleWorkflowCode } = require('@temporalio/worker');
const noop = () => undefined;
const logger = { trace: noop, debug: noop, info: noop, warn: noop, error: (m) => console.error(m), log: noop };

const { code } = await bundleWorkflowCode({ workflowsPath: join(root, 'dist', 'workflows', 'index.js'), logger });
writeFileSync(join(root, 'dist', 'workflow-bundle.js'), code);
