/** The switchboard core as other components use it (registryd dispatches on the same compiled route table). */
export { RouteTable, normalizePath, type RouteMatch, type RouteTableOptions } from './route-table.js';
export { decide } from './decide.js';
export type { Decision, Owner } from './types.js';
