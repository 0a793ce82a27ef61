/**
 * The data-access layer by area: one interface per group of Quay's tables,
 * naming the operations on them. MetadataStore (store.ts) and AuthStore
 * (auth-store.ts) are unions of these areas, and a Dal (index.ts) hands each
 * out on its own (`dal.repositories`, `dal.tags`, ...), so a caller asks for
 * only what it uses. The row and argument types live beside the unions.
 *
 *   MetadataStore = repositories, tags, manifests, blobs, uploads, logs, notifications, queue
 *   AuthStore     = users, teams, permissions, service keys
 */
import type {
  ActionLogEntry,
  BlobRef,
  ManifestRef,
  ManifestTarget,
  NewManifest,
  Page,
  QueueItemEntry,
  QuotaAccounting,
  RepositoryRef,
  UploadProgress,
  UploadRow,
} from './store.js';
import type { AppTokenRow, NewUser, RepoRole, ServiceKeyRow, TeamRole, UserRow } from './auth-store.js';

/** Repositories and their namespaces (`repository`, `"user"` as namespace). */
export interface RepositoryArea {
  lookupRepository(namespace: string, name: string): Promise<RepositoryRef | null>;
  /** Create the repository, and its namespace (a user row) when missing. Returns the existing one if any. */
  createRepository(namespace: string, name: string, visibility: 'public' | 'private', nowMs: number): Promise<RepositoryRef>;
  /** `namespace/name` of repositories in NORMAL/READ_ONLY/MIRROR state, sorted, paged. */
  listRepositories(page: Page): Promise<string[]>;
  /** The id of a user or organisation (not a robot) by name (Quay's get_user_or_org). */
  namespaceId(name: string): Promise<number | null>;
}

/** Tags (`tag`, a history table: a move closes a row and opens another). */
export interface TagArea {
  /** Visible tag names, sorted, paged. */
  listTags(repositoryId: number, nowMs: number, page?: Page): Promise<string[]>;
  /** True when no visible tag has the name but an ended one does (Quay's TAG_EXPIRED). */
  tagExpired(repositoryId: number, tag: string, nowMs: number): Promise<boolean>;
  /**
   * End a visible tag's lifetime now; false if no such tag. The tag's
   * `tagnotificationsuccess` rows go with it, as in Quay.
   */
  deleteTag(repositoryId: number, tag: string, nowMs: number): Promise<boolean>;
}

/** Manifests (`manifest`, `manifestblob`, `manifestchild`, labels) and the tags that keep them. */
export interface ManifestArea {
  /** Alive only: kept by an alive tag (hidden temp tags included) or an alive list holding it. */
  manifestByDigest(repositoryId: number, digest: string, nowMs: number): Promise<ManifestRef | null>;
  /** The manifest a visible (alive, not hidden) tag points at. */
  manifestByTag(repositoryId: number, tag: string, nowMs: number): Promise<ManifestRef | null>;
  /**
   * Store a manifest and point its target at it; throws MissingReferences,
   * or SizeMismatch when a new manifest declares a size other than the stored
   * one (a manifest already in the repository is not checked again). A new
   * manifest also gets Quay's `manifestsecuritystatus` row (pending) and is
   * counted as `quota` says (default `invalidate`, Quay's defaults).
   */
  putManifest(repositoryId: number, m: NewManifest, target: ManifestTarget, nowMs: number, quota?: QuotaAccounting): Promise<ManifestRef>;
  /**
   * Quay's delete-by-digest: end every alive visible tag pointing straight at
   * the manifest; returns their names (by tag id), none when no visible tag
   * does (nothing changed). Hidden temporary tags keep running, as in Quay.
   */
  deleteManifest(repositoryId: number, digest: string, nowMs: number): Promise<string[]>;
  /** Manifests in the repository whose `subject` is the digest (alive: kept by some alive tag). */
  referrers(repositoryId: number, subject: string, nowMs: number): Promise<ManifestRef[]>;
}

/** Blobs (`imagestorage`, `imagestorageplacement`, `uploadedblob`). */
export interface BlobArea {
  /**
   * A blob visible in the repository: linked by `uploadedblob` or `manifestblob`.
   * As in Quay, an `uploadedblob` link counts until garbage collection removes
   * it, whatever its `expires_at`.
   */
  repositoryBlob(repositoryId: number, digest: string, nowMs: number): Promise<BlobRef | null>;
  /** A blob anywhere (for mounts). */
  globalBlob(digest: string): Promise<BlobRef | null>;
  /** Link an existing blob into a repository (`uploadedblob`), e.g. a cross-repository mount. */
  linkBlob(repositoryId: number, blobId: number, nowMs: number, expiresMs: number): Promise<void>;
  /**
   * Commit a finished upload in one transaction: get-or-create `imagestorage`
   * for the digest, ensure its placement, link it to the repository
   * (`uploadedblob`), delete the `blobupload` row (when `uploadUuid` is set).
   */
  commitBlob(c: {
    readonly uploadUuid: string | null;
    readonly repositoryId: number;
    readonly digest: string;
    readonly size: number;
    readonly uncompressedSize: number | null;
    readonly location: string;
    readonly nowMs: number;
    readonly linkExpiresMs: number;
  }): Promise<BlobRef>;
}

