/**
 * MetadataStore on PostgreSQL (node-postgres), in Quay's table layout: the
 * twin of ../sqlite/store.ts, method by method. Every INSERT names every
 * column (Quay's defaults live in Peewee, not in the database). Lookup-table
 * ids are resolved by name and cached.
 *
 * Differences forced by PostgreSQL, all invisible to callers:
 *  - booleans are true/false, timestamps are written as naive-UTC text and
 *    read back raw (no local-time conversion), bigints come back as numbers;
 *  - listings compare and sort with COLLATE "C" (byte order, as SQLite does);
 *  - the SQLite store serialises writers with IMMEDIATE transactions; here tag
 *    mutations take Quay's own advisory lock (pg_advisory_xact_lock of
 *    sha256("retarget_tag:<repository id>"), quay-schema.md §0), blob commits
 *    take a per-digest advisory lock (imagestorage has no unique digest), and
 *    inserts that may race use ON CONFLICT.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  MissingReferences,
  RepositoryState,
  checkDeclaredSizes,
  type ActionLogEntry,
  type BlobRef,
  type ManifestRef,
  type ManifestTarget,
  type MetadataStore,
  type NewManifest,
  type Page,
  type QueueItemEntry,
  type QuotaAccounting,
  type RepositoryRef,
  type UploadProgress,
  type UploadRow,
} from '../model/store.js';
import { sqlLocalTime, sqlTime } from '../model/time.js';
import { INDEXER_V4, QUOTA_SQL, SECURITY_STATUS_PENDING, positional } from '../model/side-effects.js';
import { GroupCommit } from '../model/group-commit.js';
import { DEFAULT_TAG_EXPIRATION_S, type CreateQuaySchemaOptions } from '../schema/quay.js';
import {
  CACHED_LOOKUPS,
  LISTED_STATES,
  MANIFEST_COLUMNS,
  UPLOAD_SELECT,
  blobRef,
  manifestRef,
  repoRef,
  uploadRow,
  type BlobRow,
  type ManifestDbRow,
  type RepoRow,
  type UploadDbRow,
} from '../model/rows.js';
import { PgAuthStore } from './auth-store.js';
import { DalTxError } from '../model/dal.js';
import { inTransaction, type PgTxSession, type Q } from './transaction.js';
import { advisoryLockId, createQuaySchemaPg } from './schema.js';
export { inTransaction } from './transaction.js';

/** int8 as a JS number (ids, sizes and epoch-ms all stay below 2^53); timestamp as its raw naive-UTC text. */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20) return (v: string) => Number(v);
    if (oid === 1114) return (v: string) => v;
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Alive at time `$n`: lifetime_end_ms NULL or later. */
const alive = (n: string): string => `(t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > ${n})`;

/** Alive while an alive tag (hidden ones included) keeps it, directly or as a child of an alive list; `n` = the now parameter. */
const manifestAlive = (n: string): string => `(EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id AND ${alive(n)})
  OR EXISTS (SELECT 1 FROM manifestchild mc JOIN tag t ON t.manifest_id = mc.manifest_id WHERE mc.child_manifest_id = m.id AND ${alive(n)}))`;
const REPO_SELECT = `SELECT r.id, r.namespace_user_id, u.username, r.name, v.name AS visibility, r.state
  FROM repository r JOIN "user" u ON u.id = r.namespace_user_id JOIN visibility v ON v.id = r.visibility_id`;

const POSITIONAL = new Map<string, ReturnType<typeof positional>>();
/** Run SQL written with `@name` parameters (side-effects.ts); its rows. */
async function named<R extends pg.QueryResultRow>(q: Q, sql: string, params: Readonly<Record<string, unknown>>): Promise<R[]> {
  let p = POSITIONAL.get(sql);
  if (!p) {
    p = positional(sql);
    POSITIONAL.set(sql, p);
  }
  return (
    await q.query<R>(
      p.text,
      p.names.map((n) => params[n]),
    )
  ).rows;
}

/** Quay's per-repository tag lock (data/model/oci/tag.py retarget_tag); hold inside a transaction. */
export async function lockTags(c: Q, repositoryId: number): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryLockId('retarget_tag', repositoryId)]);
}

