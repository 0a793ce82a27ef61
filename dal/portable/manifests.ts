/**
 * The reads behind /api/v1's manifest rows (endpoints/api/manifest.py),
 * written once for SQLite and PostgreSQL: a manifest of a repository as
 * Quay's lookup_manifest finds it, its labels, the storage rows of its
 * blobs (as _list_manifest_layers and RepositoryContentRetriever find
 * them) and its pull statistics.
 */
import { bool, type PortableSql } from '../model/portable-sql.js';
import { parseSqlTime } from '../model/time.js';

export interface ManifestRow {
  readonly id: number;
  readonly repositoryId: number;
  readonly digest: string;
  readonly mediaType: string;
  readonly manifestBytes: string | null;
  readonly configMediaType: string | null;
  readonly layersCompressedSize: number | null;
}

export interface LabelRow {
  readonly uuid: string;
  readonly key: string;
  readonly value: string;
  readonly sourceType: string;
  readonly mediaType: string;
}

/** One ImageStorage row as _lookup_repo_storages_by_content_checksum selects it. */
export interface StorageRow {
  readonly uuid: string;
  readonly contentChecksum: string;
  readonly casPath: boolean | null;
  readonly imageSize: number | null;
}

/** A blob as get_storage_by_uuid loads it: the storage and the names of its locations. */
export interface PlacedBlob extends StorageRow {
  readonly locations: readonly string[];
}

export interface PullStatsRow {
  readonly pullCount: number;
  readonly lastPullMs: number | null;
}

interface StorageDbRow {
  uuid: string;
  content_checksum: string;
  cas_path: unknown;
  image_size: number | string | null;
}

const storageRow = (r: StorageDbRow): StorageRow => ({
  uuid: r.uuid,
  contentChecksum: r.content_checksum,
  casPath: r.cas_path === null || r.cas_path === undefined ? null : bool(r.cas_path),
  imageSize: r.image_size === null || r.image_size === undefined ? null : Number(r.image_size),
});

/** An alive, visible tag: lifetime_end_ms unset or later than now, and not hidden (filter_to_alive_tags). */
const ALIVE = '(t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > @now) AND t.hidden = @hidden';

export class ManifestReads {
  constructor(private readonly sql: PortableSql) {}

  /**
   * data/model/oci/manifest.py lookup_manifest (allow_dead=False): the
   * manifest with the digest in the repository, referenced by an alive tag,
   * or the child of a manifest referenced by one.
   */
  async manifest(repositoryId: number, digest: string, nowMs: number): Promise<ManifestRow | null> {
    const r = await this.sql.one<{
      id: number;
      repository_id: number;
      digest: string;
      media_type: string;
      manifest_bytes: string | null;
      config_media_type: string | null;
      layers_compressed_size: number | string | null;
    }>(
      `SELECT m.id, m.repository_id, m.digest, mt.name AS media_type, m.manifest_bytes, m.config_media_type, m.layers_compressed_size
       FROM manifest m JOIN mediatype mt ON mt.id = m.media_type_id
       WHERE m.repository_id = @repo AND m.digest = @digest
         AND (EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id AND ${ALIVE})
              OR EXISTS (SELECT 1 FROM manifestchild mc JOIN tag t ON t.manifest_id = mc.manifest_id WHERE mc.child_manifest_id = m.id AND ${ALIVE}))
       ORDER BY m.id LIMIT 1`,
      { repo: repositoryId, digest, now: nowMs, hidden: false },
    );
    if (!r) return null;
    return {
      id: r.id,
      repositoryId: r.repository_id,
      digest: r.digest,
      mediaType: r.media_type,
      manifestBytes: r.manifest_bytes,
      configMediaType: r.config_media_type,
      layersCompressedSize: r.layers_compressed_size === null ? null : Number(r.layers_compressed_size),
    };
  }

