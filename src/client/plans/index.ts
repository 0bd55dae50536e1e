/** Plans on disk: detection, the four importers behind `loadPlan`, and the error listing what is wrong. */
export { detectPlan, loadPlan, type DetectedPlan, type LoadPlanOptions } from './load';
export { formatIssue, PlanError, type PlanIssue } from './errors';
export { parseDuration } from './fields';
