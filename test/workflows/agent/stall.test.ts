/** Stalls (docs/loops.md "Stalls"): the pure decisions of src/workflows/agent/stall.ts. */
import { describe, expect, it } from 'vitest';
import * as mail from '../../../src/workflows/agent/mailbox';
import { formatQuiet, MAX_STALL_RESTARTS, MIN_RECHECK_MS, nextCheckMs, noteProgress, nudgeId, nudgeText, stallAfterMsOf, stallStep, withdrawNudge, type StallState } from '../../../src/workflows/agent/stall';

const fresh = (at = 0): StallState => ({ progressAt: at, stalls: 0, restarts: 0 });
const input = { stallAfterSeconds: 10 };

describe('stall decisions', () => {
  it('defaults to 10 minutes and takes the agent input', () => {
    expect(stallAfterMsOf({})).toBe(600_000);
    expect(stallAfterMsOf({ stallAfterSeconds: 3 })).toBe(3000);
  });

  it('waits while the window is not over', () => {
    const w = fresh(0);
    expect(stallStep(w, input, 4000, 'run x')).toEqual({ kind: 'wait', ms: 6000 });
    expect(w.stall).toBeUndefined();
    expect(nextCheckMs(w, 10_000, 4000)).toBe(6000);
  });

  it('stalls after a quiet window, then ends after a second one with a clear error', () => {
    const w = fresh(0);
    expect(stallStep(w, input, 10_000, 'run sleep 600')).toEqual({ kind: 'stall', quietMs: 10_000 });
    expect(w.stall).toEqual({ since: 0, nudgedAt: 10_000, doing: 'run sleep 600' });
    expect(w.stalls).toBe(1);
    expect(stallStep(w, input, 15_000, 'x')).toEqual({ kind: 'wait', ms: 5000 });
    expect(nextCheckMs(w, 10_000, 15_000)).toBe(5000);
    expect(stallStep(w, input, 20_000, 'x')).toEqual({ kind: 'end', error: 'stalled: no progress for 20 s' });
  });

  it('progress the workflow sees ends the stall and restarts the window', () => {
    const w = fresh(0);
    stallStep(w, input, 10_000, 'x');
    expect(noteProgress(w, 12_000)).toBe(true);
    expect(w.stall).toBeUndefined();
    expect(w.progressAt).toBe(12_000);
    expect(noteProgress(w, 12_000)).toBe(false);
    expect(stallStep(w, input, 20_000, 'x')).toEqual({ kind: 'wait', ms: 2000 });
  });

  it('progress in a heartbeat counts: no stall, and a stall ends', () => {
    const w = fresh(0);
    expect(stallStep(w, input, 10_000, 'x', { progressAt: 9000, knownUntil: 9500 })).toEqual({ kind: 'wait', ms: 9500 });
    expect(w.progressAt).toBe(9000);
    expect(w.stall).toBeUndefined();
    stallStep(w, input, 19_500, 'x', { progressAt: 9000, knownUntil: 19_400 });
    expect(w.stall?.since).toBe(9000);
    // Progress after the stall began ends it.
    expect(stallStep(w, input, 29_500, 'x', { progressAt: 25_000, knownUntil: 29_000 }).kind).toBe('wait');
    expect(w.stall).toBeUndefined();
    expect(w.progressAt).toBe(25_000);
  });

  it('declares nothing on quiet the heartbeats do not cover yet', () => {
    const w = fresh(0);
    // A running activity last heartbeated at 2 s: the 10 s of quiet are not known yet.
    expect(stallStep(w, input, 10_000, 'x', { knownUntil: 2000 })).toEqual({ kind: 'wait', ms: 8000 });
    expect(w.stall).toBeUndefined();
    expect(stallStep(w, input, 10_500, 'x', { knownUntil: 9800 })).toEqual({ kind: 'wait', ms: MIN_RECHECK_MS });
    expect(stallStep(w, input, 18_000, 'x', { knownUntil: 10_000 }).kind).toBe('stall');
    // The end too needs a known second window.
    expect(stallStep(w, input, 28_000, 'x', { knownUntil: 20_000 })).toEqual({ kind: 'wait', ms: 8000 });
    expect(stallStep(w, input, 36_000, 'x', { knownUntil: 28_000 })).toEqual({ kind: 'end', error: 'stalled: no progress for 36 s' });
  });

  it('onStall restart restarts a bounded number of times, then ends', () => {
    const w = fresh(0);
    const restart = { ...input, onStall: 'restart' as const };
    let now = 0;
    for (let i = 1; i <= MAX_STALL_RESTARTS; i++) {
      now += 10_000;
      expect(stallStep(w, restart, now, 'x').kind).toBe('stall');
      now += 10_000;
      expect(stallStep(w, restart, now, 'x')).toEqual({ kind: 'restart' });
      expect(w.restarts).toBe(i);
      expect(w.progressAt).toBe(now);
    }
    now += 10_000;
    expect(stallStep(w, restart, now, 'x').kind).toBe('stall');
    now += 10_000;
    expect(stallStep(w, restart, now, 'x')).toEqual({ kind: 'end', error: 'stalled: no progress for 20 s' });
    expect(w.stalls).toBe(MAX_STALL_RESTARTS + 1);
  });

  it('nudges with the quiet time and what comes next', () => {
    expect(nudgeText(600_000, {}, 0)).toBe(
      'You have made no progress for 10 min. Report your status (send_message to your parent, or finish with a summary) or continue your work. Without progress in the next 10 min you will be ended, with your work so far committed.',
    );
    expect(nudgeText(3000, { stallAfterSeconds: 3, onStall: 'restart' }, 0)).toContain('in the next 3 s you will be restarted.');
    expect(nudgeText(3000, { stallAfterSeconds: 3, onStall: 'restart' }, MAX_STALL_RESTARTS)).toContain('you will be ended');
    expect([formatQuiet(45_000), formatQuiet(720_000), formatQuiet(7_500_000)]).toEqual(['45 s', '12 min', '2 h 5 min']);
  });

  it('withdraws an unread nudge once the stall is over, and leaves a read one alone', () => {
    const box = mail.newMailbox();
    mail.accept(box, { id: nudgeId('a', 1), from: 'cadre', to: 'a', text: 'nudge', priority: 'high', thread: nudgeId('a', 1), sentAt: 0 });
    withdrawNudge(box, 'a', 1);
    expect(mail.pending(box)).toEqual([]);
    mail.accept(box, { id: nudgeId('a', 2), from: 'cadre', to: 'a', text: 'nudge', priority: 'high', thread: nudgeId('a', 2), sentAt: 0 });
    mail.deliver(box);
    withdrawNudge(box, 'a', 2);
    expect(box.messages.find((m) => m.id === 'a#stall-2')?.state).toBe('delivered');
  });
});
