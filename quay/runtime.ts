/**
 * The go side's one composition root. `openGoSide()` opens the data tier
 * (dal/), the storage driver, the instance signing key and auth once, and
 * mounts the surfaces on them: /v2 (registryd/) now, /api/v1 next. Background
 * programs run through the worker runner (workers/runner.ts), each only while
 * the live snapshot gives it to go. `startRuntime()` adds the listeners: the
 * surfaces' (HTTP or HTTPS) and an admin one (/metrics, /healthz, /readyz).
 * `quay serve` runs it on its own; the switchboard embeds it (quay/embed.ts,
 * injected by bin/switchboard.js) with a loopback listener and no admin one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAdminServer, metricsRoute } from '../lib/admin-server.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { listenOn, localUrl } from '../lib/listen.js';
import type { Logger } from '../lib/log.js';
import { openDal, type Dal } from '../dal/index.js';
import type { AuthStore } from '../dal/model/auth-store.js';
import type { MetadataStore } from '../dal/model/store.js';
import {
  createRegistry,
  DEFAULT_AUTH,
  DEFAULT_REGISTRY_SETTINGS,
  storedReferrerFields,
  storedSizeFields,
  type ActivityOptions,
  type RegistrySurfaceSettings,
} from '../registryd/index.js';
import { RegistryMetrics } from '../registryd/metrics/metrics.js';
import { createRegistryServer } from '../registryd/http/server.js';
import { createRouter, isWellKnownPath, sendReadiness } from './router.js';
import { createApi } from '../api/index.js';
import { LocalStorage } from '../storage/local.js';
import type { StorageDriver } from '../storage/driver.js';
import { AuthService, type AuthSettings } from '../registryd/auth/auth-service.js';
import { loadOrCreateInstanceKey, type InstanceKey } from '../domain/auth/instance-key.js';
import { readinessDocument, type ReadinessDocument } from './capabilities.js';
import { ActivityLog, DEFAULT_ACTIVITY } from '../registryd/service/activity.js';
import { IpResolver } from '../registryd/service/ip-resolver.js';
import type { UploadService } from '../registryd/service/uploads.js';
import { WorkerRunner, type SnapshotSource, type WorkerProgram, type WorkerState } from '../workers/runner.js';
import { WorkerMetrics } from '../workers/metrics.js';
import { dataTierPrograms } from '../workers/programs/index.js';
import { idleReason } from '../workers/features.js';
import type { RuntimeConfig } from './config.js';
import { fixedSnapshots } from './snapshots.js';
import type { TlsMaterial } from '../lib/tls.js';

export interface GoSideOptions extends Partial<RegistrySurfaceSettings> {
  readonly dataDir: string;
  readonly log: Logger;
  /** SQLite file (default <dataDir>/quay.db). */
  readonly databaseFile?: string;
  /** A postgresql:// URI: Quay's PostgreSQL instead of SQLite. */
  readonly databaseUri?: string | null;
  /** Local storage root (default <dataDir>/storage). */
  readonly storageDir?: string;
  /** imagestoragelocation name of the storage (DISTRIBUTED_STORAGE_PREFERENCE[0]). */
  readonly storageLocation?: string;
  /** Auth settings over the anonymous defaults. */
  readonly auth?: Partial<AuthSettings>;
  readonly instanceKey?: { readonly keyFile?: string; readonly kidFile?: string; readonly expirationMinutes?: number; readonly name?: string };
  readonly now?: () => number;
  readonly metrics?: RegistryMetrics;
  /** The runtime's mode, for the readiness document (default mirror). */
  readonly mode?: string;
  /** The config's Quay keys: those in capabilities.ts WITHDRAWALS withdraw claims when set otherwise than Quay's default. */
  readonly quayKeys?: Readonly<Record<string, unknown>>;
  /** Action logs, notifications and quota totals; default Quay's defaults. */
  readonly activity?: ActivityOptions;
  /** Every Quay key of the config (the API reads its settings from them); default none (Quay's defaults). */
  readonly quayConfig?: Readonly<Record<string, unknown>>;
  /** The config file the keys came from (Quay's CHANGELOG.md is looked for beside its installation). */
  readonly configFile?: string | null;
}

