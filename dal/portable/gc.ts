/**
 * Garbage collection's SQL, written once for both dialects: the steps of
 * Quay's data/model/gc.py and storage.py garbage_collect_storage (and what
 * they call: oci.tag.lookup_unrecoverable_tags and
 * find_repository_with_garbage, blob.lookup_expired_uploaded_blobs,
 * notification.delete_tag_notifications_for_tag, quota.update_quota). Each
 * method is one step and runs in its own transaction where Quay's does; the
 * loops that drive them (chunks, the manifest tree walk, "repeat while
 * anything changed") and the removal of files are the workers' (workers/gc/).
 *
 * Times are milliseconds since the epoch, passed in by the caller.
 */
import type { Dal } from '../model/dal.js';
import { bool, type PortableSql } from '../model/portable-sql.js';
import { sqlTime } from '../model/time.js';
import { RepositoryState, type QuotaAccounting } from '../model/store.js';
import { QUOTA_SQL } from '../model/side-effects.js';
import { advisoryLockId } from '../model/advisory-lock.js';

/** Quay's GC_CANDIDATE_COUNT (data/model/oci/tag.py): repositories considered per pick. */
export const GC_CANDIDATE_COUNT = 500;
/** Quay's _chunk_iterate_for_deletion chunk size. */
export const GC_CHUNK = 10;

/** Which of Quay's settings change what GC does. */
export interface GcSettings {
  /**
   * How a collected manifest's blobs leave the quota totals (update_quota):
   * `count` subtracts (FEATURE_QUOTA_MANAGEMENT), `invalidate` hands the
   * totals back to the backfill worker (QUOTA_INVALIDATE_TOTALS), `none`.
   */
  readonly quota: QuotaAccounting;
  /** FEATURE_IMMUTABLE_TAGS on and FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE off: GC never takes an immutable tag. */
  readonly protectImmutable: boolean;
}

export interface GcRepository {
  readonly id: number;
  readonly namespaceId: number;
  readonly namespace: string;
  readonly name: string;
  readonly state: number;
}

export interface GcTag {
  readonly id: number;
  readonly name: string;
  readonly manifestId: number | null;
  readonly lifetimeEndMs: number | null;
  readonly immutable: boolean;
}

/** A file a collected storage row pointed at (one per placement). */
export interface GcPlacement {
  /** `imagestoragelocation.name`. */
  readonly location: string;
  readonly uuid: string;
  readonly casPath: boolean;
  readonly checksum: string | null;
}

/** What garbage-collecting one storage row did. */
export interface StorageCollected {
  /** The row was orphaned and is gone (with its placements and signatures). */
  readonly removed: boolean;
  /** Its placements whose files may go: CAS paths no other row has the checksum of, and non-CAS paths. */
  readonly placements: readonly GcPlacement[];
}

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** A list of ids as `@p0, @p1, …` parameters. */
function ids(list: Iterable<number>, prefix = 'i'): { readonly sql: string; readonly params: Record<string, number> } {
  const params: Record<string, number> = {};
  let i = 0;
  for (const id of list) params[`${prefix}${i++}`] = id;
  return {
    sql: Object.keys(params)
      .map((k) => `@${k}`)
      .join(', '),
    params,
  };
}

/**
 * The tables whose rows point at a repository, cleared before the repository
 * row goes (peewee's recursive delete_instance, on Quay's Repository with its
 * skip list): what purge_repository has not already emptied. Quay's
 * models no longer have the `appr*` tables (its initdb does not create them):
 * like Quay, this leaves them alone.
 */
const REPOSITORY_LEFTOVERS = ['repositorysearchscore', 'repomirrorrule', 'repositoryimmutabilitypolicy', 'manifestsecuritystatus', 'quotarepositorysize'] as const;

/** purge_repository's _chunk_delete_all tables, in Quay's order (builds before their triggers and tokens). */
const REPOSITORY_REFERENCES = [
  'repositorypermission',
  'repositorybuild',
  'repositorybuildtrigger',
  'repositoryactioncount',
  'star',
  'accesstoken',
  'repositorynotification',
  'blobupload',
  'repomirrorconfig',
  'orgmirrorrepository',
  'repositoryauthorizedemail',
  'tagpullstatistics',
  'manifestpullstatistics',
] as const;

export class GcData {
  private readonly sql: PortableSql;

