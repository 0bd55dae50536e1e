/** Fix-and-retry's pure decisions (src/workflows/agent/attempts.ts, src/shared/verification.ts). */
import { describe, expect, it } from 'vitest';
import {
  attemptEnv,
  checksFailure,
  doingOf,
  fixMessage,
  outputsFailure,
  recordAttempt,
  hasVerification,
  shouldRetry,
  unfixedError,
  verifyAttemptsOf,
  verifyCommandFailure,
  type AttemptState,
} from '../../../src/workflows/agent/attempts';
import { tailBytes } from '../../../src/shared/verification';

describe('fix-and-retry decisions', () => {
  it('the limit: the input, else 2; kept within 1..10', () => {
    expect(verifyAttemptsOf({})).toBe(2);
    expect(verifyAttemptsOf({ verifyAttempts: 1 })).toBe(1);
    expect(verifyAttemptsOf({ verifyAttempts: 4 })).toBe(4);
    expect(verifyAttemptsOf({ verifyAttempts: 0 })).toBe(1);
    expect(verifyAttemptsOf({ verifyAttempts: 99 })).toBe(10);
    expect(verifyAttemptsOf({ verifyAttempts: 1.5 })).toBe(2);
  });

  it('retries an agent with something to verify, on every backend', () => {
    expect(hasVerification({})).toBe(false);
    expect(hasVerification({ outputs: [] })).toBe(false);
    expect(hasVerification({ outputs: ['a'] })).toBe(true);
    expect(hasVerification({ verify: ['true'] })).toBe(true);
    expect(hasVerification({ checks: [{ kind: 'contains', path: 'a', text: 'b' }] })).toBe(true);
  });

  it('records one verdict per attempt and retries while attempts are left', () => {
    const a: AttemptState = { attempt: 1, attempts: [] };
    recordAttempt(a, outputsFailure(['dist/a.js']));
    expect(a.attempts).toEqual([{ attempt: 1, ok: false, check: 'outputs', summary: 'missing outputs: dist/a.js' }]);
    expect(shouldRetry(a, 2)).toBe(true);
    expect(shouldRetry(a, 1)).toBe(false);
    a.attempt = 2;
    // A repeated verdict of the same attempt (a replayed record) replaces it.
    recordAttempt(a, undefined);
    recordAttempt(a, undefined);
    expect(a.attempts.map((x) => `${x.attempt}:${x.ok}`)).toEqual(['1:false', '2:true']);
    expect(a.attempts[1]!.summary).toBe('passed');
    expect(shouldRetry(a, 2)).toBe(false);
  });

  it('the errors are those of the verification without retries', () => {
    expect(outputsFailure(['a', 'b']).error).toBe('missing outputs: a, b');
    expect(checksFailure(['x: file does not exist']).error).toBe('checks failed: x: file does not exist');
    const v = verifyCommandFailure(['npm', 'test'], 1, 'FAIL test/a.test.ts\n');
    expect(v.error).toBe('verify failed (exit 1): FAIL test/a.test.ts\n');
    expect(v.detail).toContain('`npm test` exited 1');
    expect(verifyCommandFailure(['make'], null, '', true).detail).toContain('timed out');
  });

  it('gives the agent at most 2 KB of the verify output: its end, whole characters', () => {
    const long = `${'é'.repeat(3000)}THE END`;
    const cut = tailBytes(long, 2048);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(2048);
    expect(cut.endsWith('THE END')).toBe(true);
    expect(cut.startsWith('é')).toBe(true);
    expect(tailBytes('short', 2048)).toBe('short');
    const f = verifyCommandFailure(['npm', 'test'], 2, 'x'.repeat(10_000) + 'last line');
    const msg = fixMessage(f, 1, 3);
    expect(Buffer.byteLength(msg)).toBeLessThan(3000);
    expect(msg).toContain('last line');
    expect(msg).toContain('attempt 1 of 3');
    expect(msg).toContain('2 attempts are left');
    expect(fixMessage(f, 2, 3)).toContain('This is your last attempt');
  });

  it('names the attempt in what the agent is doing, and the environment of a command on a fix attempt', () => {
    expect(doingOf({ attempt: 1, attempts: [] }, 2, 'model turn 3')).toBe('model turn 3');
    expect(doingOf({ attempt: 2, attempts: [] }, 2, 'model turn 3')).toBe('attempt 2/2: model turn 3');
    expect(doingOf({ attempt: 2, attempts: [] }, 2, '')).toBe('');
    expect(attemptEnv(2, 3, 'why')).toEqual({ CADRE_ATTEMPT: '2', CADRE_VERIFY_ATTEMPTS: '3', CADRE_VERIFY_FAILURE: 'why' });
  });

  it('an agent that stopped during a fix attempt says what it was fixing', () => {
    const a: AttemptState = { attempt: 1, attempts: [] };
    expect(unfixedError(a, 'budget_exhausted')).toBeUndefined();
    recordAttempt(a, outputsFailure(['x.txt']));
    a.attempt = 2;
    expect(unfixedError(a, 'budget_exhausted')).toBe('missing outputs: x.txt (attempt 2 ended budget_exhausted before it passed)');
    recordAttempt(a, outputsFailure(['x.txt']));
    expect(unfixedError(a, 'failed')).toBeUndefined();
  });
});
