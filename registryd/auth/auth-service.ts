/**
 * Who a /v2 request is and what it may do, with Quay's semantics
 * (auth/credentials.py, endpoints/v2/v2auth.py, auth/registry_jwt_auth.py,
 * endpoints/v2/__init__.py; facts in quay-schema.md §1, §2, §9):
 *
 * - `GET /v2/auth` takes HTTP Basic credentials (a user's password, a robot
 *   `ns+name` with its token, `$app` with an app-specific token) or none, and
 *   answers a signed token whose `access` is the requested scopes down-scoped
 *   to what the entity may do. `push` on a missing repository creates it
 *   (and the namespace, with CREATE_NAMESPACE_ON_PUSH) while the token is made.
 * - Every other /v2 request carries that token as `Bearer`; its grants, or a
 *   public repository with anonymous access on, let it through. Otherwise 401
 *   with a challenge naming the realm, service and scope to ask for. A private
 *   or missing repository answers the same 401, so nothing tells them apart.
 *
 * `anonymous` mode (mirror mode's default) skips all of it: every request may
 * pull and push, and /v2/auth grants what is asked.
 *
 * Credentials (users, robots, app tokens; the login guards) are credentials.ts.
 */
import { randomUUID } from 'node:crypto';
import { RegistryError } from '../oci/errors.js';
import { DomainError } from '../../domain/errors.js';
import { isValidRepositoryName, parseRepositoryPath, fullName, type RepoName } from '../../domain/names.js';
import { RepositoryState, type MetadataStore, type RepositoryRef } from '../../dal/model/store.js';
import { ROLE_RANK, type AuthStore, type RepoRole, type UserRow } from '../../dal/model/auth-store.js';
import type { Logger } from '../../lib/log.js';
import { FieldEncrypter } from './field-crypto.js';
import type { LoginLimits } from '../../lib/passwords/login-limiter.js';
import { Credentials, type LoginClient, type LoginFailureAudit, type Principal } from './credentials.js';
import type { InstanceKey } from './instance-key.js';
import type { RegistryMetrics } from '../metrics/metrics.js';
import { ANONYMOUS_SUB, InvalidToken, ServiceKeyCache, mintToken, verifyToken, type AccessEntry, type TokenClaims } from './tokens.js';

export { LoginThrottled, type LoginClient, type Principal } from './credentials.js';

export interface AuthSettings {
  /** `anonymous`: no credentials, everything allowed. `database`: Quay's users, robots and tokens. */
  readonly mode: 'anonymous' | 'database';
  readonly serverHostname: string;
  /** PREFERRED_URL_SCHEME: the realm in challenges is `<scheme>://<SERVER_HOSTNAME>/v2/auth`. */
  readonly urlScheme: 'http' | 'https';
  /** INSTANCE_SERVICE_KEY_SERVICE. */
  readonly service: string;
  /** REGISTRY_JWT_AUTH_MAX_FRESH_S. */
  readonly maxFreshSeconds: number;
  /** FEATURE_ANONYMOUS_ACCESS: anonymous pulls of public repositories. */
  readonly anonymousAccess: boolean;
  /** FEATURE_APP_SPECIFIC_TOKENS. */
  readonly appSpecificTokens: boolean;
  /** FEATURE_PUBLIC_CATALOG: `_catalog` lists public repositories too. */
  readonly publicCatalog: boolean;
  readonly createNamespaceOnPush: boolean;
  readonly createPrivateRepoOnPush: boolean;
  /** SUPER_USERS, effective only with FEATURE_SUPERUSERS_FULL_ACCESS. */
  readonly superUsers: readonly string[];
  readonly superUsersFullAccess: boolean;
  /** GLOBAL_READONLY_SUPER_USERS: may pull everything. */
  readonly globalReadonlySuperUsers: readonly string[];
  readonly libraryNamespace: string;
  /** DATABASE_SECRET_KEY (robot tokens and app-token secrets are encrypted with it). */
  readonly databaseSecretKey: string | null;
  /** Failed password logins allowed per address and per name (default REGISTRY_LOGIN_LIMITS). */
  readonly loginLimits?: LoginLimits;
}

