/** The workflows a cadre worker registers. */
export { agent } from './agent';
export { runPlan } from './run';
export { fileLocks } from './locks';
