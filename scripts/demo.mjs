#!/usr/bin/env node
// `npm run demo`: offline, on a fresh clone. Makes a throwaway git repository under the state directory, runs the
// demo plan on it with the embedded Temporal server, then says where to look. Nothing is deleted afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = resolve(process.env.CADRE_STATE_DIR ?? join(homedir(), '.cadre'));
const plan = process.argv[2] ?? join(root, 'examples', 'demo', 'plan.yaml');
const repo = join(stateDir, 'demo', `repo-${new Date().toISOString().replace(/[:.]/g, '-')}`);

mkdirSync(repo, { recursive: true });
const git = (...args) => execFileSync('git', ['-c', 'user.name=cadre demo', '-c', 'user.email=demo@localhost', ...args], { cwd: repo, stdio: 'ignore' });
git('init', '-q', '-b', 'main');
writeFileSync(join(repo, 'README.md'), '# demo repository\n\nA throwaway repository for the cadre demo.\n');
git('add', '.');
git('commit', '-q', '-m', 'initial commit');
process.stdout.write(`demo repository: ${repo}\n`);

const r = spawnSync(process.execPath, [join(root, 'bin', 'cadre.js'), 'run', plan, '--repo', repo, '--new'], { stdio: 'inherit', env: process.env });
process.stdout.write(
  `\nInspect the result:\n` +
    `  git -C ${repo} log --oneline --graph --all\n` +
    `  node bin/cadre.js list            (recent runs)\n` +
    `  Web UI: http://localhost:${process.env.CADRE_UI_PORT ?? 8233}  (filter with: CadreRun = "<run id>")\n` +
    `  stop the background Temporal server with: node bin/cadre.js server stop\n`,
);
process.exit(r.status ?? 1);
