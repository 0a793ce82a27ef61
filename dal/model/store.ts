/**
 * The metadata-store contract: registry operations on Quay's tables
 * (quay-schema.md §1–§5), with SQL behind adapters (sqlite/ now, PostgreSQL
 * next). Everything is async so a networked adapter fits the same shape.
 * Names (namespace, repository) are Quay's: `namespace` is a `"user"` row's
 * username, `name` may contain `/`. Times are milliseconds since the epoch,
 * passed in by the caller so the store reads no clock of its own.
 */
import type { ActionLogArea, BlobArea, ManifestArea, NotificationArea, QueueArea, RepositoryArea, TagArea, UploadArea } from './areas.js';

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
export type ManifestTarget = { readonly tag: string } | { readonly tempTagUntilMs: number | null };

export class MissingReferences extends Error {
  constructor(
    readonly blobs: readonly string[],
    readonly manifests: readonly string[],
  ) {
    super(`missing blobs [${blobs.join(', ')}] manifests [${manifests.join(', ')}]`);
    this.name = 'MissingReferences';
  }
}

/** A declared size differs from what is stored (`imagestorage.image_size`, or a child manifest's byte length). */
export class SizeMismatch extends Error {
  constructor(
    readonly kind: DeclaredSize['kind'],
    readonly digest: string,
    readonly actual: number,
    readonly declared: number,
  ) {
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
  /** Already serialised (Python's json.dumps form, see lib/python-json.ts). */
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

/** Everything on the registry's tables (areas.ts has the operations, by area). */
export interface MetadataStore extends RepositoryArea, TagArea, ManifestArea, BlobArea, UploadArea, ActionLogArea, NotificationArea, QueueArea {
  close(): Promise<void>;
}
