/**
 * Machine checks on a workspace (the task field `checks`, from GSD `must_haves`): pure reads of files under
 * `workspaceRoot`, no writes, so running them twice (an activity retry) gives the same answer for the same tree.
 *
 * A check's path is repository-relative and is confined to the workspace: a path that leaves it (`..`, absolute,
 * or a symlink pointing outside) is a failure, never a read outside. Every failure is returned, not only the first,
 * so the agent gets one message listing all that is missing.
 */
import { readFile, realpath } from 'node:fs/promises';
import * as path from 'node:path';
import type { Check } from '../shared/plan';

export interface CheckFailure {
  check: Check;
  /** One line for the agent and the operator, naming the file and what is missing. */
  message: string;
}

/** Files larger than this are not read whole; a check on them fails with a clear message. */
const MAX_BYTES = 8 * 1024 * 1024;

export async function runChecks(workspaceRoot: string, checks: readonly Check[]): Promise<CheckFailure[]> {
  const failures: CheckFailure[] = [];
  const cache = new Map<string, Promise<string | { error: string }>>();
  for (const check of checks) {
    let text = cache.get(check.path);
    if (!text) {
      text = readConfined(workspaceRoot, check.path);
      cache.set(check.path, text);
    }
    const content = await text;
    if (typeof content !== 'string') {
      failures.push({ check, message: `${check.path}: ${content.error}` });
      continue;
    }
    const problem = evaluate(check, content);
    if (problem) failures.push({ check, message: `${check.path}: ${problem}` });
  }
  return failures;
}

async function readConfined(root: string, rel: string): Promise<string | { error: string }> {
  if (path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) return { error: 'path leaves the workspace' };
  const rootReal = await realpath(root).catch(() => path.resolve(root));
  const real = await realpath(path.join(root, rel)).catch(() => undefined);
  if (real === undefined) return { error: 'file does not exist' };
  if (real !== rootReal && !real.startsWith(rootReal + path.sep)) return { error: 'path leaves the workspace' };
  try {
    const buf = await readFile(real);
    if (buf.length > MAX_BYTES) return { error: `file is larger than ${MAX_BYTES} bytes` };
    return buf.toString('utf8');
  } catch (err) {
    return { error: `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
}

/** What is wrong with `content` for `check`, or undefined when it passes. */
function evaluate(check: Check, content: string): string | undefined {
  switch (check.kind) {
    case 'contains':
      return content.includes(check.text) ? undefined : `does not contain ${JSON.stringify(check.text)}`;
    case 'pattern': {
      let re: RegExp;
      try {
        re = new RegExp(check.regex, 'm');
      } catch {
        return `pattern ${JSON.stringify(check.regex)} is not a valid regular expression`;
      }
      return re.test(content) ? undefined : `does not match /${check.regex}/`;
    }
    case 'exports':
      return exportsName(content, check.name) ? undefined : `does not export "${check.name}"`;
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether source text exports `name`: ES modules (`export function|const|class|type|interface|enum name`,
 * `export { a, b as name }`, `export default` for "default"), CommonJS (`module.exports.name`, `exports.name =`,
 * `module.exports = { name }`), and the public definitions of other languages (`pub fn name`, Go's capitalised
 * `func Name`, a top-level Python `def name`/`class name`). A textual check, not a parser: it accepts what a reviewer
 * reading the file would call an export.
 */
export function exportsName(content: string, name: string): boolean {
  const n = escape(name);
  if (name === 'default' && /^\s*export\s+default\b/m.test(content)) return true;
  const patterns = [
    String.raw`^\s*export\s+(?:declare\s+)?(?:default\s+)?(?:async\s+)?(?:abstract\s+)?(?:function\*?|const|let|var|class|interface|type|enum|namespace)\s+${n}\b`,
    String.raw`^\s*export\s+(?:type\s+)?\{[^}]*\b(?:\w+\s+as\s+)?${n}\b[^}]*\}`,
    String.raw`\b(?:module\.)?exports\.${n}\s*=`,
    String.raw`module\.exports\s*=\s*\{[^}]*\b${n}\b`,
    String.raw`^\s*pub(?:\([^)]*\))?\s+(?:async\s+)?(?:fn|struct|enum|trait|type|const|static|mod)\s+${n}\b`,
    String.raw`^(?:def|class|async\s+def)\s+${n}\b`,
  ];
  if (/^[A-Z]/.test(name)) patterns.push(String.raw`^func\s+(?:\([^)]*\)\s*)?${n}\b`, String.raw`^(?:type|var|const)\s+${n}\b`);
  return patterns.some((p) => new RegExp(p, 'm').test(content));
}
