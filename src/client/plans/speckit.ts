/**
 * spec-kit `tasks.md`: checklist lines `- [ ] T001 [P] [US1] Description with src/x.ts`, grouped under
 * `## Phase N: Name` headings (current form) or `## Phase 3.1: Setup` (legacy form); also heading-style tasks
 * (`### T001: Title` with `**Dependencies**: T001, T003` under it) and table rows (`| T1.1.1 | … | [ ] |`).
 *
 * Dependency rule (docs/plans.md has the long form): within a phase, tasks are taken in id order and cut into
 * stages, each non-[P] task a stage of its own and each run of consecutive [P] tasks one stage; every task depends
 * on every task of the stage before it. A task that declares its dependencies (`**Dependencies**: …`, a table's
 * dependencies column) takes those instead of the stage before it. The first tasks of a phase depend on the sinks
 * of the previous phase (phases are barriers). Text edges are added on top: "depends on T012" in a task, and "T003
 * blocks T007" anywhere.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { PlanInput, TaskInput } from '../../shared/plan';
import { IssueList } from './errors';
import { pathsInText, unique } from './fields';
import { compact } from './native';
import type { ImportResult } from './result';
import { compareIds, ID, ID_LIST, idsIn } from './speckitIds';
import { headerColumns, isSeparatorRow, tableCells, tableRow, type TableColumns } from './speckitTable';

/** A checklist line: `[ ]` open, `[x]` done, `[~]`/`[/]`/`[-]` in progress or partly done (open). */
const TASK_LINE = /^(\s*)[-*+]\s+\[([ xX~/-])\]\s*(.*)$/;
/** An id at the start of a task's text; not the start of a range (`T001-T005: Setup` is a group heading). */
const TASK_ID = new RegExp(String.raw`^(${ID})(?![\w]|\s*[-–—]\s*T\d)[:.)]?\s*`);
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
/** `Phase 1`, `Phase 3.1`, `Stage 2`, `Phase A:`, `Phase D1:`, `Final Phase:`. Not `Phase Dependencies`. */
const PHASE_HEADING = /^(?:(?:Final|Last)\s+(?:Phase|Stage)(?=\s*(?:[:.)\-–—]|$))|(?:Phase|Stage)\s+(?:\d+(?:\.\d+)*\b|[A-Z]\d*(?:\.\d+)*(?=\s*(?:[:.)\-–—]|$))))/i;
const DEPENDS_TEXT = new RegExp(String.raw`\b(?:depends?\s+(?:on|upon)|blocked\s+by|requires|needs|after)\s*:?\s*(${ID_LIST})`, 'gi');
const BLOCKS_TEXT = new RegExp(String.raw`(?:\b(${ID})\s+)?\bblocks?\s*:?\s*(${ID_LIST})`, 'gi');
const SUBJECT_BLOCKS = new RegExp(String.raw`\b(${ID})\s+blocks?\s*:?\s*(${ID_LIST})`, 'gi');
const SUBJECT_DEPENDS = new RegExp(String.raw`\b(${ID})\s*:?\s+depends?\s+(?:on|upon)\s*:?\s*(${ID_LIST})`, 'gi');
/** A task's own dependencies field: `**Dependencies**: T001, T003`, `- **Depends on:** None`, `Dependencies: T002`. */
const DEPS_FIELD = /^\s*(?:[-*+]\s+)?(?:\*\*|__)?(?:Dependencies|Depends\s+on|Prerequisites|Blocked\s+by)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$/i;
const STATUS_FIELD = /^\s*(?:[-*+]\s+)?(?:\*\*|__)?Status(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$/i;
const PARALLEL_FIELD = /^\s*(?:[-*+]\s+)?(?:\*\*|__)?Parallel(?:izable)?\??(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(yes|true|y|\[P\])\b/i;
const DONE_MARK = /✅|✔|\[[xX]\]|\b(?:done|complete|completed)\b/i;

interface SpecTask {
  id: string;
  line: number;
  /** Indentation of the task line; continuation lines are deeper. -1 for heading tasks (their section is theirs). */
  indent: number;
  /** Heading level of a heading-style task. */
  level?: number;
  done: boolean;
  parallel: boolean;
  /** The task line after the checkbox, emphasis removed. */
  text: string;
  /** Description: `text` without the id and the leading [tags]. */
  description: string;
  continuation: string[];
  /** Declared dependencies (a dependencies field or column), with their line; undefined when none is declared. */
  declared?: { refs: string; line: number }[];
  /** Files from a table's files column. */
  files?: string;
}

interface Segment {
  phase?: string;
  level: number;
  tasks: SpecTask[];
}

/** Text edge "`to` depends on `refs`", before the references are resolved. */
interface TextEdge {
  task: string;
  refs: string;
  line: number;
  /** true: `refs` depend on `task` (a "blocks" edge). */
  reverse: boolean;
}

/**
 * `**T001** x`, `__T001__ x`, `**T001 [P]** x`, `**T001:** x` and `**T001 x**` → `T001 …`; emphasis elsewhere is
 * text (`src/__init__.py`).
 */
export const stripTaskEmphasis = (s: string): string => {
  const prefix = /^(\*\*|__)(T\d[^*_]*?)\1(.*)$/.exec(s);
  if (prefix) return `${prefix[2].trimEnd()}${prefix[3].startsWith(' ') || prefix[3] === '' ? '' : ' '}${prefix[3]}`.trim();
  const whole = /^(\*\*|__|\*|_)(T\d+.*)\1$/.exec(s);
  if (whole) return whole[2];
  return s.replace(/^(\*\*|__|\*|_)(T\d+(?:\.\d+)*[a-z]?)\1/, '$2');
};
const stripEmphasis = (s: string): string => s.replace(/\*\*/g, '');
const indentOf = (s: string): number => /^\s*/.exec(s.replace(/\t/g, '    '))![0].length;

/** Whether `text` has at least one spec-kit task: a checklist line, a `### T001:` heading or a table row. */
export function looksLikeSpeckit(text: string): boolean {
  return text.split(/\r?\n/).some((l) => {
    const m = TASK_LINE.exec(l);
    if (m) return TASK_ID.test(stripTaskEmphasis(m[3].trim()));
    const h = HEADING.exec(l);
    if (h) return TASK_ID.test(stripTaskEmphasis(stripEmphasis(h[2]).trim()));
    const cells = tableCells(l);
    return !!cells && tableRow(cells, undefined) !== undefined;
  });
}

/** Id, [P] and description of the text after a checkbox (or a heading's `#`s). */
function parseTaskText(body: string): { id: string; parallel: boolean; description: string } | undefined {
  const idm = TASK_ID.exec(body);
  if (!idm) return undefined;
  let rest = body.slice(idm[0].length);
  let parallel = false;
  for (let tag = /^\[([^\]]*)\]\s*/.exec(rest); tag; tag = /^\[([^\]]*)\]\s*/.exec(rest)) {
    if (/^\s*P\s*$/i.test(tag[1])) parallel = true;
    rest = rest.slice(tag[0].length);
  }
  if (/\[P\]/.test(rest)) parallel = true;
  return { id: idm[1], parallel, description: rest.replace(/\s*\[P\]\s*/g, ' ').replace(/^[:\-–—]\s*/, '').trim() };
}

