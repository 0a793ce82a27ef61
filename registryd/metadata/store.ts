/**
 * The metadata-store contract: registry operations on Quay's tables
 * (quay-schema.md §1–§5), with SQL behind adapters (sqlite/ now, PostgreSQL
 * next). Everything is async so a networked adapter fits the same shape.
 * Names (namespace, repository) are Quay's: `namespace` is a `"user"` row's
 * username, `name` may contain `/`. Times are milliseconds since the epoch,
 * passed in by the caller so the store reads no clock of its own.
 */

/** `repository.state` (an int column in Quay). */
export const RepositoryState = { NORMAL: 0, READ_ONLY: 1, MIRROR: 2, MARKED_FOR_DELETION: 3, ORG_MIRROR: 4 } as const;

export interface RepositoryRef {
  readonly id: number;
  readonly namespaceId: number;
  readonly namespace: string;
  readonly name: string;
  readonly visibility: 'public' | 'private';
  readonly state: number;
}

/** An `imagestorage` row (one per digest, shared by all repositories). */
export interface BlobRef {
  readonly id: number;
  readonly digest: string;
  readonly size: number;
  /** Storage locations holding the bytes (`imagestorageplacement`). */
  readonly locations: readonly string[];
}

/** A `blobupload` row. */
export interface UploadRow {
  readonly id: number;
  readonly repositoryId: number;
  readonly uuid: string;
  readonly byteCount: number;
  readonly chunkCount: number;
  /** base64 pickle of Quay's resumable hasher (sha-state.ts); null on a fresh upload written by another tool. */
  readonly shaState: string | null;
  readonly location: string;
  readonly storageMetadata: string;
  readonly uncompressedByteCount: number | null;
  readonly createdMs: number;
}

export interface UploadProgress {
  readonly byteCount: number;
  readonly chunkCount: number;
  readonly shaState: string;
  readonly storageMetadata: string;
  readonly uncompressedByteCount: number | null;
}

export interface ManifestRef {
  readonly id: number;
  readonly repositoryId: number;
  readonly digest: string;
  readonly mediaType: string;
  /** `manifest_bytes`: the exact pushed bytes, as text. */
  readonly text: string;
  readonly artifactType: string | null;
  readonly subject: string | null;
}

export interface NewManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly text: string;
  readonly configMediaType: string | null;
  /** Sum of the layers' sizes; null for an index or list (Quay stores NULL there). */
  readonly layersCompressedSize: number | null;
  readonly subject: string | null;
  readonly artifactType: string | null;
  /** Blobs (config + layers) the repository must already hold. */
  readonly blobDigests: readonly string[];
  /** Child manifests (index/list) the repository must already hold. */
  readonly childDigests: readonly string[];
  /** The sizes the manifest declares for its blobs and children: each must be the stored one (checkDeclaredSizes). */
  readonly declaredSizes: readonly DeclaredSize[];
  /** Labels to record when the manifest is new (`label` + `manifestlabel`, source `manifest`; content/labels.ts). */
  readonly labels?: readonly NewLabel[];
}

/** A label a manifest carries (key, value and the value's media type name). */
export interface NewLabel {
  readonly key: string;
  readonly value: string;
  readonly mediaType: string;
}

/** A blob (config, layer) or child manifest a manifest names, with the size it declares for it. */
export interface DeclaredSize {
  readonly kind: 'config' | 'layer' | 'manifest';
  readonly digest: string;
  readonly size: number;
}

/** Where a pushed manifest is kept alive: a tag, or a hidden temporary tag (push by digest). */
export type ManifestTarget =
  | { readonly tag: string }
  | { readonly tempTagUntilMs: number | null };

export class MissingReferences extends Error {
  constructor(readonly blobs: readonly string[], readonly manifests: readonly string[]) {
    super(`missing blobs [${blobs.join(', ')}] manifests [${manifests.join(', ')}]`);
    this.name = 'MissingReferences';
  }
}

/** A declared size differs from what is stored (`imagestorage.image_size`, or a child manifest's byte length). */
export class SizeMismatch extends Error {
  constructor(readonly kind: DeclaredSize['kind'], readonly digest: string, readonly actual: number, readonly declared: number) {
    super(`${kind} ${digest} is ${actual} bytes, declared ${declared}`);
    this.name = 'SizeMismatch';
  }
}

/**
 * The adapters' check of a new manifest's declared sizes against the rows
 * they resolved its references to: throws SizeMismatch for the first that
 * differs. A blob whose `image_size` is not recorded (NULL) is not compared.
 */
export function checkDeclaredSizes(declared: readonly DeclaredSize[], blobSizes: ReadonlyMap<string, number | null>, manifestSizes: ReadonlyMap<string, number>): void {
  for (const d of declared) {
    const actual = d.kind === 'manifest' ? manifestSizes.get(d.digest) : blobSizes.get(d.digest);
    if (actual !== undefined && actual !== null && actual !== d.size) throw new SizeMismatch(d.kind, d.digest, actual, d.size);
  }
}

/**
 * How a new manifest counts towards Quay's quota totals
 * (data/model/quota.py update_quota, run inside the manifest's transaction):
 *  - `count` (FEATURE_QUOTA_MANAGEMENT): the sizes of its blobs that no other
 *    manifest of the namespace (repository) holds are added to
 *    `quotanamespacesize` (`quotarepositorysize`); a missing row is created
 *    only for the first manifest with blobs there, an existing row is left
 *    alone while its backfill is incomplete;
 *  - `invalidate` (quota management off, QUOTA_INVALIDATE_TOTALS on: Quay's
 *    defaults): the repository's and the namespace's totals, if any were
 *    computed, are zeroed and handed back to the backfill worker;
 *  - `none`: the totals are left alone.
 */