/** What a /v2 request needs on its repository. */
export type Need = 'read' | 'write' | 'admin';

/** The outcome of checking a /v2 request: its identity (for listings) and grants. */
/** What the token endpoint tells the rest of the runtime (the action log): logins, and refused ones (credentials.ts). */
export interface AuthEvents extends LoginFailureAudit {
  /** A /v2/auth request without any `scope` that logged someone in (docker login): Quay's login_success. */
  loggedIn(p: Exclude<Principal, { readonly kind: 'anonymous' }>, client: LoginClient): Promise<void>;
}

export interface RequestAuth {
  readonly claims: TokenClaims | null;
  /** Granted role per `ns/name`. */
  readonly grants: ReadonlyMap<string, RepoRole>;
}

const OPEN: RequestAuth = { claims: null, grants: new Map() };
const SCOPES_FOR: Record<Need, readonly string[]> = { read: ['pull'], write: ['pull', 'push'], admin: ['pull', 'push'] };

export class AuthService {
  private readonly keys: ServiceKeyCache | null;
  private readonly scopeRe: RegExp;
  /** Tokens already verified, with the time their verdict may be reused until. */
  private readonly verified = new Map<string, { auth: RequestAuth; until: number }>();
  private readonly credentials: Credentials;

  constructor(
    readonly settings: AuthSettings,
    private readonly store: AuthStore,
    private readonly meta: MetadataStore,
    private readonly key: InstanceKey | null,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly metrics?: RegistryMetrics,
    private readonly events: AuthEvents | null = null,
  ) {
    this.keys = settings.mode === 'database' ? new ServiceKeyCache(store, settings.service) : null;
    const host = settings.serverHostname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.scopeRe = new RegExp(`^repository:((?:${host}/)?((?:[.a-zA-Z0-9_-]+/)*[.a-zA-Z0-9_-]+)):((?:push|pull|\\*)(?:,(?:push|pull|\\*))*)$`);
    this.credentials = new Credentials({
      store, log, now, encrypter: settings.databaseSecretKey !== null ? new FieldEncrypter(settings.databaseSecretKey) : null, appSpecificTokens: settings.appSpecificTokens,
      ...(settings.loginLimits ? { loginLimits: settings.loginLimits } : {}), unauthorized: (message) => this.unauthorized(message),
      ...(events ? { audit: events } : {}),
    });
  }

  get enabled(): boolean {
    return this.settings.mode === 'database';
  }

  /** `Bearer realm=…,service=…[,scope=…]`, as Quay's get_auth_headers writes it. */
  challenge(repository?: string, scopes?: readonly string[]): Record<string, string> {
    let v = `Bearer realm="${this.settings.urlScheme}://${this.settings.serverHostname}/v2/auth",service="${this.settings.serverHostname}"`;
    if (repository) v += `,scope="repository:${repository}${scopes && scopes.length > 0 ? `:${scopes.join(',')}` : ''}"`;
    return { 'www-authenticate': v };
  }

  unauthorized(message?: string, repository?: string, scopes?: readonly string[]): RegistryError {
    // Quay puts the reason in the envelope's message (what docker login prints), with an empty detail.
    return new RegistryError('UNAUTHORIZED', message, { headers: this.challenge(repository, scopes), detail: {}, ...(message ? { wireMessage: message } : {}) });
  }

  /**
   * A bearer token refused on a /v2 request: Quay's process_registry_jwt_auth
   * answers with util/http.py abort(401) (`{"error": <reason>}`, text/html),
   * not the OCI envelope, with the challenge.
   */
  private refusedToken(message: string, repository?: string, scopes?: readonly string[]): RegistryError {
    return new RegistryError('UNAUTHORIZED', message, { headers: this.challenge(repository, scopes), detail: {}, wireMessage: message, abortBody: true });
  }

  // ---- credentials (Basic) --------------------------------------------------------------------

  /**
   * The entity behind an `Authorization: Basic` header, for a request from
   * `client`: credentials.ts. UNAUTHORIZED with Quay's message on any
   * mismatch; LoginThrottled when a password login may not be tried now.
   */
  authenticateBasic(header: string, client: LoginClient): Promise<Principal> {
    return this.credentials.authenticate(header, client);
  }

