/**
 * When Quay's own worker process would do nothing: the feature flags (and the
 * few other settings) each program's `__main__` checks before it starts, read
 * from Quay's workers/. A program whose gate is closed idles, as Quay's do
 * (they sleep for ever); `quay worker` says why, and `quay serve` does not
 * schedule it.
 */

interface Gate {
  /** FEATURE_ keys that must all be on, with Quay's defaults (config.py). */
  readonly features: readonly (readonly [string, boolean])[];
  /** Another condition, with the reason it gives when it fails. */
  readonly extra?: (cfg: Readonly<Record<string, unknown>>) => string | null;
}

const storageEngines = (cfg: Readonly<Record<string, unknown>>): string[] => {
  const dsc = cfg.DISTRIBUTED_STORAGE_CONFIG;
  if (dsc === null || typeof dsc !== 'object') return ['LocalStorage'];
  return Object.values(dsc as Record<string, unknown>).map((v) => (Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '?'));
};

/** Quay's collectors sleep while pushes are disabled (DISABLE_PUSHES): nothing they delete is being written. */
const pushesDisabled = (cfg: Readonly<Record<string, unknown>>): string | null => (cfg.DISABLE_PUSHES === true ? 'DISABLE_PUSHES is on' : null);

const GATES: Readonly<Record<string, Gate>> = {
  autopruneworker: { features: [['FEATURE_AUTO_PRUNE', false]] },
  builder: { features: [['FEATURE_BUILD_SUPPORT', true]] },
  chunkcleanupworker: {
    features: [],
    extra: (cfg) => (storageEngines(cfg).includes('SwiftStorage') ? null : 'no SwiftStorage in DISTRIBUTED_STORAGE_CONFIG (only Swift uploads leave chunks to clean)'),
  },
  exportactionlogsworker: { features: [['FEATURE_LOG_EXPORT', true]] },
  expiredappspecifictokenworker: { features: [['FEATURE_APP_SPECIFIC_TOKENS', true]] },
  gcworker: { features: [['FEATURE_GARBAGE_COLLECTION', true]], extra: pushesDisabled },
  globalpromstats: {
    features: [],
    // Quay's default config names a local pushgateway; only a config that empties it idles the program.
    extra: (cfg) => (Object.hasOwn(cfg, 'PROMETHEUS_PUSHGATEWAY_URL') && !cfg.PROMETHEUS_PUSHGATEWAY_URL ? 'PROMETHEUS_PUSHGATEWAY_URL is not set' : null),
  },
  logrotateworker: { features: [['FEATURE_ACTION_LOG_ROTATION', false]] },
  manifestbackfillworker: { features: [['FEATURE_MANIFEST_SIZE_BACKFILL', true]] },
  manifestsubjectbackfillworker: { features: [['FEATURE_MANIFEST_SUBJECT_BACKFILL', true]] },
  namespacegcworker: { features: [['FEATURE_NAMESPACE_GARBAGE_COLLECTION', true]], extra: pushesDisabled },
  proxycacheblobworker: {
    features: [
      ['FEATURE_PROXY_CACHE', false],
      ['FEATURE_PROXY_CACHE_BLOB_DOWNLOAD', true],
    ],
  },
  pullstatsredisflushworker: {
    features: [['FEATURE_IMAGE_PULL_STATS', false]],
    // Quay's default config sets it (a local redis); only a config that empties it idles the program.
    extra: (cfg) => (Object.hasOwn(cfg, 'PULL_METRICS_REDIS') && !cfg.PULL_METRICS_REDIS ? 'PULL_METRICS_REDIS is not set' : null),
  },
  quotaregistrysizeworker: {
    features: [['FEATURE_QUOTA_MANAGEMENT', false]],
    // Quay: the size is only shown to superusers, so it is not computed when none can see it.
    extra: (cfg) => {
      const superUsersFeature = Object.hasOwn(cfg, 'FEATURE_SUPER_USERS') ? cfg.FEATURE_SUPER_USERS === true : true;
      const listed = Array.isArray(cfg.SUPER_USERS) ? cfg.SUPER_USERS.length : 0;
      return superUsersFeature || listed === 0 || Boolean(cfg.LDAP_SUPERUSER_FILTER) ? null : 'superusers are off (FEATURE_SUPER_USERS) and SUPER_USERS is not empty';
    },
  },
  quotatotalworker: {
    features: [['FEATURE_QUOTA_MANAGEMENT', false]],
    extra: (cfg) => (cfg.QUOTA_BACKFILL === false ? 'QUOTA_BACKFILL is off' : null),
  },
  reconciliationworker: { features: [['FEATURE_ENTITLEMENT_RECONCILIATION', false]] },
  repomirrorworker: { features: [['FEATURE_REPO_MIRROR', false]] },
  repositoryactioncounter: { features: [['FEATURE_REPOSITORY_ACTION_COUNTER', true]] },
  repositorygcworker: { features: [['FEATURE_REPOSITORY_GARBAGE_COLLECTION', true]], extra: pushesDisabled },
  securityworker: { features: [['FEATURE_SECURITY_SCANNER', false]] },
  securityscanningnotificationworker: {
    features: [
      ['FEATURE_SECURITY_SCANNER', false],
      ['FEATURE_SECURITY_NOTIFICATIONS', false],
    ],
  },
  storagereplication: {
    features: [['FEATURE_STORAGE_REPLICATION', false]],
    extra: (cfg) => (storageEngines(cfg).includes('LocalStorage') ? 'a LocalStorage location is configured (Quay does not replicate with local storage)' : null),
  },
  teamsyncworker: { features: [['FEATURE_TEAM_SYNCING', false]] },
};

/** Why Quay's worker for `program` would idle under this config, or null when it would run. */
export function idleReason(program: string, cfg: Readonly<Record<string, unknown>>): string | null {
  if (cfg.ACCOUNT_RECOVERY_MODE === true) return 'ACCOUNT_RECOVERY_MODE is on';
  const gate = GATES[program];
  if (!gate) return null;
  for (const [key, fallback] of gate.features) {
    const on = Object.hasOwn(cfg, key) ? cfg[key] === true : fallback;
    if (!on) return `${key} is off`;
  }
  return gate.extra?.(cfg) ?? null;
}