/** Action log rows (kind id, account, performer, repository, datetime, ip, metadata) in one multi-row INSERT. */
async function insertLogs(q: Q, rows: readonly (readonly unknown[])[]): Promise<void> {
  const values = rows.flat();
  const tuples = rows.map(
    (_, i) => `($${7 * i + 1}, COALESCE($${7 * i + 2}, (SELECT min(id) FROM "user")), $${7 * i + 3}, $${7 * i + 4}, $${7 * i + 5}, $${7 * i + 6}, $${7 * i + 7})`,
  );
  await q.query(`INSERT INTO logentry3 (kind_id, account_id, performer_id, repository_id, datetime, ip, metadata_json) VALUES ${tuples.join(', ')}`, values);
}

export interface PgOpenOptions extends CreateQuaySchemaOptions {
  /** Pool size (default 10). */
  readonly max?: number;
  /** Lay the schema down when the database is empty (default true). */
  readonly createSchema?: boolean;
}

export class PgMetadataStore implements MetadataStore {
  private readonly ids: Map<string, number>;
  /** Where statements go: the pool, or the session of the transaction this store belongs to. */
  private readonly q: Q;
  /**
   * Action log rows, inserted in groups by one multi-row statement
   * (group-commit.ts) on the pool, so never into someone's transaction; null
   * in a transaction's store, whose rows go into its transaction.
   */
  private readonly logs: GroupCommit<readonly unknown[]> | null;

  /** `session`, `ids`: a transaction's store (see inSession). */
  constructor(
    readonly pool: pg.Pool,
    private readonly session?: PgTxSession,
    ids?: ReadonlyMap<string, number>,
  ) {
    this.ids = new Map(ids);
    this.q = session ?? pool;
    this.logs = session ? null : new GroupCommit<readonly unknown[]>((rows) => insertLogs(pool, rows));
  }

  /** This store's twin inside a dal.tx() transaction (postgres/dal.ts). */
  inSession(session: PgTxSession): PgMetadataStore {
    // A copy of the lookup ids: rows this transaction creates are forgotten if it rolls back.
    return new PgMetadataStore(this.pool, session, this.ids);
  }

  /** `fn` as one transaction: on a pooled client, or as a savepoint of the open dal.tx(). */
  private transaction<T>(fn: (c: Q) => Promise<T>): Promise<T> {
    return this.session ? this.session.savepoint(fn) : inTransaction(this.pool, fn);
  }

