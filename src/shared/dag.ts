/**
 * Pure, deterministic graph helpers over plan tasks. Bundled into workflow code (the scheduler uses them), so they
 * import nothing at runtime and iterate only in the tasks' own order: the same tasks always give the same answer.
 *
 * Edges point from a task to what it depends on. Dependencies on ids that are not in the list are ignored by the
 * graph algorithms (`findUnknownDependencies` reports them); duplicate ids resolve to their first task.
 */

export interface DagNode {
  id: string;
  dependsOn: readonly string[];
}

export type DagIssue =
  | { kind: 'duplicate-id'; id: string; /** positions in the task list, first one included */ indexes: number[] }
  | { kind: 'unknown-dependency'; taskId: string; dependencyId: string }
  | { kind: 'self-dependency'; taskId: string }
  | { kind: 'cycle'; /** ids along the cycle, first id repeated at the end: a depends on b depends on ... a */ path: string[] };

function indexById<T extends DagNode>(tasks: readonly T[]): Map<string, T> {
  const byId = new Map<string, T>();
  for (const t of tasks) if (!byId.has(t.id)) byId.set(t.id, t);
  return byId;
}

/** Known, de-duplicated dependencies of `t`, in declared order. */
function knownDeps(t: DagNode, byId: Map<string, DagNode>, skipSelf = false): string[] {
  const out: string[] = [];
  for (const d of t.dependsOn) {
    if (!byId.has(d) || out.includes(d)) continue;
    if (skipSelf && d === t.id) continue;
    out.push(d);
  }
  return out;
}

/**
 * One dependency cycle as a path whose first id is repeated at the end (`['a', 'b', 'c', 'a']` reads
 * "a depends on b depends on c depends on a"), or undefined when the graph is acyclic. A self-dependency is the
 * cycle `['a', 'a']`.
 */
export function findCycle(tasks: readonly DagNode[]): string[] | undefined {
  const byId = indexById(tasks);
  const state = new Map<string, 'active' | 'done'>();
  for (const root of byId.keys()) {
    if (state.has(root)) continue;
    // Iterative DFS: `stack` is the current path, `next` the index of the dependency to visit next at each level.
    const stack: string[] = [root];
    const next: number[] = [0];
    state.set(root, 'active');
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const deps = knownDeps(byId.get(top)!, byId);
      const i = next[next.length - 1];
      if (i >= deps.length) {
        state.set(top, 'done');
        stack.pop();
        next.pop();
        continue;
      }
      next[next.length - 1] = i + 1;
      const dep = deps[i];
      const s = state.get(dep);
      if (s === 'active') return [...stack.slice(stack.indexOf(dep)), dep];
      if (s === undefined) {
        state.set(dep, 'active');
        stack.push(dep);
        next.push(0);
      }
    }
  }
  return undefined;
}

/**
 * Waves: layer 0 holds tasks with no (known) dependencies, layer k the tasks whose dependencies all lie in earlier
 * layers, each layer in task order. Throws if the graph has a cycle (check `findCycle` first).
 */
export function topologicalLayers(tasks: readonly DagNode[]): string[][] {
  const byId = indexById(tasks);
  const level = new Map<string, number>();
  const cycle = findCycle(tasks);
  if (cycle) throw new Error(`cycle: ${cycle.join(' -> ')}`);
  // Acyclic, so a memoised depth-first "1 + max level of my dependencies" terminates.
  const levelOf = (id: string): number => {
    const known = level.get(id);
    if (known !== undefined) return known;
    const pending: string[] = [id];
    while (pending.length > 0) {
      const cur = pending[pending.length - 1];
      const deps = knownDeps(byId.get(cur)!, byId);
      const missing = deps.filter((d) => !level.has(d));
      if (missing.length > 0) {
        pending.push(...missing);
        continue;
      }
      pending.pop();
      if (!level.has(cur)) level.set(cur, deps.reduce((m, d) => Math.max(m, level.get(d)! + 1), 0));
    }
    return level.get(id)!;
  };
  const layers: string[][] = [];
  for (const id of byId.keys()) {
    const l = levelOf(id);
    while (layers.length <= l) layers.push([]);
    layers[l].push(id);
  }
  return layers;
}

