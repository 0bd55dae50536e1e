#!/usr/bin/env node
// `npm run demo`: the README's first command. Offline on a fresh clone: it makes a throwaway git repository under
// the state directory, runs the demo plan on it with the embedded Temporal server (live view on a terminal, plain
// lines otherwise), then says where to look. Nothing is deleted afterwards: the repository, its branches and the
// run stay there to inspect, and the Temporal server keeps running in the background (`cadre server stop`).
//
// Which plan: `node scripts/demo.mjs [plan]` runs that plan; else examples/claude.yaml when ANTHROPIC_API_KEY is
// set (real model calls, a few cents), else the offline examples/demo/plan.yaml. `--offline` forces the offline one.
// The exit code is the run's (0 completed, 1 failed, 3 cancelled).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const offline = args.includes('--offline');
const planArg = args.find((a) => !a.startsWith('--'));
const live = Boolean(process.env.ANTHROPIC_API_KEY) && !offline;
const plan = resolve(planArg ?? (live ? join(root, 'examples', 'claude.yaml') : join(root, 'examples', 'demo', 'plan.yaml')));
const stateDir = resolve(process.env.CADRE_STATE_DIR ?? join(homedir(), '.cadre'));
const uiPort = process.env.CADRE_UI_PORT ?? '8233';
const uiBase = (process.env.CADRE_UI_URL ?? `http://localhost:${uiPort}`).replace(/\/$/, '');
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
const repo = join(stateDir, 'demo', `repo-${stamp}-${randomBytes(2).toString('hex')}`);
const runId = `${live && !planArg ? 'claude-demo' : 'demo'}-${randomBytes(3).toString('hex')}`;
const cli = join(root, 'bin', 'cadre.js');
const say = (s) => process.stdout.write(`${s}\n`);

mkdirSync(repo, { recursive: true });
const git = (...a) => execFileSync('git', ['-c', 'user.name=cadre demo', '-c', 'user.email=demo@localhost', ...a], { cwd: repo, stdio: 'ignore' });
git('init', '-q', '-b', 'main');
writeFileSync(join(repo, 'README.md'), '# demo repository\n\nA throwaway repository for the cadre demo. Every agent works on its own branch `cadre/…`;\nthe run merges finished tasks into `cadre/<run>/integration`.\n');
git('add', '.');
git('commit', '-q', '-m', 'initial commit');

say(`cadre demo — plan ${relative(process.cwd(), plan) || plan}${live && !planArg ? ' (anthropic backend: ANTHROPIC_API_KEY is set)' : ' (offline: scripted and command agents)'}`);
say(`repository: ${repo}`);
say('');

const r = spawnSync(process.execPath, [cli, 'run', plan, '--repo', repo, '--run-id', runId], { stdio: 'inherit', env: process.env });
const code = r.status ?? 1;
if (r.signal === 'SIGINT' || code === 130) process.exit(130);

const cadre = `node ${relative(process.cwd(), cli) || cli}`;
const query = encodeURIComponent(`CadreRun="${runId}"`);
say('');
say('Where to look');
say(`  Web UI, every workflow of this run (filtered by the CadreRun search attribute):`);
say(`    ${uiBase}/namespaces/${namespace}/workflows?query=${query}`);
say(`  the run itself — its summary, its task workflows under "Relationships", activities named "merge <task>":`);
say(`    ${uiBase}/namespaces/${namespace}/workflows/${encodeURIComponent(runId)}`);
say(`  workflow ids read as paths: ${runId}/team is the team task's agent, ${runId}/team/writer/checker its grandchild;`);
say(`  other filters: CadreRole="subagent", CadreStatus="budget_exhausted", CadreDepth>=1, CadreTask="frugal".`);
say('');
say(`  ${cadre} status ${runId}                  the task table`);
say(`  ${cadre} tree ${runId}                    the agent hierarchy with budgets`);
say(`  ${cadre} logs ${runId}/frugal/spender     a transcript: the refused budget request`);
say(`  ${cadre} diff ${runId}/team               what a task's agents changed`);
say(`  git -C ${repo} log --oneline --graph --all`);
say('');
say(`The Temporal server keeps running in the background; stop it with: ${cadre} server stop`);
process.exit(code);
