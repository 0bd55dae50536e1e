/**
 * Finding an agent program: CADRE_CLAUDE_BIN / CADRE_CODEX_BIN, else `claude` / `codex` on PATH, else the copy that
 * `npm run setup` installs into the project's ignored `.tools/agents/` (scripts/setup.mjs pins the versions).
 * `requireAgentProgram` is what the CLI calls before it starts a run that needs one: a missing program is one line
 * and exit code 78, before anything starts.
 */
import { delimiter, join, resolve } from 'node:path';
import { CadreError } from '../../../shared/errors';
import type { AgentProgramBackend } from '../../../shared/session';
import { executable } from '../../../node/programs';

export const packageRoot = resolve(__dirname, '..', '..', '..', '..');

/** Versions scripts/setup.mjs installs into .tools/agents (keep the two in step). */
export const AGENT_PROGRAM_VERSIONS = { 'claude-code': '2.1.332', codex: '0.171.0' } as const;

const programs: Record<AgentProgramBackend, { envVar: string; bin: string; pkg: string }> = {
  'claude-code': { envVar: 'CADRE_CLAUDE_BIN', bin: 'claude', pkg: '@anthropic-ai/claude-code' },
  codex: { envVar: 'CADRE_CODEX_BIN', bin: 'codex', pkg: '@openai/codex' },
};


export type ProgramLookup = { ok: true; path: string } | { ok: false; reason: string };

export function findAgentProgram(backend: AgentProgramBackend, env: NodeJS.ProcessEnv = process.env): ProgramLookup {
  const p = programs[backend];
  const explicit = env[p.envVar];
  if (explicit) {
    return executable(explicit) ? { ok: true, path: explicit } : { ok: false, reason: `${p.envVar}=${explicit} is not an executable file` };
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, p.bin))) return { ok: true, path: join(dir, p.bin) };
  }
  const local = join(packageRoot, '.tools', 'agents', 'node_modules', '.bin', p.bin);
  if (executable(local)) return { ok: true, path: local };
  return {
    ok: false,
    reason: `the ${backend} backend needs \`${p.bin}\` (${p.pkg}): set ${p.envVar}, put \`${p.bin}\` on PATH, or run \`npm run setup\` (installs ${p.pkg}@${AGENT_PROGRAM_VERSIONS[backend]} into .tools/agents)`,
  };
}

/** The program's path, or a CadreError (exit 78) naming what is missing and how to get it. */
export function requireAgentProgram(backend: AgentProgramBackend, env: NodeJS.ProcessEnv = process.env): string {
  const found = findAgentProgram(backend, env);
  if (found.ok) return found.path;
  throw new CadreError(found.reason, 78);
}
