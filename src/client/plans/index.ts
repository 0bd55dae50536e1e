/** Plans on disk: detection, the four importers behind `loadPlan`, and the error listing what is wrong. */
export { detectPlan, importPlan, loadPlan, parseFormat, PLAN_FORMATS, type DetectedPlan, type LoadedPlan, type LoadPlanOptions } from './load';
export { formatIssue, PlanError, type PlanIssue } from './errors';
export { parseDuration } from './fields';
