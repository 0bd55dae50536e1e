/**
 * The benchmark's workflow bundle: every cadre workflow, unchanged, plus
 * - `benchLockCycles`: a lock holder using cadre's holder API (src/workflows/locks/holder.ts) the way an agent would;
 * - `protoDag` / `protoTask`: minimal DAG schedulers used only to price the parts a cadre task is made of (a child
 *   workflow, an activity, a local activity), so the report can say what each design change would save.
 * Deterministic workflow code only (no Node builtins), like src/workflows.
 */
import * as wf from '@temporalio/workflow';
import { acquire, release, withLockCleanup } from '../../src/workflows/locks/holder';

export * from '../../src/workflows';

// ---- file locks ---------------------------------------------------------------------------------------------------

export interface LockCyclesInput {
  repo: string;
  cycles: number;
  /** The paths to pick from; each cycle locks one, chosen with the workflow's deterministic random. */
  paths: string[];
}

export interface LockCyclesResult {
  /** Per cycle: acquire requested → release delivered, by the workflow clock (ms). */
  latencies: number[];
  startedAt: number;
  endedAt: number;
}

export async function benchLockCycles(input: LockCyclesInput): Promise<LockCyclesResult> {
  const latencies: number[] = [];
  const startedAt = Date.now();
  await withLockCleanup(async () => {
    for (let i = 0; i < input.cycles; i++) {
      const path = input.paths[Math.floor(Math.random() * input.paths.length)]!;
      const t0 = Date.now();
      const grant = await acquire(input.repo, [path], { label: `cycle ${i}` });
      await release(grant);
      latencies.push(Date.now() - t0);
    }
  });
  return { latencies, startedAt, endedAt: Date.now() };
}

// ---- prototypes ---------------------------------------------------------------------------------------------------

interface ProtoActivities {
  benchNoop(): Promise<void>;
}

const act = wf.proxyActivities<ProtoActivities>({ startToCloseTimeout: '1 minute' });
const local = wf.proxyLocalActivities<ProtoActivities>({ startToCloseTimeout: '1 minute' });
const notEager = wf.proxyActivities<ProtoActivities>({ startToCloseTimeout: '1 minute', allowEagerDispatch: false });

export interface ProtoTaskInput {
  activities: number;
  local?: boolean;
  /** Schedule the activities without eager dispatch (they go through the task queue). */
  notEager?: boolean;
}

/** A task as a child workflow that runs `activities` no-op activities one after another. */
export async function protoTask(input: ProtoTaskInput): Promise<void> {
  for (let i = 0; i < input.activities; i++) await (input.local ? local : input.notEager ? notEager : act).benchNoop();
}

export interface ProtoDagInput {
  nodes: { id: string; dependsOn: string[] }[];
  concurrency: number;
  /** child: a protoTask child per task; activity / local: one (local) activity per task in this workflow. */
  mode: 'child' | 'activity' | 'local';
  child?: ProtoTaskInput;
}

/** A minimal scheduler: ready tasks start in plan order while fewer than `concurrency` run. */
export async function protoDag(input: ProtoDagInput): Promise<{ slotMs: number[] }> {
  const self = wf.workflowInfo().workflowId;
  const status = new Map(input.nodes.map((n) => [n.id, 'pending' as 'pending' | 'running' | 'done']));
  const slotMs: number[] = [];
  let running = 0;
  let done = 0;
  let tick = 0;
  const runOne = async (id: string): Promise<void> => {
    const t0 = Date.now();
    if (input.mode === 'child') {
      await wf.executeChild(protoTask, { workflowId: `${self}/${id}`, args: [input.child ?? { activities: 0 }] });
    } else if (input.mode === 'activity') {
      await act.benchNoop();
    } else {
      await local.benchNoop();
    }
    slotMs.push(Date.now() - t0);
    status.set(id, 'done');
    running--;
    done++;
    tick++;
  };
  while (done < input.nodes.length) {
    for (const n of input.nodes) {
      if (running >= input.concurrency) break;
      if (status.get(n.id) !== 'pending' || !n.dependsOn.every((d) => status.get(d) === 'done')) continue;
      status.set(n.id, 'running');
      running++;
      void runOne(n.id);
    }
    const before = tick;
    await wf.condition(() => tick !== before);
  }
  return { slotMs };
}
