/** `switchboard serve`: the edge proxy with its admin listener. */
import { loadInventory } from '../../owner-maps/index.js';
import { SwitchboardError } from '../errors.js';
import { FileSnapshotProvider } from '../snapshots/provider.js';
import { splitHostPort } from '../../lib/host-port.js';
import { createLogger, redactUrl } from '../../lib/log.js';
import { AccessLog } from '../proxy/access-log.js';
import { createSwitchboardAdmin } from '../admin/admin.js';
import { exposureWarning } from '../admin/admin-access.js';
import { ProxyMetrics } from '../proxy/metrics.js';
import { MemoryPinStore, RedisPinStore, type PinStore } from '../proxy/pin-store.js';
import { SwitchboardProxy } from '../proxy/server.js';
import { args, configPath, printIssues, type EmbedRuntime, type Io, EXIT_OK, EXIT_FAIL } from './common.js';
import { RUNNING_FILE, resolveStateDir } from '../config/kill-switch.js';
import { ReadinessMonitor } from '../proxy/readiness.js';
import { recordFileEdit } from '../control/switches.js';
import { restartOnlyChanges } from '../config/restart-only.js';
import { Registry as MetricsRegistry } from 'prom-client';
import { dirname, join, resolve } from 'node:path';
import { accessSync, constants, existsSync, mkdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../../lib/files.js';
import { DashboardAuth } from '../control/auth.js';
import { ControlPlane } from '../control/dashboard.js';
import { LiveStats } from '../control/stats.js';
import { GateKeeper } from '../control/gate-keeper.js';
import { Shadow } from '../proxy/shadow.js';
import { listenOn } from '../../lib/listen.js';
import { loadTls, type TlsMaterial } from '../../lib/tls.js';

export const SERVE_USAGE = `Usage: switchboard serve [--config FILE] [--listen HOST:PORT] [--admin-listen HOST:PORT] [--state-dir DIR]

Runs the edge proxy: every request is decided against the config snapshot in
force and forwarded to SWITCHBOARD.UPSTREAMS.python or .go. The config file is
watched and polled; a bad edit keeps the last good snapshot. SIGTERM or SIGINT
drains in-flight requests (up to DRAIN_TIMEOUT_SECONDS), then exits.

  --listen HOST:PORT        proxy listener (default SWITCHBOARD.LISTEN, 0.0.0.0:8080)
  --admin-listen HOST:PORT  /metrics /status /healthz /readyz (default SWITCHBOARD.ADMIN_LISTEN, 127.0.0.1:9180)
  --state-dir DIR           where the kill file, the last good config and the
                            self-signed certificate live (default
                            $SWITCHBOARD_STATE_DIR, else SWITCHBOARD.STATE_DIR,
                            else data; the last two beside the config file)

The kill switch's state file STATE_DIR/force-python.json (written by
\`switchboard set MIGRATION_FORCE_PYTHON true\`, the dashboard and the API)
sends everything to python within a second, whatever state the config is in.
A config that is invalid at start is replaced by the last good one saved in
STATE_DIR by an earlier run; with none, serve refuses to start (exit 1) and
names every problem with its key and line.

Environment: PORT and ADMIN_PORT replace the port of the proxy and admin
listeners (the host stays). With SWITCHBOARD.EMBEDDED_REGISTRY set, the new
registry runs inside this process as the go owner (mirror mode: SQLite and
local files under its DATA_DIR), unless SWITCHBOARD.UPSTREAMS.go is set.`;

const usageError = (m: string): Error => new SwitchboardError('SWB_CLI_USAGE', m);

/** HOST:PORT with the port replaced by an environment variable, when it is set. */
function withPortFrom(hostPort: { host: string; port: number }, env: string | undefined, name: string): { host: string; port: number } {
  if (env === undefined || env === '') return hostPort;
  if (!/^\d{1,5}$/.test(env) || Number(env) > 65535) throw new SwitchboardError('SWB_CLI_USAGE', `${name}=${env} is not a port number`);
  return { host: hostPort.host, port: Number(env) };
}

export async function serveCommand(argv: string[], io: Io): Promise<number> {
  const a = args(argv, { config: { type: 'string' }, listen: { type: 'string' }, 'admin-listen': { type: 'string' }, 'state-dir': { type: 'string' } }, SERVE_USAGE);
  if (a.values.help) {
    io.out(SERVE_USAGE);
    return EXIT_OK;
  }
  const file = configPath(a.values.config as string | undefined, io);
  const log = createLogger({ component: 'switchboard' });
  // A path that names no file is a typo, not an incident: restoring a saved config and watching a
  // file that will never appear would hide it for good.
  if (!existsSync(file)) {
    io.err(`switchboard: ${file} does not exist; not starting (give --config FILE, or set $SWITCHBOARD_CONFIG) [SWB_CONFIG_UNREADABLE]`);
    return EXIT_FAIL;
  }
  // Found before the config is trusted: the kill file must work with any config.
  const stateDir = resolveStateDir({ configFile: file, cwd: io.cwd, env: io.env, flag: a.values['state-dir'] as string | undefined });
  try {
    mkdirSync(stateDir, { recursive: true });
    accessSync(stateDir, constants.W_OK);
  } catch (e) {
    log.error(
      'STATE_DIR cannot be written: `switchboard set MIGRATION_FORCE_PYTHON true`, the dashboard and the API cannot turn the kill switch on for this process (the environment variable still can, at a restart)',
      { state_dir: stateDir, error: (e as Error).message },
    );
  }
  const provider = await FileSnapshotProvider.start({ file, inventory: loadInventory(), env: io.env, log, stateDir, restoreLastGood: true });
  if (provider.current().hard_failure) {
    // Nothing valid to serve (no upstreams, no TLS, no registry): say why and stop, rather than answer every request 503.
    const issues = provider.stats().last_error?.issues ?? [];
    await provider.close();
    io.err(`switchboard: ${file} is not a valid configuration and ${stateDir} holds no last good one; not starting:`);
    printIssues(io, issues);
    return EXIT_FAIL;
  }
  const settings = provider.current().settings;
  if (!provider.current().settings.UPSTREAMS && !provider.current().hard_failure) {
    if (!settings.EMBEDDED_REGISTRY) log.warn('SWITCHBOARD.UPSTREAMS is not set: every request will be answered 503 until it is');
  }
  let pins: PinStore;
  if (settings.REDIS_URL) {
    const r = new RedisPinStore(settings.REDIS_URL);
    try {
      await r.ready();
    } catch (e) {
      await r.close();
      await provider.close();
      throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `SWITCHBOARD.REDIS_URL ${redactUrl(settings.REDIS_URL)}: cannot reach Redis: ${(e as Error).message}`);
    }
    pins = r;
  } else {
    pins = new MemoryPinStore();
  }
  const accessLog = new AccessLog(settings.ACCESS_LOG);
  let proxy: SwitchboardProxy | null = null;
  const metrics = new ProxyMetrics({
    snapshot: () => {
      const s = provider.current();
      return { version: s.version, updated_at: s.updated_at, hard_failure: s.hard_failure, kill_switch: s.owner_map.forcePython.value };
    },
    reloads: () => provider.stats(),
    pins: () => pins.count(),
    inflight: () => proxy?.inflight ?? 0,
  });
  const listen = withPortFrom(splitHostPort((a.values.listen as string | undefined) ?? settings.LISTEN, usageError), io.env.PORT, 'PORT');
  const adminListen = withPortFrom(splitHostPort((a.values['admin-listen'] as string | undefined) ?? settings.ADMIN_LISTEN, usageError), io.env.ADMIN_PORT, 'ADMIN_PORT');
  const closeEarly = async (): Promise<void> => {
    await provider.close();
    await pins.close();
  };
  let tls: TlsMaterial | null = null;
  try {
    const t = settings.TLS;
    tls = await loadTls(
      t === 'off' ? { kind: 'off' } : t === 'self-signed' ? { kind: 'self-signed' } : { kind: 'files', cert: resolve(io.cwd, t.CERT_FILE), key: resolve(io.cwd, t.KEY_FILE) },
      stateDir,
      [],
      log,
    );
  } catch (e) {
    await closeEarly();
    throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `SWITCHBOARD.TLS: ${(e as Error).message}`);
  }
  // The embedded registry: the quick start's go owner, in this process.
  let embedded: Awaited<ReturnType<EmbedRuntime>> | null = null;
  if (settings.EMBEDDED_REGISTRY && !settings.UPSTREAMS?.go) {
    const dataDir = resolve(io.cwd, settings.EMBEDDED_REGISTRY.DATA_DIR);
    if (!io.goRuntime) {
      await closeEarly();
      throw new SwitchboardError(
        'SWB_CONFIG_BAD_VALUE',
        'SWITCHBOARD.EMBEDDED_REGISTRY: this switchboard was started without the go runtime (run bin/switchboard.js, which brings it)',
      );
    }
    try {
      embedded = await io.goRuntime.embed({
        configFile: file,
        mode: settings.EMBEDDED_REGISTRY.MODE,
        dataDir,
        log: log.child({ component: 'registryd', embedded: true }),
        snapshots: provider,
      });
    } catch (e) {
      await closeEarly();
      throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `SWITCHBOARD.EMBEDDED_REGISTRY: cannot start the registry: ${(e as Error).message}`);
    }
    log.info('embedded registry started (owner go)', { url: embedded.url, data_dir: dataDir, auth: embedded.auth });
  }
  // Shadow traffic (ROUTE_SHADOW_*): compared off the hot path, diffs kept for the dashboard and the shadow gate.
  const shadow = new Shadow(metrics.registry);
  proxy = new SwitchboardProxy({ snapshots: provider, pins, log, accessLog, metrics, tls, shadow, ...(embedded ? { embedded: { go: embedded.url } } : {}) });
  const startedAt = new Date();
  // The dashboard and control API: live figures from the proxy's own metrics, writes through the same code as `switchboard set`.
  const stats = new LiveStats(metrics.registry);
  let auth: DashboardAuth | null = null;
  if (settings.DASHBOARD) {
    const rel = (p: string | undefined): string | null => (p ? resolve(dirname(file), p) : null);
    const tokenFile = rel(settings.DASHBOARD.ADMIN_TOKEN_FILE);
    if (tokenFile && !existsSync(tokenFile)) {
      // Like the self-signed certificate: made once, kept, never logged.
      writeFileAtomic(tokenFile, `${randomBytes(32).toString('base64url')}\n`, 0o600);
      log.info('made a dashboard admin token (read it from the file)', { admin_token_file: tokenFile });
    }
    try {
      auth = new DashboardAuth({
        tokenFile: rel(settings.DASHBOARD.ADMIN_TOKEN_FILE),
        usersFile: rel(settings.DASHBOARD.USERS_FILE),
        sessionHours: settings.DASHBOARD.SESSION_HOURS,
      });
    } catch (e) {
      await closeEarly();
      await embedded?.stop();
      throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `SWITCHBOARD.DASHBOARD: ${(e as Error).message}`);
    }
  }
  // Sampling costs nothing to a switchboard without a dashboard: only when one is on.
  if (auth) stats.start();
  // What go says it implements: the dashboard and the API refuse go for the rest; /status shows it.
  const goUrl = (): string | undefined => provider.current().settings.UPSTREAMS?.go ?? embedded?.url;
  const readiness = new ReadinessMonitor({ url: goUrl(), log: log.child({ component: 'readiness' }) });
  readiness.start();
  provider.onChange(() => readiness.setUpstream(goUrl()));
  // The cutover gates: a window's judgement per capability from the proxy's metrics, automatic rollback (control/gate-keeper.ts).
  const gates = new GateKeeper({ registry: metrics.registry, provider, inventory: loadInventory(), file, stateDir, readiness, shadow, log: log.child({ component: 'gates' }) });
  gates.start();
  const control = new ControlPlane({
    provider,
    inventory: loadInventory(),
    file,
    env: io.env,
    auth,
    stats,
    stateDir,
    readiness,
    gates,
    log: log.child({ component: 'dashboard' }),
  });
  // Merged after the control plane registered its own metrics (login failures) on the proxy's registry.
  const adminMetrics = embedded?.metrics ? { registry: MetricsRegistry.merge([metrics.registry, embedded.metrics]) } : metrics;
  const admin = createSwitchboardAdmin({ provider, proxy, pins, metrics: adminMetrics, startedAt, control, readiness, listenHost: adminListen.host, auth });
  try {
    const port = await proxy.listen(listen.host, listen.port);
    const adminPort = await listenOn(admin, adminListen.host, adminListen.port);
    // So that `owners --explain` and `owners list` can say when the running proxy disagrees with the file they read.
    try {
      writeFileAtomic(
        join(stateDir, RUNNING_FILE),
        JSON.stringify({
          pid: process.pid,
          admin: `http://${displayHost(adminListen.host === '0.0.0.0' ? '127.0.0.1' : adminListen.host)}:${adminPort}`,
          config: file,
          started_at: startedAt.toISOString(),
        }) + '\n',
        0o644,
      );
    } catch {
      /* STATE_DIR unwritable: already logged */
    }
    // Off loopback, /status and /metrics answer the network unless their auth is on: said once, loudly.
    const exposed = exposureWarning({ host: adminListen.host, port: adminPort }, settings, auth !== null);
    if (exposed) log.warn(exposed.msg, { admin_listen: `${adminListen.host}:${adminPort}`, open_without_auth: exposed.open_without_auth });
    // The banner first: whoever waits for the "switchboard serving" line has seen everything before it.
    io.err(
      banner({
        proxy: `${tls ? 'https' : 'http'}://${displayHost(port.host)}:${port.port}`,
        admin: `http://${displayHost(adminListen.host)}:${adminPort}`,
        dashboard: auth !== null,
        tokenFile: settings.DASHBOARD?.ADMIN_TOKEN_FILE ? resolve(dirname(file), settings.DASHBOARD.ADMIN_TOKEN_FILE) : null,
        config: file,
        stateDir,
        kill: provider.current().owner_map.forcePython.value,
        restored: provider.stats().restored_from,
        upstreams: {
          python: proxy.upstreamHealth().python.url || null,
          go: embedded ? `${embedded.url} (embedded registry, ${settings.EMBEDDED_REGISTRY?.MODE ?? 'mirror'} mode)` : proxy.upstreamHealth().go.url || null,
        },
        adminOpen: exposed?.open_without_auth ?? null,
      }),
    );
    log.info('switchboard serving', {
      listen: `${port.host}:${port.port}`,
      tls: tls ? tls.certFile : 'off',
      embedded_registry: embedded?.url ?? null,
      admin_listen: `${adminListen.host}:${adminPort}`,
      config: file,
      snapshot_version: provider.current().version,
      pin_store: pins.kind,
      upstreams: Object.fromEntries(Object.entries(provider.current().settings.UPSTREAMS ?? {}).map(([k, v]) => [k, v ? redactUrl(v) : v])),
      state_dir: stateDir,
      kill_file: provider.stats().kill_file?.file ?? null,
      restored_from: provider.stats().restored_from,
    });
  } catch (e) {
    await provider.close();
    await pins.close();
    await embedded?.stop();
    throw new SwitchboardError('SWB_CLI_USAGE', `cannot listen: ${(e as Error).message}`);
  }
  let warned = '';
  provider.onChange((s) => {
    // Hand edits of config.yaml go to the history too.
    const info = provider.lastInstall();
    if (info) {
      try {
        recordFileEdit(s, info, stateDir);
      } catch (e) {
        log.warn('cannot record a file edit in the audit log', { error: (e as Error).message });
      }
    }
    const changed = restartOnlyChanges(
      settings,
      s.settings,
      resolve(io.cwd, dirname(file), s.settings.STATE_DIR) !== stateDir && !io.env.SWITCHBOARD_STATE_DIR && !a.values['state-dir'],
    );
    const k = changed.join(',');
    if (changed.length && k !== warned) log.warn(`${changed.join(', ')} changed in the config: takes effect on restart`, { keys: changed, snapshot_version: s.version });
    warned = k;
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
        stats.stop();
        await gates.stop();
        await readiness.stop();
        await embedded?.stop();
        try {
          rmSync(join(stateDir, RUNNING_FILE), { force: true });
        } catch {
          /* gone */
        }
        log.info('stopped', { cut_requests: forced, closed_upgrades: upgrades });
        resolve(forced > 0 ? EXIT_FAIL : EXIT_OK);
      })();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

