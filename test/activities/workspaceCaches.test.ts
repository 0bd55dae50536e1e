/**
 * Dependency caches through createWorkspace with real installers and no network: npm installing a local tarball,
 * and a virtualenv with pip installing a local wheel (test/support/depSamples.ts).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheRoot, readEntry, sparesSettled } from '../../src/activities/depCache';
import { createWorkspace } from '../../src/activities/workspace';
import { commandLogFiles } from '../../src/client/commands/logs';
import { makeNodeSample, makePythonSample, setNodeDep } from '../support/depSamples';
import { tmp } from '../support/tmp';

afterEach(() => sparesSettled());

const setupLog = (state: string, ws: string) => fs.readFileSync(path.join(state, 'logs', `${path.basename(ws)}.setup.log`), 'utf8');
const node = (cwd: string, code: string) => execFileSync('node', ['-e', code], { cwd, encoding: 'utf8' }).trim();
const entries = (root: string) => fs.readdirSync(root).filter((n) => !n.startsWith('.')).sort();

describe('dependency caches in createWorkspace', () => {
  it('node: installs and saves on a miss, restores and skips npm on a hit, isolates copies, keys on the lockfile', async () => {
    const state = tmp('state');
    const sample = makeNodeSample(path.join(tmp('node'), 'app'), tmp('npm-cache'));
    const bootstrap = { setup: sample.setup, env: sample.env, caches: 'auto' as const };
    const create = (agentId: string) => createWorkspace({ stateDir: state, repo: sample.repo, agentId, baseRef: 'main', worktreePool: 0, bootstrap });

    const a = await create('node-a');
    const logA = setupLog(state, a.path);
    expect(logA).toMatch(/node_modules: miss node_modules-[0-9a-f]{16} \(key package-lock.json\): no entry/);
    expect(logA).toMatch(/added 1 package/); // npm ran
    expect(logA).toMatch(/node_modules: saved node_modules-/);
    expect(node(a.path, "console.log(require('tiny-dep').version)")).toBe('1.0.0');
    // `cadre logs node-a` shows the setup log, cache lines included.
    expect(commandLogFiles(state, 'node-a')).toEqual([{ kind: 'setup', path: path.join(state, 'logs', 'node-a.setup.log') }]);
    const root = cacheRoot(state, sample.repo);
    expect(entries(root)).toHaveLength(1);

    const b = await create('node-b');
    const logB = setupLog(state, b.path);
    expect(logB).toMatch(/node_modules: hit node_modules-/);
    expect(logB).toMatch(/setup skipped/);
    expect(logB).not.toMatch(/added 1 package/); // npm did not run
    expect(node(b.path, "console.log(require('tiny-dep').version)")).toBe('1.0.0');

    // One workspace's change to its node_modules reaches neither the other workspace nor the cache.
    fs.writeFileSync(path.join(a.path, 'node_modules/tiny-dep/index.js'), 'module.exports = { version: "tampered" };\n');
    expect(node(b.path, "console.log(require('tiny-dep').version)")).toBe('1.0.0');
    const [entry] = entries(root);
    expect(fs.readFileSync(path.join(root, entry!, 'tree/tiny-dep/index.js'), 'utf8')).toContain('1.0.0');
    const c = await create('node-c');
    expect(node(c.path, "console.log(require('tiny-dep').version)")).toBe('1.0.0');

    // A changed lockfile is a new key: a miss, npm runs, a second entry.
    setNodeDep(sample, '2.0.0');
    const d = await create('node-d');
    const logD = setupLog(state, d.path);
    expect(logD).toMatch(/node_modules: miss/);
    expect(logD).toMatch(/added 1 package/);
    expect(node(d.path, "console.log(require('tiny-dep').version)")).toBe('2.0.0');
    expect(entries(root)).toHaveLength(2);
    expect(entries(root)).toContain(entry);
  });

  it('python: a restored virtualenv imports the package and its scripts name the new workspace', async () => {
    const state = tmp('state');
    const sample = makePythonSample(path.join(tmp('py'), 'app'));
    const bootstrap = { setup: sample.setup, caches: [{ dir: '.venv', key: ['requirements.txt'] }] };
    const create = (agentId: string) => createWorkspace({ stateDir: state, repo: sample.repo, agentId, baseRef: 'main', worktreePool: 0, bootstrap });

    const a = await create('py-a');
    expect(setupLog(state, a.path)).toMatch(/\.venv: miss .*\n(.|\n)*\.venv: saved venv-/);
    const b = await create('py-b');
    const logB = setupLog(state, b.path);
    expect(logB).toMatch(/\.venv: hit venv-[0-9a-f]{16} \(key requirements.txt\); restored in \d+ ms with (cp -a --reflink=auto|a ready copy \(rename\)), \d+ paths relocated/);
    expect(logB).toMatch(/setup skipped/);
    const py = (ws: string, code: string) => execFileSync(path.join(ws, '.venv/bin/python'), ['-c', code], { cwd: ws, encoding: 'utf8' }).trim();
    expect(py(b.path, 'import tinypy, sys; print(tinypy.VERSION, sys.prefix)')).toBe(`1.0 ${path.join(b.path, '.venv')}`);
    // pip's script runs the new workspace's interpreter, not the one of the workspace the cache was saved from.
    expect(fs.readFileSync(path.join(b.path, '.venv/bin/pip'), 'utf8').split('\n')[0]).toMatch(new RegExp(`^#!${b.path}/\\.venv/bin/python3?$`));
    const pip = execFileSync(path.join(b.path, '.venv/bin/pip'), ['--version', '--disable-pip-version-check'], { cwd: b.path, encoding: 'utf8' });
    expect(pip).toContain(path.join(b.path, '.venv', 'lib'));
    const root = cacheRoot(state, sample.repo);
    const info = await readEntry(root, entries(root)[0]!);
    expect(info?.originRoot).toBe(a.path);
    expect(info?.relocate).toContain('bin/pip');
  });
});
