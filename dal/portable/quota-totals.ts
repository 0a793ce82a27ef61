/**
 * The quota backfill (Quay's data/model/quota.py run_backfill, driven by
 * workers/quotatotalworker.py), written once for both dialects: a
 * namespace's and its repositories' byte totals, counted from the blobs
 * their manifests hold, in `quotanamespacesize` and `quotarepositorysize`
 * (size_bytes, backfill_start_ms, backfill_complete).
 *
 * A row is computed when it is missing, or was handed back for a new count
 * (size 0, no start, not complete: what the registry's and GC's
 * QUOTA_INVALIDATE_TOTALS and Quay's reset_backfill leave). A row with a start
 * and no completion is a count in progress (or one that died): left alone,
 * as Quay leaves it.
 *
 * Quay reads the row and then writes it; here the start is a compare-and-swap
 * (an INSERT only where no row is, an UPDATE only while the row is still
 * handed back), so two workers of either runtime never both count one total.
 */
import { bool, type PortableSql } from '../model/portable-sql.js';
import { RepositoryState } from '../model/store.js';

/** The namespace totals' table, or the repository totals'. */
interface TotalTable {
  readonly table: 'quotanamespacesize' | 'quotarepositorysize';
  readonly key: 'namespace_user_id' | 'repository_id';
  /** SUM of the distinct blobs' image_size (`@id` bound). */
  readonly total: string;
}

const NAMESPACE: TotalTable = {
  table: 'quotanamespacesize',
  key: 'namespace_user_id',
  // get_namespace_total: every repository of the namespace, whatever its state.
  total: `SELECT SUM(s.image_size) AS total FROM imagestorage s WHERE s.id IN (
    SELECT mb.blob_id FROM manifestblob mb JOIN repository r ON r.id = mb.repository_id WHERE r.namespace_user_id = @id)`,
};

const REPOSITORY: TotalTable = {
  table: 'quotarepositorysize',
  key: 'repository_id',
  total: 'SELECT SUM(s.image_size) AS total FROM imagestorage s WHERE s.id IN (SELECT mb.blob_id FROM manifestblob mb WHERE mb.repository_id = @id)',
};

export interface BackfillResult {
  /** Whether this call computed the namespace's total. */
  readonly namespace: boolean;
  /** How many of its repositories' totals it computed. */
  readonly repositories: number;
}

export class QuotaTotals {
  constructor(private readonly sql: PortableSql) {}

  /**
   * QuotaTotalWorker.backfill's pick: enabled users and organisations (no
   * robots) without a namespace total that has a start, at most `limit`.
   */
  async namespacesToBackfill(limit: number): Promise<number[]> {
    const rows = await this.sql.all<{ id: unknown }>(
      `SELECT u.id FROM "user" u
        WHERE NOT EXISTS (SELECT 1 FROM quotanamespacesize q WHERE q.namespace_user_id = u.id AND q.backfill_start_ms IS NOT NULL)
          AND u.enabled = @yes AND u.robot = @no
        ORDER BY u.id LIMIT ${limit}`,
      { yes: true, no: false },
    );
    return rows.map((r) => Number(r.id));
  }

  /** run_backfill: the namespace's total, then each of its repositories' (not marked for deletion) that needs one. */
  async backfill(namespaceId: number, nowMs: number): Promise<BackfillResult> {
    const namespace = await this.count(NAMESPACE, namespaceId, nowMs);
    const repos = await this.sql.all<{ id: unknown }>('SELECT id FROM repository WHERE namespace_user_id = @ns AND state <> @deleting ORDER BY id', {
      ns: namespaceId,
      deleting: RepositoryState.MARKED_FOR_DELETION,
    });
    let repositories = 0;
    for (const r of repos) if (await this.count(REPOSITORY, Number(r.id), nowMs)) repositories++;
    return { namespace, repositories };
  }

  /** One total: claimed (size 0, started now, not complete), counted, completed. False when it needed no count or another worker took it. */
  private async count(t: TotalTable, id: number, nowMs: number): Promise<boolean> {
    const row = await this.sql.one<{ backfill_start_ms: unknown; backfill_complete: unknown }>(`SELECT backfill_start_ms, backfill_complete FROM ${t.table} WHERE ${t.key} = @id`, {
      id,
    });
    let claimed: number;
    if (row === null) {
      claimed = await this.sql.run(
        `INSERT INTO ${t.table} (${t.key}, size_bytes, backfill_start_ms, backfill_complete)
          SELECT CAST(@id AS INTEGER), 0, CAST(@now AS BIGINT), CAST(@no AS BOOLEAN) WHERE NOT EXISTS (SELECT 1 FROM ${t.table} WHERE ${t.key} = @id)`,
        { id, now: nowMs, no: false },
      );
    } else {
      if (bool(row.backfill_complete) || row.backfill_start_ms !== null) return false;
      claimed = await this.sql.run(
        `UPDATE ${t.table} SET size_bytes = 0, backfill_start_ms = @now, backfill_complete = @no
          WHERE ${t.key} = @id AND backfill_start_ms IS NULL AND backfill_complete = @no`,
        { id, now: nowMs, no: false },
      );
    }
    if (claimed === 0) return false;
    const r = await this.sql.one<{ total: unknown }>(t.total, { id });
    const total = r?.total === null || r?.total === undefined ? 0 : Number(r.total);
    await this.sql.run(`UPDATE ${t.table} SET size_bytes = @total, backfill_complete = @yes WHERE ${t.key} = @id`, { total, yes: true, id });
    return true;
  }
}
