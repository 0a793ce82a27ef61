/**
 * The /v2 HTTP front of registryd: node:http, dispatched on the same compiled
 * route table the switchboard decides with (the registry-v2 rows of
 * owner-maps/routes.tsv), so both agree on what every path means, Quay's
 * slash-bearing repository names included. Bodies stream straight from the
 * socket to storage and back; no framework sits on the hot path.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { RouteTable } from '../../owner-maps/index.js';
import type { Logger } from '../../lib/log.js';
import { RegistryError, toOci } from '../oci/errors.js';
import { DomainError } from '../../domain/errors.js';
import type { RegistryService } from '../service/registry.js';
import type { UploadService } from '../service/uploads.js';
import { Ctx, type HttpSettings } from './context.js';
import { sendError } from './respond.js';
import type { AuthService, Need } from '../auth/auth-service.js';
import { compileRoutes, V2_ROUTES, type CompiledRoutes, type RouteRecord } from './routes.js';
import type { RegistryMetrics } from '../metrics/metrics.js';
import { WELL_KNOWN_PATH } from '../../owner-maps/index.js';

/** The route's permission check, then its handler. */
async function gated(ctx: Ctx, need: Need, rec: RouteRecord): Promise<void> {
  let name;
  try {
    name = ctx.repoName();
  } catch (e) {
    if (!(e instanceof DomainError) || e.code !== 'NAME_INVALID') throw e;
    throw await ctx.auth.refuseInvalidName(ctx.authorization, ctx.params.repository ?? '', need);
  }
  try {
    ctx.access = await ctx.auth.authorize(ctx.authorization, name, need);
  } catch (e) {
    // A valid (or no) token without the grant, not a bad token: Quay's permission check, which it audits when asked to.
    const action = rec.audited;
    if (action && e instanceof RegistryError && e.code === 'UNAUTHORIZED' && !e.abortBody && ctx.svc.activity?.audits(action)) {
      ctx.access = await ctx.auth.requestAuth(ctx.authorization);
      await ctx.svc.activity.refused(action, name.namespace, name.name, ctx.params.manifest_ref ?? null, ctx.requester());
    }
    throw e;
  }
  await rec.handle(ctx);
}

const compiled = new Map<boolean, CompiledRoutes>();

/**
 * The /v2 route records compiled with the inventory's registry-v2 rows, once
 * per process for each FEATURE_LIBRARY_SUPPORT: off, a one-segment repository
 * path matches no row (Quay's repopath converter then needs a namespace).
 */
export function registryRoutes(librarySupport = true): CompiledRoutes {
  let c = compiled.get(librarySupport);
  if (!c) {
    c = compileRoutes(V2_ROUTES, { librarySupport });
    compiled.set(librarySupport, c);
  }
  return c;
}

/** The inventory route ids this surface serves. */
export function servedRouteIds(): string[] {
  return [...registryRoutes().byRouteId.keys()].sort();
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
  /** FEATURE_LIBRARY_SUPPORT (default true). */
  readonly librarySupport?: boolean;
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
  const { table, byRouteId } = registryRoutes(deps.librarySupport ?? true);
  const readiness = deps.readiness;
  return (req, res) => {
    // A target starting with several slashes is served as if it started with one, as Quay's
    // gunicorn does (a `//` further on is Werkzeug's to redirect, below).
    if (req.url !== undefined && req.url.charCodeAt(1) === 47 /* '/' */) req.url = req.url.replace(/^\/+/, '/');
    const url = req.url ?? '/';
    // Outside /v2, so outside the route table: one character looked at on the hot path.
    if (readiness !== undefined && url.charCodeAt(1) === 46 /* '.' */ && isWellKnownPath(url)) {
      sendReadiness(req, res, readiness);
      return;
    }
    const method = req.method ?? 'GET';
    const m = table.match(method, url);
    if (!m) {
      const allowed = table.allowedMethods(url);
      const e =
        allowed.length > 0
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
      if (to) {
        res.writeHead(308, { location: to, 'content-length': 0 });
        res.end();
        return;
      }
    }
    const rec = byRouteId.get(m.route.id);
    if (!rec) {
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
    res.once('close', () => {
      if (!res.writableFinished) ac.abort();
    });
    const ctx = new Ctx(req, res, m.params, deps.svc, deps.uploads, deps.settings, ac.signal, deps.auth);
    // Anonymous mode (or a route without a repository) goes straight to the handler: no extra step on the hot path.
    const need = deps.auth.enabled ? rec.need : undefined;
    (need ? gated(ctx, need, rec) : rec.handle(ctx)).catch((e: unknown) => {
      if (ac.signal.aborted) return; // the client left; nothing to answer
      const oci = toOci(e);
      if (oci) {
        sendError(req, res, oci);
        return;
      }
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