export async function importSpeckit(file: string): Promise<ImportResult> {
  const issues = new IssueList();
  const text = await readFile(file, 'utf8');
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const segments: Segment[] = [{ level: 0, tasks: [] }];
  const edges: TextEdge[] = [];
  let current: SpecTask | undefined;
  let fence: string | undefined;
  let table: TableColumns | undefined;

  const close = (): void => {
    if (!current) return;
    const cont = current.continuation;
    while (cont.length > 0 && cont[cont.length - 1].trim() === '') cont.pop();
    const strip = Math.min(...cont.filter((l) => l.trim() !== '').map(indentOf));
    current.continuation = cont.map((l) => l.replace(/\t/g, '    ').slice(Number.isFinite(strip) ? strip : 0));
    current = undefined;
  };
  const continues = (raw: string): boolean => !!current && (raw.trim() === '' || indentOf(raw) > current.indent);
  const scanOtherLine = (raw: string, lineNo: number): void => {
    for (const m of raw.matchAll(SUBJECT_BLOCKS)) edges.push({ task: m[1], refs: m[2], line: lineNo, reverse: true });
    for (const m of raw.matchAll(SUBJECT_DEPENDS)) edges.push({ task: m[1], refs: m[2], line: lineNo, reverse: false });
  };
  const addTask = (t: SpecTask): void => {
    segments[segments.length - 1].tasks.push(t);
  };

  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (fence !== undefined) {
      if (continues(raw)) current!.continuation.push(raw);
      if (raw.trim().startsWith(fence)) fence = undefined;
      return;
    }
    const fenceOpen = /^\s*(```|~~~)/.exec(raw);
    if (fenceOpen) {
      fence = fenceOpen[1];
      if (current && indentOf(raw) > current.indent) current.continuation.push(raw);
      else close();
      return;
    }
    if (raw.trim() === '') {
      table = undefined;
      if (current) current.continuation.push('');
      return;
    }
    const cells = tableCells(raw);
    if (cells) {
      if (isSeparatorRow(cells)) return;
      const row = tableRow(cells, table);
      if (!row) {
        if (!table) table = headerColumns(cells);
        if (continues(raw)) current!.continuation.push(raw);
        return;
      }
      close();
      addTask({
        id: row.id,
        line: lineNo,
        indent: indentOf(raw),
        done: row.done,
        parallel: row.parallel,
        text: row.text,
        description: row.title,
        continuation: [],
        declared: row.deps === undefined ? undefined : [{ refs: row.deps, line: lineNo }],
        files: row.files,
      });
      return;
    }
    table = undefined;
    const heading = HEADING.exec(raw);
    if (heading) {
      const level = heading[1].length;
      const title = stripEmphasis(heading[2]).trim();
      const task = parseTaskText(stripTaskEmphasis(title));
      // A sub-heading inside a heading-style task's section (`#### Acceptance`) belongs to the task.
      if (!task && current?.level !== undefined && level > current.level && !PHASE_HEADING.test(title)) {
        current.continuation.push(raw);
        return;
      }
      close();
      if (task) {
        current = {
          id: task.id,
          line: lineNo,
          indent: -1,
          level,
          // `### T001: Schema ✅` or `… (done)`; a Status field under it can also say so (below).
          done: /✅|✔|\[[xX]\]|\((?:done|complete|completed)\)\s*$/i.test(task.description),
          parallel: task.parallel,
          text: title,
          description: task.description.replace(/\s*(?:✅|✔️?)\s*/g, ' ').replace(/\s*\((?:done|complete|completed)\)\s*$/i, '').trim(),
          continuation: [],
        };
        addTask(current);
        return;
      }
      const seg = segments[segments.length - 1];
      if (PHASE_HEADING.test(title)) segments.push({ phase: title, level, tasks: [] });
      else if (level <= seg.level) segments.push({ level, tasks: [] });
      return;
    }
    const tm = TASK_LINE.exec(raw);
    if (tm) {
      const body = stripTaskEmphasis(tm[3].trim());
      const task = parseTaskText(body);
      if (task) {
        close();
        current = {
          id: task.id,
          line: lineNo,
          indent: indentOf(raw),
          done: tm[2] === 'x' || tm[2] === 'X',
          parallel: task.parallel,
          text: body,
          description: task.description,
          continuation: [],
        };
        addTask(current);
        return;
      }
    }
    if (continues(raw)) {
      current!.continuation.push(raw);
      return;
    }
    close();
    scanOtherLine(raw, lineNo);
  });
  close();

  const all = segments.flatMap((s) => s.tasks);
  // A repeated id is reported as a duplicate by the common checks; only its first occurrence takes part in edges.
  const first = new Map<string, SpecTask>();
  for (const t of all) if (!first.has(t.id)) first.set(t.id, t);
  const isFirst = (t: SpecTask): boolean => first.get(t.id) === t;
  for (const t of all.filter(isFirst)) {
    t.continuation.forEach((c, k) => {
      const lineNo = t.line + 1 + k;
      const declared = DEPS_FIELD.exec(c);
      if (declared) {
        (t.declared ??= []).push({ refs: declared[1], line: lineNo });
        return;
      }
      const status = STATUS_FIELD.exec(c);
      if (status && t.level !== undefined && DONE_MARK.test(status[1])) t.done = true;
      if (PARALLEL_FIELD.test(c)) t.parallel = true;
      for (const m of c.matchAll(DEPENDS_TEXT)) edges.push({ task: t.id, refs: m[1], line: lineNo, reverse: false });
      for (const m of c.matchAll(BLOCKS_TEXT)) edges.push({ task: m[1] ?? t.id, refs: m[2], line: lineNo, reverse: true });
    });
    for (const m of t.text.matchAll(DEPENDS_TEXT)) edges.push({ task: t.id, refs: m[1], line: t.line, reverse: false });
    for (const m of t.text.matchAll(BLOCKS_TEXT)) edges.push({ task: m[1] ?? t.id, refs: m[2], line: t.line, reverse: true });
  }

  const known = [...first.keys()];
  const resolveRef = (ref: string): string | undefined => idsIn(ref, known).ids[0];
  /** Ids named by `refs`, unknown ones reported at `line`; `self` left out of ranges. */
  const expand = (refs: string, self: string, line: number): string[] => {
    const { ids, unknown } = idsIn(refs, known);
    for (const u of unknown) {
      if (/[-–—]|to/.test(u)) issues.add(file, line, `task "${self}" refers to "${u}", which matches no task`, [self]);
      else issues.add(file, line, `task "${self}" refers to unknown task "${u}"`, [self, u]);
    }
    return ids.filter((id) => id !== self || !/[-–—]|to/.test(refs));
  };

  // Declared dependencies: a field or column; "None", "-" or empty declare none.
  const declaredDeps = new Map<string, string[]>();
  for (const t of all.filter(isFirst)) {
    if (!t.declared) continue;
    declaredDeps.set(t.id, unique(t.declared.flatMap((d) => (new RegExp(ID).test(d.refs) ? expand(d.refs, t.id, d.line) : []))));
  }

  // Stage edges (see the module comment); a phase's entry is the previous phase's sinks.
  const deps = new Map<string, string[]>(all.map((t) => [t.id, []]));
  let entry: string[] = [];
  for (const seg of segments.filter((s) => s.tasks.some(isFirst))) {
    const ordered = seg.tasks.filter(isFirst).sort((a, b) => compareIds(a.id, b.id));
    const inSeg = new Set(ordered.map((t) => t.id));
    let previous = entry;
    let lastParallel = false;
    let stage: string[] = [];
    for (const t of ordered) {
      const declared = declaredDeps.get(t.id);
      if (declared) {
        deps.get(t.id)!.push(...declared);
        if (!declared.some((d) => inSeg.has(d))) deps.get(t.id)!.push(...entry);
      } else {
        if (!(t.parallel && lastParallel)) {
          if (stage.length > 0) previous = stage;
          stage = [];
        }
        deps.get(t.id)!.push(...previous);
      }
      stage.push(t.id);
      lastParallel = t.parallel && !declared;
      if (declared) {
        // A task with declared dependencies is a stage of its own for the tasks after it.
        previous = [t.id];
        stage = [];
      }
    }
    const intra = (id: string) => deps.get(id)!.filter((d) => inSeg.has(d));
    const dependedOn = new Set(ordered.flatMap((t) => intra(t.id)));
    entry = ordered.map((t) => t.id).filter((id) => !dependedOn.has(id));
  }

  // Text edges, references resolved by exact id, then by number (T12 is T012).
  for (const e of edges) {
    const task = resolveRef(e.task);
    if (!task) {
      issues.add(file, e.line, `"${e.task}" is not a task in this file`, [e.task]);
      continue;
    }
    const refs = expand(e.refs, task, e.line);
    if (e.reverse) for (const r of refs) deps.get(r)?.push(task);
    else deps.get(task)?.push(...refs);
  }

  const rootDir = path.dirname(file);
  const rel = path.basename(file);
  const phaseOf = new Map<string, string | undefined>();
  for (const seg of segments) for (const t of seg.tasks) phaseOf.set(t.id, seg.phase);
  const tasks: TaskInput[] = all.map((t) => {
    const body = [t.description, t.files ?? '', ...t.continuation].join('\n');
    let title = t.description.split('\n')[0].trim() || t.id;
    if (title.length > 200) title = `${title.slice(0, 197)}...`;
    return compact({
      id: t.id,
      title,
      prompt: [t.text, ...t.continuation].join('\n').trim(),
      dependsOn: isFirst(t) ? unique(deps.get(t.id) ?? []) : [],
      phase: phaseOf.get(t.id),
      files: pathsInText(body),
      outputs: [],
      done: t.done,
      source: { file: rel, line: t.line },
    });
  });

  const plan: PlanInput = {
    name: planName(lines, file),
    source: { format: 'speckit', path: file },
    phaseOrder: unique(segments.filter((s) => s.tasks.length > 0 && s.phase).map((s) => s.phase!)),
    tasks,
  };
  return { plan, rootDir, issues: issues.issues, warnings: issues.warnings };
}

/** `**Feature**: 001-x`, else the `# Tasks: Name` title, else the directory name (`specs/001-x/tasks.md`). */
function planName(lines: string[], file: string): string {
  for (const l of lines) {
    const m = /^\s*(?:\*\*)?Feature(?:\*\*)?\s*:\s*(?:\*\*)?\s*(.+?)\s*$/i.exec(l);
    if (m) return stripEmphasis(m[1]).trim();
  }
  const h1 = lines.map((l) => /^#\s+(.*)$/.exec(l)).find(Boolean);
  if (h1) return stripEmphasis(h1[1]).replace(/^(?:Implementation\s+)?Tasks?\s*:\s*/i, '').trim();
  return path.basename(path.dirname(file));
}
