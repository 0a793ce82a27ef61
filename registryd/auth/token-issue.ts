/**
 * `GET /v2/auth` (Quay's endpoints/v2/v2auth.py): a signed token whose
 * `access` is the requested scopes down-scoped to what the entity may do
 * (domain/auth/permissions.ts). `push` on a missing repository creates it
 * (and the namespace, with CREATE_NAMESPACE_ON_PUSH) while the token is made.
 * In `anonymous` mode every scope is granted as asked.
 */
import { randomUUID } from 'node:crypto';
import { RegistryError, fromDomain } from '../oci/errors.js';
import { DomainError } from '../../domain/errors.js';
import { isValidRepositoryName, parseRepositoryPath, fullName, type RepoName } from '../../domain/names.js';
import type { Permissions, RepositoryAccess } from '../../domain/auth/permissions.js';
import type { LoginClient, Principal } from '../../domain/auth/credentials.js';
import type { InstanceKey } from '../../domain/auth/instance-key.js';
import type { RepositoryArea, UserArea, PermissionArea } from '../../dal/model/areas.js';
import type { UserRow } from '../../dal/model/auth-store.js';
import type { Logger } from '../../lib/log.js';
import type { RegistryMetrics } from '../metrics/metrics.js';
import type { Challenges } from './challenges.js';
import { ANONYMOUS_SUB, mintToken, type AccessEntry } from './tokens.js';

/** What the token issue reads of the settings. */
export interface TokenIssueSettings {
  readonly mode: 'anonymous' | 'database';
  readonly serverHostname: string;
  readonly anonymousAccess: boolean;
  readonly createNamespaceOnPush: boolean;
  readonly createPrivateRepoOnPush: boolean;
  readonly libraryNamespace: string;
}

export interface TokenIssueDeps {
  readonly settings: TokenIssueSettings;
  readonly permissions: Permissions;
  /** Where a push creates repositories, organisations and the creator's permission. */
  readonly areas: { readonly repositories: RepositoryArea; readonly users: UserArea; readonly permissions: PermissionArea };
  readonly key: InstanceKey | null;
  readonly challenges: Challenges;
  /** The entity behind a Basic header (RegistryError UNAUTHORIZED, or LoginThrottled). */
  readonly authenticate: (header: string, client: LoginClient) => Promise<Principal>;
  /** A /v2/auth request without any `scope` that logged someone in (docker login). */
  readonly loggedIn: ((p: Exclude<Principal, { readonly kind: 'anonymous' }>, client: LoginClient) => Promise<void>) | null;
  readonly log: Logger;
  readonly now: () => number;
  readonly metrics?: RegistryMetrics | undefined;
}

type Scoped = { entry: AccessEntry; repository: string };

export class TokenIssue {
  private readonly scopeRe: RegExp;

  constructor(private readonly deps: TokenIssueDeps) {
    const host = deps.settings.serverHostname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.scopeRe = new RegExp(`^repository:((?:${host}/)?((?:[.a-zA-Z0-9_-]+/)*[.a-zA-Z0-9_-]+)):((?:push|pull|\\*)(?:,(?:push|pull|\\*))*)$`);
  }

  private get enabled(): boolean {
    return this.deps.settings.mode === 'database';
  }

  /** The body of a /v2/auth answer: `{"token": …}` for the query's service and scopes, to a request from `client`. */
  async issue(authorization: string | undefined, query: URLSearchParams, client: LoginClient): Promise<string> {
    const { key, settings, challenges } = this.deps;
    if (!key) throw new RegistryError('UNAVAILABLE', 'this registry has no signing key');
    const scopes = query.getAll('scope');
    const audience = query.get('service');
    let principal: Principal = { kind: 'anonymous' };
    if (this.enabled && authorization && authorization.trim() !== '') principal = await this.deps.authenticate(authorization, client);
    const authed = principal.kind !== 'anonymous';
    if (this.enabled && !authed) {
      if (scopes.length === 0) throw challenges.unauthorized();
      if (!settings.anonymousAccess) throw challenges.unauthorized('Anonymous access is not allowed');
    }
    if (principal.kind !== 'anonymous' && scopes.length === 0) await this.deps.loggedIn?.(principal, client);
    const access: AccessEntry[] = [];
    const roots: Record<string, string> = {};
    for (const scope of scopes) {
      if (scope === '') {
        if (!authed && this.enabled) throw challenges.unauthorized();
        continue;
      }
      const { entry, repository } = await this.scope(scope, principal);
      access.push(entry);
      roots[repository] = '$disabled'; // content trust (FEATURE_SIGNING) is not offered
    }
    const subject = principal.kind === 'anonymous' ? ANONYMOUS_SUB : principal.user.username;
    const context: Record<string, unknown> = { ...contextOf(principal), 'com.apostille.roots': roots, 'com.apostille.root': '$disabled' };
    const token = await mintToken(key, { audience, subject, access, context, nowMs: this.deps.now() });
    this.deps.metrics?.tokensIssued.inc({ entity_kind: principal.kind });
    this.deps.log.debug('token issued', { sub: subject, access });
    return JSON.stringify({ token });
  }

