/**
 * Issue 16, item 8: the file tools and what the file system can do behind their checks. A hard link shares a file's
 * content with a place outside the workspace; a directory swapped for a symlink between the check and the write
 * would redirect the write. Neither may let a tool read or write outside.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCommandPolicy } from '../../src/activities/commandRunner';
import { executeFileTool } from '../../src/activities/fileTools';
import { tmp } from '../support/tmp';

const ctxFor = (root: string) => ({ root, policy: defaultCommandPolicy });

describe('file tools against hard links', () => {
  it('refuse to read, write or edit a file whose link count says it is shared', async () => {
    const root = tmp('hl-ws');
    const outside = tmp('hl-out');
    const secret = path.join(outside, 'secret.txt');
    fs.writeFileSync(secret, 'outside secret\n');
    fs.linkSync(secret, path.join(root, 'link.txt')); // what `cp -l` makes
    const ctx = ctxFor(root);
    const read = await executeFileTool(ctx, 'read_file', { path: 'link.txt' });
    expect(read.isError).toBe(true);
    expect(read.content).toContain('hard link');
    expect(read.content).not.toContain('outside secret');
    const write = await executeFileTool(ctx, 'write_file', { path: 'link.txt', content: 'overwritten\n' });
    expect(write.isError).toBe(true);
    const edit = await executeFileTool(ctx, 'edit_file', { path: 'link.txt', old_string: 'outside', new_string: 'changed' });
    expect(edit.isError).toBe(true);
    const search = await executeFileTool(ctx, 'search_text', { pattern: 'outside' });
    expect(search.content).not.toContain('outside secret');
    expect(fs.readFileSync(secret, 'utf8')).toBe('outside secret\n');
  });
});

/** Flips `<root>/d` between a real directory and a symlink to `outside`, as fast as it can, until killed. */
function flipper(root: string, outside: string) {
  const script = `
    const fs = require('fs'); const p = require('path');
    const d = p.join(${JSON.stringify(root)}, 'd'), dir = d + '.dir', link = d + '.link';
    fs.mkdirSync(dir); fs.symlinkSync(${JSON.stringify(outside)}, link);
    fs.writeFileSync(d + '.out', '');
    for (;;) {
      // d is a real directory when the tool checks, with luck a symlink to outside when it writes.
      try { fs.renameSync(dir, d); fs.renameSync(d, dir); fs.renameSync(link, d); fs.renameSync(d, link); }
      catch { try { if (!fs.existsSync(dir)) fs.mkdirSync(dir); if (!fs.existsSync(link)) fs.symlinkSync(${JSON.stringify(outside)}, link); fs.rmSync(d, { recursive: true, force: true }); } catch {} }
    }`;
  return spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
}

describe('file tools against a symlink swapped in mid-call', () => {
  it('no write lands outside while a directory and a symlink are flipped', async () => {
    const root = tmp('race-ws');
    const outside = tmp('race-out');
    const child = flipper(root, outside);
    const ctx = ctxFor(root);
    const N = 300;
    let ok = 0;
    try {
      for (let i = 0; i < 500 && !fs.existsSync(path.join(root, 'd.out')); i++) await new Promise((r) => setTimeout(r, 20));
      for (let i = 0; i < N; i++) {
        const r = await executeFileTool(ctx, 'write_file', { path: `d/f${i}.txt`, content: `write ${i}\n` });
        if (!r.isError) ok++;
      }
    } finally {
      child.kill('SIGKILL');
    }
    const landed = fs.readdirSync(outside);
    console.log(`symlink race: ${landed.length} of ${N} writes landed outside (${ok} reported written)`);
    expect(landed).toEqual([]);
  }, 60_000);
});
