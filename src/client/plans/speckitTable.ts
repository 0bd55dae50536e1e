/**
 * spec-kit tasks written as Markdown table rows: `| T1.1.1 | Create the schema | [ ] |`, with an optional header
 * row naming the columns (`| ID | Task | Depends on | Files | Status |`). A row is a task when one of its cells is
 * a task id (bold allowed); the header decides which cell is the title, the dependencies, the files, the status and
 * the parallel mark; without a header the title is the longest other cell, and the status is any `[ ]`/`[x]`/✅
 * cell.
 */
import { ID } from './speckitIds';

export interface TableColumns {
  title?: number;
  deps?: number;
  files?: number;
  status?: number;
  parallel?: number;
}

export interface TableRow {
  id: string;
  title: string;
  done: boolean;
  parallel: boolean;
  /** The dependencies cell, when the table has such a column (`undefined`: no column). */
  deps?: string;
  files?: string;
  /** The row as text, for the prompt. */
  text: string;
}

const ID_CELL = new RegExp(String.raw`^(?:\*\*|__)?(${ID})(?:\*\*|__)?$`);
const DONE_CELL = /^(?:\[[xX]\]|✅|✔️?|✓|done|complete|completed|finished)$/i;
const OPEN_CELL = /^(?:\[[ ~/-]?\]|⬜|☐|🔄|⏳|todo|pending|in progress|not started|open)$/i;

export function tableCells(line: string): string[] | undefined {
  const t = line.trim();
  if (!t.startsWith('|')) return undefined;
  const inner = t.replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim());
}

export const isSeparatorRow = (cells: string[]): boolean => cells.length > 0 && cells.every((c) => /^:?-{2,}:?$/.test(c));

/** Column roles from a header row, or undefined when the row is not a header (it holds a task id). */
export function headerColumns(cells: string[]): TableColumns | undefined {
  if (cells.some((c) => ID_CELL.test(c))) return undefined;
  const cols: TableColumns = {};
  cells.forEach((raw, i) => {
    const c = raw.replace(/\*\*/g, '').toLowerCase();
    if (cols.deps === undefined && /depend|blocked|prereq|after|requires/.test(c)) cols.deps = i;
    else if (cols.files === undefined && /^(?:files?|paths?|location)$/.test(c)) cols.files = i;
    else if (cols.status === undefined && /status|done|state|✓|✅/.test(c)) cols.status = i;
    else if (cols.parallel === undefined && /^(?:\[?p\]?|parallel\??)$/.test(c)) cols.parallel = i;
    else if (cols.title === undefined && /task|description|title|name|what|summary/.test(c)) cols.title = i;
  });
  return cols;
}

export function tableRow(cells: string[], cols: TableColumns | undefined): TableRow | undefined {
  const idIndex = cells.findIndex((c) => ID_CELL.test(c));
  if (idIndex < 0) return undefined;
  const id = ID_CELL.exec(cells[idIndex])![1];
  const others = cells.map((c, i) => ({ c, i })).filter(({ i }) => i !== idIndex);
  const statusCell = cols?.status !== undefined ? cells[cols.status] : others.find(({ c }) => DONE_CELL.test(c) || OPEN_CELL.test(c))?.c;
  const done = statusCell !== undefined && (DONE_CELL.test(statusCell.trim()) || /^(?:✅|\[[xX]\])/.test(statusCell.trim()));
  const parallelCell = cols?.parallel !== undefined ? cells[cols.parallel] : undefined;
  const parallel = cells.some((c) => /^\[P\]$/.test(c)) || (parallelCell !== undefined && /^(?:\[?p\]?|yes|y|true|✓|✅|x)$/i.test(parallelCell));
  const special = new Set([cols?.deps, cols?.files, cols?.status, cols?.parallel].filter((x): x is number => x !== undefined));
  let title = cols?.title !== undefined ? cells[cols.title] : undefined;
  if (!title) {
    const candidates = others.filter(({ c, i }) => !special.has(i) && c !== statusCell && !/^\[P\]$/.test(c));
    title = candidates.sort((a, b) => b.c.length - a.c.length)[0]?.c ?? id;
  }
  return {
    id,
    title: title.replace(/\*\*/g, '').trim() || id,
    done,
    parallel,
    deps: cols?.deps !== undefined ? (cells[cols.deps] ?? '') : undefined,
    files: cols?.files !== undefined ? cells[cols.files] : undefined,
    text: `${id} ${title}`.trim(),
  };
}