/** Uploads in progress (`blobupload`). */
export interface UploadArea {
  createUpload(repositoryId: number, uuid: string, location: string, shaState: string, nowMs: number): Promise<UploadRow>;
  /** By uuid alone, as Quay looks uploads up. */
  upload(uuid: string): Promise<UploadRow | null>;
  /** Record a chunk; false if the row moved on (another writer) or is gone. Compare-and-swap on `byte_count`. */
  recordChunk(uuid: string, expectByteCount: number, progress: UploadProgress): Promise<boolean>;
  deleteUpload(uuid: string): Promise<boolean>;
  /** Uploads created before the given time (stale-upload cleanup). */
  staleUploads(createdBeforeMs: number, limit: number): Promise<UploadRow[]>;
}

/** The action log (`logentry3`). */
export interface ActionLogArea {
  /**
   * Write an action log row, resolved once it is committed (rows of
   * concurrent calls share a commit: group-commit.ts); throws when
   * `entry.kind` is not in `logentrykind` (as Quay does).
   */
  logAction(entry: ActionLogEntry): Promise<void>;
}

/** Repository notifications (`repositorynotification`). */
export interface NotificationArea {
  /** The uuids of the repository's notifications for an event (`externalnotificationevent.name`), by id. */
  repositoryNotifications(repositoryId: number, event: string): Promise<string[]>;
}

/** Worker queues (`queueitem`). */
export interface QueueArea {
  /** Add queue items in one statement (Quay's batch insert). */
  enqueue(items: readonly QueueItemEntry[], nowMs: number): Promise<void>;
}

/** Users, organisations and robots (`"user"`), their credentials (robot tokens, app-specific tokens) and login bookkeeping. */
export interface UserArea {
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
  createUser(u: NewUser, nowMs: number): Promise<UserRow>;
  /** An organisation with an `owners` team (role admin) holding the creator, as Quay makes one. */
  createOrganization(name: string, email: string, creatorId: number, nowMs: number): Promise<UserRow>;
  /** A robot `<owner>+<short>` with its encrypted token, metadata and quayrobot login row. */
  createRobot(fullName: string, encryptedToken: string, description: string, nowMs: number): Promise<UserRow>;
  createAppToken(
    userId: number,
    t: { readonly uuid: string; readonly title: string; readonly prefix: string; readonly encryptedSecret: string; readonly expirationMs: number | null },
    nowMs: number,
  ): Promise<void>;
}

/** Teams of organisations (`team`, `teammember`, `teamrole`). */
export interface TeamArea {
  /** Best team role of the user in the organisation. */
  teamRole(userId: number, orgId: number): Promise<TeamRole | null>;
  createTeam(orgId: number, name: string, role: TeamRole): Promise<number>;
  teamId(org: string, team: string): Promise<number | null>;
  addTeamMember(teamId: number, userId: number): Promise<void>;
}

/** Who may do what on a repository (`repositorypermission`, visibility, mirror robots). */
export interface PermissionArea {
  /** Best role from `repositorypermission` rows of the user and of every team the user is in. */
  repositoryRole(userId: number, repositoryId: number): Promise<RepoRole | null>;
  /**
   * The robot allowed to push into a repository Quay mirrors: the repository
   * mirror's `internal_robot_id` (state MIRROR), or its organisation mirror's
   * (state ORG_MIRROR); null when there is none.
   */
  mirrorRobot(repositoryId: number, scope: 'repository' | 'organization'): Promise<number | null>;
  /**
   * `ns/name` of NORMAL/READ_ONLY/MIRROR repositories the user may read
   * (own namespace, org admin teams, permissions) plus public ones when asked,
   * sorted, paged.
   */
  visibleRepositories(userId: number | null, includePublic: boolean, page: Page): Promise<string[]>;
  setRepositoryPermission(repositoryId: number, who: { readonly userId: number } | { readonly teamId: number }, role: RepoRole): Promise<void>;
  setRepositoryVisibility(repositoryId: number, visibility: 'public' | 'private'): Promise<void>;
}

/** Service keys (`servicekey`, `servicekeyapproval`). */
export interface ServiceKeyArea {
  /** An approved, unexpired key of the service. */
  serviceKey(kid: string, service: string, nowMs: number): Promise<ServiceKeyRow | null>;
  /** Register and approve (`Automatic`) a key; drops this service's keys expired for more than a day. */
  registerServiceKey(
    k: { readonly kid: string; readonly service: string; readonly name: string; readonly jwk: Record<string, unknown>; readonly expirationMs: number },
    nowMs: number,
  ): Promise<void>;
  /** Move a key's expiry (the servicekeyworker's job); false when the row is gone. */
  extendServiceKey(kid: string, expirationMs: number): Promise<boolean>;
}
