/** Temporary directories for tests that need no Temporal server; removed after the file's tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory (its real path: macOS-style /tmp symlinks do not confuse path checks). */
export function tmp(prefix: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `cadre-${prefix}-`)));
  made.push(dir);
  return dir;
}
