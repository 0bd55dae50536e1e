/**
 * `npm run bench`: measures what cadre costs on top of the work it runs, on this machine, in one run, and writes
 * bench/out/results.json, docs/benchmarks.json (the committed copy) and docs/benchmarks.md.
 *
 *   npm run bench                          every section at full size (about 12–15 minutes on 2 cores)
 *   npx tsx bench/run.ts --only locks      one section (or a comma-separated list); results go to bench/out only
 *   npx tsx bench/run.ts --only depcache   dependency caches alone (about 4 minutes on 2 loaded cores)
 *   npx tsx bench/run.ts --quick           every section at reduced sizes (for iterating; not for the docs)
 *   npm run bench -- --full-git            also run the real-git no-op DAG at 1,000 tasks (much longer)
 *   npm run bench -- --previous FILE       compare with this results file (default: docs/benchmarks.json as it was)
 *
 * Sections: overhead, scaling, makespan, history, locks, crash, worker, worktree, depcache, prefix, session. A partial or quick run never
 * overwrites the committed docs unless --write-docs is given; then the sections it did not run are carried over from the docs'
 * previous results and marked so on the page (bench/lib/carry.ts). The scratch directory (generated repositories,
 * worktrees, the server's log) is removed at the end unless BENCH_KEEP_SCRATCH is set.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { carryOver } from './lib/carry';
import { changedFiles, loadAverage, log, machineInfo, openEnv, repoRoot, srcFingerprint, type BenchEnv } from './lib/env';
import { renderReport } from './report';
import { crash } from './sections/crash';
import { depcache } from './sections/depcache';
import { history } from './sections/history';
import { locks } from './sections/locks';
import { makespan } from './sections/makespan';
import { overhead } from './sections/overhead';
import { prefix } from './sections/prefix';
import { scaling } from './sections/scaling';
import { session } from './sections/session';
import { workerSection } from './sections/worker';
import { worktree } from './sections/worktree';

Runtime.install({ logger: new DefaultLogger('ERROR') });

interface Args {
  only?: string[];
  quick: boolean;
  /** Run the real-git no-op DAG at 1,000 tasks too (about 10–20 minutes more on 2 cores). */
  fullGit: boolean;
  writeDocs: boolean;
  /** Results to show next to this run's targets (default: the docs' results before this run). */
  previous?: string;
}

const SECTIONS = ['overhead', 'scaling', 'makespan', 'history', 'locks', 'crash', 'worker', 'worktree', 'depcache', 'prefix', 'session'] as const;
type Section = (typeof SECTIONS)[number];

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, fullGit: false, writeDocs: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') args.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('--only=')) args.only = a.slice(7).split(',').filter(Boolean);
    else if (a === '--quick') args.quick = true;
    else if (a === '--write-docs') args.writeDocs = true;
    else if (a === '--full-git') args.fullGit = true;
    else if (a === '--previous') args.previous = argv[++i];
    else throw new Error(`unknown argument ${a} (use --only <section>[,<section>], --quick, --full-git, --write-docs, --previous FILE)`);
  }
  for (const s of args.only ?? []) {
    if (!SECTIONS.includes(s as Section)) throw new Error(`unknown section "${s}"; sections: ${SECTIONS.join(', ')}`);
  }
  return args;
}

function sizes(quick: boolean, fullGit: boolean) {
  return {
    // The real-git variant runs 50 tasks by default: git work is serialised per repository at about 1–2 tasks/s
    // here, so 1,000 tasks at two concurrencies would alone exceed the run's 15-minute budget (--full-git does it).
    overhead: quick
      ? { layers: 2, gitLayers: 2, gitWidth: 10, concurrencies: [5, 100], gitConcurrencies: [5], pqueueGitConcurrencies: [5], sample: 20, partLayers: 1, chain: 5 }
      : fullGit
        ? { layers: 10, gitLayers: 10, gitWidth: 100, concurrencies: [5, 100], gitConcurrencies: [5, 100], pqueueGitConcurrencies: [5], sample: 100, partLayers: 2, chain: 20 }
        : { layers: 10, gitLayers: 5, gitWidth: 10, concurrencies: [5, 100], gitConcurrencies: [5, 100], pqueueGitConcurrencies: [5], sample: 50, partLayers: 2, chain: 20 },
    // 1, 2 and 3 worker processes on one queue, the stubbed no-op DAG at a concurrency that keeps all of them busy.
    scaling: { layers: quick ? 1 : 3, concurrency: 50, workers: [1, 2, 3] },
    makespan: quick ? { layers: 2, width: 10 } : { layers: 10, width: 20 },
    history: { turns: quick ? 10 : 50, toolsPerTurn: 3 },
    locks: { agents: 5, cycles: quick ? 20 : 100, paths: 20 },
    crash: { tasks: quick ? 20 : 40, taskSeconds: 2, killAfterCompleted: quick ? 5 : 10 },
    worker: { cached: quick ? [0, 50, 100] : [0, 100, 200, 400], coldStarts: quick ? 1 : 3 },
    worktree: { files: quick ? 2000 : 10_000, samples: quick ? 3 : 5 },
    depcache: { samples: quick ? 2 : 5, nodeFiles: quick ? 500 : 5000 },
    prefix: { turns: 20 },
    session: { samples: quick ? 2 : 5 },
  };
}

