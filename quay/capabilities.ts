/**
 * What the go side claims, in one place: which capabilities of
 * owner-maps/routes.tsv registryd implements with Quay's semantics, which
 * Quay config keys it does not honour (and the claims each withdraws when an
 * operator sets it otherwise), and the readiness document every go-side
 * runtime answers at `GET /.well-known/switchboard` (the switchboard polls it:
 * switchboard/proxy/readiness.ts).
 *
 * The rule for a claim. A capability is claimed only when EVERY route of it
 *   1. gives a client that works against Python Quay (quay/quay ffba0c70e2d8,
 *      docs/quay-v2-behaviour.md) the same result — status, and the headers
 *      and body fields clients read — for every request Quay answers with
 *      success, and
 *   2. leaves the database, the storage and the side effects Quay's other
 *      parts read (action logs, notifications, quota, mirror state) as Python
 *      Quay leaves them.
 * registryd/README.md's deliberate differences count against a claim unless a
 * Quay client cannot tell or is better off (413 for Quay's 500, a relative
 * Location, refusing another repository's upload uuid, OCI error codes on
 * error paths).
 *
 * Claims hold for Quay's default for each key in WITHDRAWALS (registryd
 * behaves as that default whatever the file says); a config that sets one of
 * them otherwise withdraws the claims it lists.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { QUAY_DEFAULTS, loadInventory } from '../owner-maps/index.js';

/** Where every go-side runtime answers its readiness document (outside Quay's routes: Quay's /.well-known has app-capabilities and change-password only). */
export { WELL_KNOWN_PATH } from '../owner-maps/readiness.js';

/** The `service` of the readiness document: this TypeScript implementation of Quay. */
export const SERVICE_NAME = 'quay-ts';

/** Version of the document's shape; a consumer reads documents of the versions it knows. */
export { CONTRACT_VERSION } from '../owner-maps/readiness.js';
import { CONTRACT_VERSION } from '../owner-maps/readiness.js';

export interface CapabilityVerdict {
  readonly capability: string;
  readonly claimed: boolean;
  /** Why it is claimed (what was checked) or why not (what Quay does that registryd does not). */
  readonly why: string;
}

/**
 * Every capability of the REGISTRY_V2 family, claimed or not, with the reason.
 * Capabilities of other families are never claimed: registryd serves /v2 only.
 */
export const V2_VERDICTS: readonly CapabilityVerdict[] = [
  {
    capability: 'V2_AUTH',
    claimed: false,
    why:
      '$oauthtoken (OAuth access token) and $token logins are refused; LDAP, OIDC, JWT, Keystone and AppToken authentication are not served; ' +
      'robot JWT (federated) tokens are refused; Anonymous is not a Quay value. ' +
      'Python keeps issuing tokens at no cost: registryd accepts them on every other route',
  },
  {
    capability: 'V2_BASE',
    claimed: true,
    why: 'GET /v2/: `true`, 200 with a valid token else 401, the Bearer challenge, X-Sparse-Manifest-Support: false, 404 to Docker clients older than 1.6.0 (BLACKLIST_V2_SPEC default)',
  },
  {
    capability: 'V2_CATALOG',
    claimed: false,
    why:
      'Quay pages by repository id with a Fernet `next_page` token (a listing that crosses an owner change restarts or repeats), takes a non-integer or non-positive `n` as 1, ' +
      'and caches each page for 60 s; registryd pages by name with `n`/`last`',
  },
  {
    capability: 'V2_DELETE',
    claimed: false,
    why:
      'manifest deletes ignore immutable tags (FEATURE_IMMUTABLE_TAGS: 409 TAG_IMMUTABLE in Quay), ' +
      'and neither expire cosign sibling tags nor reset the temp tags of child manifests',
  },
  {
    capability: 'V2_PULL',
    claimed: false,
    why:
      'no Accept conversion (Quay serves the amd64/linux child of a list, or schema 1, to clients that do not accept the stored type); ' +
      'no proxy-cache pull-through (FEATURE_PROXY_CACHE)',
  },
  {
    capability: 'V2_PUSH',
    claimed: false,
    why:
      "no immutable tags, no quota limits (with FEATURE_QUOTA_MANAGEMENT the totals are counted, but Quay also refuses a push over a namespace's reject limit and notifies at its warning limit), " +
      'labels are recorded but not acted on (quay.expires-after, quay.immutable), no cosign sibling-tag expiry or storage replication; schema 1 manifests are refused',
  },
  {
    capability: 'V2_REFERRERS',
    claimed: false,
    why:
      'Quay also lists the entries of a `sha256-<hex>` tag-schema index and referrers whose manifests have no live tag, merges their annotations at the top level, ' +
      'and answers an unknown subject with 400; registryd lists live manifests with that subject only, with the OCI 1.1 artifactType fallback',
  },
  {
    capability: 'V2_TAGS',
    claimed: true,
    why: 'tags/list: live, visible tags by name after `last`, `n` read as Python int() and clamped to 0–100, Link only when a page follows',
  },
  {
    capability: 'V2_UPLOAD',
    claimed: true,
    why:
      "blob uploads: Quay's status codes and Range/Location/Docker-Upload-UUID headers, mounts, monolithic and chunked uploads, the same blobupload " +
      "(sha_state in Quay's pickle), imagestorage, placement and uploadedblob rows; differences only on error paths and the per-client limit on uploads in progress (MAXIMUM_UPLOADS_PER_CLIENT, 429; registryd/README.md)",
  },
];

