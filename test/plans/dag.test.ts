import { describe, expect, it } from 'vitest';
import { checkDag, criticalPath, findCycle, topologicalLayers, transitiveDependents } from '../../src/shared/dag';

const t = (id: string, ...dependsOn: string[]) => ({ id, dependsOn });
// a -> (b, c, e); (b, c) -> d
const diamond = [t('a'), t('b', 'a'), t('c', 'a'), t('d', 'b', 'c'), t('e', 'a')];

describe('findCycle', () => {
  it('returns the whole cycle path, first id repeated', () => {
    expect(findCycle([t('d', 'a'), t('a', 'b'), t('b', 'c'), t('c', 'a')])).toEqual(['a', 'b', 'c', 'a']);
  });

  it('returns undefined for a DAG, ignoring unknown dependencies', () => {
    expect(findCycle(diamond)).toBeUndefined();
    expect(findCycle([t('a', 'ghost')])).toBeUndefined();
  });

  it('reports a self-dependency as a one-task cycle', () => {
    expect(findCycle([t('a'), t('b', 'b')])).toEqual(['b', 'b']);
  });
});

describe('topologicalLayers', () => {
  it('groups tasks into waves in task order', () => {
    expect(topologicalLayers(diamond)).toEqual([['a'], ['b', 'c', 'e'], ['d']]);
  });

  it('puts a task after its deepest dependency', () => {
    expect(topologicalLayers([t('x', 'c'), t('a'), t('b', 'a'), t('c', 'b'), t('y', 'a')])).toEqual([['a'], ['b', 'y'], ['c'], ['x']]);
  });

  it('refuses a cycle', () => {
    expect(() => topologicalLayers([t('a', 'b'), t('b', 'a')])).toThrow('cycle: a -> b -> a');
  });
});

describe('transitiveDependents', () => {
  it('finds direct and indirect dependents in task order', () => {
    expect(transitiveDependents(diamond, 'a')).toEqual(['b', 'c', 'd', 'e']);
    expect(transitiveDependents(diamond, 'c')).toEqual(['d']);
    expect(transitiveDependents(diamond, 'd')).toEqual([]);
  });
});

describe('criticalPath', () => {
  it('counts one per task by default', () => {
    expect(criticalPath(diamond)).toEqual({ ids: ['a', 'b', 'd'], weight: 3 });
  });

  it('uses the weight function', () => {
    const w: Record<string, number> = { a: 1, b: 1, c: 5, d: 1, e: 10 };
    expect(criticalPath(diamond, (task) => w[task.id])).toEqual({ ids: ['a', 'e'], weight: 11 });
    w.e = 2;
    expect(criticalPath(diamond, (task) => w[task.id])).toEqual({ ids: ['a', 'c', 'd'], weight: 7 });
  });

  it('is empty for no tasks', () => {
    expect(criticalPath([])).toEqual({ ids: [], weight: 0 });
  });
});

describe('checkDag', () => {
  it('is empty for a valid graph', () => {
    expect(checkDag(diamond)).toEqual([]);
  });

  it('names duplicate ids, unknown and self dependencies, and the cycle', () => {
    const issues = checkDag([t('a', 'lint'), t('b', 'b'), t('a'), t('x', 'y'), t('y', 'x')]);
    expect(issues).toEqual([
      { kind: 'duplicate-id', id: 'a', indexes: [0, 2] },
      { kind: 'unknown-dependency', taskId: 'a', dependencyId: 'lint' },
      { kind: 'self-dependency', taskId: 'b' },
      { kind: 'cycle', path: ['x', 'y', 'x'] },
    ]);
  });
});
