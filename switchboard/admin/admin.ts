/**
 * The admin listener, on its own port: /metrics (Prometheus), /status (JSON:
 * snapshot version and age, last reload error, pins, upstream health),
 * /healthz (the process is up) and /readyz: 200 only when a valid snapshot
 * is in force, the proxy is not draining, and every owner that serves routes
 * has an upstream that is not failing; else 503 with the reasons, one a line.
 *
 * Every path but /healthz first passes the Host allow-list (DNS rebinding);
 * /status and /metrics may need the dashboard's credentials (admin-access.ts).
 */
import type http from 'node:http';
import { createAdminServer, metricsRoute, type AdminSend } from '../../lib/admin-server.js';
import type { FileSnapshotProvider } from '../snapshots/provider.js';
import type { ProxyMetrics } from '../proxy/metrics.js';
import type { PinStore } from '../proxy/pin-store.js';
import type { SwitchboardProxy } from '../proxy/server.js';
import type { ControlPlane } from '../control/dashboard.js';
import { CONTROL_API_PREFIX } from '../control/legacy-prefix.js';
import { routesByOwner, type Snapshot } from '../core/snapshot.js';
import type { Owner } from '../core/types.js';
import { readinessJson, type ReadinessMonitor } from '../proxy/readiness.js';
import type { DashboardAuth } from '../control/auth.js';
import { allowedNames, authRefusal, hostRefusal, type AdminRefusal } from './admin-access.js';

export interface AdminDeps {
  readonly provider: Pick<FileSnapshotProvider, 'current' | 'stats'>;
  readonly proxy: SwitchboardProxy;
  readonly pins: PinStore;
  /** The proxy's metrics, or a merged registry (the embedded registry's registryd_ metrics beside them). */
  readonly metrics: Pick<ProxyMetrics, 'registry'>;
  readonly startedAt: Date;
  /** The dashboard and control API (/dashboard, /control/v1; the old /api/v1 redirected), when serve runs them. */
  readonly control?: ControlPlane;
  /** What the go upstream says it implements (GET /.well-known/switchboard, polled). */
  readonly readiness?: ReadinessMonitor;
  /** The host the listener is bound to (ADMIN_LISTEN or --admin-listen): a Host naming it is always let in. */
  readonly listenHost?: string;
  /** The dashboard's auth, for ADMIN_STATUS_AUTH and ADMIN_METRICS_AUTH; null or absent without SWITCHBOARD.DASHBOARD. */
  readonly auth?: Pick<DashboardAuth, 'identify'> | null;
}

/** Failed requests in a row (connection-level) after which an owner's upstream counts as unreachable. */
export const UNREACHABLE_AFTER = 3;

/**
 * Owners the snapshot sends requests to, with how many routes each serves: an
 * owner counts when a route, or a family or the default (unknown paths), resolves to it.
 */
export function ownersWithTraffic(s: Snapshot): Map<Owner, number> {
  const routes = routesByOwner(s);
  const out = new Map<Owner, number>();
  const unknownPaths = s.hard_failure || s.owner_map.forcePython.value ? [] : [...s.owner_map.familyPlans.values(), s.owner_map.defaultPlan];
  for (const owner of ['python', 'go'] as const) {
    if (routes[owner] > 0 || unknownPaths.some((p) => p.value === owner || p.value === 'canary')) out.set(owner, routes[owner]);
  }
  return out;
}

/** Why the switchboard is not ready, one reason a line; empty when it is. */
export function notReadyReasons(d: Pick<AdminDeps, 'provider' | 'proxy' | 'readiness'>): string[] {
  const s = d.provider.current();
  const reasons: string[] = [];
  if (d.proxy.isDraining) reasons.push('draining');
  if (s.hard_failure) reasons.push('no valid config is in force');
  const health = d.proxy.upstreamHealth();
  for (const [owner, routes] of ownersWithTraffic(s)) {
    const h = health[owner];
    const what = `owner ${owner} serves ${routes} route${routes === 1 ? '' : 's'}`;
    const probe = owner === 'go' ? d.readiness?.current() : undefined;
    if (!h.url) reasons.push(`${what} and has no upstream: set SWITCHBOARD.UPSTREAMS.${owner}`);
    else if (probe?.checked_at && !probe.reachable && probe.failure !== 'status' && probe.failure !== 'malformed') {
      // Cannot connect to go at all (an answer other than the document still means it is up).
      reasons.push(`${what} and its upstream ${h.url} does not answer: ${probe.error ?? probe.failure}`);
    } else if (h.consecutive_errors >= UNREACHABLE_AFTER && h.last_error && h.last_error.kind !== 'not_configured') {
      reasons.push(`${what} and its upstream ${h.url} failed its last ${h.consecutive_errors} requests (${h.last_error.kind}: ${h.last_error.message})`);
    }
  }
  return reasons;
}