/** The go side, opened: its data tier and the surfaces mounted on it. */
export interface GoSide {
  /** Every surface behind one handler (/v2 and the readiness document now; /api/v1 next). */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly dal: Dal;
  readonly store: MetadataStore;
  readonly authStore: AuthStore;
  readonly auth: AuthService;
  readonly storage: StorageDriver;
  readonly uploads: UploadService;
  readonly instanceKey: InstanceKey;
  /** What GET /.well-known/switchboard answers (quay/capabilities.ts). */
  readonly readiness: ReadinessDocument;
  close(): Promise<void>;
}

export async function openGoSide(o: GoSideOptions): Promise<GoSide> {
  const storageDir = o.storageDir ?? join(o.dataDir, 'storage');
  mkdirSync(storageDir, { recursive: true });
  const dal = await openDal({ databaseUri: o.databaseUri ?? null, databaseFile: o.databaseFile ?? join(o.dataDir, 'quay.db'), storageLocation: o.storageLocation ?? 'local_us' });
  const storage = new LocalStorage(storageDir, o.storageLocation);
  const now = o.now ?? Date.now;
  // Each of the registry's settings as given, else its default.
  const given: Partial<RegistrySurfaceSettings> = { ...o, quota: o.activity?.quota };
  const settings = Object.fromEntries(
    Object.entries(DEFAULT_REGISTRY_SETTINGS).map(([key, fallback]) => [key, given[key as keyof RegistrySurfaceSettings] ?? fallback]),
  ) as unknown as RegistrySurfaceSettings;
  const authSettings: AuthSettings = { ...DEFAULT_AUTH, libraryNamespace: settings.libraryNamespace, ...o.auth };
  let instanceKey: InstanceKey;
  let ips: IpResolver;
  try {
    instanceKey = await loadOrCreateInstanceKey(
      dal.auth,
      {
        service: authSettings.service,
        keyFile: o.instanceKey?.keyFile ?? join(o.dataDir, 'quay.pem'),
        kidFile: o.instanceKey?.kidFile ?? join(o.dataDir, 'quay.kid'),
        expirationMinutes: o.instanceKey?.expirationMinutes ?? 120,
        name: o.instanceKey?.name ?? `${authSettings.urlScheme}://${authSettings.serverHostname}`,
      },
      o.log,
      now,
    );
  } catch (e) {
    await dal.close();
    throw e;
  }
  try {
    try {
      ips = IpResolver.fromFile(o.activity?.awsIpRangesFile ?? null);
    } catch (e) {
      throw new Error(`AWS_IP_RANGES_FILE: ${(e as Error).message}`);
    }
    const { quota: _quota, awsIpRangesFile: _file, ...activitySettings } = o.activity ?? {};
    // What is recorded: Quay's defaults under the config's keys (the activity log and the readiness document read the same).
    const recorded = { ...DEFAULT_ACTIVITY, ...activitySettings };
    const activity = new ActivityLog({
      store: dal.metadata,
      users: dal.auth,
      ips,
      log: o.log,
      now,
      settings: { ...recorded, serverHostname: authSettings.serverHostname, urlScheme: authSettings.urlScheme },
    });
    const auth = new AuthService(authSettings, dal.auth, dal.metadata, instanceKey, o.log, now, o.metrics, {
      loggedIn: (p, client) => activity.loggedIn(p, client.address, client.userAgent ?? ''),
      loginFailed: (f, client) => activity.loginFailed(f.account, f.performerId, f.metadata, client.address),
    });
    const api = createApi({ dal, storage, quayConfig: o.quayConfig ?? o.quayKeys ?? {}, configFile: o.configFile ?? null, log: o.log.child({ component: 'api' }), now });
    const readiness = readinessDocument({
      mode: o.mode ?? 'mirror',
      apiCapabilities: api.claims.filter((c) => c.claimed).map((c) => c.capability),
      quayKeys: o.quayKeys ?? {},
      settings: {
        authenticationType: authSettings.mode === 'database' ? 'Database' : 'Anonymous',
        anonymousAccess: authSettings.anonymousAccess,
        appSpecificTokens: authSettings.appSpecificTokens,
        publicCatalog: authSettings.publicCatalog,
        superUsersFullAccess: authSettings.superUsersFullAccess,
        createNamespaceOnPush: authSettings.createNamespaceOnPush,
        createPrivateRepoOnPush: authSettings.createPrivateRepoOnPush,
        libraryNamespace: settings.libraryNamespace,
        librarySupport: settings.librarySupport,
        quotaManagement: settings.quota === 'count',
        audit: { logins: recorded.auditLogins, loginFailures: recorded.auditLoginFailures, ...recorded.auditFailures },
      },
    });
    const v2 = createRegistry({ dal, storage, auth, activity, log: o.log, now, settings, ...(o.metrics ? { metrics: o.metrics } : {}) });
    // Every surface behind one route table: /v2 and /api/v1.
    const handler = createRouter({ surfaces: [v2.surface, api.surface], librarySupport: settings.librarySupport, readiness: JSON.stringify(readiness) });
    return {
      handler,
      dal,
      store: dal.metadata,
      authStore: dal.auth,
      auth,
      storage,
      uploads: v2.uploads,
      instanceKey,
      readiness,
      close: async () => {
        instanceKey.stop();
        await dal.close();
      },
    };
  } catch (e) {
    // Nothing opened here outlives a failed start.
    instanceKey.stop();
    await dal.close();
    throw e;
  }
}

