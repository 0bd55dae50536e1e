/**
 * Dependency caches (src/activities/depCache.ts): how long until a new workspace has its dependencies, for a Node
 * sample (npm ci --offline of a local tarball with `nodeFiles` modules) and a Python sample (python3 -m venv and an
 * offline pip install of a local wheel), both from test/support/depSamples.ts. All through createWorkspace,
 * in-process, with bootstrap:
 *
 * - install: setup runs, no caches declared (cadre before dependency caches), worktree pool warm;
 * - cold: caches declared, cache empty: setup runs, then the directory is saved (the first workspace of a key pays
 *   the save on top of the install), worktree pool warm;
 * - restore by copy: cache warm but no spare copy ready, so the entry is copied (`cp -a --reflink=auto`); pool warm;
 * - from a spare, pool off: cache warm, a spare ready (renamed into the workspace), `git worktree add`;
 * - from a spare, warm pool: cache warm, a spare and a pool entry ready: what every later workspace of the key gets
 *   when workspaces do not start faster than the background makes spares;
 * - copy alone: restoreCache into a scratch checkout with no spare (the copy of "restore by copy").
 * Before each "spare" sample the background refill of spares is awaited (off the critical path, like the pool's).
 * Every removal is followed by `sync`, so its write-back does not land in the next timing.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { basename, join } from 'node:path';
import { cacheRoot, resolveCaches, restoreCache, sparesSettled } from '../../src/activities/depCache';
import { createWorkspace, removeWorkspace, worktreesRoot, type Bootstrap } from '../../src/activities/workspace';
import { poolSettled } from '../../src/activities/worktreePool';
import { makeNodeSample, makePythonSample } from '../../test/support/depSamples';
import { log, type BenchEnv } from '../lib/env';
import { git } from '../lib/repo';
import { round, summarize, type Summary } from '../lib/stats';

export interface DepCacheSample {
  name: string;
  dir: string;
  setup: string;
  /** Files and bytes of the cached directory. */
  files: number;
  bytes: number;
  installMs: Summary;
  coldMs: Summary;
  /** Cache warm, no spare ready: the entry is copied. Worktree pool warm. */
  restoreCopyMs: Summary;
  /** Cache warm, a spare ready, worktree pool off (`git worktree add`). */
  restoreSparePoolOffMs: Summary;
  /** Cache warm, a spare ready, worktree pool warm: what every later workspace of the key gets. */
  restoreWarmMs: Summary;
  /** restoreCache alone, no spare (the copy). */
  copyOnlyMs: Summary;
  /** install ÷ restore from a spare with a warm pool, at p50 (the target asks for ≥ 20). */
  speedupP50: number;
  /** How the restores copied (from the setup log): without a spare, and with one. */
  copiedWith: string;
  spareWith: string;
}

export interface DepCacheResult {
  samples: number;
  /** The state directory's file system type (`stat -f`): whether copies can be clones. */
  fileSystem: string;
  nodeFiles: number;
  results: DepCacheSample[];
}

const settle = () => execFileSync('sync');

function countTree(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = countTree(p);
      files += sub.files;
      bytes += sub.bytes;
    } else {
      files++;
      bytes += fs.lstatSync(p).size;
    }
  }
  return { files, bytes };
}

