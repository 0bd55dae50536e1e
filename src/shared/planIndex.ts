/**
 * The plan as the scheduler holds it when the plan travels by reference: every task, a prompt longer than
 * INLINE_PROMPT_CHARS cut to a preview (with the prompt's length), read in pages of at most PAGE_BYTES, and the plan's head (everything but the
 * tasks). Each page is one activity result, so no payload grows with the plan; the index in workflow memory does.
 * Pure: the client checks a plan against the same bounds before it starts the run.
 */
import { INLINE_PROMPT_CHARS, MAX_INDEX_ENTRY_BYTES, PAGE_BYTES, PROMPT_PREVIEW_CHARS } from './payloadBounds';
import type { Plan, Task } from './plan';

/** A task as the index has it: `prompt` is at most a preview; `promptChars` is the whole prompt's length when it was cut. */
export type IndexedTask = Task & { promptChars?: number };
/** The plan without its tasks. */
export type PlanHead = Omit<Plan, 'tasks'>;

export interface IndexPage {
  /** On the first page only. */
  head?: PlanHead;
  tasks: IndexedTask[];
  /** Plan position of the next page's first task; absent on the last page. */
  next?: number;
}

/** A task's index entry: the task, its prompt cut to a preview when longer. */
export function indexedTask(t: Task): IndexedTask {
  if (t.prompt.length <= INLINE_PROMPT_CHARS) return t;
  return { ...t, prompt: `${t.prompt.slice(0, PROMPT_PREVIEW_CHARS)}…`, promptChars: t.prompt.length };
}

/** The UTF-8 size of `x` as JSON (counted by hand: workflow code has no Buffer). */
export function jsonBytes(x: unknown): number {
  const s = JSON.stringify(x) ?? '';
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export function planHead(plan: Plan): PlanHead {
  const { tasks: _tasks, ...head } = plan;
  return head;
}

/** The page of the index starting at task `from`: tasks while the page stays under PAGE_BYTES (at least one). */
export function indexPage(plan: Plan, from: number): IndexPage {
  const tasks: IndexedTask[] = [];
  let bytes = from === 0 ? jsonBytes(planHead(plan)) : 0;
  let i = from;
  for (; i < plan.tasks.length; i++) {
    const t = indexedTask(plan.tasks[i]!);
    const b = jsonBytes(t) + 1;
    if (tasks.length > 0 && bytes + b > PAGE_BYTES) break;
    tasks.push(t);
    bytes += b;
  }
  return { ...(from === 0 ? { head: planHead(plan) } : {}), tasks, ...(i < plan.tasks.length ? { next: i } : {}) };
}

/**
 * Why this plan cannot travel by reference, or undefined: a task whose index entry (the task, a prompt longer than
 * INLINE_PROMPT_CHARS cut to a preview) passes MAX_INDEX_ENTRY_BYTES (a huge verify command or file list), or a head
 * that passes half a page.
 */
export function indexProblem(plan: Plan): string | undefined {
  const head = jsonBytes(planHead(plan));
  if (head > PAGE_BYTES / 2) return `the plan's settings (everything but its tasks) weigh ${head} bytes; at most ${PAGE_BYTES / 2} may travel to the scheduler`;
  for (const t of plan.tasks) {
    const b = jsonBytes(indexedTask(t));
    if (b > MAX_INDEX_ENTRY_BYTES) {
      return `task ${t.id}${t.source ? ` (${t.source.file}${t.source.line ? `:${t.source.line}` : ''})` : ''} weighs ${b} bytes in the scheduler's index; at most ${MAX_INDEX_ENTRY_BYTES} (shorten its files, outputs, checks, commands or prompt)`;
    }
  }
  return undefined;
}
