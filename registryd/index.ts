/**
 * registryd as other components use it: `openRegistry()` wires a metadata
 * store, a storage driver, the services and the auth layer into a request
 * handler.
 *
 * Data directory layout (mirror mode):
 *   <data-dir>/quay.db       SQLite database in Quay's table layout
 *   <data-dir>/storage/      blob storage in Quay's layout (storage/paths.ts)
 *   <data-dir>/quay.pem      the instance's token-signing key (quay.kid: its kid)
 */
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import type { Logger } from '../lib/log.js';
import { SqliteMetadataStore } from './metadata/sqlite/store.js';
import { SqliteAuthStore } from './metadata/sqlite/auth-store.js';
import { PgMetadataStore } from './metadata/postgres/store.js';
import type { MetadataStore, QuotaAccounting } from './metadata/store.js';
import type { AuthStore } from './metadata/auth-store.js';
import { LocalStorage } from './storage/local.js';
import type { StorageDriver } from './storage/driver.js';
import { RegistryService, type RegistrySettings } from './service/registry.js';
import { UploadService, type UploadSettings } from './service/uploads.js';
import { DEFAULT_MAX_UPLOADS_PER_CLIENT, DEFAULT_UPLOAD_IDLE_MS } from './service/upload-slots.js';
import { createRegistryHandler } from './http/server.js';
import { ClientAddresses } from '../lib/client-address.js';
import { AuthService, type AuthSettings } from './auth/auth-service.js';
import { loadOrCreateInstanceKey, type InstanceKey } from './auth/instance-key.js';
import type { RegistryMetrics } from './metrics.js';
import { readinessDocument, type ReadinessDocument } from './capabilities.js';
import { ActivityLog, DEFAULT_ACTIVITY, type ActivitySettings } from './service/activity.js';
import { IpResolver } from './service/ip-resolver.js';

export { RegistryError, OCI_ERRORS, type OciErrorCode } from './oci-errors.js';
export type { MetadataStore } from './metadata/store.js';
export type { AuthStore } from './metadata/auth-store.js';
export type { StorageDriver } from './storage/driver.js';
export type { AuthSettings } from './auth/auth-service.js';
export { WELL_KNOWN_PATH, CLAIMED_CAPABILITIES, type ReadinessDocument } from './capabilities.js';
export { DEFAULT_MAX_UPLOADS_PER_CLIENT } from './service/upload-slots.js';

export interface RegistryOptions {
  readonly dataDir: string;
  readonly log: Logger;
  /** SQLite file (default <dataDir>/quay.db). */
  readonly databaseFile?: string;
  /** A postgresql:// URI: Quay's PostgreSQL instead of SQLite (the schema is laid down on an empty database, checked otherwise). */
  readonly databaseUri?: string | null;
  /** Local storage root (default <dataDir>/storage). */
  readonly storageDir?: string;
  /** imagestoragelocation name of the storage (DISTRIBUTED_STORAGE_PREFERENCE[0]). */
  readonly storageLocation?: string;
  readonly libraryNamespace?: string;
  readonly maxBlobBytes?: number;
  /** PUSH_TEMP_TAG_EXPIRATION_SEC. */
  readonly tempTagSeconds?: number;
  /** MAXIMUM_UPLOADS_PER_CLIENT: upload sessions in progress one client may hold (default 100). */
  readonly maxUploadsPerClient?: number;
  /** How long a session goes without a request before its client's next start may take its slot (default 15 minutes). */
  readonly uploadIdleMs?: number;
  /** TRUSTED_PROXIES: addresses and ranges whose X-Forwarded-For names the client (default none). */
  readonly trustedProxies?: readonly string[];
  /** Auth settings over the anonymous defaults. */
  readonly auth?: Partial<AuthSettings>;
  readonly instanceKey?: { readonly keyFile?: string; readonly kidFile?: string; readonly expirationMinutes?: number; readonly name?: string };
  readonly now?: () => number;
  readonly metrics?: RegistryMetrics;
  /** The runtime's mode, for the readiness document (default mirror: SQLite and local storage, as `registryd serve`). */
  readonly mode?: string;
  /** The config's Quay keys: those in capabilities.ts WITHDRAWALS withdraw claims when set otherwise than Quay's default. */
  readonly quayKeys?: Readonly<Record<string, unknown>>;
  /** Action logs, notifications and quota totals (quay/config.ts reads the Quay keys); default Quay's defaults. */
  readonly activity?: ActivityOptions;
}

/** What a runtime records besides content (service/activity.ts), over Quay's defaults. */
export type ActivityOptions = Partial<Omit<ActivitySettings, 'serverHostname' | 'urlScheme'>> & {
  /** FEATURE_QUOTA_MANAGEMENT / QUOTA_INVALIDATE_TOTALS (default `invalidate`). */
  readonly quota?: QuotaAccounting;
  /** AWS_IP_RANGES_FILE: AWS's ip-ranges.json, as Quay ships it, for `resolved_ip` (default none). */
  readonly awsIpRangesFile?: string | null;
};

export interface Registry {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly store: MetadataStore;
  readonly authStore: AuthStore;
  readonly auth: AuthService;
  readonly storage: StorageDriver;
  readonly uploads: UploadService;
  readonly instanceKey: InstanceKey;
  /** What GET /.well-known/switchboard answers (capabilities.ts). */
  readonly readiness: ReadinessDocument;
  close(): Promise<void>;
}

/** Quay's MAXIMUM_LAYER_SIZE default (20G). */
export const DEFAULT_MAX_BLOB_BYTES = 20 * 1024 ** 3;

