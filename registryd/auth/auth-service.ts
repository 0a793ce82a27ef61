/**
 * Who a /v2 request is and what it may do, with Quay's semantics
 * (auth/credentials.py, endpoints/v2/v2auth.py, auth/registry_jwt_auth.py,
 * endpoints/v2/__init__.py; facts in quay-schema.md §1, §2, §9): the /v2 edge
 * of auth, over domain/auth (credentials, permissions).
 *
 * - `GET /v2/auth` takes HTTP Basic credentials (a user's password, a robot
 *   `ns+name` with its token, `$app` with an app-specific token) or none, and
 *   answers a signed token whose `access` is the requested scopes down-scoped
 *   to what the entity may do: token-issue.ts.
 * - Every other /v2 request carries that token as `Bearer`; its grants, or a
 *   public repository with anonymous access on, let it through. Otherwise 401
 *   with a challenge naming the realm, service and scope to ask for
 *   (challenges.ts). A private or missing repository answers the same 401, so
 *   nothing tells them apart.
 *
 * `anonymous` mode (mirror mode's default) skips all of it: every request may
 * pull and push, and /v2/auth grants what is asked.
 */
import type { RegistryError } from '../oci/errors.js';
import { DomainError } from '../../domain/errors.js';
import { parseRepositoryPath, fullName, type RepoName } from '../../domain/names.js';
import type { MetadataStore } from '../../dal/model/store.js';
import { ROLE_RANK, type AuthStore, type RepoRole, type UserRow } from '../../dal/model/auth-store.js';
import type { Logger } from '../../lib/log.js';
import { FieldEncrypter } from '../../domain/auth/field-crypto.js';
import type { LoginLimits } from '../../lib/passwords/login-limiter.js';
import { Credentials, type LoginClient, type LoginFailureAudit, type Principal } from '../../domain/auth/credentials.js';
import { Permissions, type CatalogScope, type PermissionSettings } from '../../domain/auth/permissions.js';
import type { InstanceKey } from '../../domain/auth/instance-key.js';
import type { RegistryMetrics } from '../metrics/metrics.js';
import { Challenges, SCOPES_FOR, type Need } from './challenges.js';
import { TokenIssue } from './token-issue.js';
import { ANONYMOUS_SUB, InvalidToken, ServiceKeyCache, verifyToken, type TokenClaims } from './tokens.js';

export { LoginThrottled, type LoginClient, type Principal } from '../../domain/auth/credentials.js';
export type { Need } from './challenges.js';

/** The /v2 auth settings; the permission ones (anonymous access, superusers, ...) are domain/auth/permissions.ts's. */
export interface AuthSettings extends PermissionSettings {
  /** `anonymous`: no credentials, everything allowed. `database`: Quay's users, robots and tokens. */
  readonly mode: 'anonymous' | 'database';
  readonly serverHostname: string;
  /** PREFERRED_URL_SCHEME: the realm in challenges is `<scheme>://<SERVER_HOSTNAME>/v2/auth`. */
  readonly urlScheme: 'http' | 'https';
  /** INSTANCE_SERVICE_KEY_SERVICE. */
  readonly service: string;
  /** REGISTRY_JWT_AUTH_MAX_FRESH_S. */
  readonly maxFreshSeconds: number;
  /** FEATURE_APP_SPECIFIC_TOKENS. */
  readonly appSpecificTokens: boolean;
  /** CREATE_PRIVATE_REPO_ON_PUSH. */
  readonly createPrivateRepoOnPush: boolean;
  readonly libraryNamespace: string;
  /** DATABASE_SECRET_KEY (robot tokens and app-token secrets are encrypted with it). */
  readonly databaseSecretKey: string | null;
  /** Failed password logins allowed per address and per name (default REGISTRY_LOGIN_LIMITS). */
  readonly loginLimits?: LoginLimits;
}

/** What the token endpoint tells the rest of the runtime (the action log): logins, and refused ones (domain/auth/credentials.ts). */
export interface AuthEvents extends LoginFailureAudit {
  /** A /v2/auth request without any `scope` that logged someone in (docker login): Quay's login_success. */
  loggedIn(p: Exclude<Principal, { readonly kind: 'anonymous' }>, client: LoginClient): Promise<void>;
}