  // ---- permissions ------------------------------------------------------------------------------

  private isSuperUser(u: UserRow): boolean {
    return this.settings.superUsersFullAccess && this.settings.superUsers.includes(u.username);
  }

  /** The entity's role on the repository (Quay's auth/permissions.py, without OAuth scopes). */
  private async role(user: UserRow, namespace: UserRow | null, repo: RepositoryRef | null): Promise<RepoRole | null> {
    if (this.isSuperUser(user)) return 'admin';
    if (!namespace) return null;
    if (namespace.id === user.id) return 'admin';
    if (namespace.organization && (await this.store.teamRole(user.id, namespace.id)) === 'admin') return 'admin';
    return repo ? this.store.repositoryRole(user.id, repo.id) : null;
  }

  private async canCreate(user: UserRow, namespace: UserRow): Promise<boolean> {
    if (namespace.id === user.id) return true;
    if (!namespace.organization) return false;
    const r = await this.store.teamRole(user.id, namespace.id);
    return r === 'admin' || r === 'creator';
  }

  // ---- /v2/auth ---------------------------------------------------------------------------------

  /** The body of a /v2/auth answer: `{"token": …}` for the query's service and scopes, to a request from `client`. */
  async issue(authorization: string | undefined, query: URLSearchParams, client: LoginClient): Promise<string> {
    if (!this.key) throw new RegistryError('UNAVAILABLE', 'this registry has no signing key');
    const scopes = query.getAll('scope');
    const audience = query.get('service');
    let principal: Principal = { kind: 'anonymous' };
    if (this.enabled && authorization && authorization.trim() !== '') principal = await this.authenticateBasic(authorization, client);
    const authed = principal.kind !== 'anonymous';
    if (this.enabled && !authed) {
      if (scopes.length === 0) throw this.unauthorized();
      if (!this.settings.anonymousAccess) throw this.unauthorized('Anonymous access is not allowed');
    }
    if (principal.kind !== 'anonymous' && scopes.length === 0) await this.events?.loggedIn(principal, client);
    const access: AccessEntry[] = [];
    const roots: Record<string, string> = {};
    for (const scope of scopes) {
      if (scope === '') {
        if (!authed && this.enabled) throw this.unauthorized();
        continue;
      }
      const { entry, repository } = await this.scope(scope, principal);
      access.push(entry);
      roots[repository] = '$disabled'; // content trust (FEATURE_SIGNING) is not offered
    }
    const subject = principal.kind === 'anonymous' ? ANONYMOUS_SUB : principal.user.username;
    const context: Record<string, unknown> = { ...contextOf(principal), 'com.apostille.roots': roots, 'com.apostille.root': '$disabled' };
    const token = await mintToken(this.key, { audience, subject, access, context, nowMs: this.now() });
    this.metrics?.tokensIssued.inc({ entity_kind: principal.kind });
    this.log.debug('token issued', { sub: subject, access });
    return JSON.stringify({ token });
  }

  private async scope(scope: string, principal: Principal): Promise<{ entry: AccessEntry; repository: string }> {
    const m = this.scopeRe.exec(scope);
    if (!m) throw new RegistryError('INVALID_REQUEST', `Unable to decode repository and actions: ${scope}`, { detail: {} });
    const [, registryAndRepo, nsAndRepo, actionList] = m as unknown as [string, string, string, string];
    const requested = actionList.split(',');
    let name: RepoName;
    try {
      name = parseRepositoryPath(nsAndRepo, this.settings.libraryNamespace);
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== 'NAME_INVALID') throw e;
      // Quay checks the repository part only (v2auth.py); a namespace that cannot exist is one that
      // does not: the token grants nothing on it.
      const slash = nsAndRepo.indexOf('/');
      if (!isValidRepositoryName(slash < 0 ? nsAndRepo : nsAndRepo.slice(slash + 1)) || !this.enabled) {
        const text = `Invalid repository name: ${nsAndRepo}`;
        throw new RegistryError('NAME_INVALID', text, { wireMessage: text, detail: {} });
      }
      return { entry: { type: 'repository', name: registryAndRepo, actions: [] }, repository: slash < 0 ? `${this.settings.libraryNamespace}/${nsAndRepo}` : nsAndRepo };
    }
    const entry = (actions: string[]): { entry: AccessEntry; repository: string } => ({ entry: { type: 'repository', name: registryAndRepo, actions }, repository: fullName(name) });
    if (!this.enabled) return entry([...new Set(requested)]);

