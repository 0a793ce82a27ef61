/**
 * The admin listener, on its own port: /metrics (Prometheus), /status (JSON:
 * snapshot version and age, last reload error, pins, upstream health),
 * /healthz (the process is up) and /readyz (serving, not draining).
 */
import http from 'node:http';
import type { FileSnapshotProvider } from '../config/provider.js';
import type { ProxyMetrics } from './metrics.js';
import type { PinStore } from './pin-store.js';
import type { SwitchboardProxy } from './server.js';
import type { ControlPlane } from '../control/dashboard.js';

export interface AdminDeps {
  readonly provider: Pick<FileSnapshotProvider, 'current' | 'stats'>;
  readonly proxy: SwitchboardProxy;
  readonly pins: PinStore;
  /** The proxy's metrics, or a merged registry (the embedded registry's registryd_ metrics beside them). */
  readonly metrics: Pick<ProxyMetrics, 'registry'>;
  readonly startedAt: Date;
  /** The dashboard and control API (/dashboard, /api/v1), when serve runs them. */
  readonly control?: ControlPlane;
}

export async function statusBody(d: AdminDeps): Promise<Record<string, unknown>> {
  const s = d.provider.current();
  const st = d.provider.stats();
  let pins: number | null = null;
  let pinError: string | null = null;
  try { pins = await d.pins.count(); } catch (e) { pinError = String(e); }
  return {
    snapshot: {
      version: s.version, updated_at: s.updated_at, age_seconds: (Date.now() - Date.parse(s.updated_at)) / 1000,
      file: s.source.file, digest: s.source.digest, hard_failure: s.hard_failure, kill_switch: s.owner_map.forcePython.value,
    },
    reload: {
      reloads_total: st.reloads_total, reload_failures_total: st.reload_failures_total,
      last_error: st.last_error, last_check_at: st.last_check_at,
    },
    pins: { store: d.pins.kind, active: pins, error: pinError },
    upstreams: d.proxy.upstreamHealth(),
    inflight_requests: d.proxy.inflight,
    draining: d.proxy.isDraining,
    started_at: d.startedAt.toISOString(),
  };
}

export function createAdminServer(d: AdminDeps): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (d.control && path !== undefined && d.control.handles(path)) { void d.control.handle(req, res); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') { send(405, 'text/plain', 'method not allowed\n'); return; }
    switch (path) {
      case '/healthz':
        send(200, 'text/plain', 'ok\n');
        return;
      case '/readyz':
        if (d.proxy.isDraining) send(503, 'text/plain', 'draining\n');
        else send(200, 'text/plain', d.provider.current().hard_failure ? 'ready (no valid config: everything goes to python)\n' : 'ready\n');
        return;
      case '/metrics':
        d.metrics.registry.metrics().then(
          (text) => send(200, d.metrics.registry.contentType, text),
          (e: unknown) => send(500, 'text/plain', `metrics failed: ${String(e)}\n`),
        );
        return;
      case '/status':
        statusBody(d).then((b) => send(200, 'application/json', JSON.stringify(b, null, 2) + '\n'), (e: unknown) => send(500, 'text/plain', String(e)));
        return;
      default:
        send(404, 'text/plain', `not found: try /metrics, /status, /healthz, /readyz${d.control ? ', /dashboard, /api/v1/state' : ''}\n`);
    }
  });
}