export type QuotaAccounting = 'count' | 'invalidate' | 'none';

/** One `logentry3` row (Quay's data/model/log.py log_action). */
export interface ActionLogEntry {
  /** `logentrykind.name`, resolved to its id by name. */
  readonly kind: string;
  /** The namespace's `"user"` id; null: the lowest user id (Quay's fallback when no namespace is known). */
  readonly accountId: number | null;
  readonly performerId: number | null;
  readonly repositoryId: number | null;
  readonly ip: string | null;
  /** Already serialised (Python's json.dumps form, see service/python-json.ts). */
  readonly metadataJson: string;
  /** Written in the process's local time, as Quay writes this column (datetime.now()). */
  readonly nowMs: number;
}

/** One `queueitem` row (Quay's WorkQueue.put): available now, 5 retries, a fresh state_id. */
export interface QueueItemEntry {
  /** `<queue>/<path…>/`, Quay's canonical name. */
  readonly queueName: string;
  readonly body: string;
}

export interface Page {
  /** Exclusive lower bound (the last item of the previous page). */
  readonly last?: string;
  readonly n: number;
}

export interface MetadataStore {
  close(): Promise<void>;

  lookupRepository(namespace: string, name: string): Promise<RepositoryRef | null>;
  /** Create the repository, and its namespace (a user row) when missing. Returns the existing one if any. */
  createRepository(namespace: string, name: string, visibility: 'public' | 'private', nowMs: number): Promise<RepositoryRef>;
  /** `namespace/name` of repositories in NORMAL/READ_ONLY/MIRROR state, sorted, paged. */
  listRepositories(page: Page): Promise<string[]>;

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

  createUpload(repositoryId: number, uuid: string, location: string, shaState: string, nowMs: number): Promise<UploadRow>;
  /** By uuid alone, as Quay looks uploads up. */
  upload(uuid: string): Promise<UploadRow | null>;
  /** Record a chunk; false if the row moved on (another writer) or is gone. Compare-and-swap on `byte_count`. */
  recordChunk(uuid: string, expectByteCount: number, progress: UploadProgress): Promise<boolean>;
  deleteUpload(uuid: string): Promise<boolean>;
  /**
   * Commit a finished upload in one transaction: get-or-create `imagestorage`
   * for the digest, ensure its placement, link it to the repository
   * (`uploadedblob`), delete the `blobupload` row (when `uploadUuid` is set).
   */
  commitBlob(c: {
    readonly uploadUuid: string | null; readonly repositoryId: number; readonly digest: string; readonly size: number;
    readonly uncompressedSize: number | null; readonly location: string; readonly nowMs: number; readonly linkExpiresMs: number;
  }): Promise<BlobRef>;
  /** Uploads created before the given time (stale-upload cleanup). */
  staleUploads(createdBeforeMs: number, limit: number): Promise<UploadRow[]>;

  /** Alive only: kept by an alive tag (hidden temp tags included) or an alive list holding it. */
  manifestByDigest(repositoryId: number, digest: string, nowMs: number): Promise<ManifestRef | null>;
  /** The manifest a visible (alive, not hidden) tag points at. */
  manifestByTag(repositoryId: number, tag: string, nowMs: number): Promise<ManifestRef | null>;
  /** True when no visible tag has the name but an ended one does (Quay's TAG_EXPIRED). */
  tagExpired(repositoryId: number, tag: string, nowMs: number): Promise<boolean>;
  /**
   * Store a manifest and point its target at it; throws MissingReferences,
   * or SizeMismatch when a new manifest declares a size other than the stored
   * one (a manifest already in the repository is not checked again). A new
   * manifest also gets Quay's `manifestsecuritystatus` row (pending) and is
   * counted as `quota` says (default `invalidate`, Quay's defaults).
   */
  putManifest(repositoryId: number, m: NewManifest, target: ManifestTarget, nowMs: number, quota?: QuotaAccounting): Promise<ManifestRef>;
  /** Visible tag names, sorted, paged. */
  listTags(repositoryId: number, nowMs: number, page?: Page): Promise<string[]>;
  /**
   * End a visible tag's lifetime now; false if no such tag. The tag's
   * `tagnotificationsuccess` rows go with it, as in Quay.
   */
  deleteTag(repositoryId: number, tag: string, nowMs: number): Promise<boolean>;
  /**
   * Quay's delete-by-digest: end every alive visible tag pointing straight at
   * the manifest; returns their names (by tag id), none when no visible tag
   * does (nothing changed). Hidden temporary tags keep running, as in Quay.
   */
  deleteManifest(repositoryId: number, digest: string, nowMs: number): Promise<string[]>;
  /** Manifests in the repository whose `subject` is the digest (alive: kept by some alive tag). */
  referrers(repositoryId: number, subject: string, nowMs: number): Promise<ManifestRef[]>;

  /**
   * Write an action log row, resolved once it is committed (rows of
   * concurrent calls share a commit: group-commit.ts); throws when
   * `entry.kind` is not in `logentrykind` (as Quay does).
   */
  logAction(entry: ActionLogEntry): Promise<void>;
  /** The uuids of the repository's notifications for an event (`externalnotificationevent.name`), by id. */
  repositoryNotifications(repositoryId: number, event: string): Promise<string[]>;
  /** Add queue items in one statement (Quay's batch insert). */
  enqueue(items: readonly QueueItemEntry[], nowMs: number): Promise<void>;
  /** The id of a user or organisation (not a robot) by name (Quay's get_user_or_org). */
  namespaceId(name: string): Promise<number | null>;
}
