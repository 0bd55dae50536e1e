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
