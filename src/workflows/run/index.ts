/** The runPlan workflow; its input, carry and result types live in src/shared/run.ts. */
export { runPlan } from './workflow';
