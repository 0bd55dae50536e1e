/**
 * Small value parsers shared by the importers: durations, priorities, commands and repository paths.
 */
import * as path from 'node:path';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/**
 * Seconds in `value`: a number of seconds (`90`), a numeric string (`"90"`), or units (`"30s"`, `"5m"`, `"2h"`,
 * `"1h30m"`, `"1d"`, `"500ms"`). Undefined when it is none of these or not positive.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const s = value.trim().toLowerCase().replace(/\s+/g, '');
  if (/^\d+(\.\d+)?$/.test(s)) return parseDuration(Number(s));
  if (!DURATION.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]];
  return total > 0 ? total : undefined;
}

const PRIORITY_WORDS: Record<string, number> = { critical: 10, urgent: 10, high: 8, medium: 5, normal: 5, low: 2, p0: 10, p1: 8, p2: 5, p3: 2 };

/** A priority 1..10 from a number or a word (critical/urgent/P0 10, high/P1 8, medium/normal/P2 5, low/P3 2). */
export function parsePriority(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 && value <= 10 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const s = value.trim().toLowerCase();
  if (/^\d+$/.test(s)) return parsePriority(Number(s));
  return PRIORITY_WORDS[s];
}

/** argv from a list, or `['sh', '-c', text]` from a string (plan authors are trusted with a shell). */
export function toArgv(value: string | readonly string[]): string[] {
  return typeof value === 'string' ? ['sh', '-c', value] : [...value];
}

/**
 * A repository-relative path in canonical form (`./src//a.ts` → `src/a.ts`), or undefined for what cannot be one:
 * empty, absolute, or escaping the repository with `..`.
 */
export function repoPath(raw: string): string | undefined {
  const s = raw.trim().replace(/\\/g, '/');
  if (s === '' || s.startsWith('/') || /^[A-Za-z]:\//.test(s)) return undefined;
  const norm = path.posix.normalize(s).replace(/\/+$/, '');
  if (norm === '.' || norm === '' || norm === '..' || norm.startsWith('../')) return undefined;
  return norm;
}

/** `values` made unique, order kept. */
export function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/**
 * Bare names that are taken to be files at the repository root when they appear without a directory. Anything else
 * without a directory is not a declared file: in task prose, `quickstart.md`, `.onHover` (a Swift member) or
 * `.NET` name documents, members and products, and a wrong declared file serialises unrelated tasks.
 */
const ROOT_FILES = new Set(
  (
    'package.json package-lock.json pnpm-lock.yaml pnpm-workspace.yaml yarn.lock bun.lockb tsconfig.json jsconfig.json ' +
    'deno.json cargo.toml cargo.lock go.mod go.sum pyproject.toml setup.py setup.cfg requirements.txt pipfile poetry.lock ' +
    'gemfile gemfile.lock makefile dockerfile docker-compose.yml docker-compose.yaml compose.yaml readme.md changelog.md ' +
    'license contributing.md agents.md claude.md build.gradle settings.gradle pom.xml composer.json mix.exs package.swift ' +
    'cmakelists.txt justfile taskfile.yml turbo.json nx.json lerna.json biome.json vercel.json netlify.toml'
  ).split(' '),
);
const ROOT_FILE_PATTERNS = [/^tsconfig\.[\w.-]+\.json$/i, /^[\w-]+\.config\.(?:js|cjs|mjs|ts|cts|mts|json)$/i];
const DOTFILES = /^\.(?:gitignore|gitattributes|gitmodules|env(?:\.[\w-]+)?|npmrc|nvmrc|node-version|editorconfig|dockerignore|prettierrc(?:\.\w+)?|prettierignore|eslintrc(?:\.\w+)?|eslintignore|babelrc|browserslistrc|tool-versions|python-version|ruby-version|mcp\.json)$/i;

/**
 * Whether a token written in a plan names a file: `dir/name.ext` (a directory and an extension on the last part),
 * `dir/.dotfile`, a well-known root file (`package.json`, `tsconfig.json`, `go.mod`, `vite.config.ts`) or a
 * well-known dotfile (`.gitignore`, `.env.example`). Conservative on purpose: see ROOT_FILES.
 */
export function isPathLike(token: string): boolean {
  const tok = token.replace(/^\.\//, '');
  if (tok === '' || tok.startsWith('/') || tok.startsWith('@') || tok.startsWith('~') || /[\\*?<>|"'\s]/.test(tok) || tok.includes('...')) return false;
  const last = tok.split('/').pop() ?? '';
  if (last === '') return false;
  if (DOTFILES.test(last)) return true;
  if (tok.includes('/')) {
    if (/^\.[A-Za-z]/.test(last)) return true;
    const dot = last.lastIndexOf('.');
    const ext = dot > 0 ? last.slice(dot + 1) : '';
    return /^[A-Za-z0-9]{1,10}$/.test(ext) && !/^\d+$/.test(ext);
  }
  return ROOT_FILES.has(last.toLowerCase()) || ROOT_FILE_PATTERNS.some((re) => re.test(last));
}

/**
 * File paths mentioned in free text (a spec-kit task description): tokens that `isPathLike` accepts, e.g.
 * `src/models/Agent.ts`, `packages/x/y.json`, `tsconfig.json`, `.gitignore`. Not paths: URLs, npm scopes
 * (`@scope/pkg`), directories (`src/`), versions (`5.3.3`), library names (`Node.js`), members (`.onHover`), bare
 * document names (`quickstart.md`).
 */
export function pathsInText(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/[A-Za-z0-9_.@~/\\-]+/g)) {
    const tok = m[0].replace(/[.]+$/, '');
    if (text.slice(Math.max(0, m.index - 8), m.index).includes('://') || text.slice(m.index, m.index + m[0].length + 3).includes('://')) continue;
    if (!isPathLike(tok)) continue;
    const p = repoPath(tok);
    if (p) out.push(p);
  }
  return unique(out);
}
