/**
 * What a surface of the go side (/v2, /api/v1) gives the router
 * (quay/router.ts): its route records, one per Quay endpoint of one inventory
 * family, and how it serves them. Here, beside the route table, so the
 * surfaces and the router share one shape without importing each other.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteMatch } from './route-table.js';

export interface RouteRecordBase {
  /** Quay's endpoint function (inventory `handler`). */
  readonly quayHandler: string;
}

export interface Surface<R extends RouteRecordBase = RouteRecordBase> {
  /** The inventory family whose rows the records serve (REGISTRY_V2, API_V1). */
  readonly family: string;
  readonly records: readonly R[];
  /** Serve a matched route. */
  serve(req: IncomingMessage, res: ServerResponse, m: RouteMatch, rec: R): void;
  /** Answer a path no route matches; `allowed`: the methods rows take at this path (a 405), or none (a 404). */
  unmatched(req: IncomingMessage, res: ServerResponse, allowed: readonly string[]): void;
  /** Path prefix whose unmatched requests this surface answers (the first surface answers the rest). */
  readonly prefix: string;
}
