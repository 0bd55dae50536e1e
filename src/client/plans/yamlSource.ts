/**
 * YAML (and JSON, which YAML 1.2 reads too) with line numbers kept, so that a problem found in the parsed value can
 * be reported at the line of the field that caused it. Also splits Markdown front matter off its body.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

export type YamlPath = readonly (string | number)[];

export interface YamlSource {
  /** The parsed value (plain JS), or undefined when the text did not parse. */
  data: unknown;
  /** Syntax errors with their 1-based line. */
  errors: { line?: number; message: string }[];
  /** 1-based line of the value at `path` (of the key, for a map entry), falling back to the nearest parent found. */
  lineOf(path: YamlPath): number | undefined;
}

/** `firstLine` is the 1-based line of the text's first line in its file (front matter starts at line 2). */
export function parseYaml(text: string, firstLine = 1): YamlSource {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : counter.linePos(offset).line + firstLine - 1;
  const errors = doc.errors.map((e) => ({
    line: lineAt(e.pos[0]),
    message: e.message.split('\n')[0],
  }));
  let data: unknown;
  if (errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // An alias bomb (a billion laughs) or an alias to nothing: a problem of the text, reported like a syntax error.
      errors.push({ line: undefined, message: `cannot expand the YAML: ${(err as Error).message.split('\n')[0]}` });
    }
  }
  return {
    data,
    errors,
    lineOf: (path) => lineAt(offsetOf(doc, path)),
  };
}

function offsetOf(doc: Document, path: YamlPath): number | undefined {
  let node: unknown = doc.contents;
  let best = (doc.contents as Node | null)?.range?.[0];
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return best;
      best = (pair.key as Node).range?.[0] ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!item) return best;
      node = item;
      best = (item as Node).range?.[0] ?? best;
    } else {
      return best;
    }
  }
  return best;
}

export interface MarkdownParts {
  /** Front matter text, without the `---` fences; undefined when the file has none. */
  frontMatter?: string;
  /** 1-based line where the front matter text starts. */
  frontMatterLine: number;
  body: string;
  /** 1-based line where the body starts. */
  bodyLine: number;
}

/** Splits `---\n…\n---` front matter (at the very top of the file) from the Markdown body. */
export function splitFrontMatter(text: string): MarkdownParts {
  const src = text.replace(/^\uFEFF/, '');
  const lines = src.split(/\r?\n/);
  if (lines[0]?.trim() !== '---') return { frontMatterLine: 1, body: src, bodyLine: 1 };
  const end = lines.findIndex((l, i) => i > 0 && (l.trim() === '---' || l.trim() === '...'));
  if (end < 0) return { frontMatterLine: 1, body: src, bodyLine: 1 };
  return {
    frontMatter: lines.slice(1, end).join('\n'),
    frontMatterLine: 2,
    body: lines.slice(end + 1).join('\n'),
    bodyLine: end + 2,
  };
}

/**
 * Front matter as GSD authors write it: `---` fences at the top, or else a fenced ```yaml block before the first
 * `<task>`/`<objective>` block whose text has a GSD key (`phase`, `plan`, `wave`, `depends_on`, `files_modified`,
 * `must_haves`), as some plans carry it under their title; `---` lines inside that fence are dropped.
 */
export function findFrontMatter(text: string): MarkdownParts {
  const parts = splitFrontMatter(text);
  if (parts.frontMatter !== undefined) return parts;
  const src = text.replace(/^\uFEFF/, '');
  const lines = src.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (/^<(task|objective|tasks)\b/.test(l)) break;
    const open = /^(```|~~~)\s*(\S*)\s*$/.exec(l);
    if (!open) continue;
    const end = lines.findIndex((x, j) => j > i && x.trim().startsWith(open[1]));
    if (end < 0) break;
    const inner = lines.slice(i + 1, end);
    if (/^ya?ml$/i.test(open[2]) && inner.some((x) => /^(phase|plan|wave|depends_on|files[-_]modified|must_haves)\s*:/.test(x))) {
      const kept = inner.map((x) => (x.trim() === '---' ? '' : x));
      return {
        frontMatter: kept.join('\n'),
        frontMatterLine: i + 2,
        body: [...lines.slice(0, i), ...lines.slice(end + 1)].join('\n'),
        bodyLine: 1,
      };
    }
    i = end;
  }
  return parts;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
