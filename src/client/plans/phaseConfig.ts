/**
 * Per-phase settings of a tasks/ directory, from `tasks/phases.yaml` (or `.yml`/`.json`): what seed 003 keeps in
 * its orchestrator (PHASE_LIMITS, TASK_TIMEOUT_HOURS, max_concurrent_agents, the phase completion gates), written
 * next to the tasks:
 *
 * ```yaml
 * maxConcurrency: 10              # or max_concurrent_agents
 * PHASE_LIMITS: { analysis: 6 }   # running tasks per phase
 * TASK_TIMEOUT_HOURS: { analysis: 8 }
 * phases:                         # the same per phase, plus gates
 *   01-analysis:
 *     limit: 6
 *     timeout_hours: 8            # or timeout: 8h
 *     gate: test -f workspace/outputs/01-analysis/01-run-tests/test-results.json
 *     approval: Check the analysis before planning starts   # a person approves the phase
 * ```
 *
 * A phase is named as the tasks name it (`01-analysis`) or without its number (`analysis`).
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { IssueList } from './errors';
import { parseDuration, unique } from './fields';
import { isRecord, parseYaml, type YamlSource } from './yamlSource';

export interface PhaseSettings {
  limit?: number;
  timeoutSeconds?: number;
  /** Shell check run after every task of the phase; the next phases wait for it. */
  gate?: string;
  /** Prompt for a person's approval of the phase; the next phases wait for it. */
  approval?: string;
  line?: number;
}

export interface PhaseConfig {
  file?: string;
  maxConcurrency?: number;
  failFast?: boolean;
  /** By the name written in the file. */
  phases: Map<string, PhaseSettings>;
  src?: YamlSource;
}

const NAMES = ['phases.yaml', 'phases.yml', 'phases.json', 'PHASES.yaml', 'PHASES.yml'];
const KEYS = ['maxConcurrency', 'max_concurrent_agents', 'failFast', 'PHASE_LIMITS', 'TASK_TIMEOUT_HOURS', 'phases'];
const PHASE_KEYS = ['limit', 'timeout_hours', 'timeout', 'gate', 'approval'];

export async function readPhaseConfig(tasksDir: string, issues: IssueList): Promise<PhaseConfig> {
  for (const name of NAMES) {
    const file = path.join(tasksDir, name);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return parseConfig(file, text, issues);
  }
  return { phases: new Map() };
}

function parseConfig(file: string, text: string, issues: IssueList): PhaseConfig {
  const src = parseYaml(text);
  const cfg: PhaseConfig = { file, phases: new Map(), src };
  for (const e of src.errors) issues.add(file, e.line, `invalid YAML/JSON: ${e.message}`);
  if (src.errors.length > 0) return cfg;
  if (!isRecord(src.data)) {
    issues.add(file, 1, 'phase settings must be a mapping');
    return cfg;
  }
  const data = src.data;
  const posInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  const at = (p: (string | number)[]): number | undefined => src.lineOf(p);
  const entry = (name: string): PhaseSettings => {
    const where = ['phases', 'PHASE_LIMITS', 'TASK_TIMEOUT_HOURS'].find((k) => isRecord(data[k]) && name in (data[k] as Record<string, unknown>));
    const e = cfg.phases.get(name) ?? { line: where ? at([where, name]) : undefined };
    cfg.phases.set(name, e);
    return e;
  };
  for (const key of Object.keys(data)) if (!KEYS.includes(key)) issues.add(file, at([key]), `unknown field "${key}" (expected ${KEYS.join(', ')})`);
  const mc = data.maxConcurrency ?? data.max_concurrent_agents;
  if (mc !== undefined) {
    cfg.maxConcurrency = posInt(mc);
    if (cfg.maxConcurrency === undefined) issues.add(file, at([data.maxConcurrency !== undefined ? 'maxConcurrency' : 'max_concurrent_agents']), 'maxConcurrency must be a positive integer');
  }
  if (data.failFast !== undefined) {
    if (typeof data.failFast === 'boolean') cfg.failFast = data.failFast;
    else issues.add(file, at(['failFast']), 'failFast must be true or false');
  }
  const map = (key: string): Record<string, unknown> => {
    const v = data[key];
    if (v === undefined || v === null) return {};
    if (isRecord(v)) return v;
    issues.add(file, at([key]), `${key} must be a mapping of phase names`);
    return {};
  };
  for (const [name, v] of Object.entries(map('PHASE_LIMITS'))) {
    entry(name).limit = posInt(v);
    if (posInt(v) === undefined) issues.add(file, at(['PHASE_LIMITS', name]), `PHASE_LIMITS.${name} must be a positive integer`);
  }
  for (const [name, v] of Object.entries(map('TASK_TIMEOUT_HOURS'))) {
    const hours = typeof v === 'number' && v > 0 ? v : undefined;
    if (hours === undefined) issues.add(file, at(['TASK_TIMEOUT_HOURS', name]), `TASK_TIMEOUT_HOURS.${name} must be a positive number of hours`);
    else entry(name).timeoutSeconds = hours * 3600;
  }
  for (const [name, v] of Object.entries(map('phases'))) {
    const e = entry(name);
    if (!isRecord(v)) {
      issues.add(file, at(['phases', name]), `phases.${name} must be a mapping (${PHASE_KEYS.join(', ')})`);
      continue;
    }
    for (const k of Object.keys(v)) if (!PHASE_KEYS.includes(k)) issues.add(file, at(['phases', name, k]), `phases.${name}: unknown field "${k}" (expected ${PHASE_KEYS.join(', ')})`);
    if (v.limit !== undefined) {
      e.limit = posInt(v.limit);
      if (e.limit === undefined) issues.add(file, at(['phases', name, 'limit']), `phases.${name}.limit must be a positive integer`);
    }
    if (v.timeout_hours !== undefined || v.timeout !== undefined) {
      const secs = v.timeout_hours !== undefined ? (typeof v.timeout_hours === 'number' && v.timeout_hours > 0 ? v.timeout_hours * 3600 : undefined) : parseDuration(v.timeout);
      if (secs === undefined) issues.add(file, at(['phases', name, v.timeout_hours !== undefined ? 'timeout_hours' : 'timeout']), `phases.${name}: timeout must be positive hours (timeout_hours) or a duration (timeout: 8h)`);
      else e.timeoutSeconds = secs;
    }
    for (const k of ['gate', 'approval'] as const) {
      const g = v[k];
      if (g === undefined || g === null) continue;
      if (typeof g === 'string' && g.trim() !== '') e[k] = g.trim();
      else issues.add(file, at(['phases', name, k]), `phases.${name}.${k} must be a non-empty string`);
    }
  }
  return cfg;
}

/**
 * The settings for `phase`: those written under its exact name (`01-analysis`) over those written under its name
 * without the number prefix (`analysis`, as seed 003's PHASE_LIMITS does). `names` are the entries used.
 */
export function settingsFor(cfg: PhaseConfig, phase: string): { names: string[]; settings: PhaseSettings } | undefined {
  const bare = phase.replace(/^\d+(?:\.\d+)*[-_ ]+/, '');
  const names = unique([bare, phase]).filter((n) => cfg.phases.has(n));
  if (names.length === 0) return undefined;
  const settings: PhaseSettings = {};
  for (const n of names) {
    for (const [k, v] of Object.entries(cfg.phases.get(n)!)) if (v !== undefined) (settings as Record<string, unknown>)[k] = v;
  }
  return { names, settings };
}
