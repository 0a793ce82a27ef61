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
  readonly layersCompressedSize: number;
  readonly subject: string | null;
  readonly artifactType: string | null;
  /** Blobs (config + layers) the repository must already hold. */
  readonly blobDigests: readonly string[];
  /** Child manifests (index/list) the repository must already hold. */
  readonly childDigests: readonly string[];
  /** The sizes the manifest declares for its blobs and children: each must be the stored one (checkDeclaredSizes). */
  readonly declaredSizes: readonly DeclaredSize[];
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
   * one (a manifest already in the repository is not checked again).
   */
  putManifest(repositoryId: number, m: NewManifest, target: ManifestTarget, nowMs: number): Promise<ManifestRef>;
  /** Visible tag names, sorted, paged. */
  listTags(repositoryId: number, nowMs: number, page?: Page): Promise<string[]>;
  /** End a visible tag's lifetime now; false if no such tag. */
  deleteTag(repositoryId: number, tag: string, nowMs: number): Promise<boolean>;
  /**
   * Quay's delete-by-digest: end every alive visible tag pointing straight at
   * the manifest. False (nothing changed) when no visible tag does. Hidden
   * temporary tags keep running, as in Quay.
   */
  deleteManifest(repositoryId: number, digest: string, nowMs: number): Promise<boolean>;
  /** Manifests in the repository whose `subject` is the digest (alive: kept by some alive tag). */
  referrers(repositoryId: number, subject: string, nowMs: number): Promise<ManifestRef[]>;
}