/** A Quay value a withdrawal compares against. */
export type QuayValue = boolean | number | string;

export interface Withdrawal {
  /** The Quay config key (quay/config.ts types it). */
  readonly key: string;
  /** Quay's default, which registryd behaves as. */
  readonly quayDefault: QuayValue;
  /** The values Quay accepts, when it accepts only some (REGISTRY_STATE). */
  readonly values?: readonly string[];
  /** True when a configured value behaves as the default (default: equal to it). */
  readonly sameAsDefault?: (v: QuayValue) => boolean;
  /** The capabilities whose routes behave otherwise in Quay with another value. */
  readonly capabilities: readonly string[];
  readonly why: string;
}

const REPO_CAPS = ['V2_UPLOAD', 'V2_TAGS', 'V2_PULL', 'V2_PUSH', 'V2_DELETE', 'V2_REFERRERS'];
const WRITE_CAPS = ['V2_UPLOAD', 'V2_PUSH', 'V2_DELETE'];

/** Quay keys registryd does not read for its behaviour: it behaves as Quay's default. */
export const WITHDRAWALS: readonly Withdrawal[] = [
  {
    key: 'ACCOUNT_RECOVERY_MODE',
    quayDefault: false,
    capabilities: [...REPO_CAPS, 'V2_CATALOG', 'V2_AUTH'],
    why: 'Quay answers 405 on every /v2 route but /v2/ (account recovery only)',
  },
  { key: 'REGISTRY_STATE', quayDefault: 'normal', values: ['normal', 'readonly'], capabilities: WRITE_CAPS, why: 'readonly: Quay refuses every write with 405 DENIED' },
  { key: 'DISABLE_PUSHES', quayDefault: false, capabilities: WRITE_CAPS, why: 'Quay refuses pushes with 405' },
  {
    key: 'FEATURE_QUOTA_MANAGEMENT',
    quayDefault: false,
    capabilities: ['V2_UPLOAD', 'V2_PUSH'],
    why: 'registryd counts the quota totals as Quay does, but Quay also checks namespace quota on uploads and pushes (403 DENIED) and notifies organisation admins',
  },
  { key: 'FEATURE_RESTRICTED_USERS', quayDefault: false, capabilities: [...WRITE_CAPS, 'V2_AUTH'], why: 'Quay refuses restricted users writes in their own namespace' },
  {
    key: 'FEATURE_REPO_MIRROR',
    quayDefault: false,
    capabilities: WRITE_CAPS,
    why: 'registryd refuses writes to repositories in MIRROR state, where Quay lets the mirror robot push',
  },
  {
    key: 'FEATURE_ORG_MIRROR',
    quayDefault: false,
    capabilities: WRITE_CAPS,
    why: 'registryd refuses writes to repositories in ORG_MIRROR state, where Quay lets the mirror robot push',
  },
  {
    key: 'LOGS_MODEL',
    quayDefault: 'database',
    capabilities: ['V2_PULL', 'V2_PUSH', 'V2_DELETE', 'V2_AUTH'],
    why: 'Quay sends action logs to Elasticsearch or Splunk; registryd writes logentry3 rows only',
  },
  { key: 'FEATURE_DISABLE_PULL_LOGS_FOR_FREE_NAMESPACES', quayDefault: false, capabilities: ['V2_PULL'], why: 'Quay skips pull_repo logs of namespaces without a billing plan' },
  {
    key: 'FEATURE_IMAGE_PULL_STATS',
    quayDefault: false,
    capabilities: ['V2_PULL'],
    why: 'Quay counts tag and manifest pulls (through Redis into tagpullstatistics / manifestpullstatistics)',
  },
  { key: 'FEATURE_USER_LAST_ACCESSED', quayDefault: true, capabilities: ['V2_AUTH'], why: 'off: Quay stops recording last_accessed on logins' },
  { key: 'LAST_ACCESSED_UPDATE_THRESHOLD_S', quayDefault: 60, capabilities: ['V2_AUTH'], why: "registryd rewrites last_accessed at most once a minute, as Quay's default" },
  { key: 'FEATURE_ADVERTISE_V2', quayDefault: true, capabilities: ['V2_BASE'], why: 'off: Quay answers 404 on /v2/' },
  {
    key: 'BLACKLIST_V2_SPEC',
    quayDefault: '<1.6.0',
    capabilities: ['V2_BASE'],
    why: 'Quay answers 404 on /v2/ to the Docker versions it names; registryd only to those below 1.6.0',
  },
  { key: 'FEATURE_SPARSE_INDEX', quayDefault: false, capabilities: ['V2_BASE', 'V2_PUSH'], why: 'Quay advertises and accepts manifest lists with missing children' },
  { key: 'FEATURE_REFERRERS_API', quayDefault: true, capabilities: ['V2_REFERRERS'], why: 'off: Quay answers 404 on referrers' },
  {
    key: 'V2_PAGINATION_SIZE',
    quayDefault: 50,
    sameAsDefault: (v) => typeof v === 'number' && v <= 100,
    capabilities: ['V2_TAGS', 'V2_CATALOG'],
    why: "above 100 it raises Quay's page cap, which registryd keeps at 100",
  },
  { key: 'FEATURE_PROXY_CACHE', quayDefault: false, capabilities: ['V2_PULL'], why: 'Quay pulls through to the upstream registry of a proxy-cache organisation' },
  { key: 'FEATURE_IMMUTABLE_TAGS', quayDefault: false, capabilities: ['V2_PUSH', 'V2_DELETE'], why: 'Quay refuses to move or delete an immutable tag (409 TAG_IMMUTABLE)' },
  { key: 'FEATURE_GENERAL_OCI_SUPPORT', quayDefault: true, capabilities: ['V2_PUSH'], why: 'off: Quay refuses OCI manifests (415) outside OCI_NAMESPACE_WHITELIST' },
  { key: 'FEATURE_STORAGE_REPLICATION', quayDefault: false, capabilities: ['V2_PUSH'], why: 'Quay queues the blobs of each pushed manifest for replication' },
];

