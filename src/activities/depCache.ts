/**
 * Shared dependency caches for new workspaces (docs/workspaces.md, "Dependency caches").
 *
 * A directory that bootstrap's setup command produces (node_modules, .venv, target) is saved once per key and copied
 * into later workspaces instead of being installed again. The key is a hash of the directory's path, the platform
 * and the content of its key files (lockfiles), so a changed lockfile is a new key: entries are never updated, only
 * added and pruned.
 *
 * Layout, under `${stateDir}/cache/<repoKey>/`:
 *   <slug>-<hash>/tree          the directory as the setup left it
 *   <slug>-<hash>/entry.json    dir, key files, origin paths, what to relocate; written before the rename
 *   <slug>-<hash>/used          its mtime is the entry's last restore (pruning keeps recently used entries)
 *   .spare-<slug>-<hash>-<hex>/ a ready private copy of an entry's tree: a restore renames it into the workspace
 *   .tmp-<pid>-<hex>/           an entry or a spare being built; renamed to its final name when complete
 *   .trash-<hex>/               a pruned entry being deleted
 *
 * Copies are `cp -a --reflink=auto` on Linux (a copy-on-write clone where the file system supports it, btrfs or XFS,
 * else a full copy) and fs.cp with COPYFILE_FICLONE elsewhere. Never hard links: a program that writes a file in
 * place (an editor, `pip install` rewriting a module, a build tool) would change the cache and every other
 * workspace sharing the inode. So one workspace's writes reach neither the cache nor another workspace.
 *
 * Saving is safe across processes: an entry is built in a temporary directory of the cache root and renamed into
 * place, which is atomic and fails when the name exists. The loser of a race deletes its copy; readers only ever see
 * complete entries.
 *
 * Virtualenvs are not relocatable: scripts in `.venv/bin` start with `#!<absolute path>/python`, and editable
 * installs write the checkout's absolute path into `.pth` files. A restored copy that kept them would run (and
 * `pip install` into) the workspace it was saved from. So saving records the files and symlinks that mention the
 * origin workspace, and restoring rewrites them to the new one.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_CACHES, type CacheSpec, type Caches } from '../shared/plan';
import { logger } from '../node/logger';
import { git, gitFor, realOrResolved } from './git';
import { isWithin, repoKey, resolveInside } from './paths';

export { DEFAULT_CACHES };
export type { CacheSpec, Caches };

/** Bump when the entry layout or the key's inputs change: old entries are then never found. */
const FORMAT = 1;
const ENTRY_JSON = 'entry.json';
const TREE = 'tree';
const USED = 'used';
/** Entries kept per cached directory by pruning (the most recently used ones). */
export const DEFAULT_KEEP = 3;
/** An entry restored this recently is never pruned (a restore may still be copying it). */
const PRUNE_GRACE_MS = 10 * 60_000;
/** Ready private copies kept per entry (see "spares" below). */
export const SPARES_PER_ENTRY = 1;
const SPARE_PREFIX = '.spare-';
/** Files larger than this are not scanned for origin paths. */
const RELOCATE_MAX_BYTES = 1 << 20;

// ---------------------------------------------------------------------------------------------------------------
// declarations and keys

export interface ResolvedCache {
  dir: string;
  /** The key files that exist, sorted, relative to the workspace. */
  files: string[];
  /** The key: hex, 16 characters. */
  hash: string;
  /** The entry's directory name, `<slug>-<hash>`. */
  name: string;
}

const toPosix = (p: string) => p.split(/[\\/]+/).filter((x) => x !== '' && x !== '.').join('/');

