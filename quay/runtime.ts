/**
 * The running `quay` runtime: registryd over a RuntimeConfig, its /v2
 * listener (HTTP or HTTPS), an admin listener (/metrics, /healthz, /readyz),
 * the hourly stale-upload cleanup, and a graceful stop. The switchboard
 * embeds the same thing in its own process (startRuntime with a loopback
 * listener and no admin listener).
 */
import http from 'node:http';
import { listenOn } from '../lib/listen.js';
import type { Logger } from '../lib/log.js';
import { openRegistry, type Registry } from '../registryd/index.js';
import { RegistryMetrics } from '../registryd/metrics.js';
import { createRegistryServer, isWellKnownPath, sendReadiness } from '../registryd/http/server.js';
import type { RuntimeConfig } from './config.js';
import type { TlsMaterial } from '../lib/tls.js';

export interface RuntimeOptions {
  readonly config: RuntimeConfig;
  readonly log: Logger;
  readonly listen: { readonly host: string; readonly port: number };
  readonly tls: TlsMaterial | null;
  /** Admin listener; null for none (embedded). */
  readonly adminListen: { readonly host: string; readonly port: number } | null;
  /** Quay's BLOBUPLOAD_DELETION_DATE_THRESHOLD, hours. */
  readonly staleUploadHours?: number;
  /** Collect registryd_ metrics (default true; nothing to collect for without an admin listener or an embedding process). */
  readonly metrics?: boolean;
}

export interface Runtime {
  readonly registry: Registry;
  readonly metrics: RegistryMetrics | null;
  /** The /v2 listener's address. */
  readonly address: { readonly host: string; readonly port: number };
  readonly adminPort: number | null;
  readonly url: string;
  stop(): Promise<void>;
}


export async function startRuntime(o: RuntimeOptions): Promise<Runtime> {
  const c = o.config;
  const metrics = o.metrics === false ? null : new RegistryMetrics();
  const registry = await openRegistry({
    dataDir: c.dataDir, log: o.log, databaseFile: c.databaseFile, databaseUri: c.databaseUri, storageDir: c.storage.path, storageLocation: c.storage.location,
    libraryNamespace: c.libraryNamespace, maxBlobBytes: c.maxBlobBytes, tempTagSeconds: c.tempTagSeconds, auth: c.auth,
    maxUploadsPerClient: c.maxUploadsPerClient, trustedProxies: c.trustedProxies,
    instanceKey: { ...c.instanceKey, name: `${c.auth.urlScheme}://${c.auth.serverHostname}` }, ...(metrics ? { metrics } : {}),
    mode: c.mode, quayKeys: c.effective, activity: c.activity,
  });
  const readiness = JSON.stringify(registry.readiness);
  const server = createRegistryServer(registry.handler, o.tls);
  let ready = false;
  const admin = o.adminListen ? http.createServer((req, res) => {
    if (isWellKnownPath(req.url ?? '/')) { sendReadiness(req, res, readiness); return; }
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/metrics' && metrics) {
      metrics.registry.metrics().then((b) => send(200, metrics.registry.contentType, b), (e: unknown) => send(500, 'text/plain', `${String(e)}\n`));
    } else if (path === '/healthz') {
      send(200, 'application/json', JSON.stringify({ status: 'ok' }));
    } else if (path === '/readyz') {
      // Ready when listening and the database answers.
      let db = true;
      registry.store.listRepositories({ n: 1 }).catch(() => { db = false; }).finally(() => {
        const ok = ready && db;
        send(ok ? 200 : 503, 'application/json', JSON.stringify({ status: ok ? 'ready' : 'not ready', listening: ready, database: db }));
      });
    } else {
      send(404, 'text/plain', 'not found: try /metrics, /healthz, /readyz or /.well-known/switchboard\n');
    }
  }) : null;
  let port: number;
  let adminPort: number | null = null;
  try {
    port = await listenOn(server, o.listen.host, o.listen.port);
    if (admin && o.adminListen) adminPort = await listenOn(admin, o.adminListen.host, o.adminListen.port);
  } catch (e) {
    server.close();
    admin?.close();
    await registry.close();
    throw e;
  }
  ready = true;
  const staleHours = o.staleUploadHours ?? 48;
  const cleanup = (): void => {
    registry.uploads.cleanupStale(staleHours * 3600_000).then(
      (n) => { if (n > 0) o.log.info('removed stale upload sessions', { removed: n, older_than_hours: staleHours }); },
      (e: unknown) => o.log.error('stale upload cleanup failed', { error: String(e) }),
    );
  };
  cleanup();
  const timer = setInterval(cleanup, 3600_000);
  timer.unref();
  const host = o.listen.host.includes(':') ? `[${o.listen.host}]` : o.listen.host;
  const url = `${o.tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${port}`;
  return {
    registry, metrics, address: { host: o.listen.host, port }, adminPort, url,
    async stop(): Promise<void> {
      ready = false;
      clearInterval(timer);
      // Stop accepting; idle keep-alive connections go now, busy ones when their response ends.
      await new Promise<void>((r) => { server.close(() => r()); server.closeIdleConnections(); });
      if (admin) { admin.closeAllConnections(); await new Promise<void>((r) => admin.close(() => r())); }
      await registry.close();
    },
  };
}