  /** One requested scope, down-scoped to what the principal may do. */
  private async scope(scope: string, principal: Principal): Promise<Scoped> {
    const m = this.scopeRe.exec(scope);
    if (!m) {
      const text = `Unable to decode repository and actions: ${scope}`;
      throw new RegistryError('INVALID_REQUEST', text, { detail: {}, wireMessage: text });
    }
    const [, registryAndRepo, nsAndRepo, actionList] = m as unknown as [string, string, string, string];
    const requested = actionList.split(',');
    const { libraryNamespace } = this.deps.settings;
    let name: RepoName;
    try {
      name = parseRepositoryPath(nsAndRepo, libraryNamespace);
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== 'NAME_INVALID') throw e;
      // Quay checks the repository part only (v2auth.py); a namespace that cannot exist is one that
      // does not: the token grants nothing on it.
      const slash = nsAndRepo.indexOf('/');
      if (!isValidRepositoryName(slash < 0 ? nsAndRepo : nsAndRepo.slice(slash + 1)) || !this.enabled) {
        const text = `Invalid repository name: ${nsAndRepo}`;
        throw new RegistryError('NAME_INVALID', text, { wireMessage: text, detail: {} });
      }
      return { entry: { type: 'repository', name: registryAndRepo, actions: [] }, repository: slash < 0 ? `${libraryNamespace}/${nsAndRepo}` : nsAndRepo };
    }
    const entry = (actions: string[]): Scoped => ({ entry: { type: 'repository', name: registryAndRepo, actions }, repository: fullName(name) });
    if (!this.enabled) return entry([...new Set(requested)]);
    try {
      return entry(await this.granted(name, requested, principal.kind === 'anonymous' ? null : principal.user));
    } catch (e) {
      if (e instanceof DomainError) throw fromDomain(e);
      throw e;
    }
  }

  /** The requested actions the user (null: anonymous) may have on the repository, creating it on a push that may. */
  private async granted(name: RepoName, requested: readonly string[], user: UserRow | null): Promise<string[]> {
    const { permissions } = this.deps;
    const target = await permissions.target(name);
    if (!target.namespace && !this.deps.settings.createNamespaceOnPush) return [];
    let access = permissions.access(user, target);
    const final: string[] = [];
    if (requested.includes('push') && user) {
      if (target.repository) {
        if (await access.mayPush()) final.push('push');
      } else {
        const after = await this.createOnPush(name, access);
        access = after.access;
        if (after.created) final.push('push');
      }
    }
    if (requested.includes('pull') && (await access.mayPull())) final.push('pull');
    if (requested.includes('*') && (await access.mayAdmin())) final.push('*');
    return final;
  }

  /**
   * A push into a missing repository: its namespace made first when missing
   * and the user may, then the repository when the user may create in the
   * namespace (the creator becomes its admin). The access to use afterwards.
   */
  private async createOnPush(name: RepoName, before: RepositoryAccess): Promise<{ access: RepositoryAccess; created: boolean }> {
    const { permissions, areas, settings, log } = this.deps;
    const user = before.user!;
    let namespace = before.target.namespace;
    if (!namespace && permissions.mayCreateNamespace(user)) {
      const email = user.email.includes('@') ? user.email.split('@').join(`+${name.namespace}@`) : randomUUID();
      namespace = await areas.users.createOrganization(name.namespace, email, user.id, this.deps.now());
      log.info('organization created on push', { namespace: name.namespace, creator: user.username });
    }
    if (!namespace || !(await permissions.mayCreateIn(user, namespace))) {
      return { access: namespace === before.target.namespace ? before : permissions.access(user, { namespace, repository: null }), created: false };
    }
    const repo = await areas.repositories.createRepository(name.namespace, name.name, settings.createPrivateRepoOnPush ? 'private' : 'public', this.deps.now());
    if (!user.organization) await areas.permissions.setRepositoryPermission(repo.id, { userId: user.id }, 'admin');
    log.info('repository created on push', { repository: fullName(name), creator: user.username });
    return { access: permissions.access(user, { namespace, repository: repo }), created: true };
  }
}

/** Quay's signed auth context (ValidatedAuthContext.to_signed_dict), legacy fields included. */
function contextOf(p: Principal): Record<string, unknown> {
  switch (p.kind) {
    // Quay sets no auth context for a /v2/auth request without credentials: only the content-trust fields are added.
    case 'anonymous':
      return {};
    case 'user':
      return { version: 2, entity_kind: 'user', entity_reference: p.user.uuid, kind: 'user', user: p.user.username };
    case 'robot':
      return { version: 2, entity_kind: 'robot', entity_reference: p.user.username, kind: 'user', user: p.user.username };
    case 'appspecifictoken':
      return { version: 2, entity_kind: 'appspecifictoken', entity_reference: p.tokenUuid, kind: 'user', user: p.user.username };
  }
}
