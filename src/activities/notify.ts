/**
 * The `notify` activity (docs/notifications.md): delivers one event to the receiver CADRE_NOTIFY names — a program,
 * given the event as one line of JSON on stdin, or a webhook, POSTed it as JSON.
 *
 * Guarantee: at least once, and once per id as far as this state directory knows. The workflow schedules the
 * activity (so a worker crash retries it on another worker); before sending, the activity looks the id up in the
 * delivered-ids record (`<state>/notify/delivered/<hash of id>`), and after the receiver accepted it (exit 0, a 2xx),
 * it writes the id there. A retry after a crash between the receiver's acceptance and the activity's completion
 * therefore finds the id and does not send again. What remains: a crash in the moment between the acceptance and
 * the record's write sends once more; workers with different state directories do not share the record. So a
 * receiver that must never act twice de-duplicates on the id (also sent as `x-cadre-event-id` and
 * CADRE_NOTIFY_ID).
 *
 * Unset CADRE_NOTIFY: returns `off` at once. The program gets a scrubbed environment (PATH, HOME, LANG, …: the base
 * of every program cadre runs, src/activities/sandbox/agentProgram.ts), no shell, and 30 s.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { maskUrl, type NotifyTarget } from '../node/config';
import { logger } from '../node/logger';
import { ErrorType } from '../shared/errors';
import { notifyEventSchema } from '../shared/notifyEvent';
import type { NotifyEvent, NotifyOutcome } from '../shared/notify';
import { defineActivity } from './boundary';
import { agentEnv } from './sandbox/agentProgram';

export const notifyInput = z.strictObject({ event: notifyEventSchema });

export interface NotifyDeps {
  stateDir: string;
  target?: NotifyTarget;
  /** How long a receiver may take (default 30 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function createNotifyActivities(deps: NotifyDeps) {
  const dir = join(deps.stateDir, 'notify', 'delivered');
  const recordOf = (id: string) => join(dir, createHash('sha256').update(id).digest('hex').slice(0, 40));
  return {
    notify: defineActivity(
      'notify',
      notifyInput,
      async ({ event }): Promise<NotifyOutcome> => {
        const target = deps.target;
        if (!target) return { result: 'off' };
        const record = recordOf(event.id);
        if (existsSync(record)) return { result: 'repeat' };
        const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        try {
          if (target.kind === 'webhook') await post(target.url, event, timeoutMs);
          else await runProgram(target.path, event, timeoutMs);
        } catch (err) {
          logger().warn({ eventId: event.id, receiver: describeTarget(target), error: err instanceof Error ? err.message : String(err) }, 'notification attempt failed');
          throw err;
        }
        mkdirSync(dir, { recursive: true });
        writeFileSync(record, `${event.id}\n`);
        return { result: 'delivered' };
      },
      { heartbeatEveryMs: 2000, fallbackType: ErrorType.NotifyFailed },
    ),
  };
}

/** The receiver as logs and errors show it: a webhook by its origin only (its path often holds a token). */
export function describeTarget(t: NotifyTarget): string {
  return t.kind === 'webhook' ? maskUrl(t.url) : t.path;
}

async function post(url: string, event: NotifyEvent, timeoutMs: number): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-cadre-event-id': event.id },
    body: JSON.stringify(event),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((err: unknown) => {
    throw new Error(`webhook ${maskUrl(url)} unreachable: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`);
  });
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok) return;
  const message = `webhook ${maskUrl(url)} answered ${res.status} to ${event.id}`;
  // A 4xx other than 408 and 429 will not change on a retry: the receiver refuses the event.
  const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
  throw ApplicationFailure.create({ type: ErrorType.NotifyFailed, message, nonRetryable: permanent });
}

function runProgram(path: string, event: NotifyEvent, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { env: agentEnv({ CADRE_NOTIFY_ID: event.id }), stdio: ['pipe', 'ignore', 'pipe'], shell: false });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString();
    });
    // A program that exits without reading its stdin is judged by its exit status, not by the broken pipe.
    child.stdin!.on('error', () => undefined);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`notify program ${path} could not start: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`notify program ${path} ${signal ? `killed by ${signal}` : `exited ${code}`} on ${event.id}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`));
    });
    child.stdin!.end(`${JSON.stringify(event)}\n`);
  });
}
