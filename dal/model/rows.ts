/**
 * Row shapes and their mapping to the store contract's types, shared by the
 * SQLite and PostgreSQL adapters (both select the same column aliases).
 */
import { RepositoryState, type BlobRef, type ManifestRef, type RepositoryRef, type UploadRow } from './store.js';
import { parseSqlTime } from './time.js';

export interface RepoRow {
  id: number;
  namespace_user_id: number;
  username: string;
  name: string;
  visibility: string;
  state: number;
}
export interface BlobRow {
  id: number;
  content_checksum: string;
  image_size: number | null;
  locations: string | null;
}
export interface UploadDbRow {
  id: number;
  repository_id: number;
  uuid: string;
  byte_count: number;
  chunk_count: number;
  sha_state: string | null;
  location: string;
  storage_metadata: string | null;
  uncompressed_byte_count: number | null;
  created: string;
}
export interface ManifestDbRow {
  id: number;
  repository_id: number;
  digest: string;
  media_type: string;
  manifest_bytes: string;
  artifact_type: string | null;
  subject: string | null;
}

export function repoRef(r: RepoRow): RepositoryRef {
  return { id: r.id, namespaceId: r.namespace_user_id, namespace: r.username, name: r.name, visibility: r.visibility === 'public' ? 'public' : 'private', state: r.state };
}
export function blobRef(r: BlobRow): BlobRef {
  return { id: r.id, digest: r.content_checksum, size: r.image_size ?? 0, locations: r.locations ? r.locations.split(',') : [] };
}
export function uploadRow(r: UploadDbRow): UploadRow {
  return {
    id: r.id,
    repositoryId: r.repository_id,
    uuid: r.uuid,
    byteCount: r.byte_count,
    chunkCount: r.chunk_count,
    shaState: r.sha_state,
    location: r.location,
    storageMetadata: r.storage_metadata ?? '{}',
    uncompressedByteCount: r.uncompressed_byte_count,
    createdMs: parseSqlTime(r.created),
  };
}
export function manifestRef(r: ManifestDbRow): ManifestRef {
  return { id: r.id, repositoryId: r.repository_id, digest: r.digest, mediaType: r.media_type, text: r.manifest_bytes, artifactType: r.artifact_type, subject: r.subject };
}

/** A blobupload row with its location's name (UploadDbRow). */
export const UPLOAD_SELECT = `SELECT b.id, b.repository_id, b.uuid, b.byte_count, b.chunk_count, b.sha_state, l.name AS location,
    b.storage_metadata, b.uncompressed_byte_count, b.created
  FROM blobupload b JOIN imagestoragelocation l ON l.id = b.location_id`;
/** `repository.state` values of repositories that listings show (all but MARKED_FOR_DELETION), as an SQL list. */
export const LISTED_STATES = `(${[RepositoryState.NORMAL, RepositoryState.READ_ONLY, RepositoryState.MIRROR, RepositoryState.ORG_MIRROR].join(', ')})`;
/** Lookup tables whose ids the metadata stores cache at open (the rest are read on demand). */
export const CACHED_LOOKUPS: readonly string[] = ['visibility', 'repositorykind', 'tagkind', 'mediatype', 'imagestoragelocation'];
export const MANIFEST_COLUMNS = 'm.id, m.repository_id, m.digest, mt.name AS media_type, m.manifest_bytes, m.artifact_type, m.subject';
