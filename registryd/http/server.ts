/**
 * The /v2 HTTP front of registryd: node:http, dispatched on the same compiled
 * route table the switchboard decides with (the registry-v2 rows of
 * owner-maps/routes.tsv), so both agree on what every path means, Quay's
 * slash-bearing repository names included. Bodies stream straight from the
 * socket to storage and back; no framework sits on the hot path.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { loadInventory } from '../../owner-maps/index.js';
import { RouteTable } from '../../switchboard/core/index.js';
import type { Logger } from '../../lib/log.js';
import { RegistryError, isRegistryError } from '../oci-errors.js';
import type { RegistryService } from '../service/registry.js';
import type { UploadService } from '../service/uploads.js';
import { deleteBlob, getBlob } from './blobs.js';
import { Ctx, type HttpSettings } from './context.js';
import { base, catalog, referrers, tagsList } from './listing.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { sendError } from './respond.js';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploads.js';
import type { AuthService, Need } from '../auth/auth-service.js';
import type { RefusedAction } from '../service/activity.js';
import { issueToken } from './auth.js';
import type { RegistryMetrics } from '../metrics.js';
import { WELL_KNOWN_PATH } from '../capabilities.js';

type Handler = (c: Ctx) => Promise<void>;

/** Handler per inventory route id. */
const HANDLERS: Readonly<Record<string, Handler>> = {
  ROUTE_0001: base,
  ROUTE_0002: catalog,
  ROUTE_0003: issueToken,
  ROUTE_0004: startUpload,
  ROUTE_0005: cancelUpload,
  ROUTE_0006: uploadStatus,
  ROUTE_0007: patchUpload,
  ROUTE_0008: finishUpload,
  ROUTE_0009: deleteBlob,
  ROUTE_0010: getBlob,
  ROUTE_0011: getBlob,
  ROUTE_0012: deleteManifest,
  ROUTE_0013: getManifest,
  ROUTE_0014: putManifest,
  ROUTE_0015: deleteManifest,
  ROUTE_0016: getManifest,
  ROUTE_0017: putManifest,
  ROUTE_0018: referrers,
  ROUTE_0019: tagsList,
};

/** The inventory route ids this server has a handler for. */
export function servedRouteIds(): string[] {
  return Object.keys(HANDLERS).sort();
}

/**
 * What each repository route needs (Quay's require_repo_read/write on the
 * endpoint): reads pull, everything that changes the repository pushes.
 */
const NEEDS: Readonly<Record<string, Need>> = {
  ROUTE_0004: 'write', ROUTE_0005: 'write', ROUTE_0006: 'write', ROUTE_0007: 'write', ROUTE_0008: 'write', ROUTE_0009: 'write',
  ROUTE_0010: 'read', ROUTE_0011: 'read', ROUTE_0012: 'write', ROUTE_0013: 'read', ROUTE_0014: 'write', ROUTE_0015: 'write',
  ROUTE_0016: 'read', ROUTE_0017: 'write', ROUTE_0018: 'read', ROUTE_0019: 'read',
};

/** The routes whose refusals Quay audits (log_unauthorized), with the action they count as. */
const AUDITED: Readonly<Record<string, RefusedAction>> = {
  ROUTE_0013: 'pull', ROUTE_0016: 'pull', ROUTE_0004: 'push', ROUTE_0014: 'push', ROUTE_0017: 'push', ROUTE_0012: 'delete', ROUTE_0015: 'delete',
};

/** The route's permission check, then its handler. */
async function gated(ctx: Ctx, need: Need, handler: Handler, routeId: string): Promise<void> {
  let name;
  try {
    name = ctx.repoName();
  } catch (e) {
    if (!(e instanceof RegistryError) || e.code !== 'NAME_INVALID') throw e;
    throw await ctx.auth.refuseInvalidName(ctx.authorization, ctx.params.repository ?? '', need);
  }
  try {
    ctx.access = await ctx.auth.authorize(ctx.authorization, name, need);
  } catch (e) {
    // A valid (or no) token without the grant, not a bad token: Quay's permission check, which it audits when asked to.
    const action = AUDITED[routeId];
    if (action && e instanceof RegistryError && e.code === 'UNAUTHORIZED' && !e.abortBody && ctx.svc.activity?.audits(action)) {
      ctx.access = await ctx.auth.requestAuth(ctx.authorization);
      await ctx.svc.activity.refused(action, name.namespace, name.name, ctx.params.manifest_ref ?? null, ctx.requester());
    }
    throw e;
  }
  await handler(ctx);
}