  /**
   * oci.label.list_manifest_labels: the labels of the manifest, those whose
   * key starts with `prefix` when given (data/text.py prefix_search: Peewee's
   * ILIKE, which SQLite runs as LIKE, with `!` escaping `!`, `%`, `_`, `[`
   * and `'`, `"`, backquote dropped). Quay gives no order; ours is the
   * manifestlabel rows' (what SQLite's index walk yields).
   */
  async labels(manifestId: number, prefix: string | null): Promise<LabelRow[]> {
    let filter = '';
    const params: Record<string, unknown> = { m: manifestId };
    if (prefix !== null) {
      const escaped = prefix.replace(/!/g, '!!').replace(/%/g, '!%').replace(/_/g, '!_').replace(/\[/g, '![').replace(/['"`]/g, '');
      filter = ` AND l.key ${this.sql.dialect === 'postgresql' ? 'ILIKE' : 'LIKE'} @pattern ESCAPE '!'`;
      params.pattern = `${escaped}%`;
    }
    const rows = await this.sql.all<{ uuid: string; key: string; value: string; source_type: string; media_type: string }>(
      `SELECT l.uuid, l.key, l.value, st.name AS source_type, mt.name AS media_type
       FROM manifestlabel ml JOIN label l ON l.id = ml.label_id
       JOIN mediatype mt ON mt.id = l.media_type_id JOIN labelsourcetype st ON st.id = l.source_type_id
       WHERE ml.manifest_id = @m${filter} ORDER BY ml.id`,
      params,
    );
    return rows.map((r) => ({ uuid: r.uuid, key: r.key, value: r.value, sourceType: r.source_type, mediaType: r.media_type }));
  }

  /** oci.label.get_manifest_label: the label with the uuid on the manifest. */
  async label(manifestId: number, uuid: string): Promise<LabelRow | null> {
    const r = await this.sql.one<{ uuid: string; key: string; value: string; source_type: string; media_type: string }>(
      `SELECT l.uuid, l.key, l.value, st.name AS source_type, mt.name AS media_type
       FROM manifestlabel ml JOIN label l ON l.id = ml.label_id
       JOIN mediatype mt ON mt.id = l.media_type_id JOIN labelsourcetype st ON st.id = l.source_type_id
       WHERE ml.manifest_id = @m AND l.uuid = @uuid ORDER BY ml.id LIMIT 1`,
      { m: manifestId, uuid },
    );
    return r ? { uuid: r.uuid, key: r.key, value: r.value, sourceType: r.source_type, mediaType: r.media_type } : null;
  }

  /**
   * model.storage.lookup_repo_storages_by_content_checksum (through
   * ManifestBlob): one ImageStorage row per checksum linked to a manifest of
   * the repository.
   */
  async repoStorages(repositoryId: number, checksums: readonly string[]): Promise<Map<string, StorageRow>> {
    const out = new Map<string, StorageRow>();
    for (const checksum of new Set(checksums)) {
      const r = await this.sql.one<StorageDbRow>(
        `SELECT s.uuid, s.content_checksum, s.cas_path, s.image_size
         FROM imagestorage s JOIN manifestblob mb ON mb.blob_id = s.id
         WHERE mb.repository_id = @repo AND s.content_checksum = @c ORDER BY mb.id LIMIT 1`,
        { repo: repositoryId, c: checksum },
      );
      if (r) out.set(checksum, storageRow(r));
    }
    return out;
  }

  /** model.blob.get_shared_blob: any ImageStorage row with the checksum. */
  async sharedStorage(checksum: string): Promise<StorageRow | null> {
    const r = await this.sql.one<StorageDbRow>('SELECT uuid, content_checksum, cas_path, image_size FROM imagestorage WHERE content_checksum = @c ORDER BY id LIMIT 1', {
      c: checksum,
    });
    return r ? storageRow(r) : null;
  }

  /**
   * RepositoryContentRetriever's blob lookup (get_repository_blob_by_digest):
   * a blob uploaded to the repository, else one linked to a manifest of it;
   * then get_storage_by_uuid: the storage with its placements. Null when no
   * blob is found; `locations` empty when the storage has no placement
   * (Quay raises InvalidImageException there).
   */
  async blobForRead(repositoryId: number, digest: string): Promise<PlacedBlob | null> {
    const uploaded = await this.sql.one<{ uuid: string }>(
      `SELECT s.uuid FROM imagestorage s JOIN uploadedblob u ON u.blob_id = s.id WHERE u.repository_id = @repo AND s.content_checksum = @d ORDER BY u.id LIMIT 1`,
      { repo: repositoryId, d: digest },
    );
    const found =
      uploaded ??
      (await this.sql.one<{ uuid: string }>(
        `SELECT s.uuid FROM imagestorage s JOIN manifestblob mb ON mb.blob_id = s.id WHERE mb.repository_id = @repo AND s.content_checksum = @d ORDER BY mb.id LIMIT 1`,
        { repo: repositoryId, d: digest },
      ));
    if (!found) return null;
    const rows = await this.sql.all<StorageDbRow & { location: string }>(
      `SELECT s.uuid, s.content_checksum, s.cas_path, s.image_size, l.name AS location
       FROM imagestorageplacement p JOIN imagestorage s ON s.id = p.storage_id JOIN imagestoragelocation l ON l.id = p.location_id
       WHERE s.uuid = @uuid ORDER BY p.id`,
      { uuid: found.uuid },
    );
    if (rows.length === 0) {
      const s = await this.sql.one<StorageDbRow>('SELECT uuid, content_checksum, cas_path, image_size FROM imagestorage WHERE uuid = @uuid', { uuid: found.uuid });
      return s ? { ...storageRow(s), locations: [] } : null;
    }
    return { ...storageRow(rows[0]!), locations: [...new Set(rows.map((r) => r.location))] };
  }

  /** data/model/pull_statistics.py get_manifest_pull_statistics. */
  async pullStatistics(repositoryId: number, digest: string): Promise<PullStatsRow | null> {
    const r = await this.sql.one<{ manifest_pull_count: number | string; last_manifest_pull_date: string | null }>(
      'SELECT manifest_pull_count, last_manifest_pull_date FROM manifestpullstatistics WHERE repository_id = @repo AND manifest_digest = @d',
      { repo: repositoryId, d: digest },
    );
    if (!r) return null;
    return { pullCount: Number(r.manifest_pull_count), lastPullMs: r.last_manifest_pull_date ? parseSqlTime(r.last_manifest_pull_date) : null };
  }
}