/** The outcome of checking a /v2 request: its identity (for listings) and grants. */
export interface RequestAuth {
  readonly claims: TokenClaims | null;
  /** Granted role per `ns/name`. */
  readonly grants: ReadonlyMap<string, RepoRole>;
}

const OPEN: RequestAuth = { claims: null, grants: new Map() };

export class AuthService {
  private readonly keys: ServiceKeyCache | null;
  /** Tokens already verified, with the time their verdict may be reused until. */
  private readonly verified = new Map<string, { auth: RequestAuth; until: number }>();
  private readonly credentials: Credentials;
  private readonly challenges: Challenges;
  private readonly tokens: TokenIssue;
  private readonly permissions: Permissions;

  constructor(
    readonly settings: AuthSettings,
    private readonly store: AuthStore,
    meta: MetadataStore,
    key: InstanceKey | null,
    log: Logger,
    private readonly now: () => number = Date.now,
    metrics?: RegistryMetrics,
    events: AuthEvents | null = null,
  ) {
    this.keys = settings.mode === 'database' ? new ServiceKeyCache(store, settings.service) : null;
    this.challenges = new Challenges(settings);
    this.credentials = new Credentials({
      store,
      log,
      now,
      encrypter: settings.databaseSecretKey !== null ? new FieldEncrypter(settings.databaseSecretKey) : null,
      appSpecificTokens: settings.appSpecificTokens,
      ...(settings.loginLimits ? { loginLimits: settings.loginLimits } : {}),
      ...(events ? { audit: events } : {}),
    });
    const areas = { users: store, teams: store, permissions: store, repositories: meta };
    this.permissions = new Permissions(settings, areas);
    this.tokens = new TokenIssue({
      settings,
      permissions: this.permissions,
      areas,
      key,
      challenges: this.challenges,
      log,
      now,
      metrics,
      authenticate: (header, client) => this.authenticateBasic(header, client),
      loggedIn: events ? (p, client) => events.loggedIn(p, client) : null,
    });
  }

  get enabled(): boolean {
    return this.settings.mode === 'database';
  }

  /** `Bearer realm=…,service=…[,scope=…]`, as Quay's get_auth_headers writes it. */
  challenge(repository?: string, scopes?: readonly string[]): Record<string, string> {
    return this.challenges.challenge(repository, scopes);
  }

  unauthorized(message?: string, repository?: string, scopes?: readonly string[]): RegistryError {
    return this.challenges.unauthorized(message, repository, scopes);
  }

  /**
   * The entity behind an `Authorization: Basic` header, for a request from
   * `client`: domain/auth/credentials.ts. UNAUTHORIZED with Quay's message and
   * the challenge on any mismatch; LoginThrottled when a password login may
   * not be tried now.
   */
  async authenticateBasic(header: string, client: LoginClient): Promise<Principal> {
    try {
      return await this.credentials.authenticate(header, client);
    } catch (e) {
      if (e instanceof DomainError && e.code === 'UNAUTHORIZED') throw this.challenges.refusedLogin(e);
      throw e;
    }
  }

  /** The body of a /v2/auth answer: `{"token": …}` for the query's service and scopes, to a request from `client` (token-issue.ts). */
  issue(authorization: string | undefined, query: URLSearchParams, client: LoginClient): Promise<string> {
    return this.tokens.issue(authorization, query, client);
  }

  // ---- /v2 requests -----------------------------------------------------------------------------

  /** Validate the request's bearer token (none is fine: anonymous). */
  async requestAuth(authorization: string | undefined, repository?: string, need?: Need): Promise<RequestAuth> {
    if (!this.enabled) return OPEN;
    const header = authorization?.trim() ?? '';
    if (header === '') return { claims: null, grants: new Map() };
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw this.challenges.refusedToken('Invalid bearer token format', repository, need ? SCOPES_FOR[need] : undefined);
    const nowMs = this.now();
    const hit = this.verified.get(m[1]!);
    if (hit && hit.until > nowMs) return hit.auth;
    let claims: TokenClaims;
    try {
      claims = await verifyToken(
        m[1]!,
        this.keys!,
        { service: this.settings.service, audience: this.settings.serverHostname, maxFreshSeconds: this.settings.maxFreshSeconds },
        this.now(),
      );
    } catch (e) {
      if (e instanceof InvalidToken) throw this.challenges.refusedToken(e.message, repository, need ? SCOPES_FOR[need] : undefined);
      throw e;
    }
    const grants = new Map<string, RepoRole>();
    for (const a of claims.access ?? []) {
      let n: RepoName;
      try {
        n = parseRepositoryPath(a.name, this.settings.libraryNamespace);
      } catch {
        continue;
      }
      const role = a.actions.includes('*') ? 'admin' : a.actions.includes('push') ? 'write' : a.actions.includes('pull') ? 'read' : null;
      const key = fullName(n);
      const had = grants.get(key);
      if (role && (!had || ROLE_RANK[role] > ROLE_RANK[had])) grants.set(key, role);
    }
    const auth = { claims, grants };
    // A client sends the same token with every request of a pull or push: remember the verdict
    // for a minute at most (as long as the service-key cache), never past the token's expiry.
    if (this.verified.size >= 10_000) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(m[1]!, { auth, until: Math.min(nowMs + 60_000, (claims.exp ?? 0) * 1000) });
    return auth;
  }

