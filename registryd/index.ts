/**
 * registryd: Quay's /v2 surface over the data tier the runtime opened
 * (quay/runtime.ts is the composition root: it opens the DAL, storage and
 * auth once and hands them here). `createRegistry()` builds the registry and
 * upload services and the /v2 request handler.
 */
import type { Logger } from '../lib/log.js';
import { QUAY_DEFAULTS } from '../owner-maps/quay-defaults.js';
import { ClientAddresses } from '../lib/client-address.js';
import type { Dal } from '../dal/index.js';
import type { QuotaAccounting } from '../dal/model/store.js';
import type { StorageDriver } from '../storage/driver.js';
import { RegistryService, type RegistrySettings } from './service/registry.js';
import { UploadService, type UploadSettings } from './service/uploads.js';
import { DEFAULT_MAX_UPLOADS_PER_CLIENT, DEFAULT_UPLOAD_IDLE_MS } from './service/upload-slots.js';
import { createV2Surface, type V2Surface } from './http/server.js';
import type { AuthService, AuthSettings } from './auth/auth-service.js';
import type { RegistryMetrics } from './metrics/metrics.js';
import type { ActivityLog, ActivitySettings } from './service/activity.js';

export { RegistryError, OCI_ERRORS, type OciErrorCode } from './oci/errors.js';
export type { MetadataStore } from '../dal/model/store.js';
export type { AuthStore } from '../dal/model/auth-store.js';
export type { StorageDriver } from '../storage/driver.js';
export type { AuthSettings } from './auth/auth-service.js';
export { DEFAULT_MAX_UPLOADS_PER_CLIENT } from './service/upload-slots.js';
export { storedReferrerFields, storedSizeFields } from './content/manifest.js';

/** What a runtime records besides content (service/activity.ts), over Quay's defaults. */
export type ActivityOptions = Partial<Omit<ActivitySettings, 'serverHostname' | 'urlScheme'>> & {
  /** FEATURE_QUOTA_MANAGEMENT / QUOTA_INVALIDATE_TOTALS (default `invalidate`). */
  readonly quota?: QuotaAccounting;
  /** AWS_IP_RANGES_FILE: AWS's ip-ranges.json, as Quay ships it, for `resolved_ip` (default none). */
  readonly awsIpRangesFile?: string | null;
};

/** Quay's MAXIMUM_LAYER_SIZE default (20G). */
export const DEFAULT_MAX_BLOB_BYTES = 20 * 1024 ** 3;

const Q = QUAY_DEFAULTS;

/** Auth with Quay's defaults, in anonymous mode (no login: the tests' and `registryd serve`'s default). */
export const DEFAULT_AUTH: AuthSettings = {
  mode: 'anonymous',
  serverHostname: 'localhost',
  urlScheme: Q.PREFERRED_URL_SCHEME,
  service: Q.INSTANCE_SERVICE_KEY_SERVICE,
  maxFreshSeconds: Q.REGISTRY_JWT_AUTH_MAX_FRESH_S,
  anonymousAccess: Q.FEATURE_ANONYMOUS_ACCESS,
  appSpecificTokens: Q.FEATURE_APP_SPECIFIC_TOKENS,
  publicCatalog: Q.FEATURE_PUBLIC_CATALOG,
  createNamespaceOnPush: Q.CREATE_NAMESPACE_ON_PUSH,
  createPrivateRepoOnPush: Q.CREATE_PRIVATE_REPO_ON_PUSH,
  superUsers: Q.SUPER_USERS,
  superUsersFullAccess: Q.FEATURE_SUPERUSERS_FULL_ACCESS,
  globalReadonlySuperUsers: Q.GLOBAL_READONLY_SUPER_USERS,
  libraryNamespace: Q.LIBRARY_NAMESPACE,
  databaseSecretKey: null,
};

/** The registry's own settings (Quay's keys, read by quay/config.ts). */
export interface RegistrySurfaceSettings {
  /** LIBRARY_NAMESPACE. */
  readonly libraryNamespace: string;
  /** FEATURE_LIBRARY_SUPPORT: one-segment repository paths are served (in LIBRARY_NAMESPACE); off, they match no route, as in Quay. */
  readonly librarySupport: boolean;
  readonly maxBlobBytes: number;
  /** PUSH_TEMP_TAG_EXPIRATION_SEC. */
  readonly tempTagSeconds: number;
  /** MAXIMUM_UPLOADS_PER_CLIENT. */
  readonly maxUploadsPerClient: number;
  /** How long a session goes without a request before its client's next start may take its slot. */
  readonly uploadIdleMs: number;
  /** TRUSTED_PROXIES. */
  readonly trustedProxies: readonly string[];
  readonly quota: QuotaAccounting;
}

export const DEFAULT_REGISTRY_SETTINGS: RegistrySurfaceSettings = {
  libraryNamespace: Q.LIBRARY_NAMESPACE,
  librarySupport: Q.FEATURE_LIBRARY_SUPPORT,
  maxBlobBytes: DEFAULT_MAX_BLOB_BYTES,
  tempTagSeconds: Q.PUSH_TEMP_TAG_EXPIRATION_SEC,
  maxUploadsPerClient: Q.MAXIMUM_UPLOADS_PER_CLIENT,
  uploadIdleMs: DEFAULT_UPLOAD_IDLE_MS,
  trustedProxies: [],
  quota: 'invalidate',
};

export interface RegistryDeps {
  readonly dal: Dal;
  readonly storage: StorageDriver;
  readonly auth: AuthService;
  readonly activity: ActivityLog;
  readonly log: Logger;
  readonly now: () => number;
  readonly settings: RegistrySurfaceSettings;
  readonly metrics?: RegistryMetrics;
}

export interface RegistrySurface {
  /** The /v2 route records and how they are served, for the go side's router (quay/router.ts). */
  readonly surface: V2Surface;
  readonly svc: RegistryService;
  readonly uploads: UploadService;
}

export function createRegistry(d: RegistryDeps): RegistrySurface {
  const s = d.settings;
  const registrySettings: RegistrySettings = {
    // With database auth a repository is made by /v2/auth (push scope); the upload start only finds it.
    createOnPush: !d.auth.enabled,
    createVisibility: 'public',
    tempTagSeconds: s.tempTagSeconds,
    maxManifestBytes: 4 * 1024 * 1024,
    quota: s.quota,
    now: d.now,
  };
  const uploadSettings: UploadSettings = {
    maxBlobBytes: s.maxBlobBytes,
    linkExpirySeconds: 3600,
    now: d.now,
    slots: { perClient: s.maxUploadsPerClient, idleMs: s.uploadIdleMs },
  };
  const svc = new RegistryService(d.dal.metadata, d.storage, registrySettings, d.activity);
  const uploads = new UploadService(d.dal.metadata, d.storage, uploadSettings);
  const surface = createV2Surface({
    svc,
    uploads,
    settings: { libraryNamespace: s.libraryNamespace, clients: new ClientAddresses(s.trustedProxies) },
    auth: d.auth,
    log: d.log,
    ...(d.metrics ? { metrics: d.metrics } : {}),
  });
  return { surface, svc, uploads };
}
