/**
 * spec-kit `tasks.md`: checklist lines `- [ ] T001 [P] [US1] Description with src/x.ts`, grouped under
 * `## Phase N: Name` headings (current form) or `## Phase 3.1: Setup` (legacy form).
 *
 * Dependency rule (docs/plans.md has the long form): within a phase, tasks are taken in id order and cut into
 * stages, each non-[P] task a stage of its own and each run of consecutive [P] tasks one stage; every task depends
 * on every task of the stage before it. The first stage of a phase depends on the last stage of the previous phase
 * (which transitively covers the whole phase: phases are barriers). Text edges are added on top: "depends on T012"
 * in a task, and "T003 blocks T007" anywhere.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { PlanInput, TaskInput } from '../../shared/plan';
import { IssueList } from './errors';
import { pathsInText, unique } from './fields';
import { compact } from './native';
import type { ImportResult } from './result';

/** A checklist line whose text starts with a task id (after optional bold/italic markers). */
const TASK_LINE = /^(\s*)[-*+]\s+\[([ xX])\]\s*(.*)$/;
const TASK_ID = /^(T(\d+))\b[:.)]?\s*/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const PHASE_HEADING = /^(?:Phase|Stage)\s+\d+(?:\.\d+)*\b/i;
const ID_LIST = String.raw`T\d+(?:\s*(?:-|–|—|to)\s*T\d+)?(?:\s*(?:,|&|/|\band\b|\bor\b)\s*T\d+(?:\s*(?:-|–|—|to)\s*T\d+)?)*`;
const DEPENDS_TEXT = new RegExp(String.raw`\b(?:depends?\s+(?:on|upon)|blocked\s+by|requires|needs|after)\s*:?\s*(${ID_LIST})`, 'gi');
const BLOCKS_TEXT = new RegExp(String.raw`(?:\b(T\d+)\s+)?\bblocks?\s*:?\s*(${ID_LIST})`, 'gi');
const SUBJECT_BLOCKS = new RegExp(String.raw`\b(T\d+)\s+blocks?\s*:?\s*(${ID_LIST})`, 'gi');
const SUBJECT_DEPENDS = new RegExp(String.raw`\b(T\d+)\s*:?\s+depends?\s+(?:on|upon)\s*:?\s*(${ID_LIST})`, 'gi');

