/**
 * Issue 16, item 4: no agent program can read a worker secret, /proc of its ancestors included. A worker process is
 * started with canaries in its initial environment (an Anthropic-shaped key, a database URL with a password, and a
 * value whose name looks harmless); hostile programs run through run_command and the command backend read every
 * environ they can reach and print and write it, raw and base64. Nothing anywhere may hold a canary in any form.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { redact } from '../../src/node/redact';
import { tmp } from '../support/tmp';

const KEY = 'sk-ant-canary-Zx81kQ0pLm3nB7vC';
const DB_PASSWORD = 'canaryDbPw-93jfK2';
const PLAIN = 'canary-plain-7731-value';

function forms(secret: string): string[] {
  const b = Buffer.from(secret);
  return [secret, b.toString('base64').replace(/=+$/, ''), b.toString('hex'), encodeURIComponent(secret)];
}

function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('worker secrets never reach an agent program', () => {
  it('canaries in the worker\'s initial environment appear nowhere, in no encoding', async () => {
    const stateDir = tmp('leak-state');
    const workspace = tmp('leak-ws');
    const outDir = tmp('leak-out');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ANTHROPIC_API_KEY: KEY,
      DATABASE_URL: `postgres://app:${DB_PASSWORD}@db.internal:5432/app`,
      CANARY_PLAIN: PLAIN,
      CADRE_LOG_LEVEL: 'info',
    };
    // Asynchronously: a test worker blocked for the worker's whole run times out its own runner.
    const { stdout: logs } = await promisify(execFile)(path.resolve('node_modules/.bin/tsx'), [path.resolve('test/security/fixtures/leakWorker.ts'), stateDir, workspace, outDir], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    fs.writeFileSync(path.join(outDir, 'worker-stdout.txt'), logs);
    const tool = fs.readFileSync(path.join(outDir, 'tool-result.txt'), 'utf8');
    // The program did run and did look: its own (scrubbed) environment is in what it printed.
    expect(tool).toContain('PATH=');
    expect(fs.existsSync(path.join(workspace, 'stolen.txt'))).toBe(true);

    const found: string[] = [];
    for (const file of [...allFiles(stateDir), ...allFiles(workspace), ...allFiles(outDir)]) {
      const text = fs.readFileSync(file, 'utf8');
      for (const secret of [KEY, DB_PASSWORD, PLAIN]) {
        for (const form of forms(secret)) if (text.includes(form)) found.push(`${path.basename(file)}: ${form}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('redaction knows secret values in their common encodings, and URL passwords', () => {
    const env = { ANTHROPIC_API_KEY: KEY, DATABASE_URL: `postgres://app:${DB_PASSWORD}@db/app`, SOME_VALUE: 'ghp_abcdefghijklmnopqrstuvwxyz0123' };
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const text = [
      KEY,
      b64(KEY),
      b64(`x${KEY}`),
      b64(`xy${KEY}`),
      b64(`prefix ANTHROPIC_API_KEY=${KEY}\n`).replace(/\+/g, '-').replace(/\//g, '_'),
      Buffer.from(KEY).toString('hex').toUpperCase(),
      encodeURIComponent(`${KEY}/!`),
      DB_PASSWORD,
      'ghp_abcdefghijklmnopqrstuvwxyz0123',
    ].join('\n');
    const out = redact(text, env);
    for (const secret of [KEY, DB_PASSWORD, 'ghp_abcdefghijklmnopqrstuvwxyz0123']) {
      for (const form of forms(secret)) expect(out).not.toContain(form);
    }
    // The alignments: a base64 text with the key at any offset loses the part that encodes the key.
    expect(out.split('\n').slice(1, 5).every((l) => l.includes('[redacted]'))).toBe(true);
    expect(redact('nothing secret here: main 8080 /usr/bin', env)).toBe('nothing secret here: main 8080 /usr/bin');
  });
});
