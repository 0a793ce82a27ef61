/**
 * The /v2 HTTP front of registryd: node:http, dispatched on the same compiled
 * route table the switchboard decides with (the registry-v2 rows of
 * owner-maps/routes.tsv), so both agree on what every path means, Quay's
 * slash-bearing repository names included. Bodies stream straight from the
 * socket to storage and back; no framework sits on the hot path.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Surface } from '../../owner-maps/index.js';
import type { Logger } from '../../lib/log.js';
import { RegistryError, toOci } from '../oci/errors.js';
import { DomainError } from '../../domain/errors.js';
import type { RegistryService } from '../service/registry.js';
import type { UploadService } from '../service/uploads.js';
import { Ctx, type HttpSettings } from './context.js';
import { sendError } from './respond.js';
import type { AuthService, Need } from '../auth/auth-service.js';
import { FAMILY, V2_ROUTES, type RouteRecord } from './routes.js';
import type { RegistryMetrics } from '../metrics/metrics.js';

/** The route's permission check, then its handler. */
async function gated(ctx: Ctx, need: Need, rec: RouteRecord): Promise<void> {
  let name;
  try {
    name = ctx.repoName();
  } catch (e) {
    if (!(e instanceof DomainError) || e.code !== 'NAME_INVALID') throw e;
    throw await ctx.auth.refuseInvalidName(ctx.authorization, ctx.params.repository ?? '', need, rec.tokenNeed);
  }
  try {
    ctx.access = await ctx.auth.authorize(ctx.authorization, name, need, rec.tokenNeed);
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

/** The /v2 surface as the go side's router takes it. */
export type V2Surface = Surface<RouteRecord>;

export interface RegistryHttpDeps {
  readonly svc: RegistryService;
  readonly uploads: UploadService;
  readonly settings: HttpSettings;
  readonly auth: AuthService;
  readonly log: Logger;
  readonly metrics?: RegistryMetrics;
}

/**
 * The /v2 surface for the go side's router (quay/router.ts): its route
 * records, how a matched route is served (permission check, handler, errors
 * in the OCI envelope), and the answer to a /v2 path no route matches.
 */
export function createV2Surface(deps: RegistryHttpDeps): V2Surface {
  return {
    family: FAMILY,
    prefix: '/v2',
    records: V2_ROUTES,
    unmatched(req, res, allowed) {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const e =
        allowed.length > 0
          ? new RegistryError('UNSUPPORTED', `${method} is not allowed here`, { headers: { allow: allowed.join(', ') } })
          : new RegistryError('NAME_UNKNOWN', `no registry endpoint at ${url.split('?')[0]}`, { status: 404, detail: {} });
      sendError(req, res, e);
    },
    serve(req, res, m, rec) {
      const method = req.method ?? 'GET';
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
        deps.log.error('request failed', { method, path: (req.url ?? '/').split('?')[0], route_id: m.route.id, error: String((e as Error)?.stack ?? e) });
        sendError(req, res, new RegistryError('INTERNAL_ERROR', 'internal error', { detail: {} }));
      });
    },
  };
}

/** An HTTP (or, with a key and certificate, HTTPS) server for the handler, with timeouts fit for multi-GiB bodies (no request timeout). */
export function createRegistryServer(handler: (req: IncomingMessage, res: ServerResponse) => void, tls?: { readonly cert: string; readonly key: string } | null): http.Server {
  const opts = { keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 };
  return tls ? https.createServer({ ...opts, cert: tls.cert, key: tls.key }, handler) : http.createServer(opts, handler);
}