/** The go side's background programs, for the worker runner. */
export function goSidePrograms(
  side: GoSide,
  o: { readonly staleUploadHours: number; readonly log: Logger; readonly quayConfig: Readonly<Record<string, unknown>>; readonly metrics: WorkerMetrics | null },
): WorkerProgram[] {
  const programs: WorkerProgram[] = [
    ...dataTierPrograms({
      referrerFields: storedReferrerFields,
      sizeFields: storedSizeFields,
      sql: side.dal.sql,
      dal: side.dal,
      storage: side.storage,
      log: o.log,
      quayConfig: o.quayConfig,
      metrics: o.metrics,
    }),
    {
      // Quay's blobuploadcleanupworker: upload sessions older than BLOBUPLOAD_DELETION_DATE_THRESHOLD, with their partial objects.
      program: 'blobuploadcleanupworker',
      everyMs: 3600_000,
      run: async (active) => {
        const removed = await side.uploads.cleanupStale(o.staleUploadHours * 3600_000, active);
        return removed > 0 ? { removed, older_than_hours: o.staleUploadHours } : null;
      },
    },
  ];
  // Those whose feature is off idle, as Quay's own would.
  return programs.map((p) => ({ ...p, idle: idleReason(p.program, o.quayConfig) }));
}

/** The go side's options from a runtime config (`quay serve`, `quay worker`). */
export function goSideOptions(c: RuntimeConfig, log: Logger, metrics: RegistryMetrics | null): GoSideOptions {
  return {
    dataDir: c.dataDir,
    log,
    databaseFile: c.databaseFile,
    databaseUri: c.databaseUri,
    storageDir: c.storage.path,
    storageLocation: c.storage.location,
    libraryNamespace: c.libraryNamespace,
    librarySupport: c.librarySupport,
    maxBlobBytes: c.maxBlobBytes,
    tempTagSeconds: c.tempTagSeconds,
    auth: c.auth,
    maxUploadsPerClient: c.maxUploadsPerClient,
    trustedProxies: c.trustedProxies,
    instanceKey: { ...c.instanceKey, name: `${c.auth.urlScheme}://${c.auth.serverHostname}` },
    ...(metrics ? { metrics } : {}),
    mode: c.mode,
    quayKeys: c.effective,
    quayConfig: c.quayConfig,
    configFile: c.configFile,
    activity: c.activity,
  };
}

