/**
 * Quay's defaults (config.py DefaultConfig, features' defaults) for the keys
 * this project reads, written once: the switchboard's route matching
 * (FEATURE_LIBRARY_SUPPORT, LIBRARY_NAMESPACE), the go runtime's config
 * presets (quay/config.ts), the registry's and auth's defaults
 * (registryd/index.ts) and the readiness document's features all read them
 * from here. A mode preset that differs from Quay (mirror mode's anonymous
 * pushes, say) is the preset's to say, not this table's.
 */
export const QUAY_DEFAULTS = Object.freeze({
  PREFERRED_URL_SCHEME: 'http',
  FEATURE_ANONYMOUS_ACCESS: true,
  FEATURE_APP_SPECIFIC_TOKENS: true,
  FEATURE_PUBLIC_CATALOG: false,
  FEATURE_SUPERUSERS_FULL_ACCESS: false,
  FEATURE_LIBRARY_SUPPORT: true,
  LIBRARY_NAMESPACE: 'library',
  SUPER_USERS: [] as readonly string[],
  GLOBAL_READONLY_SUPER_USERS: [] as readonly string[],
  CREATE_NAMESPACE_ON_PUSH: false,
  CREATE_PRIVATE_REPO_ON_PUSH: true,
  INSTANCE_SERVICE_KEY_SERVICE: 'quay',
  /** Minutes. */
  INSTANCE_SERVICE_KEY_EXPIRATION: 120,
  REGISTRY_JWT_AUTH_MAX_FRESH_S: 3660,
  PUSH_TEMP_TAG_EXPIRATION_SEC: 3600,
  MAXIMUM_LAYER_SIZE: '20G',
  /** Not a Quay key: Quay has no bound on upload sessions per client (this runtime's own). */
  MAXIMUM_UPLOADS_PER_CLIENT: 100,
  TRUSTED_PROXIES: [] as readonly string[],
  ACTION_LOG_AUDIT_LOGINS: true,
  ACTION_LOG_AUDIT_LOGIN_FAILURES: false,
  ACTION_LOG_AUDIT_PULL_FAILURES: false,
  ACTION_LOG_AUDIT_PUSH_FAILURES: false,
  ACTION_LOG_AUDIT_DELETE_FAILURES: false,
  FEATURE_QUOTA_MANAGEMENT: false,
});