  constructor(
    private readonly dal: Dal,
    private readonly settings: GcSettings,
  ) {
    this.sql = dal.sql;
  }

  private forUpdate(sql: PortableSql): string {
    // SQLite's transactions here are BEGIN IMMEDIATE (the whole database is locked); PostgreSQL locks the row.
    return sql.dialect === 'postgresql' ? ' FOR UPDATE' : '';
  }

  // ---- picking a repository (gcworker) ----

  /** _get_gc_expiration_policies: the distinct time-machine windows of the namespaces (at most 100). */
  async gcPolicies(): Promise<number[]> {
    const rows = await this.sql.all<{ s: unknown }>('SELECT DISTINCT removed_tag_expiration_s AS s FROM "user" LIMIT 100');
    return rows.map((r) => num(r.s));
  }

  /**
   * find_repository_with_garbage's candidates: repositories (not marked for
   * deletion, in an enabled namespace whose window is `policySeconds`) with
   * a tag that ended more than that window ago; at most GC_CANDIDATE_COUNT.
   */
  async repositoriesWithGarbage(policySeconds: number, nowMs: number): Promise<number[]> {
    const rows = await this.sql.all<{ id: unknown }>(
      `SELECT DISTINCT t.repository_id AS id FROM tag t
        JOIN repository r ON r.id = t.repository_id
        JOIN "user" n ON n.id = r.namespace_user_id
       WHERE t.lifetime_end_ms IS NOT NULL AND t.lifetime_end_ms <= CAST(@expiry AS BIGINT)
         AND n.removed_tag_expiration_s = @policy AND n.enabled = @yes AND r.state <> @deleting
         ${this.settings.protectImmutable ? 'AND t.immutable = @no' : ''}
       LIMIT ${GC_CANDIDATE_COUNT}`,
      { expiry: nowMs - policySeconds * 1000, policy: policySeconds, yes: true, no: false, deleting: RepositoryState.MARKED_FOR_DELETION },
    );
    return rows.map((r) => num(r.id));
  }

  async repository(id: number): Promise<GcRepository | null> {
    const r = await this.sql.one<{ id: unknown; ns_id: unknown; ns: string; name: string; state: unknown }>(
      'SELECT r.id, r.namespace_user_id AS ns_id, n.username AS ns, r.name, r.state FROM repository r JOIN "user" n ON n.id = r.namespace_user_id WHERE r.id = @id',
      { id },
    );
    return r ? { id: num(r.id), namespaceId: num(r.ns_id), namespace: r.ns, name: r.name, state: num(r.state) } : null;
  }

  // ---- what garbage_collect_repo and purge_repository collect ----

  /** lookup_unrecoverable_tags: ended tags past the namespace's window (one chunk). */
  async unrecoverableTags(repositoryId: number, nowMs: number, limit = GC_CHUNK): Promise<GcTag[]> {
    return this.tagRows(
      `SELECT t.id, t.name, t.manifest_id, t.lifetime_end_ms, t.immutable FROM tag t
        JOIN repository r ON r.id = t.repository_id
        JOIN "user" n ON n.id = r.namespace_user_id
       WHERE t.repository_id = @repo AND t.lifetime_end_ms IS NOT NULL
         AND t.lifetime_end_ms <= CAST(@now AS BIGINT) - n.removed_tag_expiration_s * 1000
         ${this.settings.protectImmutable ? 'AND t.immutable = @no' : ''}
       ORDER BY t.id LIMIT ${limit}`,
      { repo: repositoryId, now: nowMs, no: false },
    );
  }

  /** Every tag of a repository, alive or not (purge_repository; one chunk). */
  async anyTags(repositoryId: number, limit = GC_CHUNK): Promise<GcTag[]> {
    return this.tagRows(`SELECT id, name, manifest_id, lifetime_end_ms, immutable FROM tag WHERE repository_id = @repo ORDER BY id LIMIT ${limit}`, { repo: repositoryId });
  }

  private async tagRows(sql: string, params: Record<string, unknown>): Promise<GcTag[]> {
    const rows = await this.sql.all<{ id: unknown; name: string; manifest_id: unknown; lifetime_end_ms: unknown; immutable: unknown }>(sql, params);
    return rows.map((r) => ({ id: num(r.id), name: r.name, manifestId: numOrNull(r.manifest_id), lifetimeEndMs: numOrNull(r.lifetime_end_ms), immutable: bool(r.immutable) }));
  }

