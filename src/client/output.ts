/** Small helpers for what the CLI prints: exit codes, numbers, tables, bars, colour and fitting lines to a terminal. */
import type { Amount } from '../shared/agent';

/**
 * Exit codes (docs/cli.md). `interrupted` is what a shell reports for Ctrl-C (128 + SIGINT); the run itself goes on
 * in Temporal.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 3, unavailable: 69, stateDir: 73, config: 78, interrupted: 130 } as const;

/** How a run or agent ended, as an exit code: completed 0, cancelled (or terminated) 3, anything else 1. */
export function exitCodeFor(status: string): number {
  if (status === 'completed') return EXIT.ok;
  if (status === 'cancelled' || status === 'terminated') return EXIT.cancelled;
  return EXIT.failed;
}

export function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function fmtUsd(n: number): string {
  return `$${n < 0.01 && n > 0 ? n.toFixed(4) : n.toFixed(2)}`;
}

export function fmtTokens(n: number): string {
  return n.toLocaleString('en-US');
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
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => visibleLength(r[i] ?? ''))));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c)))).join('  ')).join('\n');
}

/** `[#####.....]`: `done` of `total` in `width` cells. */
export function bar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function pct(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)}%` : '';
}

// ---- terminal -------------------------------------------------------------------------------------------------

// eslint-disable-next-line no-control-regex -- matching terminal escape sequences is the point
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/** Cuts a line to `width` visible characters (escape sequences kept, a reset appended if any were cut). */
export function fit(line: string, width: number): string {
  if (width <= 0 || visibleLength(line) <= width) return line;
  let out = '';
  let seen = 0;
  for (let i = 0; i < line.length && seen < width - 1; ) {
    ANSI.lastIndex = i;
    const m = ANSI.exec(line);
    if (m && m.index === i) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    out += line[i];
    seen++;
    i++;
  }
  return `${out}…${out.includes('\x1b[') ? '\x1b[0m' : ''}`;
}

export type Paint = (s: string, style: keyof typeof STYLES) => string;
const STYLES = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', blue: '34', magenta: '35', cyan: '36' } as const;

/** A painter that colours only when asked to (a TTY without NO_COLOR), else returns the text unchanged. */
export function painter(enabled: boolean): Paint {
  return enabled ? (s, style) => `\x1b[${STYLES[style]}m${s}\x1b[0m` : (s) => s;
}

/** Colour a task or agent status by what it means: green done, red failed, yellow held up, cyan at work. */
export function paintStatus(paint: Paint, status: string): string {
  if (status === 'completed' || status === 'skipped') return paint(status, 'green');
  if (status === 'failed' || status === 'timed_out') return paint(status, 'red');
  if (status === 'blocked' || status === 'cancelled' || status === 'budget_exhausted' || status === 'max_turns' || status === 'paused') return paint(status, 'yellow');
  if (status === 'running' || status === 'waiting' || status === 'starting' || status === 'finishing') return paint(status, 'cyan');
  return status;
}

/** Whether to colour: only on a TTY, and never with NO_COLOR set (https://no-color.org). */
export function colorWanted(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}