async function measure(env: BenchEnv, name: string, repo: string, dir: string, bootstrap: Bootstrap, samples: number): Promise<DepCacheSample> {
  const state = env.dir(`state-depcache-${name}`);
  const root = worktreesRoot(state, repo);
  const cache = cacheRoot(state, repo);
  let n = 0;
  const once = async (b: Bootstrap | undefined, pool: number): Promise<{ ms: number; path: string }> => {
    if (pool > 0) await poolSettled(root);
    settle();
    const t = performance.now();
    const w = await createWorkspace({ stateDir: state, repo, agentId: `${name}-${n++}`, baseRef: 'main', worktreePool: pool, bootstrap: b });
    return { ms: performance.now() - t, path: w.path };
  };
  const drop = async (path: string) => {
    await removeWorkspace({ stateDir: state, repo, path });
    settle();
  };
  const withCaches: Bootstrap = { ...bootstrap, caches: [{ dir, key: [dir === 'node_modules' ? 'package-lock.json' : 'requirements.txt'] }] };
  await drop((await once(undefined, 2)).path); // fills the pool

  // Install and cold alternate, so a change in the machine's load hits both alike.
  const install: number[] = [];
  const cold: number[] = [];
  let source = '';
  for (let i = 0; i < samples; i++) {
    const a = await once(bootstrap, 2);
    install.push(a.ms);
    await drop(a.path);
    fs.rmSync(cache, { recursive: true, force: true });
    const c = await once(withCaches, 2);
    cold.push(c.ms);
    if (source) await drop(source);
    source = c.path; // the last one stays: the source of the copy-only timings
  }
  const size = countTree(join(source, dir));
  const [resolved] = (await resolveCaches(source, withCaches.caches!)).caches;

  const howRestored = (ws: string) =>
    /restored in \d+ ms with ([^,\n]+)/.exec(fs.readFileSync(join(state, 'logs', `${basename(ws)}.setup.log`), 'utf8'))?.[1] ?? 'not restored';
  const noSpares = async () => {
    await sparesSettled();
    for (const s of fs.readdirSync(cache).filter((x) => x.startsWith('.spare-'))) fs.rmSync(join(cache, s), { recursive: true, force: true });
  };
  const copied: number[] = [];
  const spareOff: number[] = [];
  const warm: number[] = [];
  const copyOnly: number[] = [];
  let copiedWith = '';
  let spareWith = '';
  for (let k = 0; k < samples; k++) {
    await noSpares(); // a restore that finds no spare copies the entry
    const full = await once(withCaches, 2);
    copied.push(full.ms);
    copiedWith = howRestored(full.path);
    await drop(full.path);
    await sparesSettled();
    const off = await once(withCaches, 0);
    spareOff.push(off.ms);
    await drop(off.path);
    await sparesSettled();
    const w = await once(withCaches, 2);
    warm.push(w.ms);
    spareWith = howRestored(w.path);
    await drop(w.path);
    const scratch = env.dir(`depcache-${name}-copy-${k}`);
    git(scratch, 'init', '-q');
    await noSpares();
    settle();
    const t = performance.now();
    const r = await restoreCache(cache, scratch, resolved!);
    copyOnly.push(performance.now() - t);
    if (!r.restored) throw new Error(`depcache ${name}: restore failed: ${r.reason}`);
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  await sparesSettled();
  await drop(source);
  const out: DepCacheSample = {
    name,
    dir,
    setup: (bootstrap.setup ?? []).join(' '),
    ...size,
    installMs: summarize(install, 0),
    coldMs: summarize(cold, 0),
    restoreCopyMs: summarize(copied, 0),
    restoreSparePoolOffMs: summarize(spareOff, 0),
    restoreWarmMs: summarize(warm, 0),
    copyOnlyMs: summarize(copyOnly, 0),
    speedupP50: 0,
    copiedWith,
    spareWith,
  };
  out.speedupP50 = round(out.installMs.p50 / out.restoreWarmMs.p50, 1);
  log(`depcache ${name}: install p50 ${out.installMs.p50} ms, cold ${out.coldMs.p50} ms, restore by copy ${out.restoreCopyMs.p50} ms, `
    + `from a spare (pool off) ${out.restoreSparePoolOffMs.p50} ms, from a spare (warm pool) ${out.restoreWarmMs.p50} ms, copy alone ${out.copyOnlyMs.p50} ms: ${out.speedupP50}×`);
  return out;
}

export async function depcache(env: BenchEnv, o: { samples: number; nodeFiles: number }): Promise<DepCacheResult> {
  const node = makeNodeSample(join(env.dir('depcache-node'), 'app'), env.dir('depcache-npm-cache'), '1.0.0', o.nodeFiles);
  const py = makePythonSample(join(env.dir('depcache-py'), 'app'));
  const results = [
    await measure(env, 'node', node.repo, 'node_modules', { setup: node.setup, env: node.env }, o.samples),
    await measure(env, 'python', py.repo, '.venv', { setup: py.setup }, o.samples),
  ];
  let fileSystem = 'unknown';
  try {
    fileSystem = execFileSync('stat', ['-f', '-c', '%T', env.dir('state-depcache-node')], { encoding: 'utf8' }).trim();
  } catch {
    // not GNU stat
  }
  return { samples: o.samples, fileSystem, nodeFiles: o.nodeFiles, results };
}
