/**
 * The `quay` runtime's config: Quay's own config.yaml keys (the ones this
 * runtime reads), the mode presets of DESIGN §6, and every problem reported
 * with its key and line. Keys this runtime does not read (Python Quay has
 * hundreds) pass through untouched, as do the MIGRATION and SWITCHBOARD
 * sections, so one config.yaml serves Python Quay, this runtime and the
 * switchboard alike.
 *
 * Presets (a key set in the file wins over its preset):
 *   mirror      SQLite + local storage under --data-dir, AUTHENTICATION_TYPE Anonymous
 *               (a Switchboard extension: no login, everyone pulls and pushes), in-memory cache,
 *               self-signed TLS kept in --data-dir/tls
 *   standalone  PostgreSQL + local or S3 storage + database users + Redis
 *   full        as standalone, services split into processes
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { readYamlWithLines } from '../lib/yaml-lines.js';
import { z } from 'zod';
import type { AuthSettings } from '../registryd/auth/auth-service.js';
import { parseAddressRange } from '../lib/client-address.js';
import { QUAY_DEFAULTS } from '../owner-maps/quay-defaults.js';
import type { ActivityOptions } from '../registryd/index.js';
import { quayQueueName } from '../dal/portable/quay-queues.js';

export const MODES = ['mirror', 'standalone', 'full'] as const;
export type Mode = (typeof MODES)[number];

export interface ConfigProblem {
  readonly key: string;
  readonly line?: number;
  readonly message: string;
}

const bool = z.boolean({ error: (i) => `${JSON.stringify(i.input)} is not true or false` });
const names = z.array(z.string().min(1), { error: 'must be a list of names' });
const posInt = z
  .number({ error: (i) => `${JSON.stringify(i.input)} is not a number` })
  .int({ error: 'must be a whole number' })
  .positive({ error: 'must be positive' });

/** Quay's size strings (MAXIMUM_LAYER_SIZE: "20G"). */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$/i.exec(text);
  if (!m) return null;
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  return Math.floor(Number(m[1]) * mult);
}

const storageEntry = z.tuple([z.string({ error: 'driver name must be a string, e.g. LocalStorage' }), z.record(z.string(), z.unknown())], {
  error: 'each entry is [DriverName, {parameters}], e.g. [LocalStorage, {storage_path: /datastorage/registry}]',
});

