/**
 * State that must outlive its host (docs/hosts.md, "Losing a host"): a directory of files an agent needs to go on
 * where it left off — a model agent's transcript, a session program's own session files — kept in the run's remote
 * as a commit under `refs/cadre/state/<key>`, so any host can fetch it. Each save replaces the previous one (a
 * commit without parents, force-pushed): the ref always holds the last checkpoint, and nothing piles up.
 *
 * Only for runs through a remote; the caller decides when (after a turn, at a session's checkpoint). Git does the
 * work with cadre's hardened settings and a private index file, so the host's clone, its index and its worktrees are
 * never touched: a save reads the directory as it is, a restore writes files into a directory without deleting what
 * else is there.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TypedFailure } from '../shared/errors';
import { git, gitFor } from './git';
import { localRepo } from './remote';
import { withRepoLock } from './repoMutex';

const ORIGIN = 'origin';

/** The ref a key is kept under; keys are agent ids and names such as `transcript`, made safe for a ref name. */
export function stateRef(key: string): string {
  const safe = key
    .split('/')
    .map((part) => part.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/\.{2,}/g, '.').replace(/^[.-]+|\.lock$|\.+$/g, '') || '_')
    .join('/');
  return `refs/cadre/state/${safe}`;
}

function tempIndex(clone: string): string {
  return path.join(clone, '.git', `cadre-state-index.${process.pid}.${randomBytes(4).toString('hex')}`);
}

/**
 * Saves every file under `dir` (recursively; an empty or missing directory saves an empty tree) to the remote under
 * `key`, and resolves to the commit that holds it. `include`, when given, keeps only paths (relative, with `/`) for
 * which it returns true.
 */
export async function saveState(stateDir: string, remote: string, key: string, dir: string, include?: (rel: string) => boolean): Promise<string> {
  const clone = await localRepo(stateDir, remote);
  const ref = stateRef(key);
  const index = tempIndex(clone);
  try {
    const files = fs.existsSync(dir) ? listFiles(dir).filter((rel) => !include || include(rel)) : [];
    const g = gitFor(clone, { GIT_INDEX_FILE: index });
    await git(g, ['read-tree', '--empty'], `starting the state of ${key}`);
    for (let i = 0; i < files.length; i += 200) {
      const batch = files.slice(i, i + 200).map((rel) => path.join(dir, rel));
      await git(g, ['--work-tree', dir, 'update-index', '--add', '--', ...batch], `reading the state of ${key} from ${dir}`);
    }
    const tree = (await git(g, ['write-tree'], `writing the state of ${key}`)).trim();
    const commit = (await git(g, ['commit-tree', '-m', `cadre state ${key}`, tree], `committing the state of ${key}`)).trim();
    await withRepoLock(stateDir, clone, async () => {
      await git(g, ['update-ref', ref, commit], `keeping the state of ${key}`);
      await git(g, ['push', '--quiet', '--force', ORIGIN, `${ref}:${ref}`], `pushing the state of ${key} to ${ORIGIN}`);
    });
    return commit;
  } finally {
    await fs.promises.rm(index, { force: true });
  }
}

/**
 * Fetches the state saved under `key` from the remote and writes its files into `dir` (made if missing; files of
 * the same name are replaced, others left alone). Resolves to the commit restored, or undefined when the remote has
 * no state under `key` (nothing was saved yet).
 */
export async function restoreState(stateDir: string, remote: string, key: string, dir: string): Promise<string | undefined> {
  const clone = await localRepo(stateDir, remote);
  const ref = stateRef(key);
  const g = gitFor(clone);
  const listed = await withRepoLock(stateDir, clone, () => git(g, ['ls-remote', '--end-of-options', ORIGIN, ref], `asking ${ORIGIN} for the state of ${key}`));
  if (!listed.trim()) return undefined;
  await withRepoLock(stateDir, clone, () => git(g, ['fetch', '--quiet', '--force', ORIGIN, `+${ref}:${ref}`], `fetching the state of ${key} from ${ORIGIN}`));
  const commit = (await git(g, ['rev-parse', '--verify', `${ref}^{commit}`], `reading the state of ${key}`)).trim();
  await fs.promises.mkdir(dir, { recursive: true });
  const index = tempIndex(clone);
  try {
    const gi = gitFor(clone, { GIT_INDEX_FILE: index });
    await git(gi, ['read-tree', commit], `reading the state of ${key}`);
    await git(gi, ['--work-tree', dir, 'checkout-index', '--all', '--force'], `writing the state of ${key} into ${dir}`);
  } catch (err) {
    throw err instanceof TypedFailure ? err : new TypedFailure(ErrorType.WorkspaceError, `could not restore the state of ${key} into ${dir}: ${String(err)}`, true);
  } finally {
    await fs.promises.rm(index, { force: true });
  }
  return commit;
}

/** Files under `dir`, relative with `/`, sorted; symbolic links and special files are left out. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(child);
      else if (e.isFile()) out.push(child);
    }
  };
  walk('');
  return out.sort();
}
