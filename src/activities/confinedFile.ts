/**
 * Reading and writing one file of a workspace so that what the file system does between resolveInside()'s checks
 * and the I/O cannot take the tool outside.
 *
 * Node has no openat(), so the path is resolved by the kernel again at open time, and a directory of it may have
 * been swapped for a symlink in between. Instead of trusting the path, the opened descriptor is checked: its real
 * path (`/proc/self/fd/<fd>`, the kernel's view of the inode actually opened) must be inside the workspace and not in
 * `.git`, and its link count must be 1 (a hard link shares the content with a name that may be outside). Only then
 * is anything read or written, through that descriptor, which no later swap can redirect. The last component is
 * opened with O_NOFOLLOW. A file this call created outside is removed again; parent directories are made one at a
 * time, each checked, and removed again when one turns out to be outside.
 *
 * Residue (docs/workspaces.md): a file or directory that the race put outside exists there, empty, for the moment
 * between its creation and its removal; on a system without /proc the descriptor check falls back to realpath() of
 * the path, which narrows the window without closing it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isWithin, PathOutsideWorkspaceError } from './paths';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/** Where the descriptor really points, as the kernel sees it. */
function fdPath(fd: number, fallback: string): string {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return fs.realpathSync(fallback);
  }
}

function inGit(realRoot: string, real: string): boolean {
  return path.relative(realRoot, real).split(path.sep).some((p) => p.toLowerCase() === '.git');
}

function refuseShared(shown: string, st: fs.Stats): void {
  if (st.isFile() && st.nlink > 1) {
    throw new PathOutsideWorkspaceError(`${shown} is a hard link (${st.nlink} names share its content, possibly outside the workspace); read or write a copy instead`);
  }
}

/** Open `abs` and check the descriptor; the caller closes it. */
function openChecked(realRoot: string, abs: string, shown: string, flags: number, write: boolean): { fd: number; created: boolean; st: fs.Stats } {
  let fd: number;
  let created = false;
  if (write) {
    try {
      fd = fs.openSync(abs, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666);
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      fd = fs.openSync(abs, O_WRONLY | O_NOFOLLOW);
    }
  } else {
    fd = fs.openSync(abs, flags | O_NOFOLLOW);
  }
  try {
    const real = fdPath(fd, abs);
    if (!isWithin(realRoot, real) || (write && inGit(realRoot, real))) {
      if (created) fs.rmSync(real, { force: true });
      throw new PathOutsideWorkspaceError(`${shown} was redirected outside the workspace while it was being opened (a symlink swapped in); nothing was written`);
    }
    const st = fs.fstatSync(fd);
    refuseShared(shown, st);
    return { fd, created, st };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** The content of `abs`, or 'directory'; `maxBytes` larger files give 'too large' with their size. */
export function readConfined(realRoot: string, abs: string, shown: string, maxBytes: number): Buffer | { directory: true } | { tooLarge: number } {
  const { fd, st } = openChecked(realRoot, abs, shown, O_RDONLY, false);
  try {
    if (st.isDirectory()) return { directory: true };
    if (st.size > maxBytes) return { tooLarge: st.size };
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Make the parents of `abs` one directory at a time, each checked to be inside; what turns out outside goes again. */
function mkdirsConfined(realRoot: string, dir: string, shown: string): void {
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) {
    if (d === path.dirname(d)) break;
    missing.unshift(d);
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      continue;
    }
    const real = fs.realpathSync(d);
    if (!isWithin(realRoot, real) || inGit(realRoot, real)) {
      fs.rmSync(real, { recursive: false, force: true });
      try {
        fs.rmdirSync(real);
      } catch {
        // not empty any more, or gone: not ours to remove
      }
      throw new PathOutsideWorkspaceError(`${shown} was redirected outside the workspace while its directories were made (a symlink swapped in); nothing was written`);
    }
  }
}

/** Write `content` to `abs` (created or replaced); returns whether it existed before. */
export function writeConfined(realRoot: string, abs: string, shown: string, content: string): { existed: boolean } {
  mkdirsConfined(realRoot, path.dirname(abs), shown);
  const { fd, created, st } = openChecked(realRoot, abs, shown, O_WRONLY, true);
  try {
    if (st.isDirectory()) throw new PathOutsideWorkspaceError(`${shown} is a directory; give a file path`);
    fs.ftruncateSync(fd, 0);
    fs.writeFileSync(fd, content);
    return { existed: !created };
  } finally {
    fs.closeSync(fd);
  }
}