let cachedTable: RouteTable | null = null;

/** The registry-v2 rows of the inventory, compiled once per process. */
export function registryRouteTable(): RouteTable {
  if (!cachedTable) {
    const rows = loadInventory().routes.filter((r) => r.family === 'REGISTRY_V2');
    cachedTable = RouteTable.compile(rows, { librarySupport: true });
  }
  return cachedTable;
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

export interface RegistryHttpDeps {
  readonly svc: RegistryService;
  readonly uploads: UploadService;
  readonly settings: HttpSettings;
  readonly auth: AuthService;
  readonly log: Logger;
  readonly metrics?: RegistryMetrics;
  /** The readiness document (JSON) answered at GET /.well-known/switchboard, without auth. */
  readonly readiness?: string;
}

/** `path` (query allowed) is the readiness document's. */
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

export function createRegistryHandler(deps: RegistryHttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const table = registryRouteTable();
  const readiness = deps.readiness;
  return (req, res) => {
    // A target starting with several slashes is served as if it started with one, as Quay's
    // gunicorn does (a `//` further on is Werkzeug's to redirect, below).
    if (req.url !== undefined && req.url.charCodeAt(1) === 47 /* '/' */) req.url = req.url.replace(/^\/+/, '/');
    const url = req.url ?? '/';
    // Outside /v2, so outside the route table: one character looked at on the hot path.
    if (readiness !== undefined && url.charCodeAt(1) === 46 /* '.' */ && isWellKnownPath(url)) { sendReadiness(req, res, readiness); return; }
    const method = req.method ?? 'GET';
    const m = table.match(method, url);
    if (!m) {
      const allowed = table.allowedMethods(url);
      const e = allowed.length > 0
        ? new RegistryError('UNSUPPORTED', `${method} is not allowed here`, { headers: { allow: allowed.join(', ') } })
        : new RegistryError('NAME_UNKNOWN', `no registry endpoint at ${url.split('?')[0]}`, { status: 404, detail: {} });
      req.resume();
      sendError(req, res, e);
      return;
    }
    if (m.slashRedirect) {
      // Werkzeug's strict slashes and merged `//`: Quay answers 308 with the canonical path.
      const to = canonicalTarget(table, method, url);
      req.resume();
      if (to) { res.writeHead(308, { location: to, 'content-length': 0 }); res.end(); return; }
    }
    const handler = HANDLERS[m.route.id];
    if (!handler) {
      req.resume();
      sendError(req, res, new RegistryError('UNSUPPORTED', `${m.route.id} is not served here`));
      return;
    }
    const metrics = deps.metrics;
    if (metrics) {
      const t0 = performance.now();
      const routeId = m.route.id;
      res.once('close', () => metrics.observe(routeId, method, res.statusCode, (performance.now() - t0) / 1000));
    }
    const ac = new AbortController();
    res.once('close', () => { if (!res.writableFinished) ac.abort(); });
    const ctx = new Ctx(req, res, m.params, deps.svc, deps.uploads, deps.settings, ac.signal, deps.auth);
    // Anonymous mode (or a route without a repository) goes straight to the handler: no extra step on the hot path.
    const need = deps.auth.enabled ? NEEDS[m.route.id] : undefined;
    (need ? gated(ctx, need, handler, m.route.id) : handler(ctx)).catch((e: unknown) => {
      if (ac.signal.aborted) return; // the client left; nothing to answer
      if (isRegistryError(e)) { sendError(req, res, e); return; }
      deps.log.error('request failed', { method, path: url.split('?')[0], route_id: m.route.id, error: String((e as Error)?.stack ?? e) });
      sendError(req, res, new RegistryError('INTERNAL_ERROR', 'internal error', { detail: {} }));
    });
  };
}

/** An HTTP (or, with a key and certificate, HTTPS) server for the handler, with timeouts fit for multi-GiB bodies (no request timeout). */
export function createRegistryServer(handler: (req: IncomingMessage, res: ServerResponse) => void, tls?: { readonly cert: string; readonly key: string } | null): http.Server {
  const opts = { keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 };
  return tls ? https.createServer({ ...opts, cert: tls.cert, key: tls.key }, handler) : http.createServer(opts, handler);
}