  /** lookup_expired_uploaded_blobs (one chunk): `uploadedblob` rows past expires_at. */
  async expiredUploadedBlobs(repositoryId: number, nowMs: number, limit = GC_CHUNK): Promise<{ id: number; blobId: number }[]> {
    const rows = await this.sql.all<{ id: unknown; blob_id: unknown }>(
      `SELECT id, blob_id FROM uploadedblob WHERE repository_id = @repo AND expires_at <= @now ORDER BY id LIMIT ${limit}`,
      { repo: repositoryId, now: sqlTime(nowMs) },
    );
    return rows.map((r) => ({ id: num(r.id), blobId: num(r.blob_id) }));
  }

  /** Every `uploadedblob` row of a repository (purge_repository; one chunk). */
  async anyUploadedBlobs(repositoryId: number, limit = GC_CHUNK): Promise<{ id: number; blobId: number }[]> {
    const rows = await this.sql.all<{ id: unknown; blob_id: unknown }>(`SELECT id, blob_id FROM uploadedblob WHERE repository_id = @repo ORDER BY id LIMIT ${limit}`, {
      repo: repositoryId,
    });
    return rows.map((r) => ({ id: num(r.id), blobId: num(r.blob_id) }));
  }

  /** Every manifest of a repository (purge_repository; one chunk). */
  async anyManifests(repositoryId: number, limit = GC_CHUNK): Promise<number[]> {
    const rows = await this.sql.all<{ id: unknown }>(`SELECT id FROM manifest WHERE repository_id = @repo ORDER BY id LIMIT ${limit}`, { repo: repositoryId });
    return rows.map((r) => num(r.id));
  }

  /**
   * _purge_oci_tag's transaction: the tag, reloaded (locked), goes with its
   * pull statistics and tag-expiry notification records, unless its end
   * changed since it was picked. True when it was deleted.
   */
  async purgeTag(repositoryId: number, tag: GcTag): Promise<boolean> {
    return this.dal.tx(async (tx) => {
      const s = tx.sql;
      const now = await s.one<{ repository_id: unknown; lifetime_end_ms: unknown }>(`SELECT repository_id, lifetime_end_ms FROM tag WHERE id = @id${this.forUpdate(s)}`, {
        id: tag.id,
      });
      if (!now || num(now.repository_id) !== repositoryId || numOrNull(now.lifetime_end_ms) !== tag.lifetimeEndMs) return false;
      await s.run('DELETE FROM tagpullstatistics WHERE repository_id = @repo AND tag_name = @name', { repo: repositoryId, name: tag.name });
      await s.run('DELETE FROM tagnotificationsuccess WHERE tag_id = @id', { id: tag.id });
      await s.run('DELETE FROM tag WHERE id = @id', { id: tag.id });
      return true;
    });
  }

  /** _purge_uploaded_blob's delete. */
  async deleteUploadedBlob(id: number): Promise<void> {
    await this.sql.run('DELETE FROM uploadedblob WHERE id = @id', { id });
  }

  // ---- _run_garbage_collection ----

  /** One level of the manifest tree walk: the blobs and labels of `manifests`, and their children. */
  async manifestTree(manifests: readonly number[]): Promise<{ blobs: number[]; labels: number[]; children: number[] }> {
    if (manifests.length === 0) return { blobs: [], labels: [], children: [] };
    const l = ids(manifests);
    const col = async (sql: string): Promise<number[]> => (await this.sql.all<{ v: unknown }>(sql, l.params)).map((r) => num(r.v));
    return {
      blobs: await col(`SELECT blob_id AS v FROM manifestblob WHERE manifest_id IN (${l.sql})`),
      labels: await col(`SELECT label_id AS v FROM manifestlabel WHERE manifest_id IN (${l.sql})`),
      children: await col(`SELECT child_manifest_id AS v FROM manifestchild WHERE manifest_id IN (${l.sql})`),
    };
  }

  /** _check_manifest_used: a tag, a parent manifest list, or a referrer (a manifest of the repository whose subject it is) holds it. */
  private async manifestUsed(s: PortableSql, id: number): Promise<boolean> {
    const r = await s.one(
      `SELECT 1 AS used WHERE EXISTS (SELECT 1 FROM tag WHERE manifest_id = @id)
          OR EXISTS (SELECT 1 FROM manifestchild WHERE child_manifest_id = @id)
          OR EXISTS (SELECT 1 FROM manifest m WHERE m.id = @id AND EXISTS (SELECT 1 FROM manifest x WHERE x.subject = m.digest AND x.repository_id = m.repository_id))`,
      { id },
    );
    return r !== null;
  }

