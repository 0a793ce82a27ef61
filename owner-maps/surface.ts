/**
 * What a surface of the go side (/v2, /api/v1) gives the router
 * (quay/router.ts): its route records, one per Quay endpoint of one inventory
 * family, and how it serves them. Here, beside the route table, so the
 * surfaces and the router share one shape without importing each other.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteMatch } from './route-table.js';
import type { RouteRow } from './inventory.js';

export interface RouteRecordBase {
  /** Quay's endpoint function (inventory `handler`). */
  readonly quayHandler: string;
  /** How many of Quay's URL rules the endpoint has (default 1): one inventory row each. */
  readonly rules?: number;
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
  /**
   * Rows of the family Quay does not register under this config (a feature
   * flag off): left out of the route table, so their paths match what they
   * match in Quay without them (another row, or nothing).
   */
  absent?(row: RouteRow): boolean;
  /**
   * Serve a row the surface has no record for yet. Without it, every row of
   * the family needs a record (the router refuses to compile otherwise).
   */
  unbuilt?(req: IncomingMessage, res: ServerResponse, m: RouteMatch): void;
  /** Send Werkzeug's slash redirect to `to` (path and query) its own way; default a bare 308 with a relative Location. */
  redirect?(req: IncomingMessage, res: ServerResponse, to: string): void;
}