/** The keys this runtime reads, with Quay's names and types. */
export const quayKeysSchema = z.looseObject({
  SERVER_HOSTNAME: z.string({ error: 'must be a host name, with :port when not 443/80' }).min(1).optional(),
  PREFERRED_URL_SCHEME: z.enum(['http', 'https'], { error: 'must be http or https' }).optional(),
  DATABASE_SECRET_KEY: z.union([z.string().min(1), z.number().int()], { error: 'must be a non-empty string (Quay generates a UUID)' }).optional(),
  DB_URI: z
    .string({ error: 'must be a database URI' })
    .regex(/^[a-z][a-z0-9+]*:\/\//, { error: 'must be a URI such as sqlite:////data/quay.db or postgresql://user@host/quay' })
    .optional(),
  DISTRIBUTED_STORAGE_CONFIG: z.record(z.string(), storageEntry, { error: 'must map location names to [Driver, {parameters}]' }).optional(),
  DISTRIBUTED_STORAGE_PREFERENCE: names.min(1, { error: 'must name at least one location' }).optional(),
  AUTHENTICATION_TYPE: z
    .enum(['Database', 'Anonymous', 'LDAP', 'JWT', 'Keystone', 'OIDC', 'AppToken'], {
      error: 'must be Database or Anonymous (LDAP, JWT, Keystone, OIDC and AppToken are Quay values this runtime does not serve yet)',
    })
    .optional(),
  FEATURE_ANONYMOUS_ACCESS: bool.optional(),
  FEATURE_APP_SPECIFIC_TOKENS: bool.optional(),
  FEATURE_PUBLIC_CATALOG: bool.optional(),
  FEATURE_SUPERUSERS_FULL_ACCESS: bool.optional(),
  FEATURE_LIBRARY_SUPPORT: bool.optional(),
  SUPER_USERS: names.optional(),
  GLOBAL_READONLY_SUPER_USERS: names.optional(),
  CREATE_NAMESPACE_ON_PUSH: bool.optional(),
  CREATE_PRIVATE_REPO_ON_PUSH: bool.optional(),
  LIBRARY_NAMESPACE: z.string().min(1).optional(),
  INSTANCE_SERVICE_KEY_SERVICE: z
    .string()
    .regex(/^[a-z0-9_]+$/, { error: 'must be lowercase letters, digits and _' })
    .optional(),
  INSTANCE_SERVICE_KEY_LOCATION: z.string().min(1).optional(),
  INSTANCE_SERVICE_KEY_KID_LOCATION: z.string().min(1).optional(),
  INSTANCE_SERVICE_KEY_EXPIRATION: posInt.optional(),
  REGISTRY_JWT_AUTH_MAX_FRESH_S: posInt.optional(),
  PUSH_TEMP_TAG_EXPIRATION_SEC: posInt.optional(),
  MAXIMUM_LAYER_SIZE: z
    .string()
    .refine((s) => parseSize(s) !== null, { error: 'must be a size such as 20G or 512M' })
    .optional(),
  DATA_MODEL_CACHE_CONFIG: z.looseObject({ engine: z.enum(['inmemory', 'redis', 'memcached'], { error: 'engine must be inmemory, redis or memcached' }) }).optional(),
  // What /v2 calls record besides content (registryd/service/activity.ts): action logs and quota totals.
  ACTION_LOG_AUDIT_LOGINS: bool.optional(),
  ACTION_LOG_AUDIT_LOGIN_FAILURES: bool.optional(),
  ACTION_LOG_AUDIT_PUSH_FAILURES: bool.optional(),
  ACTION_LOG_AUDIT_PULL_FAILURES: bool.optional(),
  ACTION_LOG_AUDIT_DELETE_FAILURES: bool.optional(),
  DISABLED_FOR_AUDIT_LOGS: z.array(z.string(), { error: 'must be a list of namespaces' }).optional(),
  DISABLED_FOR_PULL_LOGS: z.array(z.string(), { error: 'must be a list of namespaces' }).optional(),
  SERVICE_LOG_ACCOUNT_ID: posInt.optional(),
  ALLOW_WITHOUT_STRICT_LOGGING: bool.optional(),
  ALLOW_PULLS_WITHOUT_STRICT_LOGGING: bool.optional(),
  QUOTA_INVALIDATE_TOTALS: bool.optional(),
  // Switchboard extensions, not Quay keys (Python Quay ignores them): per-client bounds of /v2 uploads.
  MAXIMUM_UPLOADS_PER_CLIENT: posInt.optional(),
  TRUSTED_PROXIES: z
    .array(
      z.string().refine((s) => parseAddressRange(s) !== null, { error: 'must be an address or a range such as 127.0.0.1 or 10.0.0.0/8' }),
      { error: 'must be a list of addresses or ranges' },
    )
    .optional(),
  // Switchboard extension: AWS's ip-ranges.json (Quay ships one in util/ipresolver/) for action logs' resolved_ip.
  AWS_IP_RANGES_FILE: z.string().min(1).optional(),
  // Keys the runtime behaves as Quay's default for; set otherwise, they withdraw the
  // capability claims quay/capabilities.ts WITHDRAWALS lists (typed here only).
  ACCOUNT_RECOVERY_MODE: bool.optional(),
  REGISTRY_STATE: z.enum(['normal', 'readonly'], { error: 'must be normal or readonly' }).optional(),
  DISABLE_PUSHES: bool.optional(),
  // Read for quota totals; its checks and notifications are not served, so it still withdraws.
  FEATURE_QUOTA_MANAGEMENT: bool.optional(),
  FEATURE_RESTRICTED_USERS: bool.optional(),
  FEATURE_REPO_MIRROR: bool.optional(),
  FEATURE_ORG_MIRROR: bool.optional(),
  LOGS_MODEL: z.string().min(1).optional(),
  NOTIFICATION_QUEUE_NAME: z.string().min(1).optional(),
  FEATURE_DISABLE_PULL_LOGS_FOR_FREE_NAMESPACES: bool.optional(),
  FEATURE_IMAGE_PULL_STATS: bool.optional(),
  FEATURE_USER_LAST_ACCESSED: bool.optional(),
  LAST_ACCESSED_UPDATE_THRESHOLD_S: z.number().int().nonnegative().optional(),
  FEATURE_ADVERTISE_V2: bool.optional(),
  BLACKLIST_V2_SPEC: z.string({ error: 'must be a version spec such as <1.6.0' }).optional(),
  FEATURE_SPARSE_INDEX: bool.optional(),
  FEATURE_REFERRERS_API: bool.optional(),
  V2_PAGINATION_SIZE: posInt.optional(),
  FEATURE_PROXY_CACHE: bool.optional(),
  FEATURE_IMMUTABLE_TAGS: bool.optional(),
  FEATURE_GENERAL_OCI_SUPPORT: bool.optional(),
  FEATURE_STORAGE_REPLICATION: bool.optional(),
});
export type QuayKeys = z.infer<typeof quayKeysSchema>;

/** What `quay serve` runs with, after presets. */
export interface RuntimeConfig {
  readonly mode: Mode;
  readonly dataDir: string;
  readonly databaseFile: string;
  /** PostgreSQL URI (Quay's DB_URI, driver suffix dropped) when the database is PostgreSQL; null for SQLite. */
  readonly databaseUri: string | null;
  readonly storage: { readonly location: string; readonly path: string };
  readonly auth: AuthSettings;
  readonly instanceKey: { readonly keyFile: string; readonly kidFile: string; readonly expirationMinutes: number };
  readonly libraryNamespace: string;
  /** FEATURE_LIBRARY_SUPPORT: one-segment repository paths are served in LIBRARY_NAMESPACE. */
  readonly librarySupport: boolean;
  readonly maxBlobBytes: number;
  readonly tempTagSeconds: number;
  /** MAXIMUM_UPLOADS_PER_CLIENT. */
  readonly maxUploadsPerClient: number;
  /** TRUSTED_PROXIES. */
  readonly trustedProxies: readonly string[];
  readonly cache: 'inmemory' | 'redis' | 'memcached';
  /** Action logs, notifications and quota totals (registryd/service/activity.ts). */
  readonly activity: ActivityOptions;
  /** The effective Quay keys (presets applied), for `quay config print`. */
  readonly effective: Record<string, unknown>;
  /** The config file read (null: none, the mode's presets alone). */
  readonly configFile: string | null;
  /** Every key of the file (those this side does not type too: the API reads SECRET_KEY, FEATURE_ flags, ...), with the effective ones over them. */
  readonly quayConfig: Record<string, unknown>;
}

export type LoadResult =
  { readonly ok: true; readonly config: RuntimeConfig; readonly raw: Record<string, unknown> } | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Presets per mode: Quay keys with their default for that mode. */
export function presets(mode: Mode, dataDir: string): Record<string, unknown> {
  const d = QUAY_DEFAULTS;
  const common = {
    // The runtime's own choices over Quay's defaults: a host and https (the self-signed certificate).
    SERVER_HOSTNAME: 'localhost:8443',
    PREFERRED_URL_SCHEME: 'https',
    FEATURE_ANONYMOUS_ACCESS: d.FEATURE_ANONYMOUS_ACCESS,
    FEATURE_APP_SPECIFIC_TOKENS: d.FEATURE_APP_SPECIFIC_TOKENS,
    FEATURE_PUBLIC_CATALOG: d.FEATURE_PUBLIC_CATALOG,
    FEATURE_SUPERUSERS_FULL_ACCESS: d.FEATURE_SUPERUSERS_FULL_ACCESS,
    FEATURE_LIBRARY_SUPPORT: d.FEATURE_LIBRARY_SUPPORT,
    SUPER_USERS: [...d.SUPER_USERS],
    GLOBAL_READONLY_SUPER_USERS: [...d.GLOBAL_READONLY_SUPER_USERS],
    CREATE_PRIVATE_REPO_ON_PUSH: d.CREATE_PRIVATE_REPO_ON_PUSH,
    LIBRARY_NAMESPACE: d.LIBRARY_NAMESPACE,
    INSTANCE_SERVICE_KEY_SERVICE: d.INSTANCE_SERVICE_KEY_SERVICE,
    INSTANCE_SERVICE_KEY_LOCATION: join(dataDir, 'quay.pem'),
    INSTANCE_SERVICE_KEY_KID_LOCATION: join(dataDir, 'quay.kid'),
    INSTANCE_SERVICE_KEY_EXPIRATION: d.INSTANCE_SERVICE_KEY_EXPIRATION,
    REGISTRY_JWT_AUTH_MAX_FRESH_S: d.REGISTRY_JWT_AUTH_MAX_FRESH_S,
    PUSH_TEMP_TAG_EXPIRATION_SEC: d.PUSH_TEMP_TAG_EXPIRATION_SEC,
    MAXIMUM_LAYER_SIZE: d.MAXIMUM_LAYER_SIZE,
    MAXIMUM_UPLOADS_PER_CLIENT: d.MAXIMUM_UPLOADS_PER_CLIENT,
    TRUSTED_PROXIES: [...d.TRUSTED_PROXIES],
    DISTRIBUTED_STORAGE_CONFIG: { local_us: ['LocalStorage', { storage_path: join(dataDir, 'storage') }] },
    DISTRIBUTED_STORAGE_PREFERENCE: ['local_us'],
  };
  if (mode === 'mirror') {
    return {
      ...common,
      DB_URI: `sqlite:///${join(dataDir, 'quay.db')}`,
      AUTHENTICATION_TYPE: 'Anonymous',
      CREATE_NAMESPACE_ON_PUSH: true,
      DATA_MODEL_CACHE_CONFIG: { engine: 'inmemory' },
    };
  }
  return { ...common, AUTHENTICATION_TYPE: 'Database', CREATE_NAMESPACE_ON_PUSH: d.CREATE_NAMESPACE_ON_PUSH, DATA_MODEL_CACHE_CONFIG: { engine: 'redis' } };
}

/** sqlite:///relative or sqlite:////absolute (SQLAlchemy's form, which Quay's DB_URI uses). */
function sqliteFile(uri: string, base: string): string | null {
  const m = /^sqlite:\/\/\/(.+)$/.exec(uri);
  if (!m) return null;
  return isAbsolute(m[1]!) ? m[1]! : resolve(base, m[1]!);
}

/** Problems in file order (those without a line last), as an operator reads the file. */
function byLine(ps: ConfigProblem[]): ConfigProblem[] {
  return ps
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || a.i - b.i)
    .map((x) => x.p);
}

