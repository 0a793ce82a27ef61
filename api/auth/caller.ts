/**
 * Who is calling /api/v1 and what they may do, as Quay's permission loader
 * decides it (auth/permissions.py QuayDeferredPermissionUser, with the
 * permission classes at its end). One Caller per request; the grants it
 * reads are loaded once per request when first needed.
 *
 *   user        the signed-in user (session cookie or OAuth token), null when anonymous
 *   scopes      the token's scopes, or {direct_user_login} for a session
 *   roles       every role capped to what the scopes allow (scopes.ts)
 *   superusers  SuperUserPermission needs FEATURE_SUPER_USERS, SUPER_USERS and, for a
 *               token, the super:user scope; with FEATURE_SUPERUSERS_FULL_ACCESS a superuser
 *               passes every namespace and repository permission. A global read-only
 *               superuser (GLOBAL_READONLY_SUPER_USERS) is never also a superuser.
 */
import type { Account, Membership } from '../../dal/portable/accounts.js';
import type { Accounts } from '../../dal/portable/accounts.js';
import type { Grants } from '../../dal/portable/grants.js';
import type { OAuthTokenRow } from '../../dal/portable/oauth.js';
import type { ApiSettings } from '../wire/settings.js';
import { capRepoRole, capTeamRole, capUserRole, DIRECT_LOGIN, EmptyScopeSet, REPO_ROLES, TEAM_ROLES } from './scopes.js';
import type { SessionData } from './flask-session.js';

export type RepoRole = 'read' | 'write' | 'admin';
export type TeamRole = 'member' | 'creator' | 'admin';

export interface CallerDeps {
  readonly settings: ApiSettings;
  readonly accounts: Accounts;
  readonly grants: Grants;
}

const rank = (order: readonly (string | null)[], r: string | null): number => order.indexOf(r);

export class Caller {
  /** Every team the user is in, all organisations: one query per request, as Quay's loader reads them at once. */
  private memberships: Promise<Membership[]> | null = null;
  private readonly repoRoles = new Map<string, Promise<RepoRole | null>>();

  constructor(
    private readonly deps: CallerDeps,
    /** The signed-in user: never an organisation, a robot or a disabled account. */
    readonly user: Account | null,
    readonly via: 'anonymous' | 'session' | 'oauth',
    readonly scopes: ReadonlySet<string>,
    readonly token: OAuthTokenRow | null = null,
    readonly session: SessionData | null = null,
  ) {}

  /**
   * Quay loads a caller's grants at its first permission check, capping each
   * by the scopes: with an OAuth token whose scope set is empty that fails
   * (Python's max() of nothing), whatever the check. Every check calls this first.
   */
  loadGrants(): void {
    if (this.via === 'oauth' && this.scopes.size === 0) throw new EmptyScopeSet();
  }

  static anonymous(deps: CallerDeps): Caller {
    return new Caller(deps, null, 'anonymous', new Set());
  }

  get settings(): ApiSettings {
    return this.deps.settings;
  }

  /** Unauthorized answers 403 (signed in) or 401 (anonymous). */
  get signedIn(): boolean {
    return this.user !== null && !this.user.organization;
  }

  /** usermanager.is_global_readonly_superuser. */
  isGlobalReadonlySuperUser(): boolean {
    return this.user !== null && this.settings.globalReadonlySuperUsers.includes(this.user.username);
  }

  /** usermanager.is_superuser: FEATURE_SUPER_USERS and in SUPER_USERS (whatever the scopes). */
  isSuperUserAccount(): boolean {
    return this.user !== null && this.settings.feature('SUPER_USERS') && this.settings.superUsers.includes(this.user.username);
  }

  /** SuperUserPermission: a superuser by a session or a token with super:user; a global read-only superuser is not one. */
  isSuperUser(): boolean {
    this.loadGrants();
    if (!this.user || this.isGlobalReadonlySuperUser()) return false;
    return (this.scopes.has('super:user') || this.scopes.has(DIRECT_LOGIN)) && this.isSuperUserAccount();
  }

  /** A superuser with FEATURE_SUPERUSERS_FULL_ACCESS: passes every namespace and repository permission. */
  hasFullAccess(): boolean {
    return this.isSuperUser() && this.settings.feature('SUPERUSERS_FULL_ACCESS');
  }

  private async teamsIn(org: string): Promise<Membership[]> {
    this.memberships ??= this.user ? this.deps.accounts.memberships(this.user.id) : Promise.resolve([]);
    return (await this.memberships).filter((m) => m.orgName === org);
  }

