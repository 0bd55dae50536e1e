/**
 * The `notify` activity and CADRE_NOTIFY (docs/notifications.md), in a real activity context: unset it does
 * nothing; a program gets the event on stdin with a scrubbed environment; an id delivered once is not sent again
 * (the delivered-ids record); a webhook's 404 is not retried, its 503 is; CADRE_NOTIFY values that are neither an
 * http(s) URL nor an executable are configuration errors that say what is wrong.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { createNotifyActivities } from '../../src/activities/notify';
import { loadConfig, notifyTarget } from '../../src/node/config';
import type { NotifyEvent } from '../../src/shared/notify';
import { inActivityContext } from '../support/activityContext';
import { tmp } from '../support/tmp';

const event = (id: string): NotifyEvent => ({ id, kind: 'gate', inbox: true, at: 1, runId: 'r', taskId: 't', summary: 't: check it', command: 'cadre approve r t' });
const CANARY = 'sk-ant-notify-canary-0000000000';

afterEach(() => {
  delete process.env.NOTIFY_TEST_CANARY;
});

describe('notify activity', () => {
  it('does nothing when CADRE_NOTIFY is unset', async () => {
    const { notify } = createNotifyActivities({ stateDir: tmp('notify-off') });
    expect(await inActivityContext(() => notify({ event: event('r/gate/t#1') })).result).toEqual({ result: 'off' });
  });

  it('a program gets the event as JSON on stdin, with a scrubbed environment; the same id is not sent twice', async () => {
    const dir = tmp('notify-prog');
    const out = join(dir, 'out.txt');
    const program = join(dir, 'receiver.sh');
    writeFileSync(program, `#!/bin/sh\ncat >> '${out}'\nenv | sort >> '${out}.env'\n`);
    chmodSync(program, 0o755);
    process.env.NOTIFY_TEST_CANARY = CANARY;
    const { notify } = createNotifyActivities({ stateDir: join(dir, 'state'), target: { kind: 'program', path: program } });
    expect(await inActivityContext(() => notify({ event: event('r/gate/t#1') })).result).toEqual({ result: 'delivered' });
    // A retry after a crash between the delivery and the activity's completion: the record says it was delivered.
    expect(await inActivityContext(() => notify({ event: event('r/gate/t#1') })).result).toEqual({ result: 'repeat' });
    expect(await inActivityContext(() => notify({ event: event('r/gate/t#2') })).result).toEqual({ result: 'delivered' });
    expect(readFileSync(out, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as NotifyEvent).id)).toEqual(['r/gate/t#1', 'r/gate/t#2']);
    const env = readFileSync(`${out}.env`, 'utf8');
    expect(env).toContain('CADRE_NOTIFY_ID=r/gate/t#1');
    expect(env).not.toContain(CANARY);
    expect(env.split('\n').filter(Boolean).map((l) => l.split('=')[0]).every((k) => ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TERM', 'TMPDIR', 'CADRE_NOTIFY_ID', 'PWD', 'SHLVL', '_'].includes(k!))).toBe(true);
  });

  it('a program that fails is a retryable failure naming it and its exit; nothing is recorded', async () => {
    const dir = tmp('notify-fail');
    const program = join(dir, 'down.sh');
    writeFileSync(program, '#!/bin/sh\necho "no route" >&2\nexit 1\n');
    chmodSync(program, 0o755);
    const { notify } = createNotifyActivities({ stateDir: join(dir, 'state'), target: { kind: 'program', path: program } });
    const err = await inActivityContext(() => notify({ event: event('r/x') })).result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(false);
    expect((err as ApplicationFailure).message).toMatch(/down\.sh exited 1 on r\/x: no route/);
  });

  it('a webhook: 204 delivers, 503 is retried, 404 is not', async () => {
    const statuses = [204, 503, 404];
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(String(req.headers['x-cadre-event-id']));
      req.resume();
      req.on('end', () => res.writeHead(statuses[seen.length - 1] ?? 500).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/T0KEN-in-path`;
      const { notify } = createNotifyActivities({ stateDir: tmp('notify-hook'), target: { kind: 'webhook', url } });
      expect(await inActivityContext(() => notify({ event: event('a') })).result).toEqual({ result: 'delivered' });
      const retryable = (await inActivityContext(() => notify({ event: event('b') })).result.catch((e: unknown) => e)) as ApplicationFailure;
      expect([retryable.nonRetryable, retryable.message]).toEqual([false, expect.stringMatching(/answered 503 to b$/)]);
      const permanent = (await inActivityContext(() => notify({ event: event('c') })).result.catch((e: unknown) => e)) as ApplicationFailure;
      expect(permanent.nonRetryable).toBe(true);
      // The URL's path (often a token) is never in an error.
      expect(`${retryable.message} ${permanent.message}`).not.toContain('T0KEN');
      expect(seen).toEqual(['a', 'b', 'c']);
    } finally {
      server.close();
    }
  });
});

describe('CADRE_NOTIFY', () => {
  it('an http(s) URL or an executable; anything else says what is wrong', () => {
    const dir = tmp('notify-config');
    const exe = join(dir, 'hook.sh');
    writeFileSync(exe, '#!/bin/sh\n');
    chmodSync(exe, 0o755);
    const plain = join(dir, 'plain.txt');
    writeFileSync(plain, 'x');
    expect(notifyTarget(undefined)).toBeUndefined();
    expect(notifyTarget('https://hooks.example.com/x?t=1')).toEqual({ kind: 'webhook', url: 'https://hooks.example.com/x?t=1' });
    expect(notifyTarget('hook.sh', dir)).toEqual({ kind: 'program', path: exe });
    expect(loadConfig({ CADRE_NOTIFY: exe }).notify).toEqual({ kind: 'program', path: exe });
    expect(() => notifyTarget('ftp://example.com/x')).toThrow(/^bad configuration: CADRE_NOTIFY: ftp: URLs are not supported \(expected an http\(s\) URL or the path of an executable program\)$/);
    expect(() => notifyTarget(join(dir, 'missing'))).toThrow(/CADRE_NOTIFY: no program at .*missing/);
    expect(() => notifyTarget(plain)).toThrow(/CADRE_NOTIFY: .*plain\.txt is not executable/);
    expect(() => notifyTarget(dir)).toThrow(/CADRE_NOTIFY: .* is not a file/);
    expect(() => loadConfig({ CADRE_NOTIFY: 'https://' })).toThrow(/CADRE_NOTIFY: "\(unparsable URL\)" is not a valid URL/);
  });
});