function globToRegExp(segment: string): RegExp {
  const body = segment.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** Files of `root` matching `pattern` (`*` and `?` within one segment), relative and sorted. Regular files only. */
export async function expandPattern(root: string, pattern: string): Promise<string[]> {
  const segments = toPosix(pattern).split('/');
  let current = [''];
  for (const seg of segments) {
    const next: string[] = [];
    for (const base of current) {
      if (!/[*?]/.test(seg)) {
        next.push(base ? `${base}/${seg}` : seg);
        continue;
      }
      const names = await fs.promises.readdir(path.join(root, base)).catch(() => [] as string[]);
      const re = globToRegExp(seg);
      for (const name of names.sort()) if (re.test(name)) next.push(base ? `${base}/${name}` : name);
    }
    current = next;
  }
  const files: string[] = [];
  for (const rel of current) {
    let abs: string;
    try {
      abs = resolveInside(root, rel, 'read'); // a key file that is a symlink out of the workspace is refused
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') continue;
      throw err;
    }
    const st = await fs.promises.stat(abs).catch(() => undefined);
    if (st?.isFile()) files.push(rel);
  }
  return [...new Set(files)].sort();
}

async function hashFiles(root: string, dir: string, files: string[]): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ format: FORMAT, dir, platform: process.platform, arch: process.arch }));
  for (const rel of files) {
    h.update(`\0${rel}\0`);
    h.update(await fs.promises.readFile(path.join(root, rel)));
  }
  return h.digest('hex').slice(0, 16);
}

function slug(dir: string): string {
  return dir.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '').slice(0, 60) || 'dir';
}

/**
 * The caches that apply to `worktree`: for `auto`, the defaults whose lockfile exists; for a list, each entry whose
 * key matches at least one file (one that matches none is skipped and reported in `skipped`).
 */
export async function resolveCaches(worktree: string, caches: Caches): Promise<{ caches: ResolvedCache[]; skipped: string[] }> {
  const out: ResolvedCache[] = [];
  const skipped: string[] = [];
  const specs: { dir: string; key: readonly string[]; extra: readonly string[] }[] = caches === 'auto'
    ? DEFAULT_CACHES.map((d) => ({ dir: d.dir, key: d.lockfiles, extra: d.extra }))
    : caches.map((c) => ({ dir: toPosix(c.dir), key: c.key, extra: [] }));
  for (const spec of specs) {
    const primary = (await Promise.all(spec.key.map((k) => expandPattern(worktree, k)))).flat();
    if (primary.length === 0) {
      if (caches !== 'auto') skipped.push(`${spec.dir}: no file matches its key ${spec.key.join(', ')}`);
      continue;
    }
    const extra = (await Promise.all(spec.extra.map((k) => expandPattern(worktree, k)))).flat();
    const files = [...new Set([...primary, ...extra])].sort();
    const hash = await hashFiles(worktree, spec.dir, files);
    out.push({ dir: spec.dir, files, hash, name: `${slug(spec.dir)}-${hash}` });
  }
  return { caches: out, skipped };
}

export function cacheRoot(stateDir: string, repoRoot: string): string {
  return path.join(realOrResolved(stateDir), 'cache', repoKey(repoRoot));
}

// ---------------------------------------------------------------------------------------------------------------
// entries

export interface EntryInfo {
  format: number;
  dir: string;
  hash: string;
  files: string[];
  /** Absolute paths of the workspace and of the directory it was saved from. */
  originRoot: string;
  createdAt: string;
  /** Files (relative to the directory) that mention originRoot: rewritten on restore. */
  relocate: string[];
  /** Symlinks (relative to the directory) with an absolute target inside originRoot: re-pointed on restore. */
  links: string[];
  /** How the tree was copied in. */
  copiedWith: string;
}

export async function readEntry(root: string, name: string): Promise<EntryInfo | undefined> {
  try {
    const info = JSON.parse(await fs.promises.readFile(path.join(root, name, ENTRY_JSON), 'utf8')) as EntryInfo;
    return info.format === FORMAT ? info : undefined;
  } catch {
    return undefined;
  }
}

export interface CopyOptions {
  heartbeat?: () => void;
  signal?: AbortSignal;
}

/**
 * Copy the directory `src` to `dst` (which must not exist): copy-on-write where the file system can, else a full
 * copy; modes, timestamps and symlinks (as links) preserved. Returns how it copied.
 */
