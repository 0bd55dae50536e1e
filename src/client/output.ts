/** Small helpers for what the CLI prints. */
import type { Amount } from '../shared/agent';

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 3, unavailable: 69, config: 78 } as const;

export function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function fmtUsd(n: number): string {
  return `$${n < 0.01 && n > 0 ? n.toFixed(4) : n.toFixed(2)}`;
}

export function fmtAmount(a: Amount | undefined): string {
  if (!a) return 'unlimited';
  const parts: string[] = [];
  if (a.tokens !== undefined) parts.push(`${a.tokens.toLocaleString('en-US')} tok`);
  if (a.usd !== undefined) parts.push(fmtUsd(a.usd));
  return parts.length ? parts.join(' / ') : 'unlimited';
}

/** Parses "50000", "50k", "1.5m" as tokens and "$2", "2usd" as dollars. */
export function parseAmount(text: string): Amount {
  const t = text.trim().toLowerCase();
  const usd = /^\$(\d+(\.\d+)?)$|^(\d+(\.\d+)?)\s*usd$/.exec(t);
  if (usd) return { usd: Number(usd[1] ?? usd[3]) };
  const tok = /^(\d+(\.\d+)?)([km]?)$/.exec(t);
  if (tok) return { tokens: Math.round(Number(tok[1]) * (tok[3] === 'k' ? 1e3 : tok[3] === 'm' ? 1e6 : 1)) };
  throw new Error(`bad amount "${text}": use tokens (50000, 50k, 1.5m) or dollars ($2, 2usd)`);
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
