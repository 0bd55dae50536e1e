/** Building plans in tests. */
import type { Plan, Task } from '../../src/shared/plan';

export function task(id: string, extra: Partial<Task> = {}): Task {
  return { id, title: id, prompt: '', dependsOn: [], priority: 5, files: [], outputs: [], done: false, ...extra };
}

export function commandTask(id: string, sh: string, extra: Partial<Task> = {}): Task {
  return task(id, { backend: 'command', command: ['sh', '-c', sh], ...extra });
}

export function plan(tasks: Task[], extra: Partial<Plan> = {}): Plan {
  return { name: 'test', source: { format: 'native', path: '/dev/null' }, maxConcurrency: 5, phaseLimits: {}, phaseOrder: [], failFast: false, inlineCommands: false, defaults: {}, tasks, ...extra };
}
