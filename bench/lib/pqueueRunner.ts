/**
 * The baseline: the in-process runner of seed 000's design — a p-queue priority queue with a concurrency cap, fed
 * by a dependency counter — running the same DAG. No durability, no isolation, no history: what scheduling costs
 * when nothing is persisted.
 */
import PQueue from 'p-queue';
import type { DagNode } from './dag';

export interface QueueRun {
  makespanMs: number;
  /** Per task: time its slot was held (the task function's start → its end). */
  slotMs: number[];
  /** Per task: time from its last dependency finishing to its function starting. */
  readyToStartMs: number[];
}

export async function runWithPQueue(nodes: readonly DagNode[], concurrency: number, work: (node: DagNode) => Promise<void>): Promise<QueueRun> {
  const queue = new PQueue({ concurrency });
  const waiting = new Map(nodes.map((n) => [n.id, n.dependsOn.length]));
  const children = new Map<string, DagNode[]>();
  for (const n of nodes) for (const d of n.dependsOn) children.set(d, [...(children.get(d) ?? []), n]);
  const slotMs: number[] = [];
  const readyToStartMs: number[] = [];
  let finished = 0;
  let fail: (err: unknown) => void = () => undefined;
  let finish: () => void = () => undefined;
  const all = new Promise<void>((ok, ko) => {
    finish = ok;
    fail = ko;
  });

  const enqueue = (node: DagNode, readyAt: number): void => {
    queue
      .add(
        async () => {
          const start = performance.now();
          readyToStartMs.push(start - readyAt);
          await work(node);
          const end = performance.now();
          slotMs.push(end - start);
          for (const child of children.get(node.id) ?? []) {
            const left = waiting.get(child.id)! - 1;
            waiting.set(child.id, left);
            if (left === 0) enqueue(child, end);
          }
          if (++finished === nodes.length) finish();
        },
        { priority: 5 },
      )
      .catch(fail);
  };

  const t0 = performance.now();
  for (const n of nodes) if (n.dependsOn.length === 0) enqueue(n, t0);
  await all;
  return { makespanMs: performance.now() - t0, slotMs, readyToStartMs };
}