/** Validate config text for a mode; `file` names it in problems. */
export function loadQuayConfig(text: string, opts: { readonly mode: Mode; readonly dataDir: string; readonly file?: string }): LoadResult {
  const y = readYamlWithLines(text);
  const problems: ConfigProblem[] = [];
  const lineOf = (key: string, sub: (string | number)[] = []): number | undefined => y.lineOf([key, ...sub]);
  if (y.errors.length > 0) return { ok: false, problems: y.errors.map((e) => ({ key: '', line: e.line, message: `YAML: ${e.message}` })) };
  const raw: unknown = y.empty ? {} : y.mapping ? y.values : null;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return { ok: false, problems: [{ key: '', line: 1, message: 'config.yaml must be a mapping of top-level keys' }] };
  // Type errors first; the keys that have them fall back to their preset so every later
  // check still runs on the rest, and one run reports every problem of the file.
  let parsed = quayKeysSchema.safeParse(raw);
  if (!parsed.success) {
    const bad = new Set<string>();
    for (const iss of parsed.error.issues) {
      const key = String(iss.path[0] ?? '');
      bad.add(key);
      const sub = iss.path.slice(1).map((p) => (typeof p === 'number' ? p : String(p)));
      problems.push({ key: [key, ...sub].join('.'), line: lineOf(key, sub), message: iss.message });
    }
    parsed = quayKeysSchema.safeParse(Object.fromEntries(Object.entries(raw).filter(([k]) => !bad.has(k))));
    if (!parsed.success) return { ok: false, problems: byLine(problems) };
  }
  const set = parsed.data as Record<string, unknown>;
  const eff = { ...presets(opts.mode, opts.dataDir), ...Object.fromEntries(Object.entries(set).filter(([k]) => k in quayKeysSchema.shape)) } as Required<QuayKeys> &
    Record<string, unknown>;
  /** A problem at the key's line, or at another key's (a missing key is reported where it is needed). */
  const problem = (key: string, message: string, at = key): void => {
    problems.push({ key, line: lineOf(key) ?? lineOf(at), message });
  };

  // What this build can serve.
  const dbUri = (eff.DB_URI as string | undefined) ?? (opts.mode === 'mirror' ? undefined : null);
  let databaseFile = join(opts.dataDir, 'quay.db');
  let databaseUri: string | null = null;
  if (opts.mode === 'full') problem('', 'full mode (services as separate processes, S3, external auth) is not served by this build yet; use standalone or mirror');
  if (dbUri === null) problem('DB_URI', `${opts.mode} mode needs DB_URI (PostgreSQL, e.g. postgresql://quay@db/quay)`);
  else if (dbUri !== undefined) {
    const f = sqliteFile(dbUri, opts.dataDir);
    if (f) databaseFile = f;
    else if (/^postgres(ql)?(\+\w+)?:\/\//.test(dbUri)) {
      if (opts.mode === 'mirror') problem('DB_URI', 'mirror mode keeps its data in SQLite; use --mode standalone for PostgreSQL');
      else databaseUri = dbUri.replace(/^postgres(ql)?(\+\w+)?:/, 'postgresql:');
    } else problem('DB_URI', `${dbUri.split(':')[0]} databases are not supported; use postgresql://… or sqlite:///FILE`);
  }
  const pref = eff.DISTRIBUTED_STORAGE_PREFERENCE[0]!;
  const entry = eff.DISTRIBUTED_STORAGE_CONFIG[pref];
  let storage = { location: pref, path: join(opts.dataDir, 'storage') };
  if (!entry) problem('DISTRIBUTED_STORAGE_PREFERENCE', `location ${pref} is not in DISTRIBUTED_STORAGE_CONFIG`);
  else if (entry[0] !== 'LocalStorage') problem('DISTRIBUTED_STORAGE_CONFIG', `${pref}: driver ${entry[0]} is not supported by this build yet; use LocalStorage`);
  else if (typeof entry[1].storage_path !== 'string' || entry[1].storage_path === '') problem('DISTRIBUTED_STORAGE_CONFIG', `${pref}: LocalStorage needs storage_path`);
  else storage = { location: pref, path: resolve(opts.dataDir, entry[1].storage_path) };
  const authType = eff.AUTHENTICATION_TYPE;
  if (authType !== 'Database' && authType !== 'Anonymous') problem('AUTHENTICATION_TYPE', `${authType} is not served by this runtime yet; use Database or Anonymous`);
  if (authType === 'Database') {
    if (eff.DATABASE_SECRET_KEY === undefined)
      problem('DATABASE_SECRET_KEY', 'Database authentication needs DATABASE_SECRET_KEY (robot tokens and app-token secrets are encrypted with it)', 'AUTHENTICATION_TYPE');
    if (!('SERVER_HOSTNAME' in set)) problem('SERVER_HOSTNAME', 'Database authentication needs SERVER_HOSTNAME: it is the audience of every registry token', 'AUTHENTICATION_TYPE');
  }
  if (eff.DATA_MODEL_CACHE_CONFIG.engine !== 'inmemory' && opts.mode === 'mirror')
    problem('DATA_MODEL_CACHE_CONFIG', 'mirror mode runs without external services: engine must be inmemory');
  if (problems.length > 0) return { ok: false, problems: byLine(problems) };

  const auth: AuthSettings = {
    mode: authType === 'Database' ? 'database' : 'anonymous',
    serverHostname: eff.SERVER_HOSTNAME,
    urlScheme: eff.PREFERRED_URL_SCHEME,
    service: eff.INSTANCE_SERVICE_KEY_SERVICE,
    maxFreshSeconds: eff.REGISTRY_JWT_AUTH_MAX_FRESH_S,
    anonymousAccess: eff.FEATURE_ANONYMOUS_ACCESS,
    appSpecificTokens: eff.FEATURE_APP_SPECIFIC_TOKENS,
    publicCatalog: eff.FEATURE_PUBLIC_CATALOG,
    createNamespaceOnPush: eff.CREATE_NAMESPACE_ON_PUSH,
    createPrivateRepoOnPush: eff.CREATE_PRIVATE_REPO_ON_PUSH,
    superUsers: eff.SUPER_USERS,
    superUsersFullAccess: eff.FEATURE_SUPERUSERS_FULL_ACCESS,
    globalReadonlySuperUsers: eff.GLOBAL_READONLY_SUPER_USERS,
    libraryNamespace: eff.LIBRARY_NAMESPACE,
    databaseSecretKey: eff.DATABASE_SECRET_KEY === undefined ? null : String(eff.DATABASE_SECRET_KEY),
  };
  return {
    ok: true,
    raw: raw as Record<string, unknown>,
    config: {
      mode: opts.mode,
      dataDir: opts.dataDir,
      databaseFile,
      databaseUri,
      storage,
      auth,
      instanceKey: {
        keyFile: resolve(opts.dataDir, eff.INSTANCE_SERVICE_KEY_LOCATION),
        kidFile: resolve(opts.dataDir, eff.INSTANCE_SERVICE_KEY_KID_LOCATION),
        expirationMinutes: eff.INSTANCE_SERVICE_KEY_EXPIRATION,
      },
      libraryNamespace: eff.LIBRARY_NAMESPACE,
      librarySupport: eff.FEATURE_LIBRARY_SUPPORT,
      maxBlobBytes: parseSize(eff.MAXIMUM_LAYER_SIZE)!,
      tempTagSeconds: eff.PUSH_TEMP_TAG_EXPIRATION_SEC,
      maxUploadsPerClient: eff.MAXIMUM_UPLOADS_PER_CLIENT,
      trustedProxies: eff.TRUSTED_PROXIES,
      cache: eff.DATA_MODEL_CACHE_CONFIG.engine,
      activity: activityOptions(eff, opts.dataDir),
      effective: eff,
      quayConfig: { ...(raw as Record<string, unknown>), ...eff },
      configFile: opts.file ?? null,
    },
  };
}