  /**
   * _garbage_collect_manifest: an unreferenced manifest goes, with its
   * labels' links, child links, blob links (leaving the quota totals as
   * update_quota says), security status and pull statistics. True when it was deleted.
   */
  async collectManifest(repositoryId: number, manifestId: number): Promise<boolean> {
    if (await this.manifestUsed(this.sql, manifestId)) return false;
    return this.dal.tx(async (tx) => {
      const s = tx.sql;
      const m = await s.one<{ repository_id: unknown; digest: string }>('SELECT repository_id, digest FROM manifest WHERE id = @id', { id: manifestId });
      if (!m) return false;
      if (num(m.repository_id) !== repositoryId) throw new Error(`manifest ${manifestId} is not in repository ${repositoryId}`);
      if (await this.manifestUsed(s, manifestId)) return false;
      const p = { m: manifestId, repo: repositoryId };
      await s.run('DELETE FROM manifestlabel WHERE manifest_id = @m AND repository_id = @repo', p);
      await s.run('DELETE FROM manifestchild WHERE manifest_id = @m AND repository_id = @repo', p);
      const sizes =
        this.settings.quota === 'count'
          ? await s.all<{ id: unknown; image_size: unknown }>(
              'SELECT DISTINCT s.id, s.image_size FROM imagestorage s JOIN manifestblob mb ON mb.blob_id = s.id WHERE mb.manifest_id = @m AND mb.repository_id = @repo',
              p,
            )
          : [];
      await s.run('DELETE FROM manifestblob WHERE manifest_id = @m AND repository_id = @repo', p);
      await this.subtractQuota(
        s,
        repositoryId,
        manifestId,
        sizes.map((r) => ({ id: num(r.id), size: numOrNull(r.image_size) ?? 0 })),
      );
      await s.run('DELETE FROM manifestsecuritystatus WHERE manifest_id = @m AND repository_id = @repo', p);
      await s.run('DELETE FROM manifestpullstatistics WHERE repository_id = @repo AND manifest_digest = @digest', { repo: repositoryId, digest: m.digest });
      await s.run('DELETE FROM manifest WHERE id = @m', p);
      return true;
    });
  }

  /** update_quota(..., SUBTRACT) after the manifest's blob links are gone. */
  private async subtractQuota(s: PortableSql, repositoryId: number, manifestId: number, blobs: readonly { id: number; size: number }[]): Promise<void> {
    if (this.settings.quota === 'none') return;
    const repo = await s.one<{ ns: unknown }>('SELECT namespace_user_id AS ns FROM repository WHERE id = @repo', { repo: repositoryId });
    const q = { repo: repositoryId, ns: repo ? num(repo.ns) : null, m: manifestId };
    if (this.settings.quota === 'invalidate') {
      // reset_backfill: any computed totals go back to the backfill worker.
      await s.run(QUOTA_SQL.repository.reset, q);
      await s.run(QUOTA_SQL.namespace.reset, q);
      return;
    }
    if (blobs.length === 0 || q.ns === null) return;
    if (!(await s.one(QUOTA_SQL.eligibleNamespace, q))) return;
    let namespaceBytes = 0;
    let repositoryBytes = 0;
    for (const b of blobs) {
      const inNamespace = await s.one(
        'SELECT 1 AS found FROM manifestblob mb JOIN repository r ON r.id = mb.repository_id WHERE r.namespace_user_id = @ns AND mb.blob_id = @b AND mb.manifest_id <> @m LIMIT 1',
        { ...q, b: b.id },
      );
      if (!inNamespace) {
        namespaceBytes += b.size;
        repositoryBytes += b.size;
        continue;
      }
      const inRepository = await s.one('SELECT 1 AS found FROM manifestblob WHERE repository_id = @repo AND blob_id = @b AND manifest_id <> @m LIMIT 1', { ...q, b: b.id });
      if (!inRepository) repositoryBytes += b.size;
    }
    // write_namespace_total / write_repository_total for SUBTRACT: only an existing row whose backfill is complete changes.
    for (const [scope, total] of [
      ['namespace', namespaceBytes],
      ['repository', repositoryBytes],
    ] as const) {
      const row = await s.one<{ backfill_complete: unknown }>(QUOTA_SQL[scope].select, q);
      if (!row || !bool(row.backfill_complete)) continue;
      const table = scope === 'namespace' ? 'quotanamespacesize' : 'quotarepositorysize';
      const key = scope === 'namespace' ? 'namespace_user_id = @ns' : 'repository_id = @repo';
      await s.run(`UPDATE ${table} SET size_bytes = size_bytes - @total WHERE ${key}`, { ...q, total });
    }
  }

