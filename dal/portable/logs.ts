/**
 * The action log as Quay's table logs model reads it
 * (data/logs_model/table_logs_model.py, data/model/log.py): the three log
 * tables newest first (logentry3, logentry2, logentry), the log kinds, and
 * the lookups the /api/v1 log rows make before reading.
 *
 * The page query keeps the shape of the one Peewee writes (a LEFT JOIN to
 * the performer, `ORDER BY datetime DESC` with no tiebreaker, `LIMIT` and
 * `OFFSET`), so that SQLite picks the same index as for Quay and rows with
 * the same timestamp come back in the same order (the order of that index,
 * e.g. (repository_id, datetime, kind_id) for a repository's logs).
 */
import { bool, type PortableSql } from '../model/portable-sql.js';

/** LOG_MODELS in Quay's order: the `tti` of a page token indexes this list. */
export const LOG_TABLES = ['logentry3', 'logentry2', 'logentry'] as const;
export type LogTable = (typeof LOG_TABLES)[number];

export interface LogRow {
  readonly id: number;
  readonly kindId: number;
  /** The stored timestamp normalised to `YYYY-MM-DD HH:MM:SS.ffffff` (naive, as Quay wrote it). */
  readonly datetime: string;
  readonly ip: string | null;
  readonly metadataJson: string | null;
  readonly performer: { readonly username: string; readonly email: string | null; readonly robot: boolean } | null;
}

/** The filters of _logs_query (data/model/log.py). */
export interface LogFilter {
  /** `datetime >= start AND datetime < end`, as Python's sqlite3 adapter writes a datetime. */
  readonly start: string;
  readonly end: string;
  readonly repositoryId?: number | null;
  readonly performerId?: number | null;
  readonly accountId?: number | null;
  /** `NOT (kind_id IN (…))`. */
  readonly ignoreKindIds?: readonly number[];
}

export interface AggregatedRow {
  readonly kindId: number;
  readonly day: number;
  readonly count: number;
}

/**
 * A timestamp as it comes back from either database, with microseconds:
 * SQLite gives Quay's text as stored, PostgreSQL its own rendering (which
 * drops trailing zeros of the fraction).
 */
export function normalizeLogTime(v: string | Date): string {
  if (v instanceof Date) return `${v.toISOString().slice(0, 10)} ${v.toISOString().slice(11, 23)}000`;
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?/.exec(v);
  if (!m) return v;
  return `${m[1]} ${m[2]}.${(m[3] ?? '').padEnd(6, '0')}`;
}

/** The filter of yield_logs_for_export's get_logs_query: a time window and the repository, else the namespace's account. */
export interface ExportWindow {
  readonly start: string;
  readonly end: string;
  readonly repositoryId: number | null;
  readonly accountId: number | null;
}

/** A row of an export batch: the log and the account and repository it names (Quay asserts them). */
export interface ExportLogRow extends LogRow {
  readonly accountId: number;
  readonly repositoryId: number | null;
}

/**
 * A naive datetime (milliseconds read as UTC) as Python's sqlite3 adapter
 * writes a parameter: `isoformat(" ")`, the fraction only when non-zero.
 * PostgreSQL reads the same text as the timestamp psycopg2 would send.
 */