/** The capabilities registryd implements with Quay's semantics (Quay's defaults for WITHDRAWALS), sorted. */
export const CLAIMED_CAPABILITIES: readonly string[] = V2_VERDICTS.filter((v) => v.claimed)
  .map((v) => v.capability)
  .sort();

/** What registryd itself is set up with, reported in `features` (Quay's names). */
export interface HonouredSettings {
  readonly authenticationType: 'Database' | 'Anonymous';
  readonly anonymousAccess: boolean;
  readonly appSpecificTokens: boolean;
  readonly publicCatalog: boolean;
  readonly superUsersFullAccess: boolean;
  readonly createNamespaceOnPush: boolean;
  readonly createPrivateRepoOnPush: boolean;
  readonly libraryNamespace: string;
  /** FEATURE_LIBRARY_SUPPORT as read (default Quay's, true). */
  readonly librarySupport?: boolean;
  /** FEATURE_QUOTA_MANAGEMENT as read (totals counted); Quay's default when not given. */
  readonly quotaManagement?: boolean;
  /** ACTION_LOG_AUDIT_* as read; Quay's defaults when not given. */
  readonly audit?: { readonly logins: boolean; readonly loginFailures: boolean; readonly pull: boolean; readonly push: boolean; readonly delete: boolean };
}

export interface WithdrawnClaim {
  readonly capability: string;
  readonly key: string;
  readonly value: QuayValue;
  readonly why: string;
}

/** The document at GET /.well-known/switchboard (docs/readiness.md). */
export interface ReadinessDocument {
  readonly service: string;
  readonly version: string;
  readonly contract: number;
  readonly mode: string;
  /** Sorted capability names implemented with Quay's semantics under this config. */
  readonly capabilities: readonly string[];
  /** Sorted inventory route ids of those capabilities. */
  readonly routes: readonly string[];
  /** Quay keys as this runtime behaves: the ones it reads, then Quay's default for each key in WITHDRAWALS. */
  readonly features: Readonly<Record<string, QuayValue>>;
  /** Claims a config key took away: the key, its value here, why. */
  readonly withdrawn: readonly WithdrawnClaim[];
}

