/**
 * Keeps an agent's program from changing the shared repository's configuration or hooks.
 *
 * A linked worktree shares the main repository's `.git/config`, `.git/hooks` and `.git/info`: `git config
 * core.fsmonitor ./x` run inside an agent's worktree writes the file every later git command reads, the user's own
 * in the main checkout included. File tools refuse writes into `.git`; programs cannot be stopped from writing, so
 * the guard takes a snapshot of those files before each agent program and, after it, puts back whatever changed and
 * says what it undid (the caller reports that to the agent).
 *
 * Hazards:
 * - Two programs of one repository running at once: each restores to its own snapshot. The later snapshot may hold a
 *   change the first program made, which the first program's restore then undoes and reports; a change made by the
 *   user (or another tool) to `.git/config` while a program runs is undone as well. cadre's own git writes no
 *   configuration (gitSafety.ts pins branch.autoSetupMerge).
 * - A change is only undone when the program ends: while it runs, a git command of the user's could read it.
 *   cadre's own git ignores the dangerous keys regardless (gitSafety.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface FileState {
  /** Undefined: the file did not exist. */
  content?: Buffer;
  mode?: number;
}

export interface RepoSnapshot {
  /** Guarded file → its state; directories listed in `dirs` are compared by their whole content. */
  files: Map<string, FileState>;
  dirs: string[];
  /** Where paths are shown relative to, for reports. */
  shownFrom: string;
}

/** The git directory of a worktree (`.git` file → gitdir) and the shared one (`commondir`), read without git. */
export function gitDirsOf(worktree: string): { gitDir: string; commonDir: string } | undefined {
  const dotGit = path.join(worktree, '.git');
  let st: fs.Stats;
  try {
    st = fs.statSync(dotGit);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) return { gitDir: dotGit, commonDir: dotGit };
  const m = /^gitdir:\s*(.+?)\s*$/m.exec(fs.readFileSync(dotGit, 'utf8'));
  if (!m) return undefined;
  const gitDir = path.resolve(worktree, m[1]);
  let commonDir = gitDir;
  try {
    commonDir = path.resolve(gitDir, fs.readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim());
  } catch {
    // no commondir file: a main repository's git dir
  }
  return { gitDir, commonDir };
}

function readState(file: string): FileState {
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile()) return { content: Buffer.from(`<${st.isSymbolicLink() ? 'symlink' : 'not a file'}>`), mode: -1 };
    return { content: fs.readFileSync(file), mode: st.mode & 0o7777 };
  } catch {
    return {};
  }
}

function same(a: FileState, b: FileState): boolean {
  if (a.content === undefined || b.content === undefined) return a.content === b.content;
  return a.mode === b.mode && a.content.equals(b.content);
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}

/** Snapshot of what an agent's program must not change; undefined when `worktree` is not a git checkout. */
export function snapshotRepository(worktree: string): RepoSnapshot | undefined {
  const dirs = gitDirsOf(worktree);
  if (!dirs) return undefined;
  const { gitDir, commonDir } = dirs;
  const guardedDirs = [path.join(commonDir, 'hooks'), path.join(commonDir, 'info')];
  const files = new Map<string, FileState>();
  for (const file of [path.join(commonDir, 'config'), path.join(commonDir, 'config.worktree'), path.join(gitDir, 'config.worktree')]) {
    files.set(file, readState(file));
  }
  for (const dir of guardedDirs) for (const file of listDir(dir)) files.set(file, readState(file));
  return { files, dirs: guardedDirs, shownFrom: path.dirname(commonDir) };
}

function removeAll(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

function restore(file: string, state: FileState): void {
  if (state.content === undefined) {
    removeAll(file);
    return;
  }
  if (state.mode === -1) return; // was not a regular file: nothing we can put back faithfully
  removeAll(file); // a symlink or directory put in its place goes; the write below must not follow it
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.cadre-restore-${process.pid}`;
  fs.writeFileSync(tmp, state.content, { mode: state.mode, flag: 'wx' });
  fs.chmodSync(tmp, state.mode ?? 0o644);
  fs.renameSync(tmp, file);
}

/**
 * Put back everything of `snap` that changed and remove what was added to the guarded directories. Returns the
 * paths undone (relative to the repository), empty when nothing changed.
 */
export function restoreRepository(snap: RepoSnapshot | undefined): string[] {
  if (!snap) return [];
  const undone: string[] = [];
  const seen = new Set<string>();
  for (const [file, before] of snap.files) {
    seen.add(file);
    if (same(before, readState(file))) continue;
    restore(file, before);
    undone.push(path.relative(snap.shownFrom, file));
  }
  for (const dir of snap.dirs) {
    for (const file of listDir(dir)) {
      if (seen.has(file)) continue;
      removeAll(file);
      undone.push(path.relative(snap.shownFrom, file));
    }
  }
  return undone.sort();
}

/** The line an agent's result carries when the guard undid something. */
export function undoneNote(undone: readonly string[]): string {
  return `[cadre: this program changed the shared repository's ${undone.join(', ')}; the change was undone (agents may not change git configuration or hooks)]\n`;
}
