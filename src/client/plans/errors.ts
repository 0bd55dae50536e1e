/**
 * Plan problems are collected, not thrown one at a time: an importer keeps going after the first problem so the
 * user sees every one in a single `cadre validate`.
 */
import * as path from 'node:path';
import { CadreError } from '../../shared/errors';

export interface PlanIssue {
  /** Path as shown to the user (relative to the working directory when inside it). */
  file?: string;
  line?: number;
  message: string;
  /** The task ids the problem is about (the task, then the ids it names). */
  ids: string[];
}

/** `file:line: message`, or less when file or line is unknown. */
export function formatIssue(issue: PlanIssue): string {
  if (!issue.file) return issue.message;
  return `${issue.file}${issue.line ? `:${issue.line}` : ''}: ${issue.message}`;
}

/** A plan that cannot be run. Exit code 2, like a usage error: the input is wrong, not the system. */
export class PlanError extends CadreError {
  constructor(readonly issues: PlanIssue[]) {
    super(issues.map(formatIssue).join('\n'), 2);
    this.name = 'PlanError';
  }
}

/** How a path is shown in messages: relative to the working directory when it lies inside it. */
export function displayPath(absolute: string): string {
  const rel = path.relative(process.cwd(), absolute);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? absolute : rel;
}

/** `file:line` for a message body, e.g. inside "(a.yaml:4 and a.yaml:9)". */
export function location(file: string | undefined, line: number | undefined): string {
  if (!file) return '?';
  return line ? `${file}:${line}` : file;
}

/**
 * Collects issues for one import, with the file shown relative to the working directory. Errors make the plan
 * invalid; warnings are what a person should know but that does not change what the run does wrongly (a key cadre
 * does not read that is not valid YAML, a stale dependency of a plan that is already done).
 */
export class IssueList {
  readonly issues: PlanIssue[] = [];
  readonly warnings: PlanIssue[] = [];

  add(file: string | undefined, line: number | undefined, message: string, ids: string[] = []): void {
    this.issues.push({ file: file === undefined ? undefined : displayPath(file), line, message, ids });
  }

  warn(file: string | undefined, line: number | undefined, message: string, ids: string[] = []): void {
    this.warnings.push({ file: file === undefined ? undefined : displayPath(file), line, message, ids });
  }

  get length(): number {
    return this.issues.length;
  }
}

/** Levenshtein distance, for "did you mean" hints on misspelt field names. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

const squash = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');

/**
 * The known field `key` was probably meant as, or undefined when it is not close to any: same letters ignoring case,
 * `-` and `_` (`depends_on` for `dependsOn`), or one edit away (two for names longer than five letters).
 */
export function nearestField(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    if (squash(k) === squash(key)) return k;
    const d = editDistance(squash(key), squash(k));
    const limit = Math.min(key.length, k.length) > 5 ? 2 : 1;
    if (d <= limit && d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}
