import { describe, expect, it } from 'vitest';
import { parseDuration, parsePriority, pathsInText, repoPath } from '../../src/client/plans/fields';
import { taskIdProblem, toTaskId } from '../../src/shared/plan';

describe('parseDuration', () => {
  it('reads seconds and unit strings', () => {
    expect(parseDuration(90)).toBe(90);
    expect(parseDuration('90')).toBe(90);
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('5m')).toBe(300);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('500ms')).toBe(0.5);
  });

  it('rejects the rest', () => {
    for (const bad of ['soon', '5 minutes', '-5', 0, -1, '', null, '5x']) expect(parseDuration(bad)).toBeUndefined();
  });
});

describe('parsePriority', () => {
  it('accepts 1..10 and words', () => {
    expect(parsePriority(7)).toBe(7);
    expect(parsePriority('high')).toBe(8);
    expect(parsePriority('LOW')).toBe(2);
    expect(parsePriority(11)).toBeUndefined();
    expect(parsePriority(0)).toBeUndefined();
  });
});

describe('repoPath', () => {
  it('normalizes and refuses paths outside the repository', () => {
    expect(repoPath('./src//a.ts')).toBe('src/a.ts');
    expect(repoPath('/etc/passwd')).toBeUndefined();
    expect(repoPath('../x')).toBeUndefined();
    expect(repoPath('a/../../x')).toBeUndefined();
  });
});

describe('pathsInText', () => {
  it('finds paths and root files, not libraries, versions, scopes or directories', () => {
    expect(pathsInText('Setup PostgreSQL connection pooling in src/database/db.ts')).toEqual(['src/database/db.ts']);
    expect(pathsInText('Configure TypeScript 5.3.3 with strict mode in tsconfig.json')).toEqual(['tsconfig.json']);
    expect(pathsInText('Initialize Node.js project with package.json at root')).toEqual(['package.json']);
    expect(pathsInText('Install core dependencies (@anthropic-ai/sdk, pg, uuid)')).toEqual([]);
    expect(pathsInText('Create project directory structure (src/, tests/, migrations/)')).toEqual([]);
    expect(pathsInText('Create .env.example and .gitignore; convert .js files to .ts')).toEqual(['.env.example', '.gitignore']);
    expect(pathsInText('See https://example.com/a.html and `packages/x/y.json`.')).toEqual(['packages/x/y.json']);
    expect(pathsInText('Define Budget table with allocated/used/reserved columns')).toEqual([]);
  });
});

describe('task ids', () => {
  it('accepts ids usable in workflow ids and branch names', () => {
    expect(taskIdProblem('build-1.api_v2')).toBeUndefined();
    expect(taskIdProblem('-x')).toBeDefined();
    expect(taskIdProblem('a/b')).toBeDefined();
    expect(taskIdProblem('a..b')).toBeDefined();
    expect(taskIdProblem('a.lock')).toBeDefined();
  });

  it('derives safe ids', () => {
    expect(toTaskId('01-analysis/01-run-tests')).toBe('01-analysis.01-run-tests');
    expect(toTaskId('../weird name!.lock')).toBe('weird-name-lock');
    expect(taskIdProblem(toTaskId('.x/..//y z.'))).toBeUndefined();
  });
});
