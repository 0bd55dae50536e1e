/** The workflows a cadre worker registers. */
export { agent } from './agent';
export { runPlan } from './runPlan';
export { fileLocks } from './fileLocks';