export async function copyTree(src: string, dst: string, options: CopyOptions = {}): Promise<string> {
  const beat = options.heartbeat ? setInterval(options.heartbeat, 2_000) : undefined;
  try {
    if (process.platform === 'linux') {
      await new Promise<void>((resolve, reject) => {
        execFile('cp', ['-a', '--reflink=auto', '--', src, dst], { signal: options.signal, maxBuffer: 1 << 20 }, (err, _out, stderr) => {
          if (err) reject(new Error(`cp -a ${src} ${dst} failed: ${String(stderr).trim() || err.message}`));
          else resolve();
        });
      });
      return 'cp -a --reflink=auto';
    }
    await fs.promises.cp(src, dst, {
      recursive: true, errorOnExist: true, force: false, preserveTimestamps: true, verbatimSymlinks: true, mode: fs.constants.COPYFILE_FICLONE,
    });
    return 'fs.cp (COPYFILE_FICLONE)';
  } finally {
    if (beat) clearInterval(beat);
  }
}

function originPattern(originRoot: string): RegExp {
  // The origin path, not followed by a character that would make it a longer name (`…/a` must not match `…/ab`).
  return new RegExp(`${originRoot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9._@+~-])`, 'g');
}

/** Where the tree mentions the origin workspace: candidate text files of a virtualenv, and absolute symlinks into it. */
async function findOriginRefs(tree: string, originRoot: string): Promise<{ relocate: string[]; links: string[] }> {
  const relocate: string[] = [];
  const links: string[] = [];
  const needle = Buffer.from(originRoot);
  const candidate = (rel: string) => {
    const parts = rel.split('/');
    return parts.length === 1 ? rel === 'pyvenv.cfg'
      : parts[0] === 'bin' ? parts.length === 2
      : /\.(pth|egg-link)$/.test(rel) || /\/__editable__[^/]*\.py$/.test(rel) || /\/direct_url\.json$/.test(rel);
  };
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.promises.readdir(path.join(tree, rel), { withFileTypes: true });
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(tree, child);
      if (e.isDirectory()) await walk(child);
      else if (e.isSymbolicLink()) {
        const target = await fs.promises.readlink(abs);
        if (path.isAbsolute(target) && isWithin(originRoot, target)) links.push(child);
      } else if (e.isFile() && candidate(child)) {
        const st = await fs.promises.stat(abs);
        if (st.size <= RELOCATE_MAX_BYTES && (await fs.promises.readFile(abs)).includes(needle)) relocate.push(child);
      }
    }
  };
  await walk('');
  return { relocate, links };
}

/** Rewrite the recorded references to the origin workspace so that they name `targetRoot` instead. */
async function relocate(target: string, info: EntryInfo, targetRoot: string): Promise<number> {
  if (info.originRoot === targetRoot) return 0;
  const re = originPattern(info.originRoot);
  let n = 0;
  for (const rel of info.relocate) {
    const file = path.join(target, rel);
    const st = await fs.promises.lstat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    const text = await fs.promises.readFile(file, 'latin1'); // byte-preserving for any encoding
    const rewritten = text.replace(re, targetRoot);
    if (rewritten === text) continue;
    // A new file renamed over the old one: with a copy-on-write clone, writing in place would be fine too, but a
    // rename never touches the inode the cache may still share on a file system without clones.
    const tmp = `${file}.cadre-${randomBytes(4).toString('hex')}`;
    await fs.promises.writeFile(tmp, rewritten, { encoding: 'latin1', mode: st.mode });
    await fs.promises.utimes(tmp, st.atime, st.mtime);
    await fs.promises.rename(tmp, file);
    n++;
  }
  for (const rel of info.links) {
    const link = path.join(target, rel);
    const old = await fs.promises.readlink(link).catch(() => undefined);
    if (old === undefined || !isWithin(info.originRoot, old)) continue;
    const tmp = `${link}.cadre-${randomBytes(4).toString('hex')}`;
    await fs.promises.symlink(path.join(targetRoot, path.relative(info.originRoot, old)), tmp);
    await fs.promises.rename(tmp, link);
    n++;
  }
  return n;
}

