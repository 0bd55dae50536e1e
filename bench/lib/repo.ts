/** Throwaway git repositories for the benchmark. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function git(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'gc.auto=0', ...args], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

/** A repository at `dir` with `files` committed on `main`. */
export function makeRepo(dir: string, files: Record<string, string> = { 'README.md': '# bench repo\n' }): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  return dir;
}

/** A repository of `count` source-like files spread over directories of 100 (a mid-sized project's checkout). */
export function makeLargeRepo(dir: string, count: number): string {
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const d = `src/m${String(Math.floor(i / 100)).padStart(3, '0')}`;
    const body = `// file ${i}\nexport const value${i} = ${i};\nexport function f${i}(x: number): number {\n  return x * ${i % 97} + ${i};\n}\n`;
    files[`${d}/f${String(i).padStart(5, '0')}.ts`] = body.repeat(3);
  }
  return makeRepo(dir, files);
}