/** Every task that depends on `id` directly or through others, in task order (`id` itself excluded). */
export function transitiveDependents(tasks: readonly DagNode[], id: string): string[] {
  const byId = indexById(tasks);
  const dependents = new Map<string, string[]>();
  for (const t of byId.values()) {
    for (const d of knownDeps(t, byId)) {
      const list = dependents.get(d) ?? [];
      list.push(t.id);
      dependents.set(d, list);
    }
  }
  const seen = new Set<string>();
  const queue = [id];
  while (queue.length > 0) {
    const cur = queue.shift()!;
    for (const dep of dependents.get(cur) ?? []) {
      if (dep === id || seen.has(dep)) continue;
      seen.add(dep);
      queue.push(dep);
    }
  }
  return [...byId.keys()].filter((k) => seen.has(k));
}

/**
 * The heaviest dependency chain: `ids` from the first task to run to the last, `weight` the sum of their weights
 * (1 per task unless `weight` says otherwise). Ties go to the chain ending at the earlier task, then to the earlier
 * predecessor. Throws if the graph has a cycle.
 */
export function criticalPath<T extends DagNode>(
  tasks: readonly T[],
  weight: (task: T) => number = () => 1,
): { ids: string[]; weight: number } {
  const byId = indexById(tasks);
  const best = new Map<string, { total: number; via?: string }>();
  for (const layer of topologicalLayers(tasks)) {
    for (const id of layer) {
      const t = byId.get(id)!;
      let via: string | undefined;
      let base = 0;
      for (const d of knownDeps(t, byId)) {
        const b = best.get(d)!.total;
        if (via === undefined || b > base) {
          via = d;
          base = b;
        }
      }
      best.set(id, { total: base + weight(t), via });
    }
  }
  let end: string | undefined;
  for (const id of byId.keys()) if (end === undefined || best.get(id)!.total > best.get(end)!.total) end = id;
  if (end === undefined) return { ids: [], weight: 0 };
  const ids: string[] = [];
  for (let cur: string | undefined = end; cur !== undefined; cur = best.get(cur)!.via) ids.unshift(cur);
  return { ids, weight: best.get(end)!.total };
}

export function findDuplicateIds(tasks: readonly DagNode[]): DagIssue[] {
  const positions = new Map<string, number[]>();
  tasks.forEach((t, i) => positions.set(t.id, [...(positions.get(t.id) ?? []), i]));
  const out: DagIssue[] = [];
  for (const [id, indexes] of positions) if (indexes.length > 1) out.push({ kind: 'duplicate-id', id, indexes });
  return out;
}

export function findUnknownDependencies(tasks: readonly DagNode[]): DagIssue[] {
  const ids = new Set(tasks.map((t) => t.id));
  const out: DagIssue[] = [];
  for (const t of tasks) {
    for (const d of new Set(t.dependsOn)) if (!ids.has(d)) out.push({ kind: 'unknown-dependency', taskId: t.id, dependencyId: d });
  }
  return out;
}

export function findSelfDependencies(tasks: readonly DagNode[]): DagIssue[] {
  return tasks.filter((t) => t.dependsOn.includes(t.id)).map((t) => ({ kind: 'self-dependency' as const, taskId: t.id }));
}

/**
 * Every structural problem of the graph: duplicate ids, unknown dependencies, self-dependencies and (ignoring
 * self-dependencies, already reported) one cycle. An empty list means the tasks form a DAG the scheduler can run.
 */
export function checkDag(tasks: readonly DagNode[]): DagIssue[] {
  const issues = [...findDuplicateIds(tasks), ...findUnknownDependencies(tasks), ...findSelfDependencies(tasks)];
  const withoutSelf = tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn.filter((d) => d !== t.id) }));
  const cycle = findCycle(withoutSelf);
  if (cycle) issues.push({ kind: 'cycle', path: cycle });
  return issues;
}
