/** Resolving the repository a command works on: the top level of the git checkout at PATH (default: cwd). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { gitFor } from '../activities/git';
import { CadreError } from '../shared/errors';

export async function resolveRepo(path = process.cwd()): Promise<string> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new CadreError(`repository ${abs} does not exist`, 2);
  try {
    return (await gitFor(abs).raw(['rev-parse', '--show-toplevel'])).trim();
  } catch {
    throw new CadreError(`${abs} is not inside a git repository (use --repo PATH)`, 2);
  }
}

/**
 * Check before anything starts that `ref` names a commit of `repo`: an empty repository or a mistyped `--base` would
 * otherwise fail inside the first activity, with the cause only in the workflow history.
 */
export async function assertBaseRef(repo: string, ref: string, option = '--base'): Promise<void> {
  const g = gitFor(repo);
  const hasCommits = await g.raw(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).then(() => true, () => false);
  if (!hasCommits && ref === 'HEAD') throw new CadreError(`repository ${repo} has no commits yet: commit something first (agents branch from a commit)`, 2);
  if (ref.startsWith('-')) throw new CadreError(`${option} ${ref}: not a ref`, 2);
  try {
    await g.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  } catch {
    throw new CadreError(`${option} ${ref}: no such commit in ${repo}${hasCommits ? '' : ' (the repository has no commits yet)'}`, 2);
  }
}