export interface RuntimeOptions {
  readonly config: RuntimeConfig;
  readonly log: Logger;
  readonly listen: { readonly host: string; readonly port: number };
  readonly tls: TlsMaterial | null;
  /** Admin listener; null for none (embedded). */
  readonly adminListen: { readonly host: string; readonly port: number } | null;
  /** Quay's BLOBUPLOAD_DELETION_DATE_THRESHOLD, hours. */
  readonly staleUploadHours?: number;
  /** Collect registryd_ metrics (default true). */
  readonly metrics?: boolean;
  /** The live snapshot that says which background programs go runs (WORKER_OWNER_<PROGRAM>); default the inventory's defaults, where python runs them all. */
  readonly snapshots?: SnapshotSource;
}

export interface Runtime {
  readonly side: GoSide;
  readonly metrics: RegistryMetrics | null;
  readonly workers: WorkerRunner;
  /** The surfaces' listener address. */
  readonly address: { readonly host: string; readonly port: number };
  readonly adminPort: number | null;
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRuntime(o: RuntimeOptions): Promise<Runtime> {
  const c = o.config;
  const metrics = o.metrics === false ? null : new RegistryMetrics();
  const side = await openGoSide(goSideOptions(c, o.log, metrics));
  let workers: WorkerRunner;
  try {
    const workerLog = o.log.child({ component: 'workers' });
    const workerMetrics = metrics ? new WorkerMetrics(metrics.registry) : null;
    workers = new WorkerRunner(
      o.snapshots ?? fixedSnapshots(),
      goSidePrograms(side, { staleUploadHours: o.staleUploadHours ?? 48, log: workerLog, quayConfig: c.quayConfig, metrics: workerMetrics }),
      workerLog,
      workerMetrics,
    );
  } catch (e) {
    await side.close();
    throw e;
  }
  const readiness = JSON.stringify(side.readiness);
  const server = createRegistryServer(side.handler, o.tls);
  let ready = false;
  const admin = o.adminListen
    ? createAdminServer({
        intercept: (req, res) => {
          if (!isWellKnownPath(req.url ?? '/')) return false;
          sendReadiness(req, res, readiness);
          return true;
        },
        routes: {
          ...(metrics ? { '/metrics': metricsRoute(metrics.registry) } : {}),
          '/healthz': (_req, send) => send(200, 'application/json', JSON.stringify({ status: 'ok' })),
          '/readyz': (_req, send) => {
            // Ready when listening and the database answers.
            let db = true;
            side.store
              .listRepositories({ n: 1 })
              .catch(() => {
                db = false;
              })
              .finally(() => {
                const ok = ready && db;
                send(ok ? 200 : 503, 'application/json', JSON.stringify({ status: ok ? 'ready' : 'not ready', listening: ready, database: db, workers: workers.states() }));
              });
          },
        },
        notFound: () => 'not found: try /metrics, /healthz, /readyz or /.well-known/switchboard\n',
      })
    : null;
  let port: number;
  let adminPort: number | null = null;
  try {
    port = await listenOn(server, o.listen.host, o.listen.port);
    if (admin && o.adminListen) adminPort = await listenOn(admin, o.adminListen.host, o.adminListen.port);
  } catch (e) {
    server.close();
    admin?.close();
    await side.close();
    throw e;
  }
  ready = true;
  workers.start();
  return {
    side,
    metrics,
    workers,
    address: { host: o.listen.host, port },
    adminPort,
    url: localUrl(o.tls ? 'https' : 'http', o.listen.host, port),
    async stop(): Promise<void> {
      ready = false;
      await workers.stop();
      // Stop accepting; idle keep-alive connections go now, busy ones when their response ends.
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections();
      });
      if (admin) {
        admin.closeAllConnections();
        await new Promise<void>((r) => admin.close(() => r()));
      }
      await side.close();
    },
  };
}