  /**
   * A pool on `uri`, Quay's schema created when the database is empty (refused
   * with SchemaVersionError at another revision), and both stores on it.
   */
  static async open(uri: string, options: PgOpenOptions = {}): Promise<{ metadata: PgMetadataStore; auth: PgAuthStore; pool: pg.Pool }> {
    const pool = new pg.Pool({ connectionString: uri, max: options.max ?? 10, types: PG_TYPES });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    try {
      if (options.createSchema ?? true) await createQuaySchemaPg(pool, options);
      const metadata = new PgMetadataStore(pool);
      await metadata.loadLookups();
      return { metadata, auth: new PgAuthStore(pool), pool };
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }

  /** Cache the lookup ids the data path uses. */
  async loadLookups(): Promise<void> {
    for (const table of CACHED_LOOKUPS) {
      for (const r of (await this.pool.query<{ id: number; name: string }>(`SELECT id, name FROM ${table}`)).rows) this.ids.set(`${table}:${r.name}`, r.id);
    }
  }

  /** Id of a lookup row by name; rows a co-tenant added later are read on demand. */
  private async lookup(q: Q, table: string, name: string, create = false): Promise<number> {
    const key = `${table}:${name}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      const row = (await q.query<{ id: number }>(`SELECT id FROM ${table} WHERE name = $1 ORDER BY id LIMIT 1`, [name])).rows[0];
      if (row) id = row.id;
      else if (create) {
        const ins = (await q.query<{ id: number }>(`INSERT INTO ${table} (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id`, [name])).rows[0];
        id = ins ? ins.id : (await q.query<{ id: number }>(`SELECT id FROM ${table} WHERE name = $1 ORDER BY id LIMIT 1`, [name])).rows[0]!.id;
      } else throw new Error(`${table} has no row named ${JSON.stringify(name)}`);
      this.ids.set(key, id);
    }
    return id;
  }

  async close(): Promise<void> {
    if (!this.logs) throw new DalTxError('DAL_TX_CLOSE');
    await this.logs.drain();
    await this.pool.end();
  }

  private async repoByName(q: Q, namespace: string, name: string): Promise<RepoRow | undefined> {
    return (await q.query<RepoRow>(`${REPO_SELECT} WHERE u.username = $1 AND r.name = $2`, [namespace, name])).rows[0];
  }

  async lookupRepository(namespace: string, name: string): Promise<RepositoryRef | null> {
    const r = await this.repoByName(this.q, namespace, name);
    return r ? repoRef(r) : null;
  }

  async createRepository(namespace: string, name: string, visibility: 'public' | 'private', nowMs: number): Promise<RepositoryRef> {
    const r = await this.transaction(async (c) => {
      const existing = await this.repoByName(c, namespace, name);
      if (existing) return existing;
      const now = sqlTime(nowMs);
      // A namespace created on push is an organization, as with CREATE_NAMESPACE_ON_PUSH.
      // ON CONFLICT: a concurrent creator of the same namespace wins, we use its row.
      let ns = (await c.query<{ id: number }>('SELECT id FROM "user" WHERE username = $1', [namespace])).rows[0];
      if (!ns) {
        await c.query(
          `INSERT INTO "user" (uuid, username, password_hash, email, verified, stripe_id, organization, robot,
            invoice_email, invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, enabled, invoice_email_address,
            given_name, family_name, company, location, maximum_queued_builds_count, creation_date, last_accessed)
          VALUES ($1, $2, NULL, $3, false, NULL, true, false, false, 0, $4, $5, true, NULL, NULL, NULL, NULL, NULL, NULL, $4, NULL)
          ON CONFLICT DO NOTHING`,
          [randomUUID(), namespace, randomBytes(32).toString('hex'), now, DEFAULT_TAG_EXPIRATION_S],
        );
        ns = (await c.query<{ id: number }>('SELECT id FROM "user" WHERE username = $1', [namespace])).rows[0]!;
      }
      await c.query(
        `INSERT INTO repository (namespace_user_id, name, visibility_id, description, badge_token, kind_id, trust_enabled, state)
        VALUES ($1, $2, $3, NULL, $4, $5, false, $6) ON CONFLICT DO NOTHING`,
        [ns.id, name, await this.lookup(c, 'visibility', visibility), randomUUID(), await this.lookup(c, 'repositorykind', 'image'), RepositoryState.NORMAL],
      );
      return (await this.repoByName(c, namespace, name))!;
    });
    return repoRef(r);
  }

  async listRepositories(page: Page): Promise<string[]> {
    const rows = (
      await this.q.query<{ fullname: string }>(
        `SELECT fullname FROM (SELECT u.username || '/' || r.name AS fullname
        FROM repository r JOIN "user" u ON u.id = r.namespace_user_id WHERE r.state IN ${LISTED_STATES}) x
      WHERE fullname COLLATE "C" > $1 ORDER BY fullname COLLATE "C" LIMIT $2`,
        [page.last ?? '', page.n],
      )
    ).rows;
    return rows.map((r) => r.fullname);
  }

  /** Locations listed in location-id order (what SQLite's covering index yields). */
  private async blobIn(q: Q, repositoryId: number, digest: string): Promise<BlobRow | undefined> {
    return (
      await q.query<BlobRow>(
        `SELECT s.id, s.content_checksum, s.image_size,
        (SELECT string_agg(l.name, ',' ORDER BY l.id) FROM imagestorageplacement p JOIN imagestoragelocation l ON l.id = p.location_id WHERE p.storage_id = s.id) AS locations
      FROM imagestorage s WHERE s.content_checksum = $1 AND (
        EXISTS (SELECT 1 FROM manifestblob mb WHERE mb.blob_id = s.id AND mb.repository_id = $2)
        OR EXISTS (SELECT 1 FROM uploadedblob ub WHERE ub.blob_id = s.id AND ub.repository_id = $2))
      ORDER BY s.id LIMIT 1`,
        [digest, repositoryId],
      )
    ).rows[0];
  }

  async repositoryBlob(repositoryId: number, digest: string, _nowMs: number): Promise<BlobRef | null> {
    const r = await this.blobIn(this.q, repositoryId, digest);
    return r ? blobRef(r) : null;
  }

  async globalBlob(digest: string): Promise<BlobRef | null> {
    const r = (
      await this.q.query<BlobRow>(
        `SELECT s.id, s.content_checksum, s.image_size, NULL AS locations FROM imagestorage s
      WHERE s.content_checksum = $1 AND s.cas_path = true ORDER BY s.id LIMIT 1`,
        [digest],
      )
    ).rows[0];
    return r ? blobRef(r) : null;
  }

  async linkBlob(repositoryId: number, blobId: number, nowMs: number, expiresMs: number): Promise<void> {
    await this.q.query('INSERT INTO uploadedblob (repository_id, blob_id, uploaded_at, expires_at) VALUES ($1, $2, $3, $4)', [
      repositoryId,
      blobId,
      sqlTime(nowMs),
      sqlTime(expiresMs),
    ]);
  }

  private async uploadByUuid(q: Q, uuid: string): Promise<UploadDbRow | undefined> {
    return (await q.query<UploadDbRow>(`${UPLOAD_SELECT} WHERE b.uuid = $1`, [uuid])).rows[0];
  }

  async createUpload(repositoryId: number, uuid: string, location: string, shaState: string, nowMs: number): Promise<UploadRow> {
    await this.q.query(
      `INSERT INTO blobupload (repository_id, uuid, byte_count, sha_state, location_id, storage_metadata, chunk_count,
        uncompressed_byte_count, created, piece_sha_state, piece_hashes) VALUES ($1, $2, 0, $3, $4, '{}', 0, NULL, $5, NULL, NULL)`,
      [repositoryId, uuid, shaState, await this.lookup(this.q, 'imagestoragelocation', location, true), sqlTime(nowMs)],
    );
    return uploadRow((await this.uploadByUuid(this.q, uuid))!);
  }

  async upload(uuid: string): Promise<UploadRow | null> {
    const r = await this.uploadByUuid(this.q, uuid);
    return r ? uploadRow(r) : null;
  }

  async recordChunk(uuid: string, expectByteCount: number, p: UploadProgress): Promise<boolean> {
    const r = await this.q.query(
      `UPDATE blobupload SET byte_count = $1, chunk_count = $2, sha_state = $3, storage_metadata = $4, uncompressed_byte_count = $5
      WHERE uuid = $6 AND byte_count = $7`,
      [p.byteCount, p.chunkCount, p.shaState, p.storageMetadata, p.uncompressedByteCount, uuid, expectByteCount],
    );
    return r.rowCount === 1;
  }

  async deleteUpload(uuid: string): Promise<boolean> {
    return (await this.q.query('DELETE FROM blobupload WHERE uuid = $1', [uuid])).rowCount === 1;
  }

  async commitBlob(c: Parameters<MetadataStore['commitBlob']>[0]): Promise<BlobRef> {
    const locationId = await this.lookup(this.q, 'imagestoragelocation', c.location, true);
    const id = await this.transaction(async (q) => {
      // imagestorage has no unique digest: serialise get-or-create per digest (Quay uses a Redis lock for this).
      await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryLockId('registryd_blob', c.digest)]);
      const existing = (
        await q.query<{ id: number; image_size: number | null }>('SELECT id, image_size FROM imagestorage WHERE content_checksum = $1 AND cas_path = true ORDER BY id LIMIT 1', [
          c.digest,
        ])
      ).rows[0];
      let id: number;
      if (existing) {
        id = existing.id;
        if (existing.image_size === null) await q.query('UPDATE imagestorage SET image_size = $1, uncompressed_size = $2 WHERE id = $3', [c.size, c.uncompressedSize, id]);
      } else {
        id = (
          await q.query<{ id: number }>(
            `INSERT INTO imagestorage (uuid, image_size, uncompressed_size, uploading, cas_path, content_checksum)
          VALUES ($1, $2, $3, true, true, $4) RETURNING id`,
            [randomUUID(), c.size, c.uncompressedSize, c.digest],
          )
        ).rows[0]!.id;
      }
      await q.query('INSERT INTO imagestorageplacement (storage_id, location_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [id, locationId]);
      await q.query('INSERT INTO uploadedblob (repository_id, blob_id, uploaded_at, expires_at) VALUES ($1, $2, $3, $4)', [
        c.repositoryId,
        id,
        sqlTime(c.nowMs),
        sqlTime(c.linkExpiresMs),
      ]);
      if (c.uploadUuid) await q.query('DELETE FROM blobupload WHERE uuid = $1', [c.uploadUuid]);
      return id;
    });
    return { id, digest: c.digest, size: c.size, locations: [c.location] };
  }

  async staleUploads(createdBeforeMs: number, limit: number): Promise<UploadRow[]> {
    const rows = (await this.q.query<UploadDbRow>(`${UPLOAD_SELECT} WHERE b.created < $1 ORDER BY b.id LIMIT $2`, [sqlTime(createdBeforeMs), limit])).rows;
    return rows.map(uploadRow);
  }

  async manifestByDigest(repositoryId: number, digest: string, nowMs: number): Promise<ManifestRef | null> {
    const r = (
      await this.q.query<ManifestDbRow>(
        `SELECT ${MANIFEST_COLUMNS} FROM manifest m JOIN mediatype mt ON mt.id = m.media_type_id
      WHERE m.repository_id = $1 AND m.digest = $2 AND ${manifestAlive('$3')}`,
        [repositoryId, digest, nowMs],
      )
    ).rows[0];
    return r ? manifestRef(r) : null;
  }

  async manifestByTag(repositoryId: number, tag: string, nowMs: number): Promise<ManifestRef | null> {
    const r = (
      await this.q.query<ManifestDbRow>(
        `SELECT ${MANIFEST_COLUMNS} FROM tag t JOIN manifest m ON m.id = t.manifest_id JOIN mediatype mt ON mt.id = m.media_type_id
      WHERE t.repository_id = $1 AND t.name = $2 AND t.hidden = false AND ${alive('$3')}
      ORDER BY t.lifetime_start_ms DESC LIMIT 1`,
        [repositoryId, tag, nowMs],
      )
    ).rows[0];
    return r ? manifestRef(r) : null;
  }

  async putManifest(repositoryId: number, m: NewManifest, target: ManifestTarget, nowMs: number, quota: QuotaAccounting = 'invalidate'): Promise<ManifestRef> {
    const mediaTypeId = await this.lookup(this.q, 'mediatype', m.mediaType, true);
    const tagKindId = await this.lookup(this.q, 'tagkind', 'tag');
    const id = await this.transaction(async (c) => {
      // Quay's tag lock, taken first: it also serialises manifest creation in this repository.
      await lockTags(c, repositoryId);
      let id = (await c.query<{ id: number }>('SELECT id FROM manifest WHERE repository_id = $1 AND digest = $2', [repositoryId, m.digest])).rows[0]?.id;
      if (id === undefined) id = await this.insertManifest(c, repositoryId, m, mediaTypeId, nowMs, quota);
      if ('tag' in target) await this.retarget(c, repositoryId, target.tag, id, nowMs, tagKindId);
      else await this.keepAlive(c, repositoryId, id, target.tempTagUntilMs, nowMs, tagKindId);
      return id;
    });
    return { id, repositoryId, digest: m.digest, mediaType: m.mediaType, text: m.text, artifactType: m.artifactType, subject: m.subject };
  }

  private async insertManifest(c: Q, repositoryId: number, m: NewManifest, mediaTypeId: number, nowMs: number, quota: QuotaAccounting): Promise<number> {
    const blobs: number[] = [];
    const missingBlobs: string[] = [];
    const blobSizes = new Map<string, number | null>();
    for (const d of m.blobDigests) {
      const b = await this.blobIn(c, repositoryId, d);
      if (b) {
        blobs.push(b.id);
        blobSizes.set(d, b.image_size);
      } else missingBlobs.push(d);
    }
    const children: number[] = [];
    const missingChildren: string[] = [];
    const childSizes = new Map<string, number>();
    for (const d of m.childDigests) {
      const ch = (
        await c.query<{ id: number; bytes: number }>('SELECT id, octet_length(manifest_bytes) AS bytes FROM manifest WHERE repository_id = $1 AND digest = $2', [repositoryId, d])
      ).rows[0];
      if (ch) {
        children.push(ch.id);
        childSizes.set(d, ch.bytes);
      } else missingChildren.push(d);
    }
    if (missingBlobs.length || missingChildren.length) throw new MissingReferences(missingBlobs, missingChildren);
    checkDeclaredSizes(m.declaredSizes, blobSizes, childSizes);
    const inserted = (
      await c.query<{ id: number }>(
        `INSERT INTO manifest (repository_id, digest, media_type_id, manifest_bytes, config_media_type,
        layers_compressed_size, subject, subject_backfilled, artifact_type, artifact_type_backfilled)
      VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8, true) ON CONFLICT DO NOTHING RETURNING id`,
        [repositoryId, m.digest, mediaTypeId, m.text, m.configMediaType, m.layersCompressedSize, m.subject, m.artifactType],
      )
    ).rows[0];
    // Python Quay (which does not take our lock for this) created it meanwhile: reuse its row, as Quay does on IntegrityError.
    if (!inserted) return (await c.query<{ id: number }>('SELECT id FROM manifest WHERE repository_id = $1 AND digest = $2', [repositoryId, m.digest])).rows[0]!.id;
    const id = inserted.id;
    for (const b of new Set(blobs)) await c.query('INSERT INTO manifestblob (repository_id, manifest_id, blob_id) VALUES ($1, $2, $3)', [repositoryId, id, b]);
    await this.newManifestRows(c, repositoryId, id, m, nowMs, quota);
    for (const ch of new Set(children)) {
      await c.query('INSERT INTO manifestchild (repository_id, manifest_id, child_manifest_id) VALUES ($1, $2, $3)', [repositoryId, id, ch]);
    }
    return id;
  }

  /** What Quay writes beside a new manifest: security status, labels, quota totals (see ../side-effects.ts). */
  private async newManifestRows(c: Q, repositoryId: number, manifestId: number, m: NewManifest, nowMs: number, quota: QuotaAccounting): Promise<void> {
    await c.query(
      `INSERT INTO manifestsecuritystatus (manifest_id, repository_id, index_status, error_json, last_indexed, indexer_hash, indexer_version, metadata_json)
      VALUES ($1, $2, $3, '{}', $4, '', $5, '{}')`,
      [manifestId, repositoryId, SECURITY_STATUS_PENDING, sqlTime(nowMs), INDEXER_V4],
    );
    for (const l of m.labels ?? []) {
      const label = (
        await c.query<{ id: number }>('INSERT INTO label (uuid, "key", value, media_type_id, source_type_id) VALUES ($1, $2, $3, $4, $5) RETURNING id', [
          randomUUID(),
          l.key,
          l.value,
          await this.lookup(c, 'mediatype', l.mediaType, true),
          await this.lookup(c, 'labelsourcetype', 'manifest'),
        ])
      ).rows[0]!.id;
      await c.query('INSERT INTO manifestlabel (repository_id, manifest_id, label_id) VALUES ($1, $2, $3)', [repositoryId, manifestId, label]);
    }
    if (quota === 'none') return;
    const ns = (await c.query<{ id: number }>('SELECT namespace_user_id AS id FROM repository WHERE id = $1', [repositoryId])).rows[0]!.id;
    const q = { repo: repositoryId, m: manifestId, ns };
    if (quota === 'invalidate') {
      await named(c, QUOTA_SQL.repository.reset, q);
      await named(c, QUOTA_SQL.namespace.reset, q);
      return;
    }
    if ((await named(c, QUOTA_SQL.hasBlobs, q)).length === 0 || (await named(c, QUOTA_SQL.eligibleNamespace, q)).length === 0) return;
    const totals = (await named<{ namespace: number; repository: number }>(c, QUOTA_SQL.newBytes, q))[0]!;
    for (const scope of ['namespace', 'repository'] as const) {
      const sql = QUOTA_SQL[scope];
      const row = (await named<{ backfill_complete: boolean }>(c, sql.select, q))[0];
      if (row) {
        if (row.backfill_complete) await named(c, sql.add, { ...q, total: totals[scope] });
      } else if ((await named(c, sql.onlyManifest, q)).length > 0) await named(c, sql.insert, { ...q, total: totals[scope], complete: true });
    }
  }

  private async insertTag(c: Q, repositoryId: number, name: string, manifestId: number, startMs: number, endMs: number | null, hidden: boolean, tagKindId: number): Promise<void> {
    await c.query(
      `INSERT INTO tag (name, repository_id, manifest_id, lifetime_start_ms, lifetime_end_ms, immutable, hidden, reversion, tag_kind_id, linked_tag_id)
      VALUES ($1, $2, $3, $4, $5, false, $6, false, $7, NULL)`,
      [name, repositoryId, manifestId, startMs, endMs, hidden, tagKindId],
    );
  }

  /** Point a tag at a manifest: close the alive row (history), open a new one. Under the tag lock. */
  private async retarget(c: Q, repositoryId: number, tag: string, manifestId: number, nowMs: number, tagKindId: number): Promise<void> {
    const rows = (
      await c.query<{ id: number; manifest_id: number }>(`SELECT t.id, t.manifest_id FROM tag t WHERE t.repository_id = $1 AND t.name = $2 AND ${alive('$3')}`, [
        repositoryId,
        tag,
        nowMs,
      ])
    ).rows;
    if (rows.length === 1 && rows[0]!.manifest_id === manifestId) return;
    // Two moves of one tag within a millisecond would collide on (repository, name, lifetime_end_ms).
    const clash = (await c.query('SELECT 1 FROM tag WHERE repository_id = $1 AND name = $2 AND lifetime_end_ms = $3', [repositoryId, tag, nowMs])).rows.length > 0;
    const end = clash ? nowMs + 1 : nowMs;
    for (const a of rows) await c.query('UPDATE tag SET lifetime_end_ms = $1 WHERE id = $2', [end, a.id]);
    await this.insertTag(c, repositoryId, tag, manifestId, end, null, false, tagKindId);
  }

  /** A manifest pushed by digest: a hidden `$temp-` tag keeps it unless a tag already does. Under the tag lock. */
  private async keepAlive(c: Q, repositoryId: number, manifestId: number, untilMs: number | null, nowMs: number, tagKindId: number): Promise<void> {
    const kept =
      (
        await c.query(`SELECT 1 FROM tag t WHERE t.manifest_id = $1 AND ${alive('$2')} AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms >= $3) LIMIT 1`, [
          manifestId,
          nowMs,
          untilMs ?? Number.MAX_SAFE_INTEGER,
        ])
      ).rows.length > 0;
    if (kept) return;
    await this.insertTag(c, repositoryId, `$temp-${randomUUID()}`, manifestId, nowMs, untilMs, true, tagKindId);
  }

  async listTags(repositoryId: number, nowMs: number, page?: Page): Promise<string[]> {
    const rows = (
      await this.q.query<{ name: string }>(
        `SELECT DISTINCT t.name COLLATE "C" AS name FROM tag t
      WHERE t.repository_id = $1 AND t.hidden = false AND ${alive('$2')} AND t.name COLLATE "C" > $3
      ORDER BY 1 LIMIT $4`,
        [repositoryId, nowMs, page?.last ?? '', page?.n ?? null],
      )
    ).rows;
    return rows.map((r) => r.name);
  }

  async deleteTag(repositoryId: number, tag: string, nowMs: number): Promise<boolean> {
    return (
      (
        await this.endTags(
          repositoryId,
          `SELECT t.id, t.name FROM tag t
        WHERE t.repository_id = $1 AND t.name = $2 AND t.hidden = false AND ${alive('$3')} ORDER BY t.id`,
          tag,
          nowMs,
        )
      ).length > 0
    );
  }

  async deleteManifest(repositoryId: number, digest: string, nowMs: number): Promise<string[]> {
    return this.endTags(
      repositoryId,
      `SELECT t.id, t.name FROM tag t JOIN manifest m ON m.id = t.manifest_id
        WHERE m.repository_id = $1 AND m.digest = $2 AND t.hidden = false AND ${alive('$3')} ORDER BY t.id`,
      digest,
      nowMs,
    );
  }

  /** End the tags `select` ($1 repository, $2 name or digest, $3 now) finds and drop their tag-notification records, under the tag lock; their names. */
  private endTags(repositoryId: number, select: string, ref: string, nowMs: number): Promise<string[]> {
    return this.transaction(async (c) => {
      await lockTags(c, repositoryId);
      const tags = (await c.query<{ id: number; name: string }>(select, [repositoryId, ref, nowMs])).rows;
      if (tags.length === 0) return [];
      const ids = tags.map((t) => t.id);
      await c.query('DELETE FROM tagnotificationsuccess WHERE tag_id = ANY($1::int[])', [ids]);
      await c.query('UPDATE tag SET lifetime_end_ms = $1 WHERE id = ANY($2::int[])', [nowMs, ids]);
      return tags.map((t) => t.name);
    });
  }

  async tagExpired(repositoryId: number, tag: string, nowMs: number): Promise<boolean> {
    return (
      (await this.q.query('SELECT 1 FROM tag WHERE repository_id = $1 AND name = $2 AND hidden = false AND lifetime_end_ms <= $3 LIMIT 1', [repositoryId, tag, nowMs])).rows
        .length > 0
    );
  }

  async referrers(repositoryId: number, subject: string, nowMs: number): Promise<ManifestRef[]> {
    const rows = (
      await this.q.query<ManifestDbRow>(
        `SELECT ${MANIFEST_COLUMNS} FROM manifest m JOIN mediatype mt ON mt.id = m.media_type_id
      WHERE m.repository_id = $1 AND m.subject = $2 AND ${manifestAlive('$3')} ORDER BY m.id`,
        [repositoryId, subject, nowMs],
      )
    ).rows;
    return rows.map(manifestRef);
  }

  async logAction(e: ActionLogEntry): Promise<void> {
    const kind = await this.lookup(this.q, 'logentrykind', e.kind);
    const row = [kind, e.accountId, e.performerId, e.repositoryId, sqlLocalTime(e.nowMs), e.ip, e.metadataJson];
    if (this.logs) await this.logs.add(row);
    else await insertLogs(this.q, [row]);
  }

  async repositoryNotifications(repositoryId: number, event: string): Promise<string[]> {
    return (
      await this.q.query<{ uuid: string }>(
        `SELECT n.uuid FROM repositorynotification n JOIN externalnotificationevent e ON e.id = n.event_id
      WHERE n.repository_id = $1 AND e.name = $2 ORDER BY n.id`,
        [repositoryId, event],
      )
    ).rows.map((r) => r.uuid);
  }

  async enqueue(items: readonly QueueItemEntry[], nowMs: number): Promise<void> {
    if (items.length === 0) return;
    // One statement (Quay's insert_many): $1 is the shared available_after, then three parameters per item.
    const values: unknown[] = [sqlTime(nowMs)];
    const tuples = items.map((i) => {
      values.push(i.queueName, i.body, randomUUID());
      const n = values.length;
      return `($${n - 2}, $${n - 1}, $1, true, NULL, 5, $${n})`;
    });
    await this.q.query(
      `INSERT INTO queueitem (queue_name, body, available_after, available, processing_expires, retries_remaining, state_id)
      VALUES ${tuples.join(', ')}`,
      values,
    );
  }

  async namespaceId(name: string): Promise<number | null> {
    return (await this.q.query<{ id: number }>('SELECT id FROM "user" WHERE username = $1 AND robot = false', [name])).rows[0]?.id ?? null;
  }
}