  /**
   * `GET /v2/`: whether the request carries a valid token. None → false (Quay
   * answers 401 `true`); an invalid one → UNAUTHORIZED, as on every route.
   */
  async baseAuthorized(authorization: string | undefined): Promise<boolean> {
    if (!this.enabled) return true;
    return (await this.requestAuth(authorization)).claims !== null;
  }

  /**
   * A repository request whose path names no valid repository: Quay's routes
   * do not check names, its permission check does not pass for a repository
   * no token can grant, so the answer is the challenge (after a bearer token,
   * if any, was checked), and the token endpoint then says NAME_INVALID.
   */
  async refuseInvalidName(authorization: string | undefined, repositoryPath: string, need: Need, tokenNeed: Need = need): Promise<RegistryError> {
    const repository = repositoryPath.includes('/') ? repositoryPath.replace(/\/+$/, '') : `${this.settings.libraryNamespace}/${repositoryPath}`;
    await this.requestAuth(authorization, repository, tokenNeed);
    return this.unauthorized(undefined, repository, SCOPES_FOR[need]);
  }

  /**
   * Check a repository request; UNAUTHORIZED with the scope to ask for when not allowed.
   * `tokenNeed`: the scopes an invalid token's challenge names (the route's JWT decorator), when not `need`'s.
   */
  async authorize(authorization: string | undefined, name: RepoName, need: Need, tokenNeed: Need = need): Promise<RequestAuth> {
    if (!this.enabled) return OPEN;
    const repository = fullName(name);
    const a = await this.requestAuth(authorization, repository, tokenNeed);
    const granted = a.grants.get(repository);
    if (granted && ROLE_RANK[granted] >= ROLE_RANK[need]) return a;
    if (need === 'read' && (await this.permissions.publicReadable(name))) return a;
    throw this.unauthorized(undefined, repository, SCOPES_FOR[need]);
  }

  /** May a request with these grants read the repository (a grant, or public with anonymous access on)? */
  async canRead(access: RequestAuth | null, name: RepoName): Promise<boolean> {
    if (!this.enabled || access?.grants.has(fullName(name))) return true;
    return this.permissions.publicReadable(name);
  }

  /** The user a catalog listing is for (from the token's context), and whether public repositories show. */
  async catalogViewer(authorization: string | undefined): Promise<CatalogScope> {
    if (!this.enabled) return { all: true, userId: null, includePublic: true };
    const a = await this.requestAuth(authorization);
    return this.permissions.catalogScope(a.claims ? await this.userOf(a.claims) : null);
  }

  visibleRepositories(userId: number | null, includePublic: boolean, page: { readonly last?: string; readonly n: number }): Promise<string[]> {
    return this.permissions.visibleRepositories(userId, includePublic, page);
  }

  private async userOf(claims: TokenClaims): Promise<UserRow | null> {
    const ctx = claims.context ?? {};
    const ref = ctx.entity_reference;
    switch (ctx.entity_kind) {
      case 'user':
        return typeof ref === 'string' ? this.store.userByUuid(ref) : null;
      case 'robot':
        return typeof ref === 'string' ? this.store.userByName(ref) : null;
      case 'appspecifictoken':
        return typeof ref === 'string' ? ((await this.store.appTokenByUuid(ref, this.now()))?.user ?? null) : null;
      default:
        return claims.sub !== ANONYMOUS_SUB && typeof ctx.user === 'string' ? this.store.userByName(ctx.user) : null;
    }
  }
}
