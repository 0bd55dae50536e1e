/**
 * The pure decisions behind issue 16 (items 3, 5, 9, 10), without a server: a model-chosen command is marked for the
 * policy, the reservation covers carried input, overspend is charged and stops the agent, absurd grants count as
 * nothing, addresses stay inside the run or team, and unread mail is drained for the dead letters.
 */
import { describe, expect, it } from 'vitest';
import { defaultLimits, type AgentInput } from '../../../src/shared/agent';
import { defaultPriceTable } from '../../../src/shared/pricing';
import { addressProblem, rootIdOf } from '../../../src/workflows/agent/addresses';
import { carriedTokens, overspent, turnReservation } from '../../../src/workflows/agent/budget';
import { planSpawn } from '../../../src/workflows/agent/children';
import * as ledger from '../../../src/workflows/agent/ledger';
import * as mail from '../../../src/workflows/agent/mailbox';
import { initialState } from '../../../src/workflows/agent/state';

const input = (over: Partial<AgentInput> = {}): AgentInput => ({
  repo: '/r', baseRef: 'main', goal: 'g', backend: 'scripted', model: 'm', maxTokens: 1000, maxTurns: 10,
  budget: { tokens: 10_000 }, depth: 0, limits: defaultLimits, ...over,
});
const msg = (id: string, text = 'hi') => ({ id, from: 'x', to: 'a', text, priority: 'normal' as const, thread: id, sentAt: 0 });

describe('issue 16: pure decisions', () => {
  it('a command a model chose for a child is marked for the command policy; a plan command is not', () => {
    const s = initialState('p', input(), 0);
    const { childInput } = planSpawn(input(), s, { name: 'c', goal: 'x', backend: 'command', command: ['sh', '-c', 'x'] }, 'base');
    expect(childInput.commandFromModel).toBe(true);
    const { childInput: scripted } = planSpawn(input(), s, { name: 'd', goal: 'x' }, 'base');
    expect(scripted.commandFromModel).toBeUndefined();
  });

  it('the reservation covers what the request carries: an 8 KB message is about 2,000 tokens more', () => {
    const s = initialState('a', input(), 0);
    const plain = turnReservation(input(), s, defaultPriceTable).tokens!;
    const extra = carriedTokens([`[message m from x] ${'x'.repeat(8192)}`]);
    expect(extra).toBeGreaterThan(2048);
    expect(turnReservation(input(), s, defaultPriceTable, extra).tokens).toBe(plain + extra);
    // Escapes count as the activity's estimate counts them (JSON), so control characters cannot shrink the estimate.
    expect(carriedTokens(['\u0001'.repeat(400)])).toBeGreaterThan(600);
  });

  it('a child that spent more than its slice is charged in full: the parent claims nothing as unused and is overspent', () => {
    const book = ledger.newLedger({ tokens: 10_000 });
    expect(ledger.tryGive(book, { tokens: 8_000 })).toBe(true);
    ledger.reclaim(book, 'p/c', { tokens: -5_000 });
    expect(ledger.available(book).tokens).toBe(10_000 - 8_000 - 5_000);
    expect(overspent(book)).toBe(true);
    expect(ledger.unused(book).tokens).toBe(-3_000);
    // Repeated end reports count once.
    ledger.reclaim(book, 'p/c', { tokens: -5_000 });
    expect(ledger.available(book).tokens).toBe(-3_000);
    expect(overspent(ledger.newLedger({}))).toBe(false);
  });

  it('a grant that is negative, infinite or not a number raises nothing', () => {
    const book = ledger.newLedger({ tokens: 1_000 });
    ledger.applyGrant(book, 'g1', { tokens: -500 });
    ledger.applyGrant(book, 'g2', { tokens: Infinity });
    ledger.applyGrant(book, 'g3', { tokens: 'x' as unknown as number });
    expect(ledger.available(book).tokens).toBe(1_000);
  });

  it('addresses stay inside the run, or the team of a standalone agent', () => {
    expect(rootIdOf('a1/c/d', 2)).toBe('a1');
    const inRun = { runId: 'runA', depth: 1, parentId: 'runA/t1' };
    expect(addressProblem(inRun, 'runA/t1/c', 'runA/t2')).toBeUndefined();
    expect(addressProblem(inRun, 'runA/t1/c', 'runB/t1')).toMatch(/runB\/t1 is not an agent of your run \(runA\)/);
    expect(addressProblem(inRun, 'runA/t1/c', 'agent-123')).toMatch(/not an agent of your run/);
    const alone = { depth: 1, parentId: 'a1' };
    expect(addressProblem(alone, 'a1/c', 'a1')).toBeUndefined();
    expect(addressProblem(alone, 'a1/c', 'a1/d')).toBeUndefined();
    expect(addressProblem(alone, 'a1/c', 'a10/d')).toMatch(/a10\/d is not an agent of your team \(a1\)/);
    expect(addressProblem(alone, 'a1/c', 'runA/t1')).toMatch(/not an agent of your team/);
  });

  it('delivers only the messages the reservation counted, and drains what no turn will read', () => {
    const box = mail.newMailbox();
    mail.accept(box, msg('m1'));
    const counted = mail.pending(box).map((m) => m.id);
    mail.accept(box, msg('m2')); // arrived while the turn was reserving
    expect(mail.deliver(box, counted).map((m) => m.id)).toEqual(['m1']);
    expect(mail.pending(box).map((m) => m.id)).toEqual(['m2']);
    expect(mail.drainUnread(box).map((m) => m.id)).toEqual(['m2']);
    expect(mail.pending(box)).toEqual([]);
    expect(mail.drainUnread(box)).toEqual([]);
  });
});