export interface RestoreResult {
  restored: boolean;
  /** Why not, when not restored. */
  reason?: string;
  copiedWith?: string;
  relocated?: number;
  ms: number;
}

/**
 * Restore `cache` into `worktree` if its entry exists. The target must not hold tracked files; anything else there
 * (a crashed earlier attempt's partial copy) is removed first. A copy that fails is removed and counts as a miss.
 */
export async function restoreCache(root: string, worktree: string, cache: ResolvedCache, options: CopyOptions = {}): Promise<RestoreResult> {
  const t0 = Date.now();
  const entry = path.join(root, cache.name);
  const info = await readEntry(root, cache.name);
  if (!info) return { restored: false, reason: 'no entry', ms: Date.now() - t0 };
  const target = resolveInside(worktree, cache.dir, 'write');
  if (await fs.promises.lstat(target).catch(() => undefined)) {
    const tracked = await git(gitFor(worktree), ['ls-files', '-z', '--', cache.dir], `listing tracked files under ${cache.dir}`);
    if (tracked.length > 0) return { restored: false, reason: `${cache.dir} has tracked files in the repository; not replaced`, ms: Date.now() - t0 };
    await fs.promises.rm(target, { recursive: true, force: true });
  }
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  // Mark the entry used before copying, so a concurrent prune leaves it alone while the copy runs.
  const now = new Date();
  await fs.promises.utimes(path.join(entry, USED), now, now).catch(() => undefined);
  let copiedWith: string;
  if (await claimSpare(root, cache.name, target)) copiedWith = 'a ready copy (rename)';
  else {
    try {
      copiedWith = await copyTree(path.join(entry, TREE), target, options);
    } catch (err) {
      await fs.promises.rm(target, { recursive: true, force: true });
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      return { restored: false, reason: `copy failed: ${err instanceof Error ? err.message : String(err)}`, ms: Date.now() - t0 };
    }
  }
  const relocated = await relocate(target, info, realOrResolved(worktree));
  requestSpare(root, cache.name);
  return { restored: true, copiedWith, relocated, ms: Date.now() - t0 };
}

export interface SaveResult {
  saved: boolean;
  /** Why not: the directory is missing, or another workspace saved the same key first. */
  reason?: string;
  ms: number;
}

/**
 * Save `cache.dir` of `worktree` as the entry for its key: built in `.tmp-<pid>-<hex>` and renamed into place. If the
 * entry exists already (another workspace won), the copy is discarded. Never throws for a lost race.
 */
