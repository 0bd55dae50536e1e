/**
 * Path confinement and naming for workspaces.
 *
 * `resolveInside` is the one gate every file tool goes through: a model-supplied path is resolved against the
 * workspace root and refused unless the file it names (after following every symlink on the way) is inside the root.
 * `repoKey` and `sanitizeRef` turn repository paths and workflow ids into stable directory and branch names, so the
 * same ids always map to the same workspace (which is what makes workspace creation idempotent).
 *
 * Hazard: the checks run before the file operation, so a process racing to swap a directory for a symlink between
 * the check and the use could still redirect it (TOCTOU). Agents' own tools run one at a time per workspace, and
 * programs started by run_command are not confined by this module anyway (see docs/workspaces.md).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TypedFailure } from '../shared/errors';

/**
 * The error every workspace module throws for a failure it understands. `type` is one of the stable ErrorType names;
 * `retryable` says whether trying again could help (lock contention: yes; a path escape: never). The activity
 * boundary turns it into an ApplicationFailure.
 */
export class PathOutsideWorkspaceError extends TypedFailure {
  constructor(message: string) {
    super(ErrorType.PathOutsideWorkspace, message, false);
    this.name = 'PathOutsideWorkspaceError';
  }
}

export type AccessMode = 'read' | 'write';

/** True when `child` is `parent` or below it. Compares whole components, so /x/repo2 is not inside /x/repo. */
export function isWithin(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * Resolve `userPath` (relative to `root`) to a real absolute path inside the root, or throw
 * PathOutsideWorkspaceError. Refused: NUL bytes, absolute paths, `..` escapes, any symlink along the path (the final
 * component included) that resolves outside the root or dangles, and, for writes, anything inside a `.git` directory
 * or the `.git` file itself. Components that do not exist yet (a file about to be written, its new parent
 * directories) are allowed: they are created under a directory that was verified to be inside.
 */
export function resolveInside(root: string, userPath: string, mode: AccessMode = 'read'): string {
  if (userPath.includes('\0')) throw new PathOutsideWorkspaceError('path contains a NUL byte');
  if (path.isAbsolute(userPath)) {
    throw new PathOutsideWorkspaceError(`absolute paths are not allowed (${userPath}); use a path relative to the workspace root`);
  }
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch (err) {
    throw new TypedFailure(ErrorType.WorkspaceError, `workspace root ${root} is not accessible: ${errnoCode(err) ?? String(err)}`);
  }
  const lexical = path.resolve(realRoot, userPath);
  if (!isWithin(realRoot, lexical)) throw new PathOutsideWorkspaceError(`${userPath} is outside the workspace`);

  const parts = path.relative(realRoot, lexical).split(path.sep).filter((p) => p.length > 0);
  if (mode === 'write') assertNotGit(parts, userPath);

  let current = realRoot;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(current, parts[i]);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(next);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        current = path.join(next, ...parts.slice(i + 1));
        break;
      }
      throw err;
    }
    if (stat.isSymbolicLink()) {
      let target: string;
      try {
        target = fs.realpathSync(next);
      } catch {
        throw new PathOutsideWorkspaceError(`${userPath} goes through a symlink that does not resolve (${parts.slice(0, i + 1).join('/')})`);
      }
      if (!isWithin(realRoot, target)) {
        throw new PathOutsideWorkspaceError(`${userPath} goes through a symlink that points outside the workspace (${parts.slice(0, i + 1).join('/')})`);
      }
      current = target;
    } else {
      current = next;
    }
  }
  if (mode === 'write') {
    if (current === realRoot) throw new PathOutsideWorkspaceError('cannot write to the workspace root itself');
    // A symlink inside the root may lead into .git; check the resolved path as well as the one given.
    assertNotGit(path.relative(realRoot, current).split(path.sep), userPath);
  }
  return current;
}

function assertNotGit(parts: string[], userPath: string): void {
  if (parts.some((p) => p.toLowerCase() === '.git')) {
    throw new PathOutsideWorkspaceError(`${userPath}: writing inside .git is not allowed`);
  }
}

/** The path of `abs` relative to `root`, with forward slashes (for summaries and tool output). */
export function relativePosix(root: string, abs: string): string {
  let realRoot = root;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    realRoot = path.resolve(root);
  }
  const rel = path.relative(realRoot, abs);
  return rel === '' ? '.' : rel.split(path.sep).join('/');
}

function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * A stable short key for a repository: its basename plus a hash of its real path, e.g. `myapp-3f9a1c2b7d`. Two
 * checkouts with the same name get different keys; the same checkout reached through a symlink gets the same key.
 */
export function repoKey(repoPath: string): string {
  let real: string;
  try {
    real = fs.realpathSync(repoPath);
  } catch {
    real = path.resolve(repoPath);
  }
  const base = path.basename(real).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 40) || 'repo';
  return `${base}-${shortHash(real, 10)}`;
}

const CLEAN_ID = /^[A-Za-z0-9_][A-Za-z0-9_-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_-]*)*$/;
const MAX_CLEAN = 100;

/**
 * A name usable both as one git ref component and as one directory name, derived from a workflow id.
 *
 * Ids made of letters, digits, `_` and `-` segments separated by `/` map readably and one-to-one: the slashes become
 * dots (`run-1/t07/child-a` → `run-1.t07.child-a`). Slashes are flattened because git cannot hold both a ref
 * `cadre/run-1/t07` and `cadre/run-1/t07/child-a` (a parent agent's and its child's branch). Any other id (other
 * characters, empty segments, too long, or ending in `/lock`, which would give a forbidden `.lock` ref) is reduced to
 * safe characters and suffixed with a hash of the original, so distinct ids still give distinct names. Results never
 * start with `-` or `.`, so they can never be taken for an option or a hidden file.
 */
export function sanitizeRef(id: string): string {
  if (CLEAN_ID.test(id) && id.length <= MAX_CLEAN && !/(?:^|\/)lock$/.test(id)) return id.replace(/\//g, '.');
  const readable = id.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^[-_]+|-+$/g, '').slice(0, 60).replace(/-+$/, '');
  return `${readable || 'id'}-${shortHash(id)}`;
}
