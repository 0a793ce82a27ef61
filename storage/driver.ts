/**
 * The storage-driver contract: a small, filesystem-like interface with all
 * registry semantics above it (CNCF Distribution's shape). Keys come from
 * paths.ts only. One test suite runs against every driver.
 */
import type { Readable } from 'node:stream';
import type { RegErrorCode } from '../domain/errors.js';

export interface ByteRange {
  /** First byte, inclusive. */
  readonly start: number;
  /** Last byte, inclusive. */
  readonly end: number;
}

export interface ChunkWrite {
  /** Where the chunk goes in the upload object (its current length: chunks are contiguous). */
  readonly offset: number;
  /** Called with every piece of the chunk before it is written (hashing). */
  readonly onData?: (chunk: Buffer) => void;
  /** Refuse (and roll back) once more than this many bytes arrived. */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
}

export class StorageError extends Error {
  constructor(
    readonly code: Extract<RegErrorCode, `REG_STORAGE_${string}`>,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export interface StorageDriver {
  /** Location name as Quay's `imagestoragelocation` knows it (DISTRIBUTED_STORAGE_CONFIG key). */
  readonly location: string;
  /** Size in bytes, or null when the key does not exist. */
  stat(key: string): Promise<number | null>;
  /** The object's bytes (or a range of them). Rejects with REG_STORAGE_NOT_FOUND. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Whole small object (manifests are in the database; used by tests and tools). */
  readAll(key: string): Promise<Buffer>;
  /** Create an empty upload object (overwrites). */
  createUpload(key: string): Promise<void>;
  /**
   * Stream `body` into the upload object at `offset`. Resolves with the bytes
   * written. On any failure (client gone, size limit, I/O) the object is put
   * back to exactly `offset` bytes and the promise rejects: a failed chunk
   * leaves nothing behind.
   */
  writeChunk(key: string, body: AsyncIterable<Buffer>, opts: ChunkWrite): Promise<number>;
  /**
   * Make `from` visible as `to`, atomically. When `to` already exists (the
   * same content, since keys are content addresses) `from` is just removed.
   */
  commit(from: string, to: string): Promise<void>;
  /** Remove a key; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Keys under a prefix (for cleanup tools and tests). */
  list(prefix: string): Promise<string[]>;
  /**
   * Optional: the object as an open local file, for zero-copy sends
   * (sendfile). Drivers on other media leave it out.
   */
  openLocal?(key: string): Promise<LocalFile>;
}

export interface LocalFile {
  readonly fd: number;
  close(): Promise<void>;
}
