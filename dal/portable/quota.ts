/**
 * Namespace quotas (`userorganizationquota`) and their limits
 * (`quotalimits` + `quotatype`), as data/model/namespacequota.py reads them
 * for the API, written once for both dialects.
 *
 * Quay compares the id columns with the path segment as peewee binds it:
 * Python's int() of the text when that parses, else the text itself. An
 * `IdParam` carries that value; on SQLite a text operand meets the INTEGER
 * column's affinity (`1.0` finds id 1, `abc` finds nothing), exactly as
 * Quay's query does.
 */
import { bool, type PortableSql } from '../model/portable-sql.js';

/** A path id as peewee binds it: a number, or the text when int() refuses it. */
export type IdParam = number | string;

export interface QuotaRow {
  readonly id: number;
  readonly namespaceId: number;
  readonly limitBytes: number;
}

export interface QuotaLimitRow {
  readonly id: number;
  readonly quotaId: number;
  /** quotatype.name: Warning or Reject. */
  readonly type: string;
  readonly percent: number;
}

const QUOTA_COLUMNS = 'q.id, q.namespace_id AS "namespaceId", q.limit_bytes AS "limitBytes"';
const LIMIT_COLUMNS = 'l.id, l.quota_id AS "quotaId", t.name AS type, l.percent_of_limit AS percent';

/** `quotanamespacesize`: what a namespace holds and how far its backfill is. */
export interface NamespaceSizeRow {
  readonly sizeBytes: number | null;
  readonly backfillStartMs: number | null;
  readonly backfillComplete: boolean;
}

export class QuotaReads {
  constructor(private readonly sql: PortableSql) {}

  /** model.quota.get_namespace_size. */
  async namespaceSize(namespaceId: number): Promise<NamespaceSizeRow | null> {
    const r = await this.sql.one<{ size_bytes: number | null; backfill_start_ms: number | null; backfill_complete: unknown }>(
      'SELECT s.size_bytes, s.backfill_start_ms, s.backfill_complete FROM quotanamespacesize s WHERE s.namespace_user_id = @ns',
      { ns: namespaceId },
    );
    if (!r) return null;
    return {
      sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
      backfillStartMs: r.backfill_start_ms === null ? null : Number(r.backfill_start_ms),
      backfillComplete: bool(r.backfill_complete),
    };
  }

  /** get_namespace_quota_list. */
  quotas(namespace: string): Promise<QuotaRow[]> {
    return this.sql.all<QuotaRow>(`SELECT ${QUOTA_COLUMNS} FROM userorganizationquota q JOIN "user" u ON u.id = q.namespace_id WHERE u.username = @ns ORDER BY q.id`, {
      ns: namespace,
    });
  }

  /** get_namespace_quota(namespace, id): the first match. */
  quota(namespace: string, id: IdParam): Promise<QuotaRow | null> {
    return this.sql.one<QuotaRow>(
      `SELECT ${QUOTA_COLUMNS} FROM userorganizationquota q JOIN "user" u ON u.id = q.namespace_id WHERE u.username = @ns AND q.id = @id ORDER BY q.id LIMIT 1`,
      { ns: namespace, id },
    );
  }

  /** get_namespace_quota_limit_list(quota). */
  limits(quotaId: number): Promise<QuotaLimitRow[]> {
    return this.sql.all<QuotaLimitRow>(`SELECT ${LIMIT_COLUMNS} FROM quotalimits l JOIN quotatype t ON t.id = l.quota_type_id WHERE l.quota_id = @q ORDER BY l.id`, {
      q: quotaId,
    });
  }

  /** QuotaLimits.get(id == limit_id), whichever quota it belongs to. */
  limit(id: IdParam): Promise<QuotaLimitRow | null> {
    return this.sql.one<QuotaLimitRow>(`SELECT ${LIMIT_COLUMNS} FROM quotalimits l JOIN quotatype t ON t.id = l.quota_type_id WHERE l.id = @id ORDER BY l.id LIMIT 1`, { id });
  }
}
