/**
 * The benchmark's DAGs: `layers` layers of `width` tasks; every task after the first layer depends on two tasks of
 * the layer before it (the one in the same column and the next, wrapping around). Deterministic, so every runner
 * (cadre at any concurrency, the in-process p-queue runner) gets exactly the same graph.
 */
import type { Plan, Task } from '../../src/shared/plan';

export interface DagNode {
  id: string;
  dependsOn: string[];
  layer: number;
}

export function layeredDag(layers: number, width: number): DagNode[] {
  const id = (layer: number, col: number) => `L${String(layer).padStart(2, '0')}-${String(col).padStart(3, '0')}`;
  const nodes: DagNode[] = [];
  for (let layer = 0; layer < layers; layer++) {
    for (let col = 0; col < width; col++) {
      const deps = layer === 0 ? [] : [...new Set([id(layer - 1, col), id(layer - 1, (col + 1) % width)])];
      nodes.push({ id: id(layer, col), dependsOn: deps, layer });
    }
  }
  return nodes;
}

/** A plan whose tasks all run `argv` with the command backend. */
export function commandPlan(name: string, nodes: readonly DagNode[], argv: (node: DagNode) => string[], maxConcurrency: number, inlineCommands = false): Plan {
  const tasks: Task[] = nodes.map((n) => ({
    id: n.id,
    title: n.id,
    prompt: '',
    dependsOn: n.dependsOn,
    priority: 5,
    files: [],
    outputs: [],
    done: false,
    backend: 'command',
    command: argv(n),
  }));
  return {
    name,
    source: { format: 'native', path: '/dev/null' },
    maxConcurrency,
    phaseLimits: {},
    phaseOrder: [],
    failFast: false,
    inlineCommands,
    defaults: {},
    tasks,
  };
}

/**
 * The makespan a perfect scheduler reaches with `slots` workers and tasks of `seconds` each: list scheduling by
 * layer order, every task as soon as its parents are done and a slot is free. For a layered DAG whose width is a
 * multiple of `slots` this equals ceil(n / slots) × seconds.
 */
export function idealMakespan(nodes: readonly DagNode[], slots: number, seconds: number): number {
  const done = new Map<string, number>();
  const free: number[] = Array.from({ length: slots }, () => 0);
  for (const n of nodes) {
    const ready = Math.max(0, ...n.dependsOn.map((d) => done.get(d)!));
    free.sort((a, b) => a - b);
    const start = Math.max(ready, free[0]!);
    free[0] = start + seconds;
    done.set(n.id, start + seconds);
  }
  return Math.max(...done.values());
}
