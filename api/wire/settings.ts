/**
 * The Quay config keys /api/v1 reads, with config.py's defaults: the one
 * place the API turns config.yaml into settings. Feature flags are read by
 * name (`feature('QUOTA_MANAGEMENT')`), with Quay's default for each flag
 * the API consults listed in FEATURE_DEFAULTS.
 */
import { DEFAULT_PAGE_TOKEN_KEY } from './page-tokens.js';

/** Quay's defaults (config.py) for the FEATURE_ flags the API reads. */
export const FEATURE_DEFAULTS: Readonly<Record<string, boolean>> = {
  SUPER_USERS: true,
  SUPERUSERS_FULL_ACCESS: false,
  ANONYMOUS_ACCESS: true,
  USER_CREATION: true,
  QUOTA_MANAGEMENT: false,
  EDIT_QUOTA: true,
  PROXY_CACHE: false,
  APP_SPECIFIC_TOKENS: true,
  ASSIGN_OAUTH_TOKEN: true,
  AGGREGATED_LOG_COUNT_RETRIEVAL: true,
  USER_LAST_ACCESSED: true,
  PARTIAL_USER_AUTOCOMPLETE: true,
  UI_MODELCARD: true,
  EXTENDED_REPOSITORY_NAMES: true,
  BUILD_SUPPORT: true,
  SECURITY_SCANNER: false,
  MAILING: true,
  USER_EVENTS: false,
  IMAGE_PULL_STATS: false,
  REPO_MIRROR: false,
  BILLING: false,
  RH_MARKETPLACE: false,
  ORG_MIRROR: false,
  AUTO_PRUNE: false,
  IMMUTABLE_TAGS: false,
  SIGNING: false,
  QUOTA_NOTIFICATIONS: false,
  SUPERUSER_CONFIGDUMP: false,
  READER_BUILD_LOGS: false,
  TEAM_SYNCING: false,
  SPARSE_INDEX: false,
  LIBRARY_SUPPORT: true,
  RESTRICTED_USERS: false,
  PERMANENT_SESSIONS: true,
  DIRECT_LOGIN: true,
  PUBLIC_CATALOG: false,
  CHANGE_TAG_EXPIRATION: true,
  LOG_EXPORT: true,
};

export interface ApiSettings {
  /** Every key of config.yaml as written (Quay's defaults fill the rest through the getters). */
  readonly keys: Readonly<Record<string, unknown>>;
  /** FEATURE_<name>, else Quay's default (false for a flag not in FEATURE_DEFAULTS). */
  feature(name: string): boolean;
  readonly secretKey: string;
  readonly pageTokenKey: string;
  readonly serverHostname: string;
  readonly urlScheme: 'http' | 'https';
  readonly superUsers: readonly string[];
  /** GLOBAL_READONLY_SUPER_USERS. */
  readonly globalReadonlySuperUsers: readonly string[];
  readonly libraryNamespace: string;
  /** BROWSER_API_CALLS_XHR_ONLY, unless DEBUGGING. */
  readonly browserXhrOnly: boolean;
  /** SESSION_TIMEOUT in seconds. */
  readonly sessionLifetimeS: number;
  /** FRESH_LOGIN_TIMEOUT in ms. */
  readonly freshLoginTimeoutMs: number;
  readonly publicNamespaces: readonly string[];
  /** Flask's session cookie settings as Quay sets them (config.py SESSION_COOKIE_*, app.py's https rule). */
  readonly sessionCookie: {
    readonly name: string;
    readonly secure: boolean;
    readonly httpOnly: boolean;
    /** SameSite value, or null for none. */
    readonly sameSite: string | null;
    readonly domain: string | null;
    readonly path: string;
  };
}

/** Quay's convert_to_timedelta: `<n><s|m|h|d|w>` (or seconds as a number). */
export function durationSeconds(v: unknown, fallback: number): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'string') return fallback;
  const m = /^\s*(\d+)\s*([smhdw]?)\s*$/.exec(v);
  if (!m) return fallback;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

const strings = (v: unknown): string[] | null => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null);

export function apiSettings(keys: Readonly<Record<string, unknown>>): ApiSettings {
  const feature = (name: string): boolean => {
    const v = keys[`FEATURE_${name}`];
    return typeof v === 'boolean' ? v : (FEATURE_DEFAULTS[name] ?? false);
  };
  const scheme = keys.PREFERRED_URL_SCHEME === 'https' ? 'https' : 'http';
  return {
    keys,
    feature,
    secretKey: typeof keys.SECRET_KEY === 'string' ? keys.SECRET_KEY : '',
    pageTokenKey: typeof keys.PAGE_TOKEN_KEY === 'string' ? keys.PAGE_TOKEN_KEY : DEFAULT_PAGE_TOKEN_KEY,
    serverHostname: typeof keys.SERVER_HOSTNAME === 'string' ? keys.SERVER_HOSTNAME : 'localhost',
    urlScheme: scheme,
    superUsers: strings(keys.SUPER_USERS) ?? [],
    globalReadonlySuperUsers: strings(keys.GLOBAL_READONLY_SUPER_USERS) ?? [],
    libraryNamespace: typeof keys.LIBRARY_NAMESPACE === 'string' ? keys.LIBRARY_NAMESPACE : 'library',
    browserXhrOnly: keys.BROWSER_API_CALLS_XHR_ONLY !== false && keys.DEBUGGING !== true,
    sessionLifetimeS: durationSeconds(keys.SESSION_TIMEOUT, 31 * 86400),
    freshLoginTimeoutMs: durationSeconds(keys.FRESH_LOGIN_TIMEOUT, 600) * 1000,
    publicNamespaces: strings(keys.PUBLIC_NAMESPACES) ?? [],
    sessionCookie: {
      name: typeof keys.SESSION_COOKIE_NAME === 'string' && keys.SESSION_COOKIE_NAME ? keys.SESSION_COOKIE_NAME : '_csrf_token',
      // app.py: with PREFERRED_URL_SCHEME https the cookie is Secure, unless FORCE_NONSECURE_SESSION_COOKIE.
      secure: (scheme === 'https' && keys.FORCE_NONSECURE_SESSION_COOKIE !== true) || keys.SESSION_COOKIE_SECURE === true,
      httpOnly: keys.SESSION_COOKIE_HTTPONLY !== false,
      sameSite: keys.SESSION_COOKIE_SAMESITE === null ? null : typeof keys.SESSION_COOKIE_SAMESITE === 'string' ? keys.SESSION_COOKIE_SAMESITE : 'Lax',
      domain: typeof keys.SESSION_COOKIE_DOMAIN === 'string' && keys.SESSION_COOKIE_DOMAIN ? keys.SESSION_COOKIE_DOMAIN : null,
      path:
        typeof keys.SESSION_COOKIE_PATH === 'string' && keys.SESSION_COOKIE_PATH
          ? keys.SESSION_COOKIE_PATH
          : typeof keys.APPLICATION_ROOT === 'string'
            ? keys.APPLICATION_ROOT
            : '/',
    },
  };
}
