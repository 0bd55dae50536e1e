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

const PRIORITY_WORDS: Record<string, number> = { critical: 10, urgent: 10, high: 8, medium: 5, normal: 5, low: 2 };

/** A priority 1..10 from a number or a word (critical/urgent 10, high 8, medium/normal 5, low 2). */
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

const FILE_EXTENSIONS = new Set(
  (
    'ts tsx mts cts js jsx mjs cjs json jsonc yaml yml toml ini cfg conf env md mdx txt rst sql prisma graphql gql ' +
    'go rs py rb java kt kts scala swift c h cc cpp hpp cs php lua sh bash zsh ps1 html htm css scss sass less vue svelte ' +
    'astro xml csv lock mod sum proto tf hcl dockerfile gradle properties ex exs erl hs ml clj dart r jl zig nim'
  ).split(' '),
);

/**
 * File paths mentioned in free text (a spec-kit task description): tokens with a `/` whose last part has an
 * extension (`src/models/Agent.ts`, `packages/x/y.json`), bare names with a well-known file extension
 * (`tsconfig.json`, `README.md`) and dotfiles (`.gitignore`, `.env.example`). Bare names are taken to be at the
 * repository root. Not paths: URLs, npm scopes (`@scope/pkg`), directories (`src/`), versions (`5.3.3`) and
 * library names written like files (`Node.js`).
 */
export function pathsInText(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/[A-Za-z0-9_.@~/\\-]+/g)) {
    let tok = m[0].replace(/[.]+$/, '');
    const before = text[m.index - 1];
    if (before === ':' && text.slice(Math.max(0, m.index - 8), m.index).includes('://')) continue;
    if (tok.startsWith('@') || tok.startsWith('~') || tok.includes('\\')) continue;
    tok = tok.replace(/^\.\//, '');
    const last = tok.split('/').pop() ?? '';
    if (last === '' || tok.startsWith('/')) continue;
    const dot = last.lastIndexOf('.');
    const ext = dot > 0 ? last.slice(dot + 1).toLowerCase() : '';
    // ".gitignore" and ".env" are files; ".ts" in "convert .js files to .ts" is an extension.
    const isDotfile = /^\.[A-Za-z][A-Za-z0-9_.-]*$/.test(last) && (last === '.env' || !FILE_EXTENSIONS.has(last.slice(1).toLowerCase()));
    let isPath: boolean;
    if (tok.includes('/')) {
      isPath = isDotfile || (/^[A-Za-z0-9]{1,10}$/.test(ext) && !/^\d+$/.test(ext));
    } else {
      const libraryName = ext === 'js' && /^[A-Z][a-z]+$/.test(last.slice(0, dot));
      isPath = isDotfile || (FILE_EXTENSIONS.has(ext) && !libraryName && !/^[\d.]+$/.test(last));
    }
    const p = isPath ? repoPath(tok) : undefined;
    if (p) out.push(p);
  }
  return unique(out);
}