/** The claims withdrawn by the Quay keys of a config (only keys it sets otherwise than Quay's default count). */
export function withdrawnClaims(quayKeys: Readonly<Record<string, unknown>>): WithdrawnClaim[] {
  const out: WithdrawnClaim[] = [];
  for (const w of WITHDRAWALS) {
    const v = quayKeys[w.key];
    if (v === undefined || v === null || !(typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string')) continue;
    if (w.sameAsDefault ? w.sameAsDefault(v) : v === w.quayDefault) continue;
    for (const capability of w.capabilities) {
      if (CLAIMED_CAPABILITIES.includes(capability)) out.push({ capability, key: w.key, value: v, why: w.why });
    }
  }
  return out;
}

/** The readiness document of a runtime with these settings; `quayKeys` are the config's Quay keys (only WITHDRAWALS keys are read). */
export function readinessDocument(o: {
  readonly mode: string;
  readonly settings: HonouredSettings;
  readonly quayKeys?: Readonly<Record<string, unknown>>;
  /** The /api/v1 capabilities claimed under this config (api/claims.ts). */
  readonly apiCapabilities?: readonly string[];
}): ReadinessDocument {
  const withdrawn = withdrawnClaims(o.quayKeys ?? {});
  const gone = new Set(withdrawn.map((w) => w.capability));
  const capabilities = [...CLAIMED_CAPABILITIES.filter((c) => !gone.has(c)), ...(o.apiCapabilities ?? [])].sort();
  const routes = loadInventory()
    .routes.filter((r) => capabilities.includes(r.capability))
    .map((r) => r.id)
    .sort();
  const s = o.settings;
  const features: Record<string, QuayValue> = {
    AUTHENTICATION_TYPE: s.authenticationType,
    FEATURE_ANONYMOUS_ACCESS: s.anonymousAccess,
    FEATURE_APP_SPECIFIC_TOKENS: s.appSpecificTokens,
    FEATURE_PUBLIC_CATALOG: s.publicCatalog,
    FEATURE_SUPERUSERS_FULL_ACCESS: s.superUsersFullAccess,
    CREATE_NAMESPACE_ON_PUSH: s.createNamespaceOnPush,
    CREATE_PRIVATE_REPO_ON_PUSH: s.createPrivateRepoOnPush,
    LIBRARY_NAMESPACE: s.libraryNamespace,
    FEATURE_LIBRARY_SUPPORT: s.librarySupport ?? QUAY_DEFAULTS.FEATURE_LIBRARY_SUPPORT,
  };
  for (const w of WITHDRAWALS) features[w.key] = w.quayDefault;
  // Read in part (the totals), so reported as set; the claims it touches are still withdrawn above.
  features.FEATURE_QUOTA_MANAGEMENT = s.quotaManagement ?? QUAY_DEFAULTS.FEATURE_QUOTA_MANAGEMENT;
  const q = QUAY_DEFAULTS;
  const audit = s.audit;
  features.ACTION_LOG_AUDIT_LOGINS = audit?.logins ?? q.ACTION_LOG_AUDIT_LOGINS;
  features.ACTION_LOG_AUDIT_LOGIN_FAILURES = audit?.loginFailures ?? q.ACTION_LOG_AUDIT_LOGIN_FAILURES;
  features.ACTION_LOG_AUDIT_PULL_FAILURES = audit?.pull ?? q.ACTION_LOG_AUDIT_PULL_FAILURES;
  features.ACTION_LOG_AUDIT_PUSH_FAILURES = audit?.push ?? q.ACTION_LOG_AUDIT_PUSH_FAILURES;
  features.ACTION_LOG_AUDIT_DELETE_FAILURES = audit?.delete ?? q.ACTION_LOG_AUDIT_DELETE_FAILURES;
  return { service: SERVICE_NAME, version: serviceVersion(), contract: CONTRACT_VERSION, mode: o.mode, capabilities, routes, features, withdrawn };
}

let cachedVersion: string | null = null;

/** The `version` of this build's package.json (found from the source tree and from dist/). */
export function serviceVersion(): string {
  if (cachedVersion !== null) return cachedVersion;
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'switchboard' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    } catch {
      /* not this one */
    }
  }
  return (cachedVersion = '0.0.0');
}
