/**
 * Remembers which run a `cadre run <plan>` started, so running the same command again (after the CLI was killed)
 * re-attaches to that run instead of starting a second one. Kept as one small JSON file in the state directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const file = (stateDir: string) => join(stateDir, 'runs.json');

type Registry = Record<string, { runId: string; startedAt: string }>;

function read(stateDir: string): Registry {
  try {
    return JSON.parse(readFileSync(file(stateDir), 'utf8')) as Registry;
  } catch {
    return {};
  }
}

export function runKey(planPath: string, repo: string): string {
  return createHash('sha256').update(`${planPath}\0${repo}`).digest('hex').slice(0, 16);
}

export function lastRun(stateDir: string, key: string): string | undefined {
  return read(stateDir)[key]?.runId;
}

export function rememberRun(stateDir: string, key: string, runId: string): void {
  const reg = read(stateDir);
  reg[key] = { runId, startedAt: new Date().toISOString() };
  mkdirSync(stateDir, { recursive: true });
  const tmp = `${file(stateDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(reg, null, 2));
  renameSync(tmp, file(stateDir));
}

/** A fresh run id: the plan's name, made safe for workflow ids and branch names, plus a short random suffix. */
export function newRunId(planName: string): string {
  const slug = planName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'run';
  return `${slug}-${randomBytes(3).toString('hex')}`;
}
