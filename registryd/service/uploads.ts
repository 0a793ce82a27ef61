/**
 * The blob-upload state machine (quay-schema.md §5):
 *
 *   start ──▶ open ──chunk──▶ open ──finish(digest)──▶ committed (row gone, blob visible)
 *               │                 │
 *               └──cancel / stale cleanup──▶ gone (row and upload object removed)
 *
 * Every accepted chunk advances `blobupload` in one compare-and-swap UPDATE:
 * `byte_count`, `chunk_count` and `sha_state` — the SHA-256 midstate in
 * Quay's own pickle encoding, so Python Quay can resume an upload we began and
 * the reverse. A chunk that fails (client gone, size limit, I/O) is rolled
 * back in storage and leaves the row as it was.
 *
 * Each open session holds one of its client's slots (upload-slots.ts): taken
 * at start, given back when the session is gone (commit, cancel, refusal,
 * stale cleanup, or taken over by the same client once abandoned).
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DomainError } from '../../domain/errors.js';
import type { MetadataStore, RepositoryRef, UploadRow } from '../../dal/model/store.js';
import type { StorageDriver } from '../../storage/driver.js';
import { StorageError } from '../../storage/driver.js';
import { blobKey, isUploadUuid, uploadKey } from '../../storage/paths.js';
import { ResumableSha256 } from '../upload/sha256.js';
import { encodeShaState, freshOrDecode, ShaStateError } from '../upload/sha-state.js';
import { UploadSlots, type UploadSlotSettings } from './upload-slots.js';

export interface UploadSettings {
  /** MAXIMUM_LAYER_SIZE in bytes (Quay's default 20G). */
  readonly maxBlobBytes: number;
  /** How long a committed blob stays linked to the repository without a manifest (PUSH_TEMP_TAG_EXPIRATION_SEC). */
  readonly linkExpirySeconds: number;
  /** Bound on upload sessions in progress per client (upload-slots.ts); absent: unbounded. */
  readonly slots?: UploadSlotSettings;
  readonly now: () => number;
}

/** `Content-Range` of a PATCH: `<start>-<end>` (Quay's form), inclusive. */
export interface ChunkRange {
  readonly start: number;
  readonly end: number;
}

export interface ChunkInput {
  readonly body: Readable;
  readonly range: ChunkRange | null;
  readonly signal?: AbortSignal;
}

/** Skip the first `n` bytes of a stream (the part of a chunk the upload already has). */
async function* skipPrefix(body: AsyncIterable<Buffer>, n: number): AsyncIterable<Buffer> {
  let left = n;
  for await (const chunk of body) {
    if (left === 0) {
      yield chunk;
      continue;
    }
    if (chunk.length <= left) {
      left -= chunk.length;
      continue;
    }
    yield chunk.subarray(left);
    left = 0;
  }
}

/**
 * The upload's hasher, resumed from `sha_state`. A state this runtime cannot
 * read (e.g. written by the old `rehash` library) refuses the upload cleanly:
 * the client has to start it again.
 */
function hasherOf(row: UploadRow): ResumableSha256 {
  try {
    return new ResumableSha256(freshOrDecode(row.shaState));
  } catch (e) {
    if (e instanceof ShaStateError || e instanceof RangeError) {
      throw new DomainError('BLOB_UPLOAD_INVALID', `upload ${row.uuid} cannot be resumed here: ${e.message}`, {
        detail: { reason: 'unreadable hasher state; restart the upload' },
      });
    }
    throw e;
  }
}

/** Quay has no such bound (its nginx rate limits answer 429 too): the OCI code for it, with when to try again. */
function tooManyUploads(perClient: number, retryAfterMs: number): DomainError {
  return new DomainError('TOO_MANY_UPLOADS', `this client has ${perClient} upload sessions in progress, the most allowed; finish or cancel one first`, {
    facts: { retryAfterMs },
  });
}

export class UploadService {
  private readonly slots: UploadSlots | null;

  constructor(
    private readonly store: MetadataStore,
    private readonly storage: StorageDriver,
    private readonly settings: UploadSettings,
  ) {
    this.slots = settings.slots ? new UploadSlots(settings.slots) : null;
  }

  /**
   * Open a session. With a `client` key the session takes one of that
   * client's slots: TOOMANYREQUESTS (429) when it has none free, and a
   * session of its own it abandoned (idle past the limit) is discarded to
   * make room.
   */
  async start(repo: RepositoryRef, client: string | null = null): Promise<UploadRow> {
    const uuid = randomUUID();
    if (this.slots && client !== null) {
      const a = this.slots.admit(client, uuid, this.settings.now());
      if (a.kind === 'refused') throw tooManyUploads(this.slots.settings.perClient, a.retryAfterMs);
      if (a.kind === 'reclaimed')
        await this.discard(a.abandoned).catch(() => {
          /* the stale-upload cleanup gets it */
        });
    }
    try {
      await this.storage.createUpload(uploadKey(uuid));
      return await this.store.createUpload(repo.id, uuid, this.storage.location, encodeShaState(freshOrDecode(null)), this.settings.now());
    } catch (e) {
      this.slots?.release(uuid);
      throw e;
    }
  }