  /** _bulk_garbage_collect_labels: the labels no manifest links any more go. Returns the ids deleted. */
  async collectLabels(labelIds: readonly number[]): Promise<number[]> {
    if (labelIds.length === 0) return [];
    return this.dal.tx(async (tx) => {
      const l = ids(labelIds);
      const referenced = new Set((await tx.sql.all<{ v: unknown }>(`SELECT label_id AS v FROM manifestlabel WHERE label_id IN (${l.sql})`, l.params)).map((r) => num(r.v)));
      const gone = labelIds.filter((id) => !referenced.has(id));
      if (gone.length === 0) return [];
      const g = ids(gone);
      const n = await tx.sql.run(`DELETE FROM label WHERE id IN (${g.sql})`, g.params);
      return n > 0 ? gone : [];
    });
  }

  /**
   * garbage_collect_storage for one candidate, in one transaction: when no
   * manifest links it, no uploaded-blob row holds it, and it has a placement
   * (a row without one is a placeholder a later cycle or the download worker
   * deals with), the row goes with its placements and signatures.
   * The placements returned are those whose files may be removed: non-CAS
   * ones, and CAS ones whose checksum no remaining row has.
   */
  async collectStorage(storageId: number): Promise<StorageCollected> {
    return this.dal.tx(async (tx) => {
      const s = tx.sql;
      const p = { id: storageId };
      if (await s.one('SELECT 1 AS found FROM manifestblob WHERE blob_id = @id LIMIT 1', p)) return { removed: false, placements: [] };
      if (await s.one('SELECT 1 AS found FROM uploadedblob WHERE blob_id = @id LIMIT 1', p)) return { removed: false, placements: [] };
      const placements = (
        await s.all<{ location: string; uuid: string; cas_path: unknown; content_checksum: string | null }>(
          `SELECT l.name AS location, st.uuid, st.cas_path, st.content_checksum FROM imagestorageplacement pl
            JOIN imagestorage st ON st.id = pl.storage_id JOIN imagestoragelocation l ON l.id = pl.location_id
           WHERE st.id = @id ORDER BY pl.id`,
          p,
        )
      ).map((r) => ({ location: r.location, uuid: r.uuid, casPath: bool(r.cas_path), checksum: r.content_checksum }));
      if (placements.length === 0) return { removed: false, placements: [] };
      await s.run('DELETE FROM imagestorageplacement WHERE storage_id = @id', p);
      await s.run('DELETE FROM imagestoragesignature WHERE storage_id = @id', p);
      await s.run('DELETE FROM imagestorage WHERE id = @id', p);
      const checksums = [...new Set(placements.filter((x) => x.casPath && x.checksum !== null).map((x) => x.checksum!))];
      const referenced = new Set<string>();
      for (const c of checksums) {
        if (await s.one('SELECT 1 AS found FROM imagestorage WHERE content_checksum = @c LIMIT 1', { c })) referenced.add(c);
      }
      return { removed: true, placements: placements.filter((x) => !x.casPath || (x.checksum !== null && !referenced.has(x.checksum))) };
    });
  }

  /**
   * The last check before a blob's file goes (Quay holds its
   * BLOB_DELETE_<checksum> lock around it): `remove` runs only while no
   * `imagestorage` row has the checksum, inside a transaction that holds the
   * lock our registry takes to create a row for that digest (PostgreSQL:
   * the per-digest advisory lock; SQLite: the write lock of BEGIN IMMEDIATE).
   * Resolves true when `remove` ran.
   */
  async removeIfUnreferenced(checksum: string, remove: () => Promise<void>): Promise<boolean> {
    return this.dal.tx(async (tx) => {
      if (tx.dialect === 'postgresql')
        await tx.sql.one('SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(CAST(@k AS BIGINT))) x', { k: advisoryLockId('registryd_blob', checksum) });
      if (await tx.sql.one('SELECT 1 AS found FROM imagestorage WHERE content_checksum = @c LIMIT 1', { c: checksum })) return false;
      await remove();
      return true;
    });
  }