/** Quay's keys for what /v2 calls record, with Quay's defaults (config.py) where the file says nothing. */
function activityOptions(eff: QuayKeys, dataDir: string): ActivityOptions {
  return {
    auditFailures: {
      pull: eff.ACTION_LOG_AUDIT_PULL_FAILURES ?? QUAY_DEFAULTS.ACTION_LOG_AUDIT_PULL_FAILURES,
      push: eff.ACTION_LOG_AUDIT_PUSH_FAILURES ?? QUAY_DEFAULTS.ACTION_LOG_AUDIT_PUSH_FAILURES,
      delete: eff.ACTION_LOG_AUDIT_DELETE_FAILURES ?? QUAY_DEFAULTS.ACTION_LOG_AUDIT_DELETE_FAILURES,
    },
    auditLogins: eff.ACTION_LOG_AUDIT_LOGINS ?? QUAY_DEFAULTS.ACTION_LOG_AUDIT_LOGINS,
    auditLoginFailures: eff.ACTION_LOG_AUDIT_LOGIN_FAILURES ?? QUAY_DEFAULTS.ACTION_LOG_AUDIT_LOGIN_FAILURES,
    disabledNamespaces: eff.DISABLED_FOR_AUDIT_LOGS ?? [],
    disabledPullNamespaces: eff.DISABLED_FOR_PULL_LOGS ?? [],
    serviceLogAccountId: eff.SERVICE_LOG_ACCOUNT_ID ?? null,
    lenient: { all: eff.ALLOW_WITHOUT_STRICT_LOGGING ?? false, pulls: eff.ALLOW_PULLS_WITHOUT_STRICT_LOGGING ?? false },
    quota: (eff.FEATURE_QUOTA_MANAGEMENT ?? QUAY_DEFAULTS.FEATURE_QUOTA_MANAGEMENT) ? 'count' : (eff.QUOTA_INVALIDATE_TOTALS ?? true) ? 'invalidate' : 'none',
    awsIpRangesFile: eff.AWS_IP_RANGES_FILE === undefined ? null : resolve(dataDir, eff.AWS_IP_RANGES_FILE),
    notificationQueue: quayQueueName(eff, 'notification'),
  };
}

