/**
 * The budget ledger of one agent: pure, deterministic, plain JSON (it lives in workflow state and survives
 * continue-as-new). Two dimensions, tokens and USD; an unset ceiling is unlimited in that dimension.
 *
 * Invariant: used + reserved + givenToChildren - reclaimed <= allocated + granted, in every limited dimension, as
 * long as providers report no more than was reserved; a report above it is booked in full (available goes negative)
 * and the agent stops (budget.ts `overspent`).
 * Reservations cover a model call's worst case before it is made; settlement replaces the reservation with the
 * provider's reported usage. Grants and reclaims are idempotent by id.
 */
import type { Amount } from '../../shared/agent';
import type { LedgerView } from '../../shared/messages';

export interface Ledger {
  allocated: Amount;
  granted: Required<Amount>;
  used: Required<Amount>;
  reserved: Required<Amount>;
  given: Required<Amount>;
  reclaimed: Required<Amount>;
  grantIds: string[];
  reclaimIds: string[];
  alerts: number[];
}

export const ALERT_THRESHOLDS = [50, 80, 95, 100];
const dims = ['tokens', 'usd'] as const;
const zero = (): Required<Amount> => ({ tokens: 0, usd: 0 });

export function newLedger(allocated: Amount): Ledger {
  return { allocated: { ...allocated }, granted: zero(), used: zero(), reserved: zero(), given: zero(), reclaimed: zero(), grantIds: [], reclaimIds: [], alerts: [] };
}

function ceiling(l: Ledger, d: (typeof dims)[number]): number | undefined {
  const a = l.allocated[d];
  return a === undefined ? undefined : a + l.granted[d];
}

/** What is left to spend or give, per limited dimension (undefined = unlimited). */
export function available(l: Ledger): Amount {
  const out: Amount = {};
  for (const d of dims) {
    const c = ceiling(l, d);
    if (c !== undefined) out[d] = round(c - l.used[d] - l.reserved[d] - l.given[d] + l.reclaimed[d], d);
  }
  return out;
}

function round(n: number, d: (typeof dims)[number]): number {
  return d === 'usd' ? Math.round(n * 1e9) / 1e9 : n;
}

function fits(l: Ledger, amount: Amount): boolean {
  const av = available(l);
  return dims.every((d) => av[d] === undefined || (amount[d] ?? 0) <= av[d]! + 1e-12);
}

export function tryReserve(l: Ledger, amount: Amount): boolean {
  if (!fits(l, amount)) return false;
  for (const d of dims) l.reserved[d] = round(l.reserved[d] + (amount[d] ?? 0), d);
  return true;
}

/** Replace a reservation with actual usage. Usage beyond the reservation is still recorded (it was spent). */
export function settle(l: Ledger, reserved: Amount, actual: Required<Amount>): number[] {
  for (const d of dims) {
    l.reserved[d] = round(Math.max(0, l.reserved[d] - (reserved[d] ?? 0)), d);
    l.used[d] = round(l.used[d] + actual[d], d);
  }
  return newAlerts(l);
}

export function release(l: Ledger, reserved: Amount): void {
  for (const d of dims) l.reserved[d] = round(Math.max(0, l.reserved[d] - (reserved[d] ?? 0)), d);
}

/** Give a slice to a child; refused when it does not fit. */
export function tryGive(l: Ledger, amount: Amount): boolean {
  if (!fits(l, amount)) return false;
  for (const d of dims) l.given[d] = round(l.given[d] + (amount[d] ?? 0), d);
  return true;
}

/**
 * A child ended: take back what it did not use (idempotent by child id). A child that spent more than its slice
 * returns a negative amount: the overspend is charged here in full (reclaimed goes down), so this ledger never
 * claims the difference as unused and passes the same charge up when it ends.
 */
export function reclaim(l: Ledger, childId: string, unused: Amount): boolean {
  if (l.reclaimIds.includes(childId)) return false;
  l.reclaimIds.push(childId);
  for (const d of dims) {
    const back = unused[d] ?? 0;
    l.reclaimed[d] = round(l.reclaimed[d] + (Number.isFinite(back) ? back : 0), d);
  }
  return true;
}

/** Raise the ceiling (idempotent by grant id). A negative, infinite or non-numeric amount counts as nothing. */
export function applyGrant(l: Ledger, grantId: string, amount: Amount): boolean {
  if (l.grantIds.includes(grantId)) return false;
  l.grantIds.push(grantId);
  for (const d of dims) {
    if (amount[d] === undefined) continue;
    if (typeof amount[d] !== 'number' || !Number.isFinite(amount[d]) || amount[d] < 0) continue;
    if (l.allocated[d] === undefined) continue; // unlimited stays unlimited
    l.granted[d] = round(l.granted[d] + amount[d], d);
  }
  return true;
}

/** True once the grant with this id has been applied (the answer to our own budget request). */
export function hasGrant(l: Ledger, grantId: string): boolean {
  return l.grantIds.includes(grantId);
}

/** Thresholds crossed for the first time by this call; each fires once. */
export function newAlerts(l: Ledger): number[] {
  const fired: number[] = [];
  for (const t of ALERT_THRESHOLDS) {
    if (l.alerts.includes(t)) continue;
    const crossed = dims.some((d) => {
      const c = ceiling(l, d);
      return c !== undefined && c > 0 && (l.used[d] / c) * 100 >= t;
    });
    if (crossed) {
      l.alerts.push(t);
      fired.push(t);
    }
  }
  return fired;
}

/** Unused remainder to hand back to the parent when the agent ends (nothing reserved may remain). */
export function unused(l: Ledger): Amount {
  const av = available(l);
  const out: Amount = {};
  for (const d of dims) if (av[d] !== undefined) out[d] = round(av[d]! + l.reserved[d], d);
  return out;
}

export function view(l: Ledger): LedgerView {
  return {
    allocated: l.allocated,
    granted: l.granted,
    used: l.used,
    reserved: l.reserved,
    givenToChildren: l.given,
    reclaimed: l.reclaimed,
    available: available(l),
    alerts: l.alerts,
  };
}
