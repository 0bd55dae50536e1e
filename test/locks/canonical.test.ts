/** Canonical lock paths: two spellings of one file are one lock; paths outside the repository are refused. */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalLockPath, canonicalLockPaths } from '../../src/activities/lockActivities';
import { testDir } from '../support/temporal';

describe('canonical lock paths', () => {
  it('maps every spelling of a path to one lock', () => {
    const repo = testDir('canon');
    expect(canonicalLockPaths(repo, ['./a/../b.ts', 'b.ts', join(repo, 'b.ts'), 'b.ts/', './/b.ts'])).toEqual(['b.ts']);
    expect(canonicalLockPath(repo, 'src/./deep/../x.ts')).toBe('src/x.ts');
    expect(canonicalLockPaths(repo, ['z', 'a/b', 'a'])).toEqual(['a', 'a/b', 'z']);
  });

  it('follows symlinks inside the repository', () => {
    const repo = testDir('canon');
    mkdirSync(join(repo, 'real'));
    writeFileSync(join(repo, 'real', 'f.ts'), '');
    symlinkSync(join(repo, 'real'), join(repo, 'alias'));
    expect(canonicalLockPath(repo, 'alias/f.ts')).toBe('real/f.ts');
    expect(canonicalLockPath(repo, 'alias/new.ts')).toBe('real/new.ts');
  });

  it('refuses paths outside the repository', () => {
    const repo = testDir('canon');
    const outside = testDir('elsewhere');
    symlinkSync(outside, join(repo, 'escape'));
    for (const p of ['../x.ts', '/etc/passwd', 'a/../../x.ts', 'escape/f.ts', '.', '', 'a\0b']) {
      expect(() => canonicalLockPath(repo, p), p).toThrow(/outside|root itself|empty|NUL|symlink/);
    }
  });
});