    let repo = await this.meta.lookupRepository(name.namespace, name.name);
    if (repo && repo.state === RepositoryState.MARKED_FOR_DELETION) throw new RegistryError('NAME_UNKNOWN', 'Unknown repository');
    let namespace = await this.store.userByName(name.namespace);
    if (namespace && !namespace.enabled) {
      throw new RegistryError('NAMESPACE_DISABLED', `Namespace ${name.namespace} has been disabled. Please contact a system administrator.`);
    }
    if (!namespace && !this.settings.createNamespaceOnPush) return entry([]);
    const user = principal.kind === 'anonymous' ? null : principal.user;
    const final: string[] = [];
    // The entity's role, looked up once for all the requested actions (again only after a create on push).
    let known: RepoRole | null | undefined;
    const role = async (): Promise<RepoRole | null> => (known === undefined ? (known = user ? await this.role(user, namespace, repo) : null) : known);

    if (requested.includes('push') && user) {
      if (repo) {
        const r = await role();
        if (r && ROLE_RANK[r] >= ROLE_RANK.write) {
          if (repo.state === RepositoryState.NORMAL) final.push('push');
          // A mirrored repository takes pushes from its mirroring robot only (Quay's v2auth); READ_ONLY from nobody.
          else if (repo.state === RepositoryState.MIRROR || repo.state === RepositoryState.ORG_MIRROR) {
            const robot = await this.store.mirrorRobot(repo.id, repo.state === RepositoryState.MIRROR ? 'repository' : 'organization');
            if (robot !== null && user.robot && robot === user.id) final.push('push');
          }
        }
      } else {
        if (!namespace && this.settings.createNamespaceOnPush && !user.robot) {
          const email = user.email.includes('@') ? user.email.split('@').join(`+${name.namespace}@`) : randomUUID();
          namespace = await this.store.createOrganization(name.namespace, email, user.id, this.now());
          this.log.info('organization created on push', { namespace: name.namespace, creator: user.username });
        }
        if (namespace && (await this.canCreate(user, namespace))) {
          repo = await this.meta.createRepository(name.namespace, name.name, this.settings.createPrivateRepoOnPush ? 'private' : 'public', this.now());
          if (!user.organization) await this.store.setRepositoryPermission(repo.id, { userId: user.id }, 'admin');
          known = undefined;
          this.log.info('repository created on push', { repository: fullName(name), creator: user.username });
          final.push('push');
        }
      }
    }
    if (requested.includes('pull')) {
      const r = await role();
      const readonlySuper = user !== null && this.settings.globalReadonlySuperUsers.includes(user.username);
      if ((r !== null) || (repo?.visibility === 'public') || readonlySuper) final.push('pull');
    }
    if (requested.includes('*') && user && repo && repo.state === RepositoryState.NORMAL) {
      if ((await role()) === 'admin') final.push('*');
    }
    return entry(final);
  }

  // ---- /v2 requests -----------------------------------------------------------------------------

  /** Validate the request's bearer token (none is fine: anonymous). */
  async requestAuth(authorization: string | undefined, repository?: string, need?: Need): Promise<RequestAuth> {
    if (!this.enabled) return OPEN;
    const header = authorization?.trim() ?? '';
    if (header === '') return { claims: null, grants: new Map() };
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw this.refusedToken('Invalid bearer token format', repository, need ? SCOPES_FOR[need] : undefined);
    const nowMs = this.now();
    const hit = this.verified.get(m[1]!);
    if (hit && hit.until > nowMs) return hit.auth;
    let claims: TokenClaims;
    try {
      claims = await verifyToken(m[1]!, this.keys!, { service: this.settings.service, audience: this.settings.serverHostname, maxFreshSeconds: this.settings.maxFreshSeconds }, this.now());
    } catch (e) {
      if (e instanceof InvalidToken) throw this.refusedToken(e.message, repository, need ? SCOPES_FOR[need] : undefined);
      throw e;
    }
    const grants = new Map<string, RepoRole>();
    for (const a of claims.access ?? []) {
      let n: RepoName;
      try { n = parseRepositoryPath(a.name, this.settings.libraryNamespace); } catch { continue; }
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
  async refuseInvalidName(authorization: string | undefined, repositoryPath: string, need: Need): Promise<RegistryError> {
    const repository = repositoryPath.includes('/') ? repositoryPath.replace(/\/+$/, '') : `${this.settings.libraryNamespace}/${repositoryPath}`;
    await this.requestAuth(authorization, repository, need);
    return this.unauthorized(undefined, repository, SCOPES_FOR[need]);
  }

  /** Check a repository request; UNAUTHORIZED with the scope to ask for when not allowed. */
  async authorize(authorization: string | undefined, name: RepoName, need: Need): Promise<RequestAuth> {
    if (!this.enabled) return OPEN;
    const repository = fullName(name);
    const a = await this.requestAuth(authorization, repository, need);
    const granted = a.grants.get(repository);
    if (granted && ROLE_RANK[granted] >= ROLE_RANK[need]) return a;
    if (need === 'read' && (await this.publicReadable(name))) return a;
    throw this.unauthorized(undefined, repository, SCOPES_FOR[need]);
  }

  /** May a request with these grants read the repository (a grant, or public with anonymous access on)? */
  async canRead(access: RequestAuth | null, name: RepoName): Promise<boolean> {
    if (!this.enabled || access?.grants.has(fullName(name))) return true;
    return this.publicReadable(name);
  }

  private async publicReadable(name: RepoName): Promise<boolean> {
    if (!this.settings.anonymousAccess) return false;
    return (await this.meta.lookupRepository(name.namespace, name.name))?.visibility === 'public';
  }

  /** The user a catalog listing is for (from the token's context), and whether public repositories show. */
  async catalogViewer(authorization: string | undefined): Promise<{ all: boolean; userId: number | null; includePublic: boolean }> {
    if (!this.enabled) return { all: true, userId: null, includePublic: true };
    const a = await this.requestAuth(authorization);
    const user = a.claims ? await this.userOf(a.claims) : null;
    if (user && !user.enabled) return { all: false, userId: -1, includePublic: false };
    if (user && this.isSuperUser(user)) return { all: true, userId: null, includePublic: true };
    return { all: false, userId: user?.id ?? null, includePublic: this.settings.publicCatalog };
  }

  visibleRepositories(userId: number | null, includePublic: boolean, page: { readonly last?: string; readonly n: number }): Promise<string[]> {
    return this.store.visibleRepositories(userId, includePublic, page);
  }

  private async userOf(claims: TokenClaims): Promise<UserRow | null> {
    const ctx = claims.context ?? {};
    const ref = ctx.entity_reference;
    switch (ctx.entity_kind) {
      case 'user': return typeof ref === 'string' ? this.store.userByUuid(ref) : null;
      case 'robot': return typeof ref === 'string' ? this.store.userByName(ref) : null;
      case 'appspecifictoken': return typeof ref === 'string' ? (await this.store.appTokenByUuid(ref, this.now()))?.user ?? null : null;
      default: return claims.sub !== ANONYMOUS_SUB && typeof ctx.user === 'string' ? this.store.userByName(ctx.user) : null;
    }
  }
}

/** Quay's signed auth context (ValidatedAuthContext.to_signed_dict), legacy fields included. */
function contextOf(p: Principal): Record<string, unknown> {
  switch (p.kind) {
    // Quay sets no auth context for a /v2/auth request without credentials: only the content-trust fields are added.
    case 'anonymous': return {};
    case 'user': return { version: 2, entity_kind: 'user', entity_reference: p.user.uuid, kind: 'user', user: p.user.username };
    case 'robot': return { version: 2, entity_kind: 'robot', entity_reference: p.user.username, kind: 'user', user: p.user.username };
    case 'appspecifictoken': return { version: 2, entity_kind: 'appspecifictoken', entity_reference: p.tokenUuid, kind: 'user', user: p.user.username };
  }
}
