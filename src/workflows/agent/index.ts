/** The agent workflow and what a caller needs of it. */
export { agent } from './workflow';
export type { AgentCarry } from './state';
