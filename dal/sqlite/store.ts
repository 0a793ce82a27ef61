/**
 * MetadataStore on SQLite (better-sqlite3), in Quay's table layout. Every
 * INSERT names every column: Quay's defaults live in Peewee (Python), not in
 * the database, so a co-writer must supply them itself. Lookup-table ids are
 * resolved by name once, at open.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
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
import { QUOTA_SQL, SECURITY_STATUS_PENDING, INDEXER_V4 } from '../model/side-effects.js';
import { GroupCommit } from '../model/group-commit.js';
import { DEFAULT_TAG_EXPIRATION_S } from '../schema/quay.js';
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
import { createQuaySchema } from './schema.js';
import { connectionOf, type Gate, type SqliteConnection, type TxScope } from './gate.js';
import { DalTxError } from '../model/dal.js';

const ALIVE = '(t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > @now)';

/**
 * A byte count bound as SQLite INTEGER. A JavaScript number is bound as a
 * double, which SQLite keeps as REAL when it is not an exact int64: callers
 * pass exact integers (the manifest parser refuses the rest), and this
 * refuses anything else rather than store a float in Quay's BIGINT column.
 */
function int64(n: number): bigint {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${n} is not an exact integer byte count`);
  return BigInt(n);
}

/** A manifest is alive while an alive tag (hidden ones included) keeps it, directly or as a child of an alive list. */
const MANIFEST_ALIVE = `(EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id AND ${ALIVE})
  OR EXISTS (SELECT 1 FROM manifestchild mc JOIN tag t ON t.manifest_id = mc.manifest_id WHERE mc.child_manifest_id = m.id AND ${ALIVE}))`;

const LOG_INSERT = `INSERT INTO logentry3 (kind_id, account_id, performer_id, repository_id, datetime, ip, metadata_json)
  VALUES (?, COALESCE(?, (SELECT min(id) FROM "user")), ?, ?, ?, ?, ?)`;

export class SqliteMetadataStore implements MetadataStore {
  readonly db: Database.Database;
  private readonly ids: Map<string, number>;
  private readonly conn: SqliteConnection;
  /** The connection's gate (./gate.ts), or the transaction's scope for a transaction's store. */
  private readonly gate: Gate;
  /**
   * Action log rows, committed in groups (group-commit.ts); null in a
   * transaction's store, whose rows go into its transaction. A batch waits
   * at the gate like any call: it never writes into someone's transaction.
   */
  private readonly logs: GroupCommit<readonly unknown[]> | null;

  /**
   * `source`: the database file to open; or the store whose connection a
   * transaction's store shares, with `scope` its transaction (see inTransaction).
   */
  constructor(source: string | SqliteMetadataStore, scope?: TxScope) {
    if (typeof source !== 'string') {
      this.db = source.db;
      this.conn = source.conn;
      // A copy: lookup rows this transaction creates are forgotten if it rolls back.
      this.ids = new Map(source.ids);
      this.gate = scope!;
      this.logs = null;
      return;
    }
    this.db = new Database(source);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    createQuaySchema(this.db);
    this.ids = new Map();
    for (const table of CACHED_LOOKUPS) {
      for (const r of this.db.prepare(`SELECT id, name FROM ${table}`).all() as { id: number; name: string }[]) this.ids.set(`${table}:${r.name}`, r.id);
    }
    this.conn = connectionOf(this.db);
    this.gate = this.conn.gate;
    this.logs = new GroupCommit<readonly unknown[]>(async (rows) => {
      while (this.gate.closed) await this.gate.opened();
      const insert = this.sql(LOG_INSERT);
      this.db.transaction(() => {
        for (const r of rows) insert.run(...r);
      })();
    });
  }

  /** This store's twin for a transaction on the connection (its BEGIN already run): calls pass `scope`, not the connection's gate. */
  inTransaction(scope: TxScope): SqliteMetadataStore {
    return new SqliteMetadataStore(this, scope);
  }

  private sql(text: string): Database.Statement {
    return this.conn.sql(text);
  }

  /** Id of a lookup row by name; lookup rows a co-tenant added later are read on demand. */
  private lookup(table: string, name: string, create = false): number {
    const key = `${table}:${name}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      const row = this.sql(`SELECT id FROM ${table} WHERE name = ?`).get(name) as { id: number } | undefined;
      if (row) id = row.id;
      else if (create) id = Number(this.sql(`INSERT INTO ${table} (name) VALUES (?)`).run(name).lastInsertRowid);
      else throw new Error(`${table} has no row named ${JSON.stringify(name)}`);
      this.ids.set(key, id);
    }
    return id;
  }

  async close(): Promise<void> {
    if (!this.logs) throw new DalTxError('DAL_TX_CLOSE');
    await this.logs.drain();
    while (this.gate.closed) await this.gate.opened();
    this.db.close();
  }

  private repoByName(namespace: string, name: string): RepoRow | undefined {
    return this.sql(
      `SELECT r.id, r.namespace_user_id, u.username, r.name, v.name AS visibility, r.state
      FROM repository r JOIN "user" u ON u.id = r.namespace_user_id JOIN visibility v ON v.id = r.visibility_id
      WHERE u.username = ? AND r.name = ?`,
    ).get(namespace, name) as RepoRow | undefined;
  }

  async lookupRepository(namespace: string, name: string): Promise<RepositoryRef | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.repoByName(namespace, name);
    return r ? repoRef(r) : null;
  }

  async createRepository(namespace: string, name: string, visibility: 'public' | 'private', nowMs: number): Promise<RepositoryRef> {
    while (this.gate.closed) await this.gate.opened();
    const tx = this.db.transaction(() => {
      const existing = this.repoByName(namespace, name);
      if (existing) return existing;
      const now = sqlTime(nowMs);
      let ns = this.sql('SELECT id FROM "user" WHERE username = ?').get(namespace) as { id: number } | undefined;
      if (!ns) {
        // A namespace created on push is an organization, as with CREATE_NAMESPACE_ON_PUSH.
        const id = this.sql(
          `INSERT INTO "user" (uuid, username, password_hash, email, verified, stripe_id, organization, robot,
            invoice_email, invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, enabled, invoice_email_address,
            given_name, family_name, company, location, maximum_queued_builds_count, creation_date, last_accessed)
          VALUES (?, ?, NULL, ?, 0, NULL, 1, 0, 0, 0, ?, ?, 1, NULL, NULL, NULL, NULL, NULL, NULL, ?, NULL)`,
        ).run(randomUUID(), namespace, randomBytes(32).toString('hex'), now, DEFAULT_TAG_EXPIRATION_S, now).lastInsertRowid;
        ns = { id: Number(id) };
      }
      this.sql(
        `INSERT INTO repository (namespace_user_id, name, visibility_id, description, badge_token, kind_id, trust_enabled, state)
        VALUES (?, ?, ?, NULL, ?, ?, 0, ?)`,
      ).run(ns.id, name, this.lookup('visibility', visibility), randomUUID(), this.lookup('repositorykind', 'image'), RepositoryState.NORMAL);
      return this.repoByName(namespace, name)!;
    });
    return repoRef(tx.immediate());
  }

  async listRepositories(page: Page): Promise<string[]> {
    while (this.gate.closed) await this.gate.opened();
    const rows = this.sql(
      `SELECT full FROM (SELECT u.username || '/' || r.name AS full FROM repository r JOIN "user" u ON u.id = r.namespace_user_id
        WHERE r.state IN ${LISTED_STATES}) WHERE full > ? ORDER BY full LIMIT ?`,
    ).all(page.last ?? '', page.n) as { full: string }[];
    return rows.map((r) => r.full);
  }

  private blobIn(repositoryId: number, digest: string, nowMs: number): BlobRow | undefined {
    return this.sql(
      `SELECT s.id, s.content_checksum, s.image_size,
        (SELECT group_concat(l.name) FROM imagestorageplacement p JOIN imagestoragelocation l ON l.id = p.location_id WHERE p.storage_id = s.id) AS locations
      FROM imagestorage s WHERE s.content_checksum = @digest AND (
        EXISTS (SELECT 1 FROM manifestblob mb WHERE mb.blob_id = s.id AND mb.repository_id = @repo)
        OR EXISTS (SELECT 1 FROM uploadedblob ub WHERE ub.blob_id = s.id AND ub.repository_id = @repo))
      LIMIT 1`,
    ).get({ digest, repo: repositoryId }) as BlobRow | undefined;
  }

  async repositoryBlob(repositoryId: number, digest: string, nowMs: number): Promise<BlobRef | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.blobIn(repositoryId, digest, nowMs);
    return r ? blobRef(r) : null;
  }

  async globalBlob(digest: string): Promise<BlobRef | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.sql(
      `SELECT s.id, s.content_checksum, s.image_size, NULL AS locations FROM imagestorage s
      WHERE s.content_checksum = ? AND s.cas_path = 1 ORDER BY s.id LIMIT 1`,
    ).get(digest) as BlobRow | undefined;
    return r ? blobRef(r) : null;
  }

  async linkBlob(repositoryId: number, blobId: number, nowMs: number, expiresMs: number): Promise<void> {
    while (this.gate.closed) await this.gate.opened();
    this.sql('INSERT INTO uploadedblob (repository_id, blob_id, uploaded_at, expires_at) VALUES (?, ?, ?, ?)').run(repositoryId, blobId, sqlTime(nowMs), sqlTime(expiresMs));
  }

  private uploadByUuid(uuid: string): UploadDbRow | undefined {
    return this.sql(`${UPLOAD_SELECT} WHERE b.uuid = ?`).get(uuid) as UploadDbRow | undefined;
  }

  async createUpload(repositoryId: number, uuid: string, location: string, shaState: string, nowMs: number): Promise<UploadRow> {
    while (this.gate.closed) await this.gate.opened();
    this.sql(
      `INSERT INTO blobupload (repository_id, uuid, byte_count, sha_state, location_id, storage_metadata, chunk_count,
        uncompressed_byte_count, created, piece_sha_state, piece_hashes) VALUES (?, ?, 0, ?, ?, '{}', 0, NULL, ?, NULL, NULL)`,
    ).run(repositoryId, uuid, shaState, this.lookup('imagestoragelocation', location, true), sqlTime(nowMs));
    return uploadRow(this.uploadByUuid(uuid)!);
  }

  async upload(uuid: string): Promise<UploadRow | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.uploadByUuid(uuid);
    return r ? uploadRow(r) : null;
  }

  async recordChunk(uuid: string, expectByteCount: number, p: UploadProgress): Promise<boolean> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.sql(
      `UPDATE blobupload SET byte_count = ?, chunk_count = ?, sha_state = ?, storage_metadata = ?, uncompressed_byte_count = ?
      WHERE uuid = ? AND byte_count = ?`,
    ).run(p.byteCount, p.chunkCount, p.shaState, p.storageMetadata, p.uncompressedByteCount, uuid, expectByteCount);
    return r.changes === 1;
  }

  async deleteUpload(uuid: string): Promise<boolean> {
    while (this.gate.closed) await this.gate.opened();
    return this.sql('DELETE FROM blobupload WHERE uuid = ?').run(uuid).changes === 1;
  }

  async commitBlob(c: Parameters<MetadataStore['commitBlob']>[0]): Promise<BlobRef> {
    while (this.gate.closed) await this.gate.opened();
    const tx = this.db.transaction((): number => {
      const existing = this.sql('SELECT id, image_size FROM imagestorage WHERE content_checksum = ? AND cas_path = 1 ORDER BY id LIMIT 1').get(c.digest) as
        { id: number; image_size: number | null } | undefined;
      let id: number;
      if (existing) {
        id = existing.id;
        if (existing.image_size === null) this.sql('UPDATE imagestorage SET image_size = ?, uncompressed_size = ? WHERE id = ?').run(int64(c.size), c.uncompressedSize, id);
      } else {
        // `uploading` keeps Peewee's default (true): Quay's v2 path never clears it.
        id = Number(
          this.sql(
            `INSERT INTO imagestorage (uuid, image_size, uncompressed_size, uploading, cas_path, content_checksum)
          VALUES (?, ?, ?, 1, 1, ?)`,
          ).run(randomUUID(), int64(c.size), c.uncompressedSize, c.digest).lastInsertRowid,
        );
      }
      this.sql('INSERT OR IGNORE INTO imagestorageplacement (storage_id, location_id) VALUES (?, ?)').run(id, this.lookup('imagestoragelocation', c.location, true));
      this.sql('INSERT INTO uploadedblob (repository_id, blob_id, uploaded_at, expires_at) VALUES (?, ?, ?, ?)').run(
        c.repositoryId,
        id,
        sqlTime(c.nowMs),
        sqlTime(c.linkExpiresMs),
      );
      if (c.uploadUuid) this.sql('DELETE FROM blobupload WHERE uuid = ?').run(c.uploadUuid);
      return id;
    });
    const id = tx.immediate();
    return { id, digest: c.digest, size: c.size, locations: [c.location] };
  }

  async staleUploads(createdBeforeMs: number, limit: number): Promise<UploadRow[]> {
    while (this.gate.closed) await this.gate.opened();
    const rows = this.sql(`${UPLOAD_SELECT} WHERE b.created < ? ORDER BY b.id LIMIT ?`).all(sqlTime(createdBeforeMs), limit) as UploadDbRow[];
    return rows.map(uploadRow);
  }

  async manifestByDigest(repositoryId: number, digest: string, nowMs: number): Promise<ManifestRef | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.sql(
      `SELECT ${MANIFEST_COLUMNS} FROM manifest m JOIN mediatype mt ON mt.id = m.media_type_id
      WHERE m.repository_id = @repo AND m.digest = @digest AND ${MANIFEST_ALIVE}`,
    ).get({ repo: repositoryId, digest, now: nowMs }) as ManifestDbRow | undefined;
    return r ? manifestRef(r) : null;
  }

  async manifestByTag(repositoryId: number, tag: string, nowMs: number): Promise<ManifestRef | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.sql(
      `SELECT ${MANIFEST_COLUMNS} FROM tag t JOIN manifest m ON m.id = t.manifest_id JOIN mediatype mt ON mt.id = m.media_type_id
      WHERE t.repository_id = @repo AND t.name = @tag AND t.hidden = 0 AND ${ALIVE}
      ORDER BY t.lifetime_start_ms DESC LIMIT 1`,
    ).get({ repo: repositoryId, tag, now: nowMs }) as ManifestDbRow | undefined;
    return r ? manifestRef(r) : null;
  }

  async putManifest(repositoryId: number, m: NewManifest, target: ManifestTarget, nowMs: number, quota: QuotaAccounting = 'invalidate'): Promise<ManifestRef> {
    while (this.gate.closed) await this.gate.opened();
    const tx = this.db.transaction((): number => {
      let id = (this.sql('SELECT id FROM manifest WHERE repository_id = ? AND digest = ?').get(repositoryId, m.digest) as { id: number } | undefined)?.id;
      if (id === undefined) {
        id = this.insertManifest(repositoryId, m, nowMs);
        this.newManifestRows(repositoryId, id, m, nowMs, quota);
      }
      if ('tag' in target) this.retarget(repositoryId, target.tag, id, nowMs);
      else this.keepAlive(repositoryId, id, target.tempTagUntilMs, nowMs);
      return id;
    });
    const id = tx.immediate();
    return { id, repositoryId, digest: m.digest, mediaType: m.mediaType, text: m.text, artifactType: m.artifactType, subject: m.subject };
  }

  private insertManifest(repositoryId: number, m: NewManifest, nowMs: number): number {
    const blobs: number[] = [];
    const missingBlobs: string[] = [];
    const blobSizes = new Map<string, number | null>();
    for (const d of m.blobDigests) {
      const b = this.blobIn(repositoryId, d, nowMs);
      if (b) {
        blobs.push(b.id);
        blobSizes.set(d, b.image_size);
      } else missingBlobs.push(d);
    }
    const children: number[] = [];
    const missingChildren: string[] = [];
    const childSizes = new Map<string, number>();
    for (const d of m.childDigests) {
      // Bytes, not characters: the size a client compares is that of the UTF-8 text.
      const c = this.sql('SELECT id, length(CAST(manifest_bytes AS BLOB)) AS bytes FROM manifest WHERE repository_id = ? AND digest = ?').get(repositoryId, d) as
        { id: number; bytes: number } | undefined;
      if (c) {
        children.push(c.id);
        childSizes.set(d, c.bytes);
      } else missingChildren.push(d);
    }
    if (missingBlobs.length || missingChildren.length) throw new MissingReferences(missingBlobs, missingChildren);
    checkDeclaredSizes(m.declaredSizes, blobSizes, childSizes);
    const id = Number(
      this.sql(
        `INSERT INTO manifest (repository_id, digest, media_type_id, manifest_bytes, config_media_type,
        layers_compressed_size, subject, subject_backfilled, artifact_type, artifact_type_backfilled)
      VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, 1)`,
      ).run(
        repositoryId,
        m.digest,
        this.lookup('mediatype', m.mediaType, true),
        m.text,
        m.configMediaType,
        m.layersCompressedSize === null ? null : int64(m.layersCompressedSize),
        m.subject,
        m.artifactType,
      ).lastInsertRowid,
    );
    for (const b of new Set(blobs)) this.sql('INSERT INTO manifestblob (repository_id, manifest_id, blob_id) VALUES (?, ?, ?)').run(repositoryId, id, b);
    for (const c of new Set(children)) {
      this.sql('INSERT INTO manifestchild (repository_id, manifest_id, child_manifest_id) VALUES (?, ?, ?)').run(repositoryId, id, c);
    }
    return id;
  }

  /**
   * What Quay writes beside a new manifest (data/model/oci/manifest.py): the
   * pending security status, its labels, the quota totals (side-effects.ts
   * has the rules).
   */
  private newManifestRows(repositoryId: number, manifestId: number, m: NewManifest, nowMs: number, quota: QuotaAccounting): void {
    this.sql(
      `INSERT INTO manifestsecuritystatus (manifest_id, repository_id, index_status, error_json, last_indexed, indexer_hash, indexer_version, metadata_json)
      VALUES (?, ?, ?, '{}', ?, '', ?, '{}')`,
    ).run(manifestId, repositoryId, SECURITY_STATUS_PENDING, sqlTime(nowMs), INDEXER_V4);
    for (const l of m.labels ?? []) {
      const label = this.sql(`INSERT INTO label (uuid, "key", value, media_type_id, source_type_id) VALUES (?, ?, ?, ?, ?)`).run(
        randomUUID(),
        l.key,
        l.value,
        this.lookup('mediatype', l.mediaType, true),
        this.lookup('labelsourcetype', 'manifest'),
      ).lastInsertRowid;
      this.sql('INSERT INTO manifestlabel (repository_id, manifest_id, label_id) VALUES (?, ?, ?)').run(repositoryId, manifestId, label);
    }
    if (quota === 'none') return;
    const p = { repo: repositoryId, m: manifestId };
    const ns = (this.sql('SELECT namespace_user_id AS id FROM repository WHERE id = @repo').get(p) as { id: number }).id;
    const q = { ...p, ns };
    if (quota === 'invalidate') {
      this.sql(QUOTA_SQL.repository.reset).run(q);
      this.sql(QUOTA_SQL.namespace.reset).run(q);
      return;
    }
    if (!this.sql(QUOTA_SQL.hasBlobs).get(q) || !this.sql(QUOTA_SQL.eligibleNamespace).get(q)) return;
    const totals = this.sql(QUOTA_SQL.newBytes).get(q) as { namespace: number | bigint; repository: number | bigint };
    const write = (scope: 'namespace' | 'repository', total: number | bigint): void => {
      const sql = QUOTA_SQL[scope];
      const row = this.sql(sql.select).get(q) as { backfill_complete: number } | undefined;
      if (row) {
        if (row.backfill_complete) this.sql(sql.add).run({ ...q, total });
      } else if (this.sql(sql.onlyManifest).get(q)) this.sql(sql.insert).run({ ...q, total, complete: 1 });
    };
    write('namespace', totals.namespace);
    write('repository', totals.repository);
  }

  private insertTag(repositoryId: number, name: string, manifestId: number, startMs: number, endMs: number | null, hidden: boolean): void {
    this.sql(
      `INSERT INTO tag (name, repository_id, manifest_id, lifetime_start_ms, lifetime_end_ms, immutable, hidden, reversion, tag_kind_id, linked_tag_id)
      VALUES (?, ?, ?, ?, ?, 0, ?, 0, ?, NULL)`,
    ).run(name, repositoryId, manifestId, startMs, endMs, hidden ? 1 : 0, this.lookup('tagkind', 'tag'));
  }

  /** Point a tag at a manifest: close the alive row (history), open a new one. */
  private retarget(repositoryId: number, tag: string, manifestId: number, nowMs: number): void {
    const alive = this.sql(`SELECT t.id, t.manifest_id FROM tag t WHERE t.repository_id = @repo AND t.name = @tag AND ${ALIVE}`).all({ repo: repositoryId, tag, now: nowMs }) as {
      id: number;
      manifest_id: number;
    }[];
    if (alive.length === 1 && alive[0]!.manifest_id === manifestId) return;
    // Two moves of one tag within a millisecond would collide on (repository, name, lifetime_end_ms).
    const clash = this.sql('SELECT 1 FROM tag WHERE repository_id = ? AND name = ? AND lifetime_end_ms = ?').get(repositoryId, tag, nowMs);
    const end = clash ? nowMs + 1 : nowMs;
    for (const a of alive) this.sql('UPDATE tag SET lifetime_end_ms = ? WHERE id = ?').run(end, a.id);
    this.insertTag(repositoryId, tag, manifestId, end, null, false);
  }

  /** A manifest pushed by digest: a hidden `$temp-` tag keeps it unless a tag already does. */
  private keepAlive(repositoryId: number, manifestId: number, untilMs: number | null, nowMs: number): void {
    const kept = this.sql(`SELECT 1 FROM tag t WHERE t.manifest_id = @m AND ${ALIVE} AND (t.lifetime_end_ms IS NULL OR t.lifetime_end_ms >= @until)`).get({
      m: manifestId,
      now: nowMs,
      until: untilMs ?? Number.MAX_SAFE_INTEGER,
    });
    if (kept) return;
    this.insertTag(repositoryId, `$temp-${randomUUID()}`, manifestId, nowMs, untilMs, true);
  }

  async listTags(repositoryId: number, nowMs: number, page?: Page): Promise<string[]> {
    while (this.gate.closed) await this.gate.opened();
    const rows = this.sql(
      `SELECT DISTINCT t.name FROM tag t WHERE t.repository_id = @repo AND t.hidden = 0 AND ${ALIVE} AND t.name > @last
      ORDER BY t.name LIMIT @n`,
    ).all({ repo: repositoryId, now: nowMs, last: page?.last ?? '', n: page?.n ?? -1 }) as { name: string }[];
    return rows.map((r) => r.name);
  }

  async deleteTag(repositoryId: number, tag: string, nowMs: number): Promise<boolean> {
    while (this.gate.closed) await this.gate.opened();
    return (
      this.endTags(
        `SELECT t.id, t.name FROM tag t
      WHERE t.repository_id = @repo AND t.name = @tag AND t.hidden = 0 AND ${ALIVE} ORDER BY t.id`,
        { repo: repositoryId, tag, now: nowMs },
      ).length > 0
    );
  }

  async deleteManifest(repositoryId: number, digest: string, nowMs: number): Promise<string[]> {
    while (this.gate.closed) await this.gate.opened();
    return this.endTags(
      `SELECT t.id, t.name FROM tag t JOIN manifest m ON m.id = t.manifest_id
      WHERE m.repository_id = @repo AND m.digest = @digest AND t.hidden = 0 AND ${ALIVE} ORDER BY t.id`,
      { repo: repositoryId, digest, now: nowMs },
    );
  }

  /** End the tags `select` finds (id, name; `@now` bound) and drop their tag-notification records, in one transaction; their names. */
  private endTags(select: string, params: Record<string, unknown>): string[] {
    return this.db
      .transaction((): string[] => {
        const tags = this.sql(select).all(params) as { id: number; name: string }[];
        for (const t of tags) {
          this.sql('DELETE FROM tagnotificationsuccess WHERE tag_id = ?').run(t.id);
          this.sql('UPDATE tag SET lifetime_end_ms = ? WHERE id = ?').run(params.now, t.id);
        }
        return tags.map((t) => t.name);
      })
      .immediate();
  }

  async tagExpired(repositoryId: number, tag: string, nowMs: number): Promise<boolean> {
    while (this.gate.closed) await this.gate.opened();
    return this.sql('SELECT 1 FROM tag WHERE repository_id = ? AND name = ? AND hidden = 0 AND lifetime_end_ms <= ? LIMIT 1').get(repositoryId, tag, nowMs) !== undefined;
  }

  async referrers(repositoryId: number, subject: string, nowMs: number): Promise<ManifestRef[]> {
    while (this.gate.closed) await this.gate.opened();
    const rows = this.sql(
      `SELECT ${MANIFEST_COLUMNS} FROM manifest m JOIN mediatype mt ON mt.id = m.media_type_id
      WHERE m.repository_id = @repo AND m.subject = @subject AND ${MANIFEST_ALIVE} ORDER BY m.id`,
    ).all({ repo: repositoryId, subject, now: nowMs }) as ManifestDbRow[];
    return rows.map(manifestRef);
  }

  async logAction(e: ActionLogEntry): Promise<void> {
    while (this.gate.closed) await this.gate.opened();
    const row = [this.lookup('logentrykind', e.kind), e.accountId, e.performerId, e.repositoryId, sqlLocalTime(e.nowMs), e.ip, e.metadataJson];
    if (this.logs) await this.logs.add(row);
    else this.sql(LOG_INSERT).run(...row);
  }

  async repositoryNotifications(repositoryId: number, event: string): Promise<string[]> {
    while (this.gate.closed) await this.gate.opened();
    return this.sql(
      `SELECT n.uuid FROM repositorynotification n JOIN externalnotificationevent e ON e.id = n.event_id
      WHERE n.repository_id = ? AND e.name = ? ORDER BY n.id`,
    )
      .pluck()
      .all(repositoryId, event) as string[];
  }

  async enqueue(items: readonly QueueItemEntry[], nowMs: number): Promise<void> {
    while (this.gate.closed) await this.gate.opened();
    if (items.length === 0) return;
    const now = sqlTime(nowMs);
    this.db.transaction(() => {
      for (const i of items) {
        this.sql(
          `INSERT INTO queueitem (queue_name, body, available_after, available, processing_expires, retries_remaining, state_id)
          VALUES (?, ?, ?, 1, NULL, 5, ?)`,
        ).run(i.queueName, i.body, now, randomUUID());
      }
    })();
  }

  async namespaceId(name: string): Promise<number | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.sql('SELECT id FROM "user" WHERE username = ? AND robot = 0').get(name) as { id: number } | undefined;
    return r?.id ?? null;
  }
}
