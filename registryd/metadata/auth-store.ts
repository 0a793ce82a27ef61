/**
 * The auth half of the metadata contract: namespaces, credentials, teams,
 * permissions and service keys, on Quay's tables (quay-schema.md §1, §2, §9).
 * Kept apart from MetadataStore so the /v2 data path does not grow with it;
 * one adapter class per database implements both.
 */

/** `role.name`: a repository role. */
export type RepoRole = 'read' | 'write' | 'admin';
/** `teamrole.name`: a team's role in its organisation. */
export type TeamRole = 'admin' | 'creator' | 'member';

export const ROLE_RANK: Readonly<Record<RepoRole, number>> = { read: 1, write: 2, admin: 3 };

/** Quay's LAST_ACCESSED_UPDATE_THRESHOLD_S (60 s): a `last_accessed` younger than this is not rewritten. */
export const LAST_ACCESSED_THRESHOLD_MS = 60_000;

/** A `"user"` row: a user, an organisation or a robot. */
export interface UserRow {
  readonly id: number;
  readonly uuid: string;
  readonly username: string;
  readonly email: string;
  readonly passwordHash: string | null;
  readonly organization: boolean;
  readonly robot: boolean;
  readonly enabled: boolean;
  readonly invalidLoginAttempts: number;
  readonly lastInvalidLoginMs: number;
}

export interface AppTokenRow {
  readonly id: number;
  readonly uuid: string;
  readonly title: string;
  /** `token_secret`, still encrypted. */
  readonly secret: string;
  readonly user: UserRow;
}

export interface NewUser {
  readonly username: string;
  readonly email: string;
  /** bcrypt hash; null for organisations and robots. */
  readonly passwordHash: string | null;
  readonly organization?: boolean;
  readonly robot?: boolean;
  readonly verified?: boolean;
}

export interface ServiceKeyRow {
  readonly kid: string;
  readonly service: string;
  readonly jwk: Record<string, unknown>;
  readonly expirationMs: number | null;
  readonly approved: boolean;
}

export interface Page {
  readonly last?: string;
  readonly n: number;
}

export interface AuthStore {
  userByName(username: string): Promise<UserRow | null>;
  /** By username, or by e-mail among non-organisations (Quay's verify_user). */
  userByNameOrEmail(text: string): Promise<UserRow | null>;
  userByUuid(uuid: string): Promise<UserRow | null>;
  /** The robot's encrypted token (`robotaccounttoken.token`). */
  robotToken(robotId: number): Promise<string | null>;
  /** An unexpired app-specific token by its public prefix (`token_name`). */
  appToken(prefix: string, nowMs: number): Promise<AppTokenRow | null>;
  appTokenByUuid(uuid: string, nowMs: number): Promise<AppTokenRow | null>;
  /** Quay's update_last_accessed of an app-specific token at use: `last_accessed` set unless it is under a minute old. */
  touchAppToken(id: number, nowMs: number): Promise<void>;
  /** The same for a user row (a robot, at every login: Quay's verify_robot). */
  touchUser(userId: number, nowMs: number): Promise<void>;
  /**
   * Quay's login backoff bookkeeping: count a failure; or, on success, clear
   * a count there is (and only then touch `last_accessed`, as touchUser: Quay's
   * verify_user leaves a user without failures untouched).
   */
  recordLogin(userId: number, ok: boolean, nowMs: number): Promise<void>;
  /**
   * Count a failed login as a compare-and-swap: `invalid_login_attempts` becomes
   * `next` and `last_invalid_login` now, only if the count is still `seen` (what
   * the caller read before checking the password). False when another failure
   * or a success got there first: of failures racing in one back-off window, on
   * any number of processes or nodes, exactly one counts.
   */
  recordLoginFailure(userId: number, seen: number, next: number, nowMs: number): Promise<boolean>;

  /** Best role from `repositorypermission` rows of the user and of every team the user is in. */
  repositoryRole(userId: number, repositoryId: number): Promise<RepoRole | null>;
  /**
   * The robot allowed to push into a repository Quay mirrors: the repository
   * mirror's `internal_robot_id` (state MIRROR), or its organisation mirror's
   * (state ORG_MIRROR); null when there is none.
   */
  mirrorRobot(repositoryId: number, scope: 'repository' | 'organization'): Promise<number | null>;
  /** Best team role of the user in the organisation. */
  teamRole(userId: number, orgId: number): Promise<TeamRole | null>;
  /**
   * `ns/name` of NORMAL/READ_ONLY/MIRROR repositories the user may read
   * (own namespace, org admin teams, permissions) plus public ones when asked,
   * sorted, paged.
   */
  visibleRepositories(userId: number | null, includePublic: boolean, page: Page): Promise<string[]>;

  createUser(u: NewUser, nowMs: number): Promise<UserRow>;
  /** An organisation with an `owners` team (role admin) holding the creator, as Quay makes one. */
  createOrganization(name: string, email: string, creatorId: number, nowMs: number): Promise<UserRow>;
  /** A robot `<owner>+<short>` with its encrypted token, metadata and quayrobot login row. */
  createRobot(fullName: string, encryptedToken: string, description: string, nowMs: number): Promise<UserRow>;
  createTeam(orgId: number, name: string, role: TeamRole): Promise<number>;
  teamId(org: string, team: string): Promise<number | null>;
  addTeamMember(teamId: number, userId: number): Promise<void>;
  setRepositoryPermission(repositoryId: number, who: { readonly userId: number } | { readonly teamId: number }, role: RepoRole): Promise<void>;
  setRepositoryVisibility(repositoryId: number, visibility: 'public' | 'private'): Promise<void>;
  createAppToken(userId: number, t: { readonly uuid: string; readonly title: string; readonly prefix: string; readonly encryptedSecret: string; readonly expirationMs: number | null }, nowMs: number): Promise<void>;

  /** An approved, unexpired key of the service. */
  serviceKey(kid: string, service: string, nowMs: number): Promise<ServiceKeyRow | null>;
  /** Register and approve (`Automatic`) a key; drops this service's keys expired for more than a day. */
  registerServiceKey(k: { readonly kid: string; readonly service: string; readonly name: string; readonly jwk: Record<string, unknown>; readonly expirationMs: number }, nowMs: number): Promise<void>;
  /** Move a key's expiry (the servicekeyworker's job); false when the row is gone. */
  extendServiceKey(kid: string, expirationMs: number): Promise<boolean>;
}