interface SpecTask {
  id: string;
  num: number;
  line: number;
  indent: number;
  done: boolean;
  parallel: boolean;
  /** The task line after the checkbox, emphasis removed. */
  text: string;
  /** Description: `text` without the id and the leading [tags]. */
  description: string;
  continuation: string[];
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

/** `**T001** x`, `__T001__ x` and `**T001 x**` → `T001 x`; emphasis elsewhere is text (`src/__init__.py`). */
const stripTaskEmphasis = (s: string): string => {
  const whole = /^(\*\*|__|\*|_)(T\d+\b.*)\1$/.exec(s);
  if (whole) return whole[2];
  return s.replace(/^(\*\*|__|\*|_)(T\d+)\1/, '$2');
};
const stripEmphasis = (s: string): string => s.replace(/\*\*/g, '');
const indentOf = (s: string): number => /^\s*/.exec(s.replace(/\t/g, '    '))![0].length;

/** Whether `text` has at least one spec-kit task line. */
export function looksLikeSpeckit(text: string): boolean {
  return text.split(/\r?\n/).some((l) => {
    const m = TASK_LINE.exec(l);
    return !!m && TASK_ID.test(stripTaskEmphasis(m[3].trim()));
  });
}

export async function importSpeckit(file: string): Promise<ImportResult> {
  const issues = new IssueList();
  const text = await readFile(file, 'utf8');
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const segments: Segment[] = [{ level: 0, tasks: [] }];
  const edges: TextEdge[] = [];
  let current: SpecTask | undefined;
  let fence: string | undefined;

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
      if (current) current.continuation.push('');
      return;
    }
    const heading = HEADING.exec(raw);
    if (heading) {
      close();
      const level = heading[1].length;
      const title = stripEmphasis(heading[2]).trim();
      const seg = segments[segments.length - 1];
      if (PHASE_HEADING.test(title)) segments.push({ phase: title, level, tasks: [] });
      else if (level <= seg.level) segments.push({ level, tasks: [] });
      return;
    }
    const tm = TASK_LINE.exec(raw);
    if (tm) {
      const body = stripTaskEmphasis(tm[3].trim());
      const idm = TASK_ID.exec(body);
      if (idm) {
        close();
        let rest = body.slice(idm[0].length);
        let parallel = false;
        for (let tag = /^\[([^\]]*)\]\s*/.exec(rest); tag; tag = /^\[([^\]]*)\]\s*/.exec(rest)) {
          if (/^\s*P\s*$/i.test(tag[1])) parallel = true;
          rest = rest.slice(tag[0].length);
        }
        if (/\[P\]/.test(rest)) parallel = true;
        current = {
          id: idm[1],
          num: Number(idm[2]),
          line: lineNo,
          indent: indentOf(raw),
          done: tm[2] !== ' ',
          parallel,
          text: body,
          description: rest.replace(/\s*\[P\]\s*/g, ' ').trim(),
          continuation: [],
        };
        segments[segments.length - 1].tasks.push(current);
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
      for (const m of c.matchAll(DEPENDS_TEXT)) edges.push({ task: t.id, refs: m[1], line: lineNo, reverse: false });
      for (const m of c.matchAll(BLOCKS_TEXT)) edges.push({ task: m[1] ?? t.id, refs: m[2], line: lineNo, reverse: true });
    });
    for (const m of t.text.matchAll(DEPENDS_TEXT)) edges.push({ task: t.id, refs: m[1], line: t.line, reverse: false });
    for (const m of t.text.matchAll(BLOCKS_TEXT)) edges.push({ task: m[1] ?? t.id, refs: m[2], line: t.line, reverse: true });
  }

  // Stage edges: see the module comment.
  const deps = new Map<string, string[]>(all.map((t) => [t.id, []]));
  let previous: string[] = [];
  for (const seg of segments.filter((s) => s.tasks.some(isFirst))) {
    const ordered = seg.tasks.filter(isFirst).sort((a, b) => a.num - b.num);
    const stages: { parallel: boolean; ids: string[] }[] = [];
    for (const t of ordered) {
      const last = stages[stages.length - 1];
      if (t.parallel && last?.parallel) last.ids.push(t.id);
      else stages.push({ parallel: t.parallel, ids: [t.id] });
    }
    for (const stage of stages) {
      for (const id of stage.ids) deps.get(id)?.push(...previous);
      previous = stage.ids;
    }
  }

  // Text edges, references resolved by exact id, then by number (T12 is T012).
  const byNum = new Map<number, string>();
  for (const t of all) if (!byNum.has(t.num)) byNum.set(t.num, t.id);
  const ids = new Set(all.map((t) => t.id));
  const resolveRef = (ref: string): string | undefined => (ids.has(ref) ? ref : byNum.get(Number(ref.slice(1))));
  const expand = (refs: string, self: string, line: number): string[] => {
    const out: string[] = [];
    for (const part of refs.matchAll(/T(\d+)(?:\s*(?:-|–|—|to)\s*T(\d+))?/g)) {
      if (part[2] === undefined) {
        const id = resolveRef(part[0]);
        if (id) out.push(id);
        else issues.add(file, line, `task "${self}" refers to unknown task "${part[0]}"`, [self, part[0]]);
        continue;
      }
      const [lo, hi] = [Number(part[1]), Number(part[2])].sort((a, b) => a - b);
      const inRange = all.filter((t) => t.num >= lo && t.num <= hi && t.id !== self).map((t) => t.id);
      if (inRange.length === 0) issues.add(file, line, `task "${self}" refers to "${part[0]}", which matches no task`, [self]);
      out.push(...inRange);
    }
    return out;
  };
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
    const body = [t.description, ...t.continuation].join('\n');
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
  return { plan, rootDir, issues: issues.issues };
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
