/**
 * Front matter read the way people write it: real GSD and spec-kitty files carry many keys cadre never reads, and
 * some of them are not strict YAML (a regex `pattern: "\.claude.*skills"` is an invalid escape in a double-quoted
 * string). One such key must not reject the plan, so parsing falls back step by step:
 *
 * 1. the text as written;
 * 2. the text with invalid backslash escapes in double-quoted strings taken literally (`"\."` read as `\.`), with a
 *    warning: YAML forbids them, but what the author meant is unambiguous;
 * 3. each top-level key on its own: a key that still does not parse is an error when cadre reads it (`critical`)
 *    and a warning otherwise, and the other keys are kept.
 */
import { isRecord, parseYaml, type YamlPath, type YamlSource } from './yamlSource';

export interface LenientYaml {
  data: Record<string, unknown>;
  lineOf(path: YamlPath): number | undefined;
  errors: { line?: number; message: string }[];
  warnings: { line?: number; message: string }[];
}

const VALID_ESCAPE = /[0abtnvfre "/\\N_LPxuU\t]/;

/** Double-quoted scalars on one line with backslashes that YAML would reject made literal. */
export function repairEscapes(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      // A line whose first quote is a single quote may hold double quotes as literal text: left alone.
      /^[^"]*'/.test(line) ? line : line.replace(/"((?:[^"\\]|\\.)*)"/g, (whole, inner: string) =>
        `"${inner.replace(/\\(.)/g, (m, c: string) => (VALID_ESCAPE.test(c) ? m : `\\\\${c}`))}"`,
      ),
    )
    .join('\n');
}

const TOP_KEY = /^([A-Za-z_][\w-]*)\s*:/;

/** `critical`: keys whose loss would change what the run does; their failure is an error, not a warning. */
export function parseLenient(text: string, firstLine: number, critical: readonly string[]): LenientYaml {
  const whole = parseYaml(text, firstLine);
  if (whole.errors.length === 0) return fromSource(whole, [], []);
  const repaired = repairEscapes(text);
  if (repaired !== text) {
    const again = parseYaml(repaired, firstLine);
    if (again.errors.length === 0) {
      const line = whole.errors[0].line;
      return fromSource(again, [], [{ line, message: 'front matter is not strict YAML (an invalid "\\" escape in a double-quoted string); read with the backslash taken literally' }]);
    }
  }

  // Per top-level key: a block is a key line at column 0 and the lines under it.
  const lines = repaired.split('\n');
  const blocks: { key: string; start: number; end: number }[] = [];
  lines.forEach((l, i) => {
    const m = TOP_KEY.exec(l);
    if (m) blocks.push({ key: m[1], start: i, end: lines.length });
  });
  blocks.forEach((b, k) => (b.end = blocks[k + 1]?.start ?? lines.length));
  const data: Record<string, unknown> = {};
  const sources = new Map<string, YamlSource>();
  const errors: LenientYaml['errors'] = [];
  const warnings: LenientYaml['warnings'] = [];
  for (const b of blocks) {
    const src = parseYaml(lines.slice(b.start, b.end).join('\n'), firstLine + b.start);
    if (src.errors.length === 0 && isRecord(src.data) && b.key in src.data) {
      data[b.key] = src.data[b.key];
      sources.set(b.key, src);
      continue;
    }
    const why = src.errors[0]?.message ?? 'not a mapping entry';
    const line = src.errors[0]?.line ?? firstLine + b.start;
    if (critical.includes(b.key)) errors.push({ line, message: `invalid front matter in "${b.key}": ${why}` });
    else warnings.push({ line, message: `front matter key "${b.key}" is not valid YAML (${why}); ignored` });
  }
  if (blocks.length === 0) errors.push(...whole.errors.map((e) => ({ line: e.line, message: `invalid front matter: ${e.message}` })));
  return {
    data,
    errors,
    warnings,
    lineOf: (p) => (p.length > 0 ? sources.get(String(p[0]))?.lineOf(p) : firstLine),
  };
}

function fromSource(src: YamlSource, errors: LenientYaml['errors'], warnings: LenientYaml['warnings']): LenientYaml {
  const data = isRecord(src.data) ? src.data : {};
  if (!isRecord(src.data) && src.data !== undefined && src.data !== null) errors.push({ line: src.lineOf([]), message: 'front matter must be a mapping' });
  return { data, errors, warnings, lineOf: src.lineOf };
}
