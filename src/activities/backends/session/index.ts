/** Agent programs as cadre agents: the session activity, program lookup and the live view's progress reader. */
export { createSessionActivities, type SessionActivities, type SessionActivityDeps } from './runSession';
export { findAgentProgram, requireAgentProgram, AGENT_PROGRAM_VERSIONS } from './program';
export { readSessionProgress, readSessionLog, sessionPaths } from './store';
