import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWithin, PathOutsideWorkspaceError, repoKey, resolveInside, sanitizeRef } from '../../src/activities/paths';
import { redact } from '../../src/node/redact';

let base: string;
let root: string;
let sibling: string;

beforeAll(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cadre-paths-')));
  root = path.join(base, 'repo');
  sibling = path.join(base, 'repo2');
  fs.mkdirSync(path.join(root, 'src'), { recursive: true });
  fs.mkdirSync(path.join(root, '.git'), { recursive: true });
  fs.mkdirSync(sibling);
  fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'a');
  fs.writeFileSync(path.join(sibling, 'secret.txt'), 'outside');
  fs.symlinkSync(sibling, path.join(root, 'link-out'));
  fs.symlinkSync(path.join(sibling, 'secret.txt'), path.join(root, 'file-out'));
  fs.symlinkSync(path.join(root, 'src'), path.join(root, 'link-in'));
  fs.symlinkSync(path.join(base, 'nowhere', 'x'), path.join(root, 'dangling'));
  fs.symlinkSync(path.join(root, '.git'), path.join(root, 'git-alias'));
});

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

function refused(userPath: string, mode: 'read' | 'write' = 'read'): void {
  expect(() => resolveInside(root, userPath, mode)).toThrow(PathOutsideWorkspaceError);
}

describe('resolveInside', () => {
  it('resolves ordinary relative paths inside the root', () => {
    expect(resolveInside(root, 'src/a.ts')).toBe(path.join(root, 'src', 'a.ts'));
    expect(resolveInside(root, './src/../src/a.ts')).toBe(path.join(root, 'src', 'a.ts'));
    expect(resolveInside(root, 'new/dir/file.ts', 'write')).toBe(path.join(root, 'new', 'dir', 'file.ts'));
    expect(resolveInside(root, '.')).toBe(root);
  });

  it('refuses ../ escapes', () => {
    refused('../repo2/secret.txt');
    refused('src/../../repo2/secret.txt');
    refused('..');
    refused('../x', 'write');
  });

  it('refuses absolute paths, even ones inside the root', () => {
    refused('/etc/passwd');
    refused(path.join(root, 'src', 'a.ts'));
  });

  it('refuses NUL bytes', () => {
    refused('src/a.ts\0.png');
  });

  it('does not treat a sibling with the same prefix as inside (repo vs repo2)', () => {
    expect(isWithin(root, sibling)).toBe(false);
    expect(isWithin(root, path.join(root, 'x'))).toBe(true);
    refused('../repo2');
  });

  it('refuses symlinks that lead outside, anywhere along the path', () => {
    refused('link-out/secret.txt');
    refused('link-out');
    refused('file-out');
    refused('file-out', 'write');
    refused('link-out/new-file.txt', 'write');
  });

  it('refuses dangling symlinks (a write would create the target wherever it points)', () => {
    refused('dangling', 'write');
    refused('dangling');
  });

  it('allows symlinks that stay inside the root', () => {
    expect(resolveInside(root, 'link-in/a.ts')).toBe(path.join(root, 'src', 'a.ts'));
  });

  it('refuses writing into .git, directly, by case tricks, or through a symlink', () => {
    refused('.git/config', 'write');
    refused('.git', 'write');
    refused('.GIT/hooks/pre-commit', 'write');
    refused('sub/.git/hooks/x', 'write');
    refused('git-alias/hooks/pre-commit', 'write');
    refused('.', 'write');
  });

  it('treats a file named "..foo" as inside', () => {
    expect(resolveInside(root, '..foo', 'write')).toBe(path.join(root, '..foo'));
  });

  it('works when the root itself is reached through a symlink', () => {
    const alias = path.join(base, 'alias');
    fs.symlinkSync(root, alias);
    expect(resolveInside(alias, 'src/a.ts')).toBe(path.join(root, 'src', 'a.ts'));
    expect(() => resolveInside(alias, '../repo2/secret.txt')).toThrow(PathOutsideWorkspaceError);
  });
});

describe('sanitizeRef', () => {
  it('maps clean workflow ids readably and flattens slashes', () => {
    expect(sanitizeRef('run-1/t07/child-a')).toBe('run-1.t07.child-a');
    expect(sanitizeRef('agent_1')).toBe('agent_1');
  });

  it('keeps parent and child names from nesting (git cannot hold both a/b and a/b/c)', () => {
    expect(sanitizeRef('run-1/t07')).not.toContain('/');
    expect(sanitizeRef('run-1/t07/child-a').startsWith(sanitizeRef('run-1/t07'))).toBe(true);
  });

  it('makes unsafe ids safe and keeps distinct ids distinct', () => {
    const ids = ['a b', 'a-b', 'a/b', 'a.b', 'a..b', '-rf', '../../etc', 'x/lock', 'x.lock', '', 'é', 'a//b', 'a/b/', 'x'.repeat(300)];
    const names = ids.map(sanitizeRef);
    expect(new Set(names).size).toBe(ids.length);
    for (const name of names) {
      expect(name).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
      expect(name).not.toMatch(/\.\.|\.lock$|\.$/);
      expect(name.length).toBeLessThanOrEqual(110);
    }
  });

  it('is stable', () => {
    expect(sanitizeRef('weird id!')).toBe(sanitizeRef('weird id!'));
  });
});

describe('repoKey', () => {
  it('is the basename plus a hash of the real path, the same through a symlink', () => {
    const key = repoKey(root);
    expect(key).toMatch(/^repo-[0-9a-f]{10}$/);
    expect(repoKey(path.join(base, 'alias'))).toBe(key);
    expect(repoKey(sibling)).not.toBe(key);
  });
});

describe('redact', () => {
  it('replaces values of secret-looking variables of 8 characters or more', () => {
    const env = { MY_API_KEY: 'sk-abcdef123456', GITHUB_TOKEN: 'ghp_zzzzzzzz', SHORT_KEY: 'abc', HOME: '/home/someone-long' };
    expect(redact('key=sk-abcdef123456 tok=ghp_zzzzzzzz short=abc home=/home/someone-long', env)).toBe(
      'key=[redacted] tok=[redacted] short=abc home=/home/someone-long',
    );
  });
});