export function logTimeParam(ms: number): string {
  const iso = new Date(ms).toISOString();
  const frac = ms % 1000 === 0 ? '' : `.${iso.slice(20, 23)}000`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac}`;
}

export class ActionLogs {
  constructor(private readonly sql: PortableSql) {}

  /** get_log_entry_kinds: id → name. */
  async kinds(): Promise<Map<number, string>> {
    const rows = await this.sql.all<{ id: number; name: string }>('SELECT id, name FROM logentrykind');
    return new Map(rows.map((r) => [Number(r.id), r.name]));
  }

  /** model.repository.get_repository: the id of a repository not marked for deletion. */
  async repositoryId(namespace: string, name: string): Promise<number | null> {
    const row = await this.sql.one<{ id: number }>(
      `SELECT r.id FROM repository r JOIN "user" n ON n.id = r.namespace_user_id
        WHERE n.username = @ns AND r.name = @name AND r.state <> 3`,
      { ns: namespace, name },
    );
    return row ? Number(row.id) : null;
  }

  /** model.user.get_user: a user or robot (not an organisation); null for non-ASCII names, as Quay. */
  async userId(username: string): Promise<number | null> {
    if (/[^\x00-\x7f]/.test(username)) return null;
    const row = await this.sql.one<{ id: number }>(`SELECT id FROM "user" WHERE username = @u AND organization = @f`, { u: username, f: false });
    return row ? Number(row.id) : null;
  }

  /** model.user.get_user_or_org: a user or organisation (not a robot). */
  async userOrOrgId(username: string): Promise<number | null> {
    if (/[^\x00-\x7f]/.test(username)) return null;
    const row = await this.sql.one<{ id: number }>(`SELECT id FROM "user" WHERE username = @u AND robot = @f`, { u: username, f: false });
    return row ? Number(row.id) : null;
  }

  private where(f: LogFilter, params: Record<string, unknown>): string {
    const parts = ['l.datetime >= @start', 'l.datetime < @end'];
    params.start = f.start;
    params.end = f.end;
    if (f.repositoryId != null) {
      parts.push('l.repository_id = @repo');
      params.repo = f.repositoryId;
    }
    if (f.performerId != null) {
      parts.push('l.performer_id = @performer');
      params.performer = f.performerId;
    }
    if (f.accountId != null) {
      parts.push('l.account_id = @account');
      params.account = f.accountId;
    }
    if (f.ignoreKindIds && f.ignoreKindIds.length > 0) {
      const names = f.ignoreKindIds.map((id, i) => {
        params[`k${i}`] = id;
        return `@k${i}`;
      });
      parts.push(`NOT (l.kind_id IN (${names.join(', ')}))`);
    }
    return parts.join(' AND ');
  }

  /**
   * One page of get_logs_query under modelutil.paginate (descending by
   * datetime): `datetime <= startIndex` when the token has one (the value
   * as the token holds it), then OFFSET and LIMIT.
   */
  async page(table: LogTable, f: LogFilter, o: { startIndex: unknown; offset: number; limit: number }): Promise<LogRow[]> {
    const params: Record<string, unknown> = {};
    let where = this.where(f, params);
    if (o.startIndex !== null && o.startIndex !== undefined) {
      where += ' AND l.datetime <= @startIndex';
      params.startIndex = o.startIndex;
    }
    params.limit = o.limit;
    let tail = 'LIMIT @limit';
    if (o.offset > 0) {
      params.offset = o.offset;
      tail += ' OFFSET @offset';
    }
    // A page's rows: the log fields alone.
    return (await this.withPerformer(table, `${where} ORDER BY l.datetime DESC ${tail}`, params)).map(({ accountId: _a, repositoryId: _r, ...row }) => row);
  }

  /**
   * get_aggregated_logs: counts by day of month and kind, grouped as Peewee
   * writes it and without ORDER BY, as Quay: the database's grouping decides
   * the order (SQLite's sorter: day, then kind).
   */
  async aggregated(table: LogTable, f: LogFilter): Promise<AggregatedRow[]> {
    const params: Record<string, unknown> = {};
    const where = this.where(f, params);
    const day = this.sql.dialect === 'postgresql' ? 'EXTRACT(DAY FROM l.datetime)' : "CAST(strftime('%d', l.datetime) AS INTEGER)";
    const rows = await this.sql.all<{ kind_id: number; day: number | string; count: number | string }>(
      `SELECT l.kind_id, ${day} AS day, COUNT(l.id) AS count FROM ${table} l WHERE ${where}
        GROUP BY ${day}, l.kind_id`,
      params,
    );
    return rows.map((r) => ({ kindId: Number(r.kind_id), day: Number(r.day), count: Number(r.count) }));
  }

  /**
   * One batch of TableLogsModel.yield_logs_for_export: logentry3 only, in the
   * shape Peewee writes get_logs_query with a namespace id (the performer
   * LEFT JOINed, the repository's filter or else the account's, no ORDER
   * BY): the database's plan decides the order within a window, as for Quay.
   */
  async exportBatch(w: ExportWindow): Promise<ExportLogRow[]> {
    const params: Record<string, unknown> = { start: w.start, end: w.end };
    let where = 'l.datetime >= @start AND l.datetime < @end';
    if (w.repositoryId !== null) {
      where += ' AND l.repository_id = @repo';
      params.repo = w.repositoryId;
    } else if (w.accountId !== null) {
      where += ' AND l.account_id = @account';
      params.account = w.accountId;
    }
    return this.withPerformer('logentry3', where, params);
  }

  /** The rows of `table` matching `clause` (a WHERE clause and what follows it), the performer LEFT JOINed as Peewee writes get_logs_query. */
  private async withPerformer(table: LogTable, clause: string, params: Record<string, unknown>): Promise<ExportLogRow[]> {
    const rows = await this.sql.all<{
      id: number;
      kind_id: number;
      account_id: number;
      repository_id: number | null;
      datetime: string;
      ip: string | null;
      metadata_json: string | null;
      p_username: string | null;
      p_email: string | null;
      p_robot: unknown;
    }>(
      `SELECT l.id, l.kind_id, l.account_id, l.performer_id, l.repository_id, l.datetime, l.ip, l.metadata_json,
              p.username AS p_username, p.email AS p_email, p.robot AS p_robot
         FROM ${table} l LEFT OUTER JOIN "user" p ON p.id = l.performer_id
        WHERE ${clause}`,
      params,
    );
    return rows.map((r) => ({
      id: Number(r.id),
      kindId: Number(r.kind_id),
      accountId: Number(r.account_id),
      repositoryId: r.repository_id === null ? null : Number(r.repository_id),
      datetime: normalizeLogTime(r.datetime),
      ip: r.ip,
      metadataJson: r.metadata_json,
      performer: r.p_username === null ? null : { username: r.p_username, email: r.p_email, robot: bool(r.p_robot) },
    }));
  }
}
