/**
 * What an identity may do on a repository or in a namespace, with Quay's
 * rules (auth/permissions.py without OAuth scopes; the checks of
 * endpoints/v2/v2auth.py and data/model/user.py): the role a user holds
 * (own namespace, organisation admin teams, repository permissions, full-access
 * superusers), global read-only superusers, public and anonymous reads,
 * creating in a namespace, and the repositories a user may list.
 *
 * Facts only: a role, a yes or no, a list. No wire knows them here; each edge
 * (/v2 tokens in registryd/auth, /api/v1) turns them into its answers.
 */
import type { PermissionArea, RepositoryArea, TeamArea, UserArea } from '../../dal/model/areas.js';
import { RepositoryState, type Page, type RepositoryRef } from '../../dal/model/store.js';
import { ROLE_RANK, type RepoRole, type UserRow } from '../../dal/model/auth-store.js';
import { DomainError } from '../errors.js';
import type { RepoName } from '../names.js';

/** Quay's settings that decide permissions. */
export interface PermissionSettings {
  /** FEATURE_ANONYMOUS_ACCESS: anonymous pulls of public repositories. */
  readonly anonymousAccess: boolean;
  /** FEATURE_PUBLIC_CATALOG: `_catalog` lists public repositories too. */
  readonly publicCatalog: boolean;
  /** CREATE_NAMESPACE_ON_PUSH: a push into a missing namespace creates it as an organisation. */
  readonly createNamespaceOnPush: boolean;
  /** SUPER_USERS, effective only with FEATURE_SUPERUSERS_FULL_ACCESS. */
  readonly superUsers: readonly string[];
  readonly superUsersFullAccess: boolean;
  /** GLOBAL_READONLY_SUPER_USERS: may pull everything. */
  readonly globalReadonlySuperUsers: readonly string[];
}

/** The DAL areas permissions are read from (a Dal is one). */
export interface PermissionAreas {
  readonly users: UserArea;
  readonly teams: TeamArea;
  readonly permissions: PermissionArea;
  readonly repositories: RepositoryArea;
}

/** A repository and its namespace as a check sees them; either may not exist (yet). */
export interface RepositoryTarget {
  readonly namespace: UserRow | null;
  readonly repository: RepositoryRef | null;
}

/** Which repositories a listing shows: all of them, or those `userId` may read (null: nobody's), public ones too or not. */
export interface CatalogScope {
  readonly all: boolean;
  readonly userId: number | null;
  readonly includePublic: boolean;
}

export class Permissions {
  constructor(
    readonly settings: PermissionSettings,
    private readonly areas: PermissionAreas,
  ) {}

  /** A superuser with full access (SUPER_USERS and FEATURE_SUPERUSERS_FULL_ACCESS): admin everywhere. */
  isSuperUser(user: UserRow): boolean {
    return this.settings.superUsersFullAccess && this.settings.superUsers.includes(user.username);
  }

  /** A global read-only superuser: may read every repository, nothing more. */
  isReadonlySuperUser(user: UserRow): boolean {
    return this.settings.globalReadonlySuperUsers.includes(user.username);
  }

  /**
   * The repository and its namespace by name, for a check. NAME_UNKNOWN when
   * the repository is being deleted; NAMESPACE_DISABLED when its namespace is.
   */
  async target(name: RepoName): Promise<RepositoryTarget> {
    const repository = await this.areas.repositories.lookupRepository(name.namespace, name.name);
    if (repository && repository.state === RepositoryState.MARKED_FOR_DELETION) throw new DomainError('NAME_UNKNOWN', 'Unknown repository');
    const namespace = await this.areas.users.userByName(name.namespace);
    if (namespace && !namespace.enabled) {
      throw new DomainError('NAMESPACE_DISABLED', `Namespace ${name.namespace} has been disabled. Please contact a system administrator.`);
    }
    return { namespace, repository };
  }

  /** The user's role on the repository (none on a missing namespace; on a missing repository only as its namespace's owner or admin). */
  async role(user: UserRow, target: RepositoryTarget): Promise<RepoRole | null> {
    if (this.isSuperUser(user)) return 'admin';
    const { namespace, repository } = target;
    if (!namespace) return null;
    if (namespace.id === user.id) return 'admin';
    if (namespace.organization && (await this.areas.teams.teamRole(user.id, namespace.id)) === 'admin') return 'admin';
    return repository ? this.areas.permissions.repositoryRole(user.id, repository.id) : null;
  }

