/** `switchboard serve`: the edge proxy with its admin listener. */
import { loadInventory } from '../../owner-maps/index.js';
import { SwitchboardError } from '../errors.js';
import { FileSnapshotProvider } from '../config/provider.js';
import { splitHostPort } from '../config/host-port.js';
import { createLogger } from '../log.js';
import { AccessLog } from '../proxy/access-log.js';
import { createAdminServer } from '../proxy/admin.js';
import { ProxyMetrics } from '../proxy/metrics.js';
import { MemoryPinStore, RedisPinStore, type PinStore } from '../proxy/pin-store.js';
import { SwitchboardProxy } from '../proxy/server.js';
import { args, configPath, type Io, EXIT_OK, EXIT_FAIL } from './common.js';

export const SERVE_USAGE = `Usage: switchboard serve [--config FILE] [--listen HOST:PORT] [--admin-listen HOST:PORT]

Runs the edge proxy: every request is decided against the config snapshot in
force and forwarded to SWITCHBOARD.UPSTREAMS.python or .go. The config file is
watched and polled; a bad edit keeps the last good snapshot. SIGTERM or SIGINT
drains in-flight requests (up to DRAIN_TIMEOUT_SECONDS), then exits.

  --listen HOST:PORT        proxy listener (default SWITCHBOARD.LISTEN, 0.0.0.0:8080)
  --admin-listen HOST:PORT  /metrics /status /healthz /readyz (default SWITCHBOARD.ADMIN_LISTEN, 127.0.0.1:9180)`;

function listenOn(server: import('node:http').Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

export async function serveCommand(argv: string[], io: Io): Promise<number> {
  const a = args(argv, { config: { type: 'string' }, listen: { type: 'string' }, 'admin-listen': { type: 'string' } }, SERVE_USAGE);
  if (a.values.help) { io.out(SERVE_USAGE); return EXIT_OK; }
  const file = configPath(a.values.config as string | undefined, io);
  const log = createLogger({ component: 'switchboard' });
  const provider = await FileSnapshotProvider.start({ file, inventory: loadInventory(), env: io.env, log });
  const settings = provider.current().settings;
  if (!provider.current().settings.UPSTREAMS && !provider.current().hard_failure) {
    log.warn('SWITCHBOARD.UPSTREAMS is not set: every request will be answered 502 until it is');
  }
  let pins: PinStore;
  if (settings.REDIS_URL) {
    const r = new RedisPinStore(settings.REDIS_URL);
    try { await r.ready(); } catch (e) {
      await r.close();
      await provider.close();
      throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `SWITCHBOARD.REDIS_URL ${settings.REDIS_URL}: cannot reach Redis: ${(e as Error).message}`);
    }
    pins = r;
  } else {
    pins = new MemoryPinStore();
  }
  const accessLog = new AccessLog(settings.ACCESS_LOG);
  let proxy: SwitchboardProxy | null = null;
  const metrics = new ProxyMetrics({
    snapshot: () => { const s = provider.current(); return { version: s.version, updated_at: s.updated_at, hard_failure: s.hard_failure, kill_switch: s.owner_map.forcePython.value }; },
    reloads: () => provider.stats(),
    pins: () => pins.count(),
    inflight: () => proxy?.inflight ?? 0,
  });
  proxy = new SwitchboardProxy({ snapshots: provider, pins, log, accessLog, metrics });
  const startedAt = new Date();
  const admin = createAdminServer({ provider, proxy, pins, metrics, startedAt });
  const listen = splitHostPort((a.values.listen as string | undefined) ?? settings.LISTEN);
  const adminListen = splitHostPort((a.values['admin-listen'] as string | undefined) ?? settings.ADMIN_LISTEN);
  try {
    const port = await proxy.listen(listen.host, listen.port);
    const adminPort = await listenOn(admin, adminListen.host, adminListen.port);
    log.info('switchboard serving', {
      listen: `${port.host}:${port.port}`, admin_listen: `${adminListen.host}:${adminPort}`, config: file,
      snapshot_version: provider.current().version, pin_store: pins.kind, upstreams: provider.current().settings.UPSTREAMS ?? null,
    });
  } catch (e) {
    await provider.close();
    await pins.close();
    throw new SwitchboardError('SWB_CLI_USAGE', `cannot listen: ${(e as Error).message}`);
  }
  provider.onChange((s) => {
    if (s.settings.LISTEN !== settings.LISTEN || s.settings.ADMIN_LISTEN !== settings.ADMIN_LISTEN) {
      log.warn('LISTEN/ADMIN_LISTEN changed in config: takes effect on restart', { snapshot_version: s.version });
    }
  });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      const timeout = provider.current().settings.DRAIN_TIMEOUT_SECONDS * 1000;
      log.info('draining', { signal, inflight_requests: proxy!.inflight, drain_timeout_seconds: timeout / 1000 });
      void (async () => {
        const { forced, upgrades } = await proxy!.drain(timeout);
        admin.closeAllConnections();
        await new Promise<void>((r) => admin.close(() => r()));
        await provider.close();
        await pins.close();
        await accessLog.close();
        log.info('stopped', { cut_requests: forced, closed_upgrades: upgrades });
        resolve(forced > 0 ? EXIT_FAIL : EXIT_OK);
      })();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
