/** The switchboard core as other components use it. */
export { decide, decideWorker } from './decide.js';
export type { Decision, Owner, WorkerDecision } from './types.js';