  /** What `user` (null: anonymous) may do on the target; its role is looked up once, when first needed. */
  access(user: UserRow | null, target: RepositoryTarget): RepositoryAccess {
    return new RepositoryAccess(this, user, target);
  }

  /** May the user create repositories in the namespace (its own, or an organisation where a team makes it admin or creator)? */
  async mayCreateIn(user: UserRow, namespace: UserRow): Promise<boolean> {
    if (namespace.id === user.id) return true;
    if (!namespace.organization) return false;
    const r = await this.areas.teams.teamRole(user.id, namespace.id);
    return r === 'admin' || r === 'creator';
  }

  /** May a push by the user create its missing namespace (CREATE_NAMESPACE_ON_PUSH; never for a robot)? */
  mayCreateNamespace(user: UserRow): boolean {
    return this.settings.createNamespaceOnPush && !user.robot;
  }

  /** May anyone read the repository without a grant: public, with FEATURE_ANONYMOUS_ACCESS on. */
  async publicReadable(name: RepoName): Promise<boolean> {
    if (!this.settings.anonymousAccess) return false;
    return (await this.areas.repositories.lookupRepository(name.namespace, name.name))?.visibility === 'public';
  }

  /** The repositories a listing (the catalog) shows the user (null: anonymous). */
  catalogScope(user: UserRow | null): CatalogScope {
    if (user && !user.enabled) return { all: false, userId: -1, includePublic: false };
    if (user && this.isSuperUser(user)) return { all: true, userId: null, includePublic: true };
    return { all: false, userId: user?.id ?? null, includePublic: this.settings.publicCatalog };
  }

  /** `ns/name` of the repositories `userId` may read (null: none), public ones too when asked; sorted, paged. */
  visibleRepositories(userId: number | null, includePublic: boolean, page: Page): Promise<string[]> {
    return this.areas.permissions.visibleRepositories(userId, includePublic, page);
  }

  /** The robot that mirrors into the repository, the only one that may push into it (null: none). */
  mirrorRobot(repository: RepositoryRef): Promise<number | null> {
    return this.areas.permissions.mirrorRobot(repository.id, repository.state === RepositoryState.MIRROR ? 'repository' : 'organization');
  }
}

/** One identity on one repository: its role (looked up once) and what it may do there. */
export class RepositoryAccess {
  private known: Promise<RepoRole | null> | undefined;

  constructor(
    private readonly permissions: Permissions,
    readonly user: UserRow | null,
    readonly target: RepositoryTarget,
  ) {}

  role(): Promise<RepoRole | null> {
    return (this.known ??= this.user ? this.permissions.role(this.user, this.target) : Promise.resolve(null));
  }

  /**
   * Push into the existing repository: write or admin, on a NORMAL repository;
   * a mirrored one takes pushes from its mirroring robot only, a read-only one from nobody.
   */
  async mayPush(): Promise<boolean> {
    const { user } = this;
    const repo = this.target.repository;
    if (!user || !repo) return false;
    const r = await this.role();
    if (!r || ROLE_RANK[r] < ROLE_RANK.write) return false;
    if (repo.state === RepositoryState.NORMAL) return true;
    if (repo.state !== RepositoryState.MIRROR && repo.state !== RepositoryState.ORG_MIRROR) return false;
    const robot = await this.permissions.mirrorRobot(repo);
    return robot !== null && user.robot && robot === user.id;
  }

  /** Pull: any role, a public repository (anonymously only with FEATURE_ANONYMOUS_ACCESS), or a global read-only superuser. */
  async mayPull(): Promise<boolean> {
    const r = await this.role();
    const { user } = this;
    const isPublic = this.target.repository?.visibility === 'public' && (user !== null || this.permissions.settings.anonymousAccess);
    return r !== null || isPublic || (user !== null && this.permissions.isReadonlySuperUser(user));
  }

  /** Administer (`*`): admin on an existing NORMAL repository. */
  async mayAdmin(): Promise<boolean> {
    const repo = this.target.repository;
    if (!this.user || !repo || repo.state !== RepositoryState.NORMAL) return false;
    return (await this.role()) === 'admin';
  }
}