export async function statusBody(d: AdminDeps): Promise<Record<string, unknown>> {
  const s = d.provider.current();
  const st = d.provider.stats();
  let pins: number | null = null;
  let pinError: string | null = null;
  try {
    pins = await d.pins.count();
  } catch (e) {
    pinError = String(e);
  }
  const notReady = notReadyReasons(d);
  return {
    snapshot: {
      version: s.version,
      updated_at: s.updated_at,
      age_seconds: (Date.now() - Date.parse(s.updated_at)) / 1000,
      file: s.source.file,
      digest: s.source.digest,
      hard_failure: s.hard_failure,
      kill_switch: s.owner_map.forcePython.value,
    },
    reload: {
      reloads_total: st.reloads_total,
      reload_failures_total: st.reload_failures_total,
      last_error: st.last_error,
      last_check_at: st.last_check_at,
    },
    pins: { store: d.pins.kind, active: pins, error: pinError },
    upstreams: d.proxy.upstreamHealth(),
    ready: notReady.length === 0,
    not_ready_reasons: notReady,
    go_readiness: d.readiness ? readinessJson(d.readiness.current()) : null,
    kill_file: st.kill_file,
    state_dir: st.state_dir,
    restored_from: st.restored_from,
    inflight_requests: d.proxy.inflight,
    draining: d.proxy.isDraining,
    started_at: d.startedAt.toISOString(),
  };
}

export function createSwitchboardAdmin(d: AdminDeps): http.Server {
  const listenHost = d.listenHost ?? '127.0.0.1';
  // The allowed names, made again only when ADMIN_ALLOWED_HOSTS changes (settings apply on reload).
  let names = { key: '', set: allowedNames(listenHost, []) };
  const allowed = (list: readonly string[]): ReadonlySet<string> => {
    const key = list.join('\n');
    if (key !== names.key) names = { key, set: allowedNames(listenHost, list) };
    return names.set;
  };
  return createAdminServer({
    intercept: (req, res, path, send) => {
      // /healthz says "ok" and nothing else: load balancers may probe it by any name.
      const misdirected = path === '/healthz' ? null : hostRefusal(req.headers.host, allowed(d.provider.current().settings.ADMIN_ALLOWED_HOSTS));
      if (misdirected) {
        refuse(send, misdirected);
        return true;
      }
      if (d.control && d.control.handles(path)) {
        void d.control.handle(req, res);
        return true;
      }
      return false;
    },
    guard: (req, path) => {
      const settings = d.provider.current().settings;
      const guard = path === '/status' && settings.ADMIN_STATUS_AUTH ? 'ADMIN_STATUS_AUTH' : path === '/metrics' && settings.ADMIN_METRICS_AUTH ? 'ADMIN_METRICS_AUTH' : null;
      if (!guard) return null;
      return authRefusal(req.headers, d.auth ?? null, guard).then((r) => (r ? (send: AdminSend) => refuse(send, r) : null));
    },
    routes: {
      '/healthz': (_req, send) => send(200, 'text/plain', 'ok\n'),
      '/readyz': (_req, send) => {
        const why = notReadyReasons(d);
        if (why.length) send(503, 'text/plain', `not ready:\n${why.map((w) => `- ${w}`).join('\n')}\n`);
        else send(200, 'text/plain', 'ready\n');
      },
      '/metrics': metricsRoute(d.metrics.registry),
      '/status': (_req, send) => {
        statusBody(d).then(
          (b) => send(200, 'application/json', JSON.stringify(b, null, 2) + '\n'),
          (e: unknown) => send(500, 'text/plain', String(e)),
        );
      },
    },
    notFound: () => `not found: try /metrics, /status, /healthz, /readyz${d.control ? `, /dashboard, ${CONTROL_API_PREFIX}/state` : ''}\n`,
  });
}

function refuse(send: AdminSend, r: AdminRefusal): void {
  send(r.status, 'text/plain; charset=utf-8', r.body, r.headers);
}
