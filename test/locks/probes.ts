/**
 * Test probes for the lock tests, run as activities in whichever process hosts the worker: a timeline of holds,
 * read-modify-write counters that lose updates if two holders ever overlap, and a fenced write.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { assertFence } from '../../src/activities/lockActivities';

export interface HoldMark {
  holder: string;
  round: number;
  paths: string[];
  token: number;
  phase: 'acquired' | 'releasing';
  /** Filled in by the activity: this process's clock when the mark was recorded. */
  at?: number;
}

/** Every mark recorded in this process, in the order recorded. */
export const timeline: HoldMark[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const probes = {
  async markHold(mark: HoldMark): Promise<void> {
    timeline.push({ ...mark, at: Date.now() });
  },

  /**
   * For each path: read its counter file, wait, write the counter plus one. Two holders of one path at once lose an
   * update, which the final counts show.
   */
  async bumpCounters(input: { dir: string; paths: string[]; delayMs: number }): Promise<void> {
    const files = input.paths.map((p) => path.join(input.dir, `${p.replace(/[^A-Za-z0-9_.-]/g, '_')}.count`));
    const values = files.map((f) => (fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0));
    await sleep(input.delayMs);
    files.forEach((f, i) => fs.writeFileSync(f, String(values[i]! + 1)));
  },

  /** A write that passes the fence check first, the way a file tool in shared-workspace mode would. */
  async fencedWrite(input: { repo: string; path: string; token: number; text: string }): Promise<'written'> {
    await assertFence(Context.current().client, { repo: input.repo, paths: [input.path], token: input.token });
    fs.writeFileSync(path.join(input.repo, input.path), input.text);
    return 'written';
  },
};

export type Probes = typeof probes;
