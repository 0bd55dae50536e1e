/**
 * Sample repositories with real dependencies installed without the network, for the dependency-cache tests and the
 * `depcache` benchmark section:
 *
 * - node: `package.json` depending on a local tarball (`file:vendor/tiny-dep-<v>.tgz`), a `package-lock.json` made by
 *   `npm install --package-lock-only --offline`; setup `npm ci --offline`.
 * - python: `requirements.txt` pinning a wheel in `vendor/` that this module writes by hand (no build backend
 *   needed); setup `python3 -m venv .venv && .venv/bin/pip install --no-index --find-links vendor -r requirements.txt`.
 *
 * No vitest imports: the benchmark uses this too.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

function run(cwd: string, cmd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }).trim();
}

export function gitIn(repo: string, ...args: string[]): string {
  return run(repo, 'git', ['-c', 'user.name=test', '-c', 'user.email=test@localhost', '-c', 'gc.auto=0', ...args]);
}

function writeFiles(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
}

export interface NodeSample {
  repo: string;
  /** Extra modules in the dependency. */
  files: number;
  /** Setup argv and its environment (a private npm cache, so nothing reaches the user's). */
  setup: string[];
  env: Record<string, string>;
}

/**
 * The tarball of `tiny-dep@<version>`, exporting `{ version }`, under `<repo>/vendor/`, with `files` more modules
 * (100 per directory) to give node_modules the size of a real project's.
 */
function packTinyDep(repo: string, version: string, files: number): string {
  const src = path.join(repo, '.pack', version);
  const extra: Record<string, string> = {};
  for (let i = 0; i < files; i++) {
    extra[`package/lib/m${String(Math.floor(i / 100)).padStart(3, '0')}/f${i}.js`] = `exports.f${i} = (x) => x * ${i};\n`.repeat(20);
  }
  writeFiles(src, {
    'package/package.json': JSON.stringify({ name: 'tiny-dep', version, main: 'index.js' }),
    'package/index.js': `module.exports = { version: ${JSON.stringify(version)} };\n`,
    ...extra,
  });
  fs.mkdirSync(path.join(repo, 'vendor'), { recursive: true });
  const tgz = `vendor/tiny-dep-${version}.tgz`;
  run(repo, 'tar', ['czf', tgz, '-C', src, 'package']);
  fs.rmSync(path.join(repo, '.pack'), { recursive: true, force: true });
  return tgz;
}

/** Point the sample at `tiny-dep@<version>` (a new tarball and lockfile) and commit. */
export function setNodeDep(sample: NodeSample, version: string): void {
  const tgz = packTinyDep(sample.repo, version, sample.files);
  fs.writeFileSync(path.join(sample.repo, 'package.json'), `${JSON.stringify({ name: 'sample', version: '1.0.0', private: true, dependencies: { 'tiny-dep': `file:${tgz}` } }, null, 2)}\n`);
  run(sample.repo, 'npm', ['install', '--package-lock-only', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], sample.env);
  gitIn(sample.repo, 'add', '-A');
  gitIn(sample.repo, 'commit', '-q', '-m', `tiny-dep ${version}`);
}

/** A git repository (in `dir`, on main) whose node_modules comes from `npm ci --offline`. */
export function makeNodeSample(dir: string, npmCache: string, version = '1.0.0', files = 0): NodeSample {
  fs.mkdirSync(dir, { recursive: true });
  gitIn(dir, 'init', '-q', '-b', 'main');
  writeFiles(dir, { '.gitignore': 'node_modules/\n', 'index.js': "console.log(require('tiny-dep').version);\n" });
  const sample: NodeSample = {
    repo: dir,
    files,
    setup: ['npm', 'ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'],
    env: { npm_config_cache: npmCache, npm_config_update_notifier: 'false' },
  };
  setNodeDep(sample, version);
  return sample;
}

export interface PythonSample {
  repo: string;
  setup: string[];
}

/** A pure-Python wheel `tinypy-<version>-py3-none-any.whl` whose module has `VERSION`, written without any build tool. */
function writeWheel(dir: string, version: string): void {
  const name = 'tinypy';
  const info = `${name}-${version}.dist-info`;
  const files: Record<string, string> = {
    [`${name}/__init__.py`]: `VERSION = ${JSON.stringify(version)}\n`,
    [`${info}/METADATA`]: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
    [`${info}/WHEEL`]: 'Wheel-Version: 1.0\nGenerator: cadre-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  };
  const record = Object.entries(files).map(([p, c]) => {
    const digest = createHash('sha256').update(c).digest('base64url');
    return `${p},sha256=${digest},${Buffer.byteLength(c)}`;
  });
  files[`${info}/RECORD`] = `${[...record, `${info}/RECORD,,`].join('\n')}\n`;
  const staging = path.join(dir, `.wheel-${version}`);
  writeFiles(staging, files);
  fs.mkdirSync(path.join(dir, 'vendor'), { recursive: true });
  // zip is not everywhere; Python is (the sample needs it anyway).
  run(staging, 'python3', ['-c', [
    'import os, sys, zipfile',
    'with zipfile.ZipFile(sys.argv[1], "w") as z:',
    '    for root, _, names in os.walk("."):',
    '        for n in names: z.write(os.path.join(root, n), os.path.relpath(os.path.join(root, n), "."))',
  ].join('\n'), path.join(dir, 'vendor', `${name}-${version}-py3-none-any.whl`)]);
  fs.rmSync(staging, { recursive: true, force: true });
}

export function setPythonDep(sample: PythonSample, version: string): void {
  writeWheel(sample.repo, version);
  fs.writeFileSync(path.join(sample.repo, 'requirements.txt'), `tinypy==${version}\n`);
  gitIn(sample.repo, 'add', '-A');
  gitIn(sample.repo, 'commit', '-q', '-m', `tinypy ${version}`);
}

/** A git repository whose `.venv` comes from `python3 -m venv` and an offline `pip install`. */
export function makePythonSample(dir: string, version = '1.0'): PythonSample {
  fs.mkdirSync(dir, { recursive: true });
  gitIn(dir, 'init', '-q', '-b', 'main');
  writeFiles(dir, { '.gitignore': '.venv/\n' });
  const sample: PythonSample = {
    repo: dir,
    setup: ['sh', '-c', 'python3 -m venv .venv && .venv/bin/pip install -q --disable-pip-version-check --no-index --find-links vendor -r requirements.txt'],
  };
  setPythonDep(sample, version);
  return sample;
}