export type BenchResults = Awaited<ReturnType<typeof main>>;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const want = (s: Section) => !args.only || args.only.includes(s);
  const size = sizes(args.quick, args.fullGit);
  const machine = machineInfo();
  const fingerprint = srcFingerprint();
  const started = Date.now();
  log(`machine: ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAverageAtStart.join(' ')}`);
  const env: BenchEnv = await openEnv();
  const sections: Record<string, unknown> = {};
  const timing: Record<string, { seconds: number; loadBefore: number[]; loadAfter: number[] }> = {};
  async function section<T>(name: Section, fn: () => Promise<T>): Promise<void> {
    if (!want(name)) return;
    const loadBefore = loadAverage();
    const t0 = Date.now();
    log(`== ${name}`);
    try {
      sections[name] = await fn();
    } catch (err) {
      log(`${name} failed: ${describeFailure(err)}`);
      sections[name] = { error: err instanceof Error ? err.message : String(err) };
    }
    timing[name] = { seconds: Math.round((Date.now() - t0) / 100) / 10, loadBefore, loadAfter: loadAverage() };
    log(`== ${name} done in ${timing[name].seconds} s`);
  }
  try {
    await section('overhead', () => overhead(env, size.overhead));
    await section('scaling', () => scaling(env, size.scaling));
    await section('makespan', () => makespan(env, size.makespan));
    await section('history', () => history(env, size.history));
    await section('locks', () => locks(env, size.locks));
    await section('crash', () => crash(env, size.crash));
    await section('worker', () => workerSection(env, size.worker));
    await section('worktree', () => worktree(env, size.worktree));
    await section('depcache', () => depcache(env, size.depcache));
    await section('prefix', () => prefix(env, size.prefix));
    await section('session', () => session(env, size.session));
  } finally {
    await env.close();
  }
  const changedDuringRun = changedFiles(fingerprint, srcFingerprint());
  if (changedDuringRun.length) log(`warning: src/ changed during the run: ${changedDuringRun.join(', ')}`);
  return {
    meta: {
      ...machine,
      changedDuringRun,
      loadAverageAtEnd: loadAverage(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      args: process.argv.slice(2),
      quick: args.quick,
      sections: Object.keys(sections),
      workflowBundleMs: Math.round(env.bundleMs),
    },
    timing,
    sections,
  };
}

main()
  .then((results) => {
    const args = parseArgs(process.argv.slice(2));
    const outDir = join(repoRoot, 'bench', 'out');
    mkdirSync(outDir, { recursive: true });
    const json = `${JSON.stringify(results, null, 2)}\n`;
    writeFileSync(join(outDir, 'results.json'), json);
    // An earlier run for the report's comparison column: --previous, else the last full run the docs show.
    let previous: unknown;
    try {
      previous = JSON.parse(readFileSync(args.previous ?? join(repoRoot, 'docs', 'benchmarks.json'), 'utf8'));
    } catch (err) {
      if (args.previous) throw new Error(`--previous ${args.previous}: ${err instanceof Error ? err.message : String(err)}`);
      previous = undefined;
    }
    const md = renderReport(results, previous);
    writeFileSync(join(outDir, 'benchmarks.md'), md);
    const full = !args.only && !args.quick;
    if (full || args.writeDocs) {
      // A partial run keeps the sections it did not run from the docs' previous results, marked as carried over.
      let docsBefore: Parameters<typeof carryOver>[1];
      try {
        docsBefore = JSON.parse(readFileSync(join(repoRoot, 'docs', 'benchmarks.json'), 'utf8'));
      } catch {
        docsBefore = undefined;
      }
      const docs = full ? results : carryOver(results, docsBefore);
      writeFileSync(join(repoRoot, 'docs', 'benchmarks.json'), `${JSON.stringify(docs, null, 2)}\n`);
      writeFileSync(join(repoRoot, 'docs', 'benchmarks.md'), full ? md : renderReport(docs, previous));
      log('wrote docs/benchmarks.md, docs/benchmarks.json and bench/out/results.json');
    } else {
      log('partial run: wrote bench/out/results.json and bench/out/benchmarks.md (docs/ untouched; --write-docs to overwrite)');
    }
    process.exit(0);
  })
  .catch((err: unknown) => {
    log(`bench failed: ${describeFailure(err)}`);
    process.exit(1);
  });

/** A failure with its causes (a failed workflow's own error is its cause). */
function describeFailure(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) parts.push(e instanceof Error ? (parts.length ? e.message : (e.stack ?? e.message)) : String(e));
  return parts.join('\n  caused by: ');
}