export const DEFAULT_AUTH: AuthSettings = {
  mode: 'anonymous', serverHostname: 'localhost', urlScheme: 'http', service: 'quay', maxFreshSeconds: 3660,
  anonymousAccess: true, appSpecificTokens: true, publicCatalog: false, createNamespaceOnPush: false, createPrivateRepoOnPush: true,
  superUsers: [], superUsersFullAccess: false, globalReadonlySuperUsers: [], libraryNamespace: 'library', databaseSecretKey: null,
};

/**
 * The metadata and auth stores on PostgreSQL (a postgresql:// URI) or SQLite
 * (a file, its directory made when missing); Quay's schema is laid down on an
 * empty database and checked otherwise.
 */
export async function openMetadata(o: { readonly databaseUri: string | null; readonly databaseFile: string; readonly storageLocation: string }): Promise<{ store: MetadataStore; authStore: AuthStore }> {
  if (o.databaseUri) {
    const pg = await PgMetadataStore.open(o.databaseUri, { storageLocations: [o.storageLocation] });
    return { store: pg.metadata, authStore: pg.auth };
  }
  mkdirSync(dirname(o.databaseFile), { recursive: true });
  const sqlite = new SqliteMetadataStore(o.databaseFile);
  return { store: sqlite, authStore: new SqliteAuthStore(sqlite.db) };
}

export async function openRegistry(o: RegistryOptions): Promise<Registry> {
  const storageDir = o.storageDir ?? join(o.dataDir, 'storage');
  mkdirSync(storageDir, { recursive: true });
  const { store, authStore } = await openMetadata({ databaseUri: o.databaseUri ?? null, databaseFile: o.databaseFile ?? join(o.dataDir, 'quay.db'), storageLocation: o.storageLocation ?? 'local_us' });
  const storage = new LocalStorage(storageDir, o.storageLocation);
  const now = o.now ?? Date.now;
  const libraryNamespace = o.libraryNamespace ?? 'library';
  const auth: AuthSettings = { ...DEFAULT_AUTH, libraryNamespace, ...o.auth };
  let instanceKey: InstanceKey;
  try {
    instanceKey = await loadOrCreateInstanceKey(authStore, {
      service: auth.service,
      keyFile: o.instanceKey?.keyFile ?? join(o.dataDir, 'quay.pem'),
      kidFile: o.instanceKey?.kidFile ?? join(o.dataDir, 'quay.kid'),
      expirationMinutes: o.instanceKey?.expirationMinutes ?? 120,
      name: o.instanceKey?.name ?? `${auth.urlScheme}://${auth.serverHostname}`,
    }, o.log, now);
  } catch (e) {
    await store.close();
    throw e;
  }
  const registrySettings: RegistrySettings = {
    // With database auth a repository is made by /v2/auth (push scope); the upload start only finds it.
    createOnPush: auth.mode === 'anonymous', createVisibility: 'public', tempTagSeconds: o.tempTagSeconds ?? 3600, maxManifestBytes: 4 * 1024 * 1024,
    quota: o.activity?.quota ?? 'invalidate', now,
  };
  const uploadSettings: UploadSettings = {
    maxBlobBytes: o.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES, linkExpirySeconds: 3600, now,
    slots: { perClient: o.maxUploadsPerClient ?? DEFAULT_MAX_UPLOADS_PER_CLIENT, idleMs: o.uploadIdleMs ?? DEFAULT_UPLOAD_IDLE_MS },
  };
  let ips: IpResolver;
  try {
    ips = IpResolver.fromFile(o.activity?.awsIpRangesFile ?? null);
  } catch (e) {
    instanceKey.stop();
    await store.close();
    throw new Error(`AWS_IP_RANGES_FILE: ${(e as Error).message}`);
  }
  const { quota: _quota, awsIpRangesFile: _file, ...activitySettings } = o.activity ?? {};
  const activity = new ActivityLog({
    store, users: authStore, ips, log: o.log, now,
    settings: { ...DEFAULT_ACTIVITY, ...activitySettings, serverHostname: auth.serverHostname, urlScheme: auth.urlScheme },
  });
  const svc = new RegistryService(store, storage, registrySettings, activity);
  const uploads = new UploadService(store, storage, uploadSettings);
  const authService = new AuthService(auth, authStore, store, instanceKey, o.log, now, o.metrics, {
    loggedIn: (p, client) => activity.loggedIn(p, client.address, client.userAgent ?? ''),
    loginFailed: (f, client) => activity.loginFailed(f.account, f.performerId, f.metadata, client.address),
  });
  const readiness = readinessDocument({
    mode: o.mode ?? 'mirror', quayKeys: o.quayKeys ?? {},
    settings: {
      authenticationType: auth.mode === 'database' ? 'Database' : 'Anonymous', anonymousAccess: auth.anonymousAccess, appSpecificTokens: auth.appSpecificTokens,
      publicCatalog: auth.publicCatalog, superUsersFullAccess: auth.superUsersFullAccess, createNamespaceOnPush: auth.createNamespaceOnPush,
      createPrivateRepoOnPush: auth.createPrivateRepoOnPush, libraryNamespace, quotaManagement: registrySettings.quota === 'count',
      audit: { logins: activitySettings.auditLogins ?? true, loginFailures: activitySettings.auditLoginFailures ?? false, ...(activitySettings.auditFailures ?? { pull: false, push: false, delete: false }) },
    },
  });
  const handler = createRegistryHandler({
    svc, uploads, settings: { libraryNamespace, clients: new ClientAddresses(o.trustedProxies) }, auth: authService, log: o.log, readiness: JSON.stringify(readiness), ...(o.metrics ? { metrics: o.metrics } : {}),
  });
  return {
    handler, store, authStore, auth: authService, storage, uploads, instanceKey, readiness,
    close: async () => { instanceKey.stop(); await store.close(); },
  };
}
