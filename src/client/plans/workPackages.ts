/**
 * spec-kitty work packages, read by the tasks/ importer: `kitty-specs/<feature>/tasks/WP01-setup.md` (flat, the
 * lane in front matter) or the older lane folders `tasks/planned|doing|for_review|done/WP01-setup.md`.
 *
 * - id: `work_package_id` (`WP01`); the lane folder is never part of any id.
 * - dependencies name work-package ids (`dependencies: ["WP01"]`).
 * - done: `lane: done`, the file in a `done/` folder, or a `status.json` (in tasks/ or beside it) saying so.
 * - `priority: P0`..`P3` (10, 8, 5, 2); empty strings (`model: ''`, `agent: ""`) mean "not set".
 * - a Markdown file without `work_package_id` (a review note) is not a task: a warning says so.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isRecord } from './yamlSource';

export const LANES = ['planned', 'doing', 'for_review', 'for-review', 'review', 'done'];
const DONE_WORDS = ['done', 'completed', 'complete', 'merged', 'approved'];

/** The lane folder a path under tasks/ starts with, and the rest. */
export function splitLane(rel: string): { lane?: string; rest: string } {
  const [first, ...rest] = rel.split('/');
  return rest.length > 0 && LANES.includes(first) ? { lane: first, rest: rest.join('/') } : { rest: rel };
}

/** `WP01` from front matter, else undefined (a review note or another document, not a work package). */
export function workPackageId(fm: Record<string, unknown>): string | undefined {
  const explicit = fm.work_package_id;
  if (typeof explicit === 'string' && explicit.trim() !== '') return explicit.trim();
  return undefined;
}

export const isDoneWord = (v: unknown): boolean => typeof v === 'string' && DONE_WORDS.includes(v.trim().toLowerCase());

/**
 * Work-package id → done, from a `status.json` in `dirs`: `{"WP01": "done"}`, `{"WP01": {"lane": "done"}}`, the same
 * under `work_packages`/`workPackages`/`tasks`, or a list of `{id | work_package_id, lane | status}`.
 */
export async function readStatusJson(dirs: string[]): Promise<{ file?: string; done: Set<string> }> {
  for (const dir of dirs) {
    const file = path.join(dir, 'status.json');
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return { file, done: new Set() };
    }
    const done = new Set<string>();
    const visit = (id: string, v: unknown): void => {
      if (isDoneWord(v) || (isRecord(v) && (isDoneWord(v.lane) || isDoneWord(v.status)))) done.add(id);
    };
    const container = isRecord(data) ? (data.work_packages ?? data.workPackages ?? data.tasks ?? data) : data;
    if (Array.isArray(container)) {
      for (const item of container) {
        if (!isRecord(item)) continue;
        const id = item.id ?? item.work_package_id ?? item.wp_id;
        if (typeof id === 'string') visit(id, item);
      }
    } else if (isRecord(container)) {
      for (const [id, v] of Object.entries(container)) visit(id, v);
    }
    return { file, done };
  }
  return { done: new Set() };
}
