/** Driving the built `cadre` CLI as a subprocess, the way a user does. */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export const root = resolve(__dirname, '..', '..');
export const cadreBin = resolve(root, 'bin', 'cadre.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A clean environment for the CLI: no TEMPORAL_* or CADRE_* from the caller, plus `env`. */
export function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') && !k.startsWith('CADRE_')));
  return { ...base, ...env };
}

/** Runs a program to its end, collecting its output; killed after `timeoutMs`. */
export function spawnCollect(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((res, rej) => {
    const child = spawn(command, args, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

export function cadre(args: string[], env: Record<string, string | undefined>, timeoutMs = 120_000): Promise<CliResult> {
  return spawnCollect(process.execPath, [cadreBin, ...args], cliEnv(env), timeoutMs);
}


/** Starts a long-running CLI command and resolves once its output matches `ready`. */
export function startCadre(args: string[], env: Record<string, string | undefined>, ready: RegExp, timeoutMs = 120_000): Promise<{ child: ChildProcess; output: () => string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [cadreBin, ...args], { env: cliEnv(env), cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => rej(new Error(`timed out waiting for ${ready} in:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        res({ child, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`exited ${code} before ready:\n${out}`));
    });
  });
}

/** A `cadre worker` with `env` for the tests of the enclosing describe block: started before them, stopped after. */
export function workerForSuite(env: Record<string, string | undefined>): void {
  let worker: Awaited<ReturnType<typeof startCadre>> | undefined;
  beforeAll(async () => {
    worker = await startCadre(['worker'], env, /worker polling/, 180_000);
  }, 200_000);
  afterAll(() => {
    worker?.child.kill('SIGTERM');
  });
}