export async function saveCache(root: string, worktree: string, cache: ResolvedCache, options: CopyOptions = {}): Promise<SaveResult> {
  const t0 = Date.now();
  const source = resolveInside(worktree, cache.dir, 'read');
  const st = await fs.promises.lstat(source).catch(() => undefined);
  if (!st?.isDirectory()) return { saved: false, reason: `the setup left no directory ${cache.dir}`, ms: Date.now() - t0 };
  const final = path.join(root, cache.name);
  if (await readEntry(root, cache.name)) return { saved: false, reason: 'already cached', ms: Date.now() - t0 };
  await fs.promises.mkdir(root, { recursive: true });
  const tmp = path.join(root, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  await fs.promises.mkdir(tmp);
  try {
    const copiedWith = await copyTree(source, path.join(tmp, TREE), options);
    const originRoot = realOrResolved(worktree);
    const refs = await findOriginRefs(path.join(tmp, TREE), originRoot);
    const info: EntryInfo = {
      format: FORMAT, dir: cache.dir, hash: cache.hash, files: cache.files, originRoot, createdAt: new Date().toISOString(), ...refs, copiedWith,
    };
    await fs.promises.writeFile(path.join(tmp, ENTRY_JSON), `${JSON.stringify(info, null, 2)}\n`);
    await fs.promises.writeFile(path.join(tmp, USED), '');
    try {
      await fs.promises.rename(tmp, final);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return { saved: false, reason: 'another workspace saved it first', ms: Date.now() - t0 };
      throw err;
    }
    requestSpare(root, cache.name);
    return { saved: true, ms: Date.now() - t0 };
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// spares: ready private copies, so that a restore is a rename

/*
 * Without copy-on-write clones (ext4, and tmpfs), a restore copies every file: about a second for a 26 MB virtualenv
 * on a loaded 2-core machine. So each entry keeps SPARES_PER_ENTRY full copies of its tree, `.spare-<name>-<hex>`,
 * made in the background. A restore renames one into the workspace (the state directory holds both, so it is one
 * file system) and asks for a new one. A spare is a copy nobody else has: after the rename it belongs to that
 * workspace alone, as a copied tree would. Spares are built as `.tmp-<pid>-<hex>` and renamed when complete, so a
 * spare with its final name is always whole; two restores racing for one spare are told apart by the rename (the
 * loser gets ENOENT and copies instead).
 */

const spareRefills = new Map<string, Promise<void>>();

function sparesOf(names: string[], name: string): string[] {
  const prefix = `${SPARE_PREFIX}${name}-`;
  return names.filter((n) => n.startsWith(prefix) && /^[0-9a-f]{12}$/.test(n.slice(prefix.length)));
}

/** Rename a ready spare of `name` to `target` (which must not exist). False when there is none to take. */
async function claimSpare(root: string, name: string, target: string): Promise<boolean> {
  const names = await fs.promises.readdir(root).catch(() => [] as string[]);
  for (const spare of sparesOf(names, name)) {
    try {
      await fs.promises.rename(path.join(root, spare), target);
      return true;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') continue; // another restore took it
      if (code === 'EXDEV') return false; // the workspace is on another file system: copy
      throw err;
    }
  }
  return false;
}

async function fillSpares(root: string, name: string): Promise<void> {
  for (;;) {
    if (!(await readEntry(root, name))) return;
    const names = await fs.promises.readdir(root).catch(() => [] as string[]);
    if (sparesOf(names, name).length >= SPARES_PER_ENTRY) return;
    const tmp = path.join(root, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await copyTree(path.join(root, name, TREE), tmp);
      await fs.promises.rename(tmp, path.join(root, `${SPARE_PREFIX}${name}-${randomBytes(6).toString('hex')}`));
    } finally {
      await fs.promises.rm(tmp, { recursive: true, force: true });
    }
  }
}

/**
 * Make the spares of an entry in the background (one refill per entry at a time in this process). Never throws, and
 * nothing waits for it: a restore without a spare copies. Failures are logged (pino, `dep-cache`) and dropped.
 */
export function requestSpare(root: string, name: string): void {
  if (SPARES_PER_ENTRY <= 0) return;
  const key = path.join(root, name);
  const next = (spareRefills.get(key) ?? Promise.resolve())
    .then(() => fillSpares(root, name))
    .catch((err: unknown) => {
      logger().child({ component: 'dep-cache' }).warn({ entry: key, err: err instanceof Error ? err.message : String(err) }, 'could not make a spare copy of a cache entry');
    })
    .finally(() => {
      if (spareRefills.get(key) === next) spareRefills.delete(key);
    });
  spareRefills.set(key, next);
}

/** Resolves when this process has no spare refill running (tests and the benchmark wait for it). */
export async function sparesSettled(): Promise<void> {
  while (spareRefills.size > 0) await Promise.all([...spareRefills.values()]);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Keep the `keep` most recently used entries of `dir` (and any used in the last 10 minutes); delete the rest, and
 * temporary directories of dead processes. An entry is renamed away before it is deleted, so no restore starts on a
 * half-deleted one. Returns the names removed.
 */
export async function pruneCaches(root: string, dir: string, keep = DEFAULT_KEEP): Promise<string[]> {
  const names = await fs.promises.readdir(root).catch(() => [] as string[]);
  const removed: string[] = [];
  const mine: { name: string; used: number }[] = [];
  for (const name of names) {
    const tmpOf = /^\.tmp-(\d+)-/.exec(name);
    if (tmpOf && !pidAlive(Number(tmpOf[1]))) {
      await fs.promises.rm(path.join(root, name), { recursive: true, force: true });
      removed.push(name);
      continue;
    }
    if (name.startsWith('.')) continue;
    const info = await readEntry(root, name);
    if (info?.dir !== dir) continue;
    const st = await fs.promises.stat(path.join(root, name, USED)).catch(() => undefined);
    mine.push({ name, used: st?.mtimeMs ?? 0 });
  }
  mine.sort((a, b) => b.used - a.used);
  const trashIt = async (name: string): Promise<boolean> => {
    const trash = path.join(root, `.trash-${randomBytes(6).toString('hex')}`);
    try {
      await fs.promises.rename(path.join(root, name), trash);
    } catch {
      return false; // pruned (or, for a spare, claimed) by another process meanwhile
    }
    await fs.promises.rm(trash, { recursive: true, force: true });
    return true;
  };
  for (const { name, used } of mine.slice(keep)) {
    if (Date.now() - used < PRUNE_GRACE_MS) continue;
    if (await trashIt(name)) removed.push(name);
    for (const spare of sparesOf(names, name)) if (await trashIt(spare)) removed.push(spare);
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------------------------
// the bootstrap flow

export interface WithCachesOptions extends CopyOptions {
  stateDir: string;
  repoRoot: string;
  worktree: string;
  caches: Caches;
  setupAlways?: boolean;
  /** Entries kept per directory (default 3). */
  keep?: number;
  /** The setup log (`logs/<dir>.setup.log`): restores, misses and saves are appended to it. */
  logFile: string;
}

export interface WithCachesResult {
  setupRan: boolean;
  restored: string[];
  saved: string[];
}

/**
 * Bootstrap's setup with caches. Restore every cache whose entry exists; when all were restored, skip the setup
 * (unless setupAlways); otherwise run it, then save every directory that was not restored. A failing setup saves
 * nothing (its error propagates).
 */
export async function withDepCaches(options: WithCachesOptions, runSetup: () => Promise<void>): Promise<WithCachesResult> {
  await fs.promises.mkdir(path.dirname(options.logFile), { recursive: true });
  const say = (line: string) => fs.promises.appendFile(options.logFile, `[cadre cache] ${line}\n`);
  const root = cacheRoot(options.stateDir, options.repoRoot);
  const { caches, skipped } = await resolveCaches(options.worktree, options.caches);
  for (const s of skipped) await say(`skipped ${s}`);
  if (caches.length === 0) await say(`no cache applies (${options.caches === 'auto' ? 'auto: no known lockfile here' : 'no key file exists'}); running the setup`);
  const restored: string[] = [];
  const missed: ResolvedCache[] = [];
  for (const c of caches) {
    const r = await restoreCache(root, options.worktree, c, options);
    if (r.restored) {
      restored.push(c.dir);
      await say(`${c.dir}: hit ${c.name} (key ${c.files.join(', ')}); restored in ${r.ms} ms with ${r.copiedWith}${r.relocated ? `, ${r.relocated} paths relocated` : ''}`);
    } else {
      missed.push(c);
      await say(`${c.dir}: miss ${c.name} (key ${c.files.join(', ')}): ${r.reason}`);
    }
  }
  const allHit = caches.length > 0 && missed.length === 0;
  if (allHit && !options.setupAlways) {
    await say('every cache was restored: setup skipped (set bootstrap.setupAlways to run it anyway)');
    return { setupRan: false, restored, saved: [] };
  }
  await runSetup();
  const saved: string[] = [];
  for (const c of missed) {
    const r = await saveCache(root, options.worktree, c, options);
    if (r.saved) {
      saved.push(c.dir);
      await say(`${c.dir}: saved ${c.name} in ${r.ms} ms`);
      const pruned = await pruneCaches(root, c.dir, options.keep ?? DEFAULT_KEEP);
      if (pruned.length) await say(`${c.dir}: pruned ${pruned.join(', ')}`);
    } else {
      await say(`${c.dir}: not saved: ${r.reason}`);
    }
  }
  return { setupRan: true, restored, saved };
}
