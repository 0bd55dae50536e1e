/**
 * What every importer returns before the common checks: the plan as far as it could be read, the directory its
 * tasks' `source.file` paths are relative to, and the problems found on the way.
 */
import * as path from 'node:path';
import { PlanSchema, type Plan, type PlanInput } from '../../shared/plan';
import { checkDag } from '../../shared/dag';
import { displayPath, location, PlanError, type PlanIssue } from './errors';

export interface ImportResult {
  plan: PlanInput;
  rootDir: string;
  issues: PlanIssue[];
  /** What the user should know that does not make the plan invalid. */
  warnings?: PlanIssue[];
}

/**
 * Runs the checks every plan gets, whatever its format (schema, at least one task, duplicate ids, unknown and self
 * dependencies, cycles), and returns the plan or throws a `PlanError` listing every problem, the importer's first.
 */
export function finishImport({ plan: input, rootDir, issues: importIssues }: ImportResult): Plan {
  const issues = [...importIssues];
  const where = (i: number): { file?: string; line?: number } => {
    const src = input.tasks[i]?.source;
    return src ? { file: displayPath(path.resolve(rootDir, src.file)), line: src.line } : {};
  };
  const firstIndex = new Map<string, number>();
  input.tasks.forEach((t, i) => {
    if (!firstIndex.has(t.id)) firstIndex.set(t.id, i);
  });

  if (input.tasks.length === 0 && importIssues.length === 0) {
    issues.push({ file: displayPath(input.source.path), message: 'the plan has no tasks', ids: [] });
  }

  const tasks = input.tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn ?? [] }));
  for (const issue of checkDag(tasks)) {
    switch (issue.kind) {
      case 'duplicate-id': {
        const places = issue.indexes.map((i) => where(i)).map((w) => location(w.file, w.line));
        const list = places.length === 2 ? places.join(' and ') : `${places.slice(0, -1).join(', ')} and ${places[places.length - 1]}`;
        issues.push({ message: `duplicate task id "${issue.id}" (${list})`, ids: [issue.id] });
        break;
      }
      case 'unknown-dependency':
        issues.push({
          ...where(firstIndex.get(issue.taskId)!),
          message: `task "${issue.taskId}" depends on unknown task "${issue.dependencyId}"`,
          ids: [issue.taskId, issue.dependencyId],
        });
        break;
      case 'self-dependency':
        issues.push({ ...where(firstIndex.get(issue.taskId)!), message: `task "${issue.taskId}" depends on itself`, ids: [issue.taskId] });
        break;
      case 'cycle':
        issues.push({ message: `cycle: ${issue.path.join(' -> ')}`, ids: issue.path.slice(0, -1) });
        break;
    }
  }

  const parsed = PlanSchema.safeParse(input);
  if (!parsed.success) {
    for (const zi of parsed.error.issues) {
      const [head, index] = zi.path;
      const loc = head === 'tasks' && typeof index === 'number' ? where(index) : { file: displayPath(input.source.path) };
      const id = head === 'tasks' && typeof index === 'number' ? input.tasks[index]?.id : undefined;
      issues.push({ ...loc, message: `${zi.path.join('.')}: ${zi.message}`, ids: id ? [id] : [] });
    }
  }

  if (issues.length > 0 || !parsed.success) throw new PlanError(issues);
  return parsed.data;
}
