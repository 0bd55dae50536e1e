/**
 * Counting real work: a task's command appends `start <id> <pid> <ns>` when it begins and `end <id> <pid> <ns>`
 * when it is done to a file outside the repository, so a test can tell how many times each task really ran and
 * whether two runs of one task overlapped.
 */
import { existsSync, readFileSync } from 'node:fs';

/** A shell command that does task `id`'s work (`sleep`, then write `<id>.txt`) between a start and an end line. */
export function countingCommand(file: string, id: string, seconds: number): string {
  return `echo "start ${id} $$ $(date +%s%N)" >> ${file}; sleep ${seconds}; echo "${id}" > ${id}.txt; echo "end ${id} $$ $(date +%s%N)" >> ${file}`;
}

export interface Mark {
  kind: 'start' | 'end';
  id: string;
  pid: number;
  /** ms since epoch */
  at: number;
}

export function readMarks(file: string): Mark[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind, id, pid, ns] = line.split(' ');
      return { kind: kind as Mark['kind'], id: id!, pid: Number(pid), at: Number(BigInt(ns!) / 1_000_000n) };
    });
}

export function tally(marks: Mark[], kind: Mark['kind']): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of marks) if (x.kind === kind) m.set(x.id, (m.get(x.id) ?? 0) + 1);
  return m;
}

/** Ids with a start but no end from the same process: work in progress (or killed). */
export function unfinished(marks: Mark[]): string[] {
  const ended = new Set(marks.filter((m) => m.kind === 'end').map((m) => `${m.id}:${m.pid}`));
  return marks.filter((m) => m.kind === 'start' && !ended.has(`${m.id}:${m.pid}`)).map((m) => m.id);
}