  // ---- purge_repository ----

  /** The repository is marked for deletion (nothing else may write to it). */
  async markForDeletion(repositoryId: number): Promise<void> {
    await this.sql.run('UPDATE repository SET state = @deleting WHERE id = @id AND state <> @deleting', { id: repositoryId, deleting: RepositoryState.MARKED_FOR_DELETION });
  }

  /** purge_repository first breaks every parent-child link between its manifests. */
  async deleteManifestChildren(repositoryId: number): Promise<void> {
    await this.sql.run('DELETE FROM manifestchild WHERE repository_id = @repo', { repo: repositoryId });
  }

  async deleteRepositorySize(repositoryId: number): Promise<void> {
    await this.sql.run('DELETE FROM quotarepositorysize WHERE repository_id = @repo', { repo: repositoryId });
  }

  /** What is left of a repository once its contents are gone: a row count per table (the assertions of purge_repository). */
  async contentsLeft(repositoryId: number): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of ['tag', 'manifest', 'manifestblob', 'uploadedblob', 'manifestsecuritystatus', 'tagpullstatistics', 'manifestpullstatistics']) {
      const r = await this.sql.one<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t} WHERE repository_id = @repo`, { repo: repositoryId });
      if (r && num(r.n) > 0) out[t] = num(r.n);
    }
    return out;
  }

  /**
   * The end of purge_repository: the auto-prune policy, the reference tables
   * (permissions, builds, triggers, action counts, stars, tokens,
   * notifications, uploads, mirror settings, authorized emails, pull
   * statistics), the deletion markers, then the repository row with what
   * still points at it. False when the repository is already gone or a row
   * still points at it (Quay's IntegrityError: retried later).
   */
  async deleteRepositoryRows(repositoryId: number): Promise<boolean> {
    const p = { repo: repositoryId };
    await this.sql.run('DELETE FROM repositoryautoprunepolicy WHERE repository_id = @repo', p);
    // Quay deletes these 500 ids at a time, to keep each statement short; here each table is one statement.
    for (const t of REPOSITORY_REFERENCES) await this.sql.run(`DELETE FROM ${t} WHERE repository_id = @repo`, p);
    await this.sql.run('DELETE FROM deletedrepository WHERE repository_id = @repo', p);
    if (!(await this.sql.one('SELECT 1 AS found FROM repository WHERE id = @repo', p))) return false;
    try {
      return await this.dal.tx(async (tx) => {
        const s = tx.sql;
        // peewee's recursive delete: nullable links into the rows about to go are cleared, the rows deleted, the repository last.
        await s.run('UPDATE repomirrorrule SET left_child_id = NULL WHERE left_child_id IN (SELECT id FROM repomirrorrule WHERE repository_id = @repo)', p);
        await s.run('UPDATE repomirrorrule SET right_child_id = NULL WHERE right_child_id IN (SELECT id FROM repomirrorrule WHERE repository_id = @repo)', p);
        await s.run('UPDATE orgmirrorrepository SET repository_id = NULL WHERE repository_id = @repo', p);
        for (const t of REPOSITORY_LEFTOVERS) await s.run(`DELETE FROM ${t} WHERE repository_id = @repo`, p);
        return (await s.run('DELETE FROM repository WHERE id = @repo', p)) === 1;
      });
    } catch (e) {
      if (isIntegrityError(e)) return false;
      throw e;
    }
  }

  /** The `deletedrepository` marker a repositorygc queue item names. */
  async deletedRepositoryMarker(markerId: number | string): Promise<{ id: number; repositoryId: number } | null> {
    const r = await this.sql.one<{ id: unknown; repository_id: unknown }>('SELECT id, repository_id FROM deletedrepository WHERE id = @id', { id: markerId });
    return r ? { id: num(r.id), repositoryId: num(r.repository_id) } : null;
  }
}

/** A foreign-key or unique violation (PostgreSQL class 23, SQLite SQLITE_CONSTRAINT_*). */
export function isIntegrityError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('23') || code.startsWith('SQLITE_CONSTRAINT'));
}