  /** Run a request on a session: it is busy meanwhile, and recently used after. */
  private async busy<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    if (!this.slots) return fn();
    this.slots.begin(uuid, this.settings.now());
    try {
      return await fn();
    } finally {
      this.slots.end(uuid, this.settings.now());
    }
  }

  /** The open upload, checked to belong to the repository; BLOB_UPLOAD_UNKNOWN otherwise. */
  async get(repo: RepositoryRef, uuid: string): Promise<UploadRow> {
    const row = isUploadUuid(uuid) ? await this.store.upload(uuid) : null;
    if (!row || row.repositoryId !== repo.id) throw new DomainError('BLOB_UPLOAD_UNKNOWN', `upload ${uuid} is not open in this repository`, { detail: {} });
    return row;
  }

  /** Append a chunk; returns the updated row. 416 when the chunk would leave a gap. */
  async chunk(repo: RepositoryRef, uuid: string, input: ChunkInput): Promise<UploadRow> {
    const row = await this.get(repo, uuid);
    return this.busy(row.uuid, () => this.append(row, input));
  }

  private async append(row: UploadRow, input: ChunkInput): Promise<UploadRow> {
    let skip = 0;
    if (input.range) {
      if (input.range.start > row.byteCount) {
        throw new DomainError('BLOB_UPLOAD_RANGE_INVALID', `chunk starts at ${input.range.start} but the upload has ${row.byteCount} bytes`, {
          facts: { uploadedBytes: row.byteCount, uploadUuid: row.uuid },
        });
      }
      skip = row.byteCount - input.range.start;
    }
    const hasher = hasherOf(row);
    let written: number;
    try {
      const body = skip > 0 ? skipPrefix(input.body, skip) : input.body;
      written = await this.storage.writeChunk(uploadKey(row.uuid), body, {
        offset: row.byteCount,
        onData: (c) => hasher.update(c),
        maxBytes: this.settings.maxBlobBytes - row.byteCount,
        ...(input.signal ? { signal: input.signal } : {}),
      });
    } catch (e) {
      if (e instanceof StorageError && e.code === 'REG_STORAGE_TOO_LARGE') {
        throw new DomainError('BLOB_TOO_LARGE', `the blob exceeds ${this.settings.maxBlobBytes} bytes`);
      }
      if (e instanceof StorageError && e.code === 'REG_STORAGE_NOT_FOUND') throw new DomainError('BLOB_UPLOAD_UNKNOWN', `upload ${row.uuid} has no data`);
      throw e;
    }
    const progress = {
      byteCount: row.byteCount + written,
      chunkCount: row.chunkCount + 1,
      shaState: encodeShaState(hasher.exportState()),
      storageMetadata: row.storageMetadata,
      uncompressedByteCount: null,
    };
    if (!(await this.store.recordChunk(row.uuid, row.byteCount, progress))) {
      throw new DomainError('BLOB_UPLOAD_INVALID', `upload ${row.uuid} was changed by another request`);
    }
    return { ...row, ...progress };
  }

  /**
   * Final PUT: optional last chunk, digest check, assemble, commit. As in
   * Quay, a refused final request (gap, size, digest mismatch) cancels the
   * whole upload; a client that disconnects does not.
   */
  async finish(repo: RepositoryRef, uuid: string, digest: string, last: ChunkInput | null): Promise<{ digest: string; size: number }> {
    const row = await this.get(repo, uuid);
    const done = await this.busy(row.uuid, () => this.complete(repo, row, digest, last));
    this.slots?.release(row.uuid);
    return done;
  }

  private async complete(repo: RepositoryRef, row: UploadRow, digest: string, last: ChunkInput | null): Promise<{ digest: string; size: number }> {
    try {
      if (last) row = await this.append(row, last);
      const actual = 'sha256:' + hasherOf(row).digestHex();
      if (actual !== digest) {
        throw new DomainError('DIGEST_INVALID', `the uploaded content has digest ${actual}, not ${digest}`, { detail: { digest } });
      }
    } catch (e) {
      if (e instanceof DomainError) await this.discard(row.uuid);
      throw e;
    }
    await this.storage.commit(uploadKey(row.uuid), blobKey(digest));
    const now = this.settings.now();
    await this.store.commitBlob({
      uploadUuid: row.uuid,
      repositoryId: repo.id,
      digest,
      size: row.byteCount,
      uncompressedSize: row.uncompressedByteCount,
      location: row.location,
      nowMs: now,
      linkExpiresMs: now + this.settings.linkExpirySeconds * 1000,
    });
    return { digest, size: row.byteCount };
  }

  async cancel(repo: RepositoryRef, uuid: string): Promise<void> {
    const row = await this.get(repo, uuid);
    await this.discard(row.uuid);
  }

  /** Remove a session: its row, its upload object, its slot. */
  private async discard(uuid: string): Promise<void> {
    this.slots?.release(uuid);
    await this.store.deleteUpload(uuid);
    await this.storage.delete(uploadKey(uuid));
  }

  /**
   * Remove uploads older than the threshold (blobuploadcleanupworker's job),
   * and forget slots of sessions unused as long (their rows went elsewhere);
   * returns how many uploads were removed.
   */
  async cleanupStale(olderThanMs: number, active: () => boolean = () => true): Promise<number> {
    let n = 0;
    // Between batches: a pass that lost its owner (or whose runtime stops) ends here, the rest for next time.
    while (active()) {
      const rows = await this.store.staleUploads(this.settings.now() - olderThanMs, 100);
      if (rows.length === 0) {
        this.slots?.forgetUnusedSince(this.settings.now() - olderThanMs);
        return n;
      }
      for (const r of rows) {
        await this.discard(r.uuid);
        n++;
      }
    }
    return n;
  }
}