  /** The caller's role on a repository (capped by scopes); null: none. Missing repositories give the namespace-wide role only. */
  repoRole(namespace: string, repository: string): Promise<RepoRole | null> {
    const key = `${namespace}/${repository}`;
    let r = this.repoRoles.get(key);
    if (!r) {
      r = this.loadRepoRole(namespace, repository);
      this.repoRoles.set(key, r);
    }
    return r;
  }

  private async loadRepoRole(namespace: string, repository: string): Promise<RepoRole | null> {
    const user = this.user;
    if (!user) return null;
    const roles: (RepoRole | null)[] = [];
    if (user.username === namespace) roles.push(capRepoRole(this.scopes, 'admin'));
    // Organisation-wide: a team with the admin role administers every repository (TEAM_ORGWIDE_REPO_ROLES).
    for (const t of await this.teamsIn(namespace)) roles.push(t.role === 'admin' ? capRepoRole(this.scopes, 'admin') : capRepoRole(this.scopes, null));
    for (const g of await this.deps.grants.repositoryRoles(user.id, namespace, repository)) roles.push(capRepoRole(this.scopes, g));
    let best: RepoRole | null = null;
    for (const r of roles) if (rank(REPO_ROLES, r) > rank(REPO_ROLES, best)) best = r;
    return best;
  }

  private async repoAtLeast(namespace: string, repository: string, need: RepoRole): Promise<boolean> {
    this.loadGrants();
    if (!this.user) return false;
    if (this.hasFullAccess()) return true;
    return rank(REPO_ROLES, await this.repoRole(namespace, repository)) >= rank(REPO_ROLES, need);
  }

  /** ReadRepositoryPermission. */
  canReadRepo(namespace: string, repository: string): Promise<boolean> {
    return this.repoAtLeast(namespace, repository, 'read');
  }

  /** ModifyRepositoryPermission. */
  canWriteRepo(namespace: string, repository: string): Promise<boolean> {
    return this.repoAtLeast(namespace, repository, 'write');
  }

  /** AdministerRepositoryPermission. */
  canAdminRepo(namespace: string, repository: string): Promise<boolean> {
    return this.repoAtLeast(namespace, repository, 'admin');
  }

  /** The capped roles the caller holds in an organisation: its own namespace counts as admin. */
  async orgRoles(org: string): Promise<Set<TeamRole>> {
    this.loadGrants();
    const out = new Set<TeamRole>();
    if (!this.user) return out;
    const add = (r: TeamRole | null): void => {
      if (r) out.add(r);
    };
    if (this.user.username === org) add(capTeamRole(this.scopes, 'admin'));
    for (const t of await this.teamsIn(org)) add(capTeamRole(this.scopes, t.role));
    return out;
  }

  /** AdministerOrganizationPermission. */
  async canAdminOrg(org: string): Promise<boolean> {
    this.loadGrants();
    if (!this.user) return false;
    if (this.hasFullAccess()) return true;
    return (await this.orgRoles(org)).has('admin');
  }

  /** OrganizationMemberPermission: admin, creator or member. */
  async isOrgMember(org: string): Promise<boolean> {
    this.loadGrants();
    if (!this.user) return false;
    if (this.hasFullAccess()) return true;
    return (await this.orgRoles(org)).size > 0;
  }

  /** CreateRepositoryPermission: admin or creator in the namespace. */
  async canCreateIn(namespace: string): Promise<boolean> {
    this.loadGrants();
    if (!this.user) return false;
    if (this.hasFullAccess()) return true;
    const roles = await this.orgRoles(namespace);
    return roles.has('admin') || roles.has('creator');
  }

  /** ViewTeamPermission: any role in the team itself, or organisation admin. */
  async canViewTeam(org: string, team: string): Promise<boolean> {
    this.loadGrants();
    if (!this.user) return false;
    if (this.hasFullAccess()) return true;
    if ((await this.orgRoles(org)).has('admin')) return true;
    return (await this.teamsIn(org)).some((t) => t.teamName === team && capTeamRole(this.scopes, t.role) !== null);
  }

  /** UserAdminPermission(username): the caller is that user, with admin over itself. */
  canAdminUser(username: string): boolean {
    this.loadGrants();
    return this.user !== null && this.user.username === username && capUserRole(this.scopes, 'admin') === 'admin';
  }

  /** UserReadPermission(username). */
  canReadUser(username: string): boolean {
    this.loadGrants();
    return this.user !== null && this.user.username === username && capUserRole(this.scopes, 'admin') !== null;
  }
}

export { TEAM_ROLES };
