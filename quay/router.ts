/**
 * The go side's one route table. Each surface (/v2 now, /api/v1 next) brings
 * its route records — one per Quay endpoint, keyed by the endpoint function's
 * name, the inventory's `handler` column — for one inventory family; the
 * records are joined to their rows and all of them compiled into one
 * RouteTable for the config (FEATURE_LIBRARY_SUPPORT), once. Per request: the
 * readiness document, one match, Werkzeug's slash redirects (as Quay's Flask
 * answers them), then the surface that owns the row serves it. A record
 * without its row, a row of a mounted family without its record, or a record
 * matching two rows is a compile error, never a runtime surprise.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadInventory, RouteTable, WELL_KNOWN_PATH, type RouteRecordBase, type RouteRow, type Surface } from '../owner-maps/index.js';

export type { RouteRecordBase, Surface } from '../owner-maps/index.js';

export interface CompiledRouter {
  readonly table: RouteTable;
  /** By inventory route id: the surface that serves the row, and the row's record. */
  readonly byRouteId: ReadonlyMap<string, { readonly surface: Surface; readonly record: RouteRecordBase | null }>;
}

/** The surfaces' records joined to their inventory rows and compiled for a config. */
export function compileRouter(surfaces: readonly Surface[], o: { readonly librarySupport: boolean; readonly rows?: readonly RouteRow[] }): CompiledRouter {
  const all = o.rows ?? loadInventory().routes;
  const byRouteId = new Map<string, { surface: Surface; record: RouteRecordBase | null }>();
  const rows: RouteRow[] = [];
  for (const surface of surfaces) {
    const byHandler = new Map(surface.records.map((r) => [r.quayHandler, r]));
    if (byHandler.size !== surface.records.length) throw new Error(`${surface.family}: two route records name the same Quay handler`);
    const used = new Map<RouteRecordBase, number>();
    for (const row of all.filter((r) => r.family === surface.family)) {
      if (surface.absent?.(row)) continue;
      const record = byHandler.get(row.handler);
      if (!record) {
        if (!surface.unbuilt) throw new Error(`${row.id} ${row.method} ${row.pattern} (${row.handler}): no route record serves it`);
        byRouteId.set(row.id, { surface, record: null });
        rows.push(row);
        continue;
      }
      const uses = (used.get(record) ?? 0) + 1;
      if (uses > (record.rules ?? 1)) throw new Error(`route record ${record.quayHandler} matches more inventory rows than its ${record.rules ?? 1} rule(s)`);
      used.set(record, uses);
      byRouteId.set(row.id, { surface, record });
      rows.push(row);
    }
    for (const record of surface.records) {
      if (used.has(record)) continue;
      const row = all.find((r) => r.family === surface.family && r.handler === record.quayHandler);
      if (!row || !surface.absent?.(row)) throw new Error(`route record ${record.quayHandler} names no ${surface.family} row of the inventory`);
    }
  }
  return { table: RouteTable.compile(rows, { librarySupport: o.librarySupport }), byRouteId };
}

/** `url` (query allowed) is the readiness document's. */
export function isWellKnownPath(url: string): boolean {
  return url.startsWith(WELL_KNOWN_PATH) && (url.length === WELL_KNOWN_PATH.length || url[WELL_KNOWN_PATH.length] === '?');
}

/** Answer the readiness document: GET and HEAD, no auth (it holds no secret), never cached. */
export function sendReadiness(req: IncomingMessage, res: ServerResponse, body: string): void {
  req.resume();
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(method === 'HEAD' ? undefined : body);
}

/** The path (query kept) that matches without a redirect: `//` merged, a missing trailing slash added. */
function canonicalTarget(table: RouteTable, method: string, url: string): string | null {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  const merged = path.replace(/\/{2,}/g, '/');
  for (const candidate of [merged, `${merged}/`]) {
    const m = table.match(method, candidate);
    if (m && !m.slashRedirect) return candidate + query;
  }
  return null;
}

export function createRouter(o: {
  readonly surfaces: readonly Surface[];
  readonly librarySupport: boolean;
  /** The readiness document (JSON) answered at GET /.well-known/switchboard, without auth. */
  readonly readiness?: string;
  /** The inventory rows (default the whole inventory; tests give a part). */
  readonly rows?: readonly RouteRow[];
}): (req: IncomingMessage, res: ServerResponse) => void {
  if (o.surfaces.length === 0) throw new Error('a router needs at least one surface');
  const { table, byRouteId } = compileRouter(o.surfaces, { librarySupport: o.librarySupport, ...(o.rows ? { rows: o.rows } : {}) });
  const fallback = o.surfaces[0]!;
  const unmatchedBy = (url: string): Surface => o.surfaces.find((s) => url.startsWith(s.prefix)) ?? fallback;
  const readiness = o.readiness;
  return (req, res) => {
    // A target starting with several slashes is served as if it started with one, as Quay's
    // gunicorn does (a `//` further on is Werkzeug's to redirect, below).
    if (req.url !== undefined && req.url.charCodeAt(1) === 47 /* '/' */) req.url = req.url.replace(/^\/+/, '/');
    const url = req.url ?? '/';
    // Outside every family, so outside the route table: one character looked at on the hot path.
    if (readiness !== undefined && url.charCodeAt(1) === 46 /* '.' */ && isWellKnownPath(url)) {
      sendReadiness(req, res, readiness);
      return;
    }
    const method = req.method ?? 'GET';
    const m = table.match(method, url);
    if (!m) {
      req.resume();
      unmatchedBy(url).unmatched(req, res, table.allowedMethods(url));
      return;
    }
    if (m.slashRedirect) {
      // Werkzeug's strict slashes and merged `//`: Quay answers 308 with the canonical path.
      const to = canonicalTarget(table, method, url);
      req.resume();
      const own = byRouteId.get(m.route.id)?.surface.redirect;
      if (to && own) {
        own(req, res, to);
        return;
      }
      if (to) {
        res.writeHead(308, { location: to, 'content-length': 0 });
        res.end();
        return;
      }
    }
    const served = byRouteId.get(m.route.id)!;
    if (served.record) served.surface.serve(req, res, m, served.record);
    else served.surface.unbuilt!(req, res, m);
  };
}