function displayHost(h: string): string {
  if (h === '0.0.0.0' || h === '::') return 'localhost';
  return h.includes(':') ? `[${h}]` : h;
}

/** The start-up banner for people, on stderr beside the JSON log (its lines never start with "{"). */
export function banner(b: {
  proxy: string;
  admin: string;
  dashboard: boolean;
  tokenFile: string | null;
  config: string;
  stateDir: string;
  kill: boolean;
  restored: string | null;
  upstreams: { python: string | null; go: string | null };
  /** Off loopback: the admin paths that answer anyone without auth. */
  adminOpen?: readonly string[] | null;
}): string {
  const lines = [
    'Switchboard is serving',
    `  proxy       ${b.proxy}`,
    `  admin       ${b.admin}/status  ${b.admin}/metrics  ${b.admin}/readyz`,
    ...(b.adminOpen
      ? [
          `  WARNING     admin listener not on loopback; open without auth: ${b.adminOpen.join(' ')} (bind SWITCHBOARD.ADMIN_LISTEN to 127.0.0.1, or see the warn line for the auth settings)`,
        ]
      : []),
    b.dashboard ? `  dashboard   ${b.admin}/dashboard${b.tokenFile ? `  (admin token in ${b.tokenFile})` : ''}` : '  dashboard   off (set SWITCHBOARD.DASHBOARD)',
    `  python      ${b.upstreams.python ?? 'no upstream: its routes answer 503 until SWITCHBOARD.UPSTREAMS.python is set'}`,
    `  go          ${b.upstreams.go ?? 'no upstream: its routes answer 503 until SWITCHBOARD.UPSTREAMS.go is set'}`,
    `  config      ${b.config}${b.restored ? ` — INVALID: serving the last good copy ${b.restored}` : ''}`,
    `  state       ${b.stateDir}`,
    ...(b.kill ? ['  KILL SWITCH ON: everything goes to python'] : []),
  ];
  return lines.join('\n');
}
