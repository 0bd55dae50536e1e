import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportsName, runChecks } from '../../src/activities/checks';

const tmp = mkdtempSync(path.join(tmpdir(), 'cadre-checks-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmp, 'w-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

describe('runChecks', () => {
  const ws = workspace({
    'src/queue.ts': "import { lock } from './lock';\nexport class TaskQueue {}\nexport const MAX = 5;\nexport { lock as acquire };\n",
    'src/lock.ts': 'export function lock() {}\n',
  });

  it('passes contains, pattern and exports checks that hold', async () => {
    expect(
      await runChecks(ws, [
        { kind: 'contains', path: 'src/queue.ts', text: 'class TaskQueue' },
        { kind: 'pattern', path: 'src/queue.ts', regex: "import.*from '\\./lock'" },
        { kind: 'exports', path: 'src/queue.ts', name: 'TaskQueue' },
        { kind: 'exports', path: 'src/queue.ts', name: 'MAX' },
        { kind: 'exports', path: 'src/queue.ts', name: 'acquire' },
        { kind: 'exports', path: 'src/lock.ts', name: 'lock' },
      ]),
    ).toEqual([]);
  });

  it('lists every failure with the file and what is missing', async () => {
    const failures = await runChecks(ws, [
      { kind: 'contains', path: 'src/queue.ts', text: 'priority' },
      { kind: 'pattern', path: 'src/lock.ts', regex: '^export async' },
      { kind: 'exports', path: 'src/queue.ts', name: 'Queue' },
      { kind: 'exports', path: 'src/missing.ts', name: 'x' },
      { kind: 'pattern', path: 'src/lock.ts', regex: '(' },
    ]);
    expect(failures.map((f) => f.message)).toEqual([
      'src/queue.ts: does not contain "priority"',
      'src/lock.ts: does not match /^export async/',
      'src/queue.ts: does not export "Queue"',
      'src/missing.ts: file does not exist',
      'src/lock.ts: pattern "(" is not a valid regular expression',
    ]);
    expect(failures[0].check).toEqual({ kind: 'contains', path: 'src/queue.ts', text: 'priority' });
  });

  it('never reads outside the workspace', async () => {
    const outside = workspace({ 'secret.txt': 'token' });
    const w = workspace({});
    symlinkSync(path.join(outside, 'secret.txt'), path.join(w, 'link.txt'));
    const failures = await runChecks(w, [
      { kind: 'contains', path: '../secret.txt', text: 'token' },
      { kind: 'contains', path: 'link.txt', text: 'token' },
      { kind: 'contains', path: path.join(outside, 'secret.txt'), text: 'token' },
    ]);
    expect(failures.map((f) => f.message)).toEqual([
      '../secret.txt: path leaves the workspace',
      'link.txt: path leaves the workspace',
      `${path.join(outside, 'secret.txt')}: path leaves the workspace`,
    ]);
  });
});

describe('exportsName', () => {
  it('reads the export forms of several languages', () => {
    expect(exportsName('export default function App() {}', 'default')).toBe(true);
    expect(exportsName('export async function load() {}', 'load')).toBe(true);
    expect(exportsName('export type { Plan } from "./plan";', 'Plan')).toBe(true);
    expect(exportsName('module.exports = { parse, stringify };', 'stringify')).toBe(true);
    expect(exportsName('pub fn spawn_agent() {}', 'spawn_agent')).toBe(true);
    expect(exportsName('func NewQueue() *Queue {', 'NewQueue')).toBe(true);
    expect(exportsName('def schedule(task):\n', 'schedule')).toBe(true);
    expect(exportsName('function load() {}\nconst x = load;', 'load')).toBe(false);
    expect(exportsName('export const loader = 1;', 'load')).toBe(false);
    expect(exportsName('fn spawn_agent() {}', 'spawn_agent')).toBe(false);
  });
});
