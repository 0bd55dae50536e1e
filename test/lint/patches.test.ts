/**
 * Patches go through src/workflows/patches.ts, so that workflows on the baseline record one marker, and the
 * baseline names only ids the code really uses (a misspelt id would leave that patch to its own marker).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baselinePatchIds } from '../../src/workflows/patches';

const workflows = resolve(__dirname, '../../src/workflows');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') && !name.startsWith('zzlintprobe') ? [p] : [];
  });
}

describe('workflow patches', () => {
  const files = tsFiles(workflows).filter((f) => !f.endsWith('patches.ts'));
  // Some ids are constants in src/shared (host-routing: activities read it too).
  const code = [...files, ...tsFiles(resolve(workflows, '../shared'))].map((f) => readFileSync(f, 'utf8')).join('\n');

  it('no workflow file calls wf.patched itself', () => {
    expect(files.filter((f) => /\bwf\.patched\(|\bpatched\s*\}\s*from '@temporalio\/workflow'/.test(readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('every baseline id is used in workflow code', () => {
    expect(baselinePatchIds().filter((id) => !code.includes(`'${id}'`))).toEqual([]);
  });
});
