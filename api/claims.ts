/**
 * Which API capabilities the go side claims under a config: those with at
 * least one row Quay registers under the config, whose every inventory row
 * (every method) either is not registered by Quay under the config (a
 * FEATURE_ flag off: the row does not exist there either) or is served by a
 * record with Quay's semantics, and that are not listed in NOT_AT_PARITY. Computed from the route records, so a claim cannot outrun
 * the code: a row still answering 501 (`notYet`, or no record at all)
 * withholds its capability.
 */
import { loadInventory, type RouteRow } from '../owner-maps/index.js';
import type { ApiRouteRecord } from './http/surface.js';
import { FAMILY } from './http/surface.js';
import { notYet } from './resources/not-yet.js';
import { registration } from './call/services.js';
import type { ApiSettings } from './wire/settings.js';

/** Capabilities whose rows are all served but not yet with parity: the reason. */
export const NOT_AT_PARITY: Readonly<Record<string, string>> = {
  API_SUPERUSER_READ:
    "GET /api/v1/superuser/changelog/ answers Quay's CHANGELOG.md, which Quay reads from its code directory; the go side reads <config dir>/../../CHANGELOG.md (Quay's container layout) and answers Quay's 500 when it is not there. The other 14 rows are at parity and can be routed by route id",
  API_BUILD_READ:
    "GET …/trigger/{uuid}/namespaces asks the trigger's git service (GitHub, GitLab, Bitbucket) for the namespaces it can build from; the go side does not call git services, so it answers only what Quay answers when the service cannot be reached",
  API_LOGS_EXPORT:
    "the three export requests answer and queue as Quay's (test/e2e/api-producers-quay.test.ts), but a body that fails JSON-schema validation is answered with the first line of Quay's detail only (Quay's reprints its schema with its descriptions), and a callback URL's address is judged by our list of non-global ranges, not Python's ipaddress module; route them by route id (ROUTE_0093, ROUTE_0192, ROUTE_0316)",
  API_DISCOVERY:
    "GET /api/v1/discovery: Quay's document is built from its resources' docstrings and JSON schemas, Quay's own text; the go side's lists the same paths and methods without them (error descriptions and registry capabilities are at parity and can be routed by route id)",
};

export interface ApiClaim {
  readonly capability: string;
  readonly claimed: boolean;
  /** Why not: the rows still unserved, or the parity gap. */
  readonly why: string;
}

export function apiClaims(records: readonly ApiRouteRecord[], settings: ApiSettings, rows: readonly RouteRow[] = loadInventory().routes): ApiClaim[] {
  const byHandler = new Map(records.map((r) => [r.quayHandler, r]));
  const registered = registration(records, settings);
  const caps = new Map<string, string[]>();
  const present = new Set<string>();
  for (const row of rows.filter((r) => r.family === FAMILY)) {
    const missing = caps.get(row.capability) ?? [];
    caps.set(row.capability, missing);
    if (!registered(row)) continue;
    present.add(row.capability);
    const rec = byHandler.get(row.handler);
    if (!rec || rec.handle === notYet) missing.push(`${row.method} ${row.pattern}`);
  }
  return [...caps.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([capability, missing]) => {
      if (missing.length > 0) return { capability, claimed: false, why: `not served yet: ${missing.join(', ')}` };
      // A capability whose every resource Quay leaves unregistered (its FEATURE_ off) has nothing to serve: not claimed.
      if (!present.has(capability)) return { capability, claimed: false, why: 'Quay registers none of its rows under this config (a FEATURE_ flag is off)' };
      const gap = NOT_AT_PARITY[capability];
      return gap ? { capability, claimed: false, why: gap } : { capability, claimed: true, why: "every row answers as Quay's /api/v1 (test/e2e/api-contract-*.test.ts)" };
    });
}