export function readQuayConfig(file: string | undefined, opts: { readonly mode: Mode; readonly dataDir: string }): LoadResult {
  if (!file) return loadQuayConfig('', opts);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, problems: [{ key: '', message: `cannot read ${file}: ${(e as Error).message}` }] };
  }
  return loadQuayConfig(text, { ...opts, file });
}

export function formatProblem(p: ConfigProblem, file?: string): string {
  const where = file ? `${file}${p.line !== undefined ? `:${p.line}` : ''}: ` : p.line !== undefined ? `line ${p.line}: ` : '';
  return `${where}${p.key ? `${p.key}: ` : ''}${p.message}`;
}

/** A starter config.yaml for a mode (`quay config generate`). */
export function generateConfig(mode: Mode, hostname: string): string {
  const secret = randomUUID();
  const lines = [
    `# Quay config.yaml for the quay runtime, ${mode} mode (generated by \`quay config generate\`).`,
    "# Key names are Quay's; one file serves Python Quay, this runtime and the switchboard.",
    `SERVER_HOSTNAME: ${hostname}`,
    'PREFERRED_URL_SCHEME: https',
    '# Encrypts robot tokens and app-token secrets in the database: keep it, and share it with Python Quay.',
    `DATABASE_SECRET_KEY: ${secret}`,
  ];
  if (mode === 'mirror') {
    lines.push(
      '# Mirror mode: SQLite and local files under --data-dir, no login (Anonymous is a Switchboard extension).',
      'AUTHENTICATION_TYPE: Anonymous',
      'DB_URI: sqlite:///quay.db',
      'DISTRIBUTED_STORAGE_CONFIG:',
      '  local_us: [LocalStorage, {storage_path: storage}]',
      'DISTRIBUTED_STORAGE_PREFERENCE: [local_us]',
      'CREATE_NAMESPACE_ON_PUSH: true',
    );
  } else {
    lines.push(
      'AUTHENTICATION_TYPE: Database',
      'DB_URI: postgresql://quay@127.0.0.1:5432/quay',
      'DISTRIBUTED_STORAGE_CONFIG:',
      '  local_us: [LocalStorage, {storage_path: /datastorage/registry}]',
      'DISTRIBUTED_STORAGE_PREFERENCE: [local_us]',
      'FEATURE_ANONYMOUS_ACCESS: true',
      'CREATE_NAMESPACE_ON_PUSH: false',
      'DATA_MODEL_CACHE_CONFIG:',
      '  engine: redis',
    );
  }
  return lines.join('\n') + '\n';
}
