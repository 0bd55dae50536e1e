/**
 * How every git command cadre runs (activities and CLI) is kept from running a program an agent configured.
 *
 * An agent's program can write the repository's configuration: worktrees share the main repository's `.git/config`
 * and hooks, and `git config` inside a worktree writes there. Configuration is also how git is told to run programs
 * (fsmonitor, filters, diff and merge drivers, hooks, pagers, helpers). So cadre's git never trusts it:
 *
 * - no system or global configuration at all (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`), no system
 *   attributes, and a minimal explicit environment (no operator secrets, no `GIT_*` from the caller);
 * - fixed overrides for every fixed-name key that starts a program ({@link FIXED_OVERRIDES});
 * - overrides for every key of the repository's own configuration whose *name is chosen by the writer* and starts a
 *   program (`filter.<x>.clean|smudge|process`, `merge.<x>.driver`: {@link DRIVER_KEYS}), found by listing the
 *   configuration (includes followed) and cached until one of the files it came from changes;
 * - `--no-ext-diff --no-textconv` on every command that can show a diff (`diff.external`, `diff.<x>.command`,
 *   `diff.<x>.textconv` cannot be switched off by an override).
 *
 * Overrides travel as GIT_CONFIG_COUNT/KEY_n/VALUE_n, not `-c`: a subsection name may contain `=`, which `-c` would
 * split at.
 *
 * Hazard: this makes cadre's own git safe; it does not stop the user's git in the main checkout from reading a
 * planted key. That is the job of the repository guard (sandbox/repoGuard.ts), which undoes such changes after
 * every agent program.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Fixed-name keys that make git run a program, or write configuration, pinned to harmless values. */
export const FIXED_OVERRIDES: readonly (readonly [string, string])[] = Object.freeze([
  ['core.fsmonitor', 'false'],
  ['core.hooksPath', '/dev/null'],
  ['core.pager', 'cat'],
  ['core.editor', 'false'],
  ['sequence.editor', 'false'],
  ['core.askPass', ''],
  ['core.sshCommand', 'ssh'],
  ['core.gitProxy', ''],
  ['core.alternateRefsCommand', ''],
  ['core.attributesFile', '/dev/null'],
  ['credential.helper', ''],
  ['gpg.program', 'false'],
  ['gpg.ssh.program', 'false'],
  ['gpg.x509.program', 'false'],
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['log.showSignature', 'false'],
  ['protocol.ext.allow', 'never'],
  ['submodule.recurse', 'false'],
  ['diff.external', ''],
  // cadre's git must not write configuration itself, or the repository guard would take it for an agent's change.
  ['branch.autoSetupMerge', 'false'],
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
]);

/**
 * Keys named by their writer (`<section>.<any name>.<variable>`) that start a program, and the value each is pinned
 * to. A merge driver is replaced by git's own three-way file merge rather than switched off: `merge-file` writes
 * conflict markers into %A and exits non-zero on a conflict, which is what a merge driver must do.
 */
export const DRIVER_KEYS: readonly { section: string; variable: string; value: string }[] = Object.freeze([
  { section: 'filter', variable: 'clean', value: '' },
  { section: 'filter', variable: 'smudge', value: '' },
  { section: 'filter', variable: 'process', value: '' },
  { section: 'filter', variable: 'required', value: 'false' },
  { section: 'merge', variable: 'driver', value: 'git merge-file %A %O %B' },
  { section: 'diff', variable: 'textconv', value: '' },
  { section: 'diff', variable: 'command', value: '' },
]);

/** Subcommands that may print a diff: they get `--no-ext-diff --no-textconv` right after their name. */
const DIFF_COMMANDS = new Set(['diff', 'log', 'show', 'format-patch']);

/** The only variables cadre's git gets: no caller `GIT_*`, no secrets. */
export function gitEnv(from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
    GIT_OPTIONAL_LOCKS: '1',
  };
  for (const name of ['PATH', 'HOME', 'TMPDIR'] as const) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** `args` with the diff flags inserted when the subcommand can print a diff. */
export function hardenArgs(args: readonly string[]): string[] {
  const [cmd, ...rest] = args;
  if (cmd !== undefined && DIFF_COMMANDS.has(cmd)) return [cmd, '--no-ext-diff', '--no-textconv', ...rest];
  return [...args];
}

interface Listed {
  keys: string[];
  /** Files the configuration came from, with what they looked like then; undefined: do not cache. */
  files?: { file: string; stamp: string }[];
}

const listed = new Map<string, Listed>();

function stamp(file: string): string {
  try {
    const s = fs.statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * The configuration keys git sees in `dir`, includes followed. Cached while none of the files they came from has
 * changed (git rewrites a config file by rename, so its inode changes on every write). Not cached when per-worktree
 * configuration is on, since its file may be created later without the shared one changing.
 */
function configKeys(dir: string, env: Record<string, string>): string[] {
  const hit = listed.get(dir);
  if (hit?.files && hit.files.every((f) => stamp(f.file) === f.stamp)) return hit.keys;
  const out = spawnSync('git', ['config', '--list', '--show-origin', '--name-only', '-z'], { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (out.status !== 0 || typeof out.stdout !== 'string') {
    listed.delete(dir);
    return [];
  }
  // -z with --show-origin: origin NUL key NUL, repeated.
  const parts = out.stdout.split('\0');
  const keys: string[] = [];
  const files = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const origin = parts[i];
    keys.push(parts[i + 1]);
    if (origin.startsWith('file:')) {
      const file = path.resolve(dir, origin.slice(5));
      if (!files.has(file)) files.set(file, stamp(file));
    }
  }
  const perWorktree = keys.some((k) => k.toLowerCase() === 'extensions.worktreeconfig');
  const entry: Listed = { keys, files: perWorktree ? undefined : [...files].map(([file, s]) => ({ file, stamp: s })) };
  listed.set(dir, entry);
  return keys;
}

/** Overrides for the writer-named driver keys found in the configuration of `dir`. */
export function driverOverrides(keys: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  const seen = new Set<string>();
  for (const key of keys) {
    const first = key.indexOf('.');
    const last = key.lastIndexOf('.');
    if (first < 0 || last <= first) continue;
    const section = key.slice(0, first).toLowerCase();
    const sub = key.slice(first + 1, last);
    for (const d of DRIVER_KEYS) {
      if (d.section !== section) continue;
      // Pin every variable of the driver, not only the one found: `required` matters once `clean` is set.
      const k = `${section}.${sub}.${d.variable}`;
      if (!seen.has(k)) {
        seen.add(k);
        out.push([k, d.value]);
      }
    }
  }
  return out;
}

/** The complete environment for one git command in `dir`: {@link gitEnv} plus every override, as GIT_CONFIG_*. */
export function hardenedGitEnv(dir: string, extra: readonly (readonly [string, string])[] = [], from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env = gitEnv(from);
  const overrides = [...extra, ...FIXED_OVERRIDES, ...driverOverrides(fs.existsSync(dir) ? configKeys(dir, env) : [])];
  overrides.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  env.GIT_CONFIG_COUNT = String(overrides.length);
  return env;
}
