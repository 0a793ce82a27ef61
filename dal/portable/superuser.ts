/**
 * What Quay's superuser panel reads (endpoints/api/superuser.py and its
 * pre-OCI model), written once for both dialects: users and organisations
 * with their quotas, the registry size, service keys, app-specific tokens,
 * and the system-wide action logs over the three log tables.
 *
 * Ordering: where Quay's query has no ORDER BY (the unpaged user and
 * organisation lists, quotas, service keys, app tokens) none is added
 * either, so the database answers the same query shape in the same order
 * (SQLite: by rowid; PostgreSQL: as its plan reads the heap).
 */
import { bool, type PortableSql } from '../model/portable-sql.js';

export interface SuNamespace {
  readonly id: number;
  readonly username: string;
  readonly email: string;
  readonly verified: boolean;
  readonly enabled: boolean;
  readonly robot: boolean;
  readonly organization: boolean;
}

export interface SuQuotaLimit {
  readonly id: number;
  readonly type: string;
  readonly percent: number;
}

export interface SuQuota {
  readonly id: number;
  readonly limitBytes: number;
  readonly limits: SuQuotaLimit[];
}

export interface SuRegistrySize {
  readonly sizeBytes: number;
  readonly running: boolean;
  readonly queued: boolean;
  readonly completedMs: number | null;
}

export interface SuServiceKey {
  readonly name: string;
  readonly kid: string;
  readonly service: string;
  readonly jwk: string;
  readonly metadata: string;
  readonly createdDate: string;
  readonly expirationDate: string | null;
  readonly rotationDuration: number | null;
  readonly approval: {
    readonly approverId: number | null;
    readonly approvalType: string;
    readonly approvedDate: string;
    readonly notes: string;
  } | null;
}

export interface SuAppToken {
  readonly uuid: string;
  readonly title: string;
  readonly created: string;
  readonly expiration: string | null;
  readonly lastAccessed: string | null;
}

/** One row of a log table with its performer and account (Quay's Log.for_logentry). */
export interface SuLogRow {
  readonly id: number;
  readonly kindId: number;
  readonly metadataJson: string | null;
  readonly ip: string | null;
  /** Quay's naive-UTC text. */
  readonly datetime: string;
  readonly performerUsername: string | null;
  readonly performerEmail: string | null;
  readonly performerRobot: boolean | null;
  readonly accountUsername: string | null;
  readonly accountEmail: string | null;
  readonly accountRobot: boolean | null;
  readonly accountOrganization: boolean | null;
}

export interface SuAggregateRow {
  readonly kindId: number;
  readonly day: number;
  readonly count: number;
}

/** The log tables in the order Quay's table logs model reads them (LOG_MODELS). */
export const LOG_TABLES = ['logentry3', 'logentry2', 'logentry'] as const;

const NS_COLUMNS = 'u.id, u.username, u.email, u.verified, u.enabled, u.robot, u.organization';

interface NsDbRow {
  id: number;
  username: string;
  email: string;
  verified: unknown;
  enabled: unknown;
  robot: unknown;
  organization: unknown;
}

const ns = (r: NsDbRow): SuNamespace => ({
  id: r.id,
  username: r.username,
  email: r.email,
  verified: bool(r.verified),
  enabled: bool(r.enabled),
  robot: bool(r.robot),
  organization: bool(r.organization),
});

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export class SuperuserData {
  constructor(private readonly sql: PortableSql) {}

  /**
   * get_active_users / get_organizations: non-robot users (or organisations);
   * `enabledOnly` for disabled=false, else every one not queued for deletion.
   * Paged by id (modelutil.paginate) when `page` is given: `limit + 1` rows from `startId`.
   */
  async namespaces(o: { organizations: boolean; enabledOnly: boolean; page?: { limit: number; startId: number | null; offset?: number } }): Promise<SuNamespace[]> {
    const where = ['u.organization = @org', 'u.robot = @no'];
    if (o.enabledOnly) where.push('u.enabled = @yes');
    else where.push('u.id NOT IN (SELECT d.namespace_id FROM deletednamespace d)');
    let tail = '';
    if (o.page) {
      tail = 'ORDER BY u.id';
      if (o.page.startId !== null) where.push('u.id >= @start');
      tail += ' LIMIT @lim';
      if (o.page.offset) tail += ' OFFSET @off';
    }
    const rows = await this.sql.all<NsDbRow>(`SELECT ${NS_COLUMNS} FROM "user" u WHERE ${where.join(' AND ')} ${tail}`, {
      org: o.organizations,
      no: false,
      yes: true,
      start: o.page?.startId ?? null,
      lim: o.page ? o.page.limit + 1 : null,
      off: o.page?.offset ?? 0,
    });
    return rows.map(ns);
  }

  /** get_nonrobot_user: a user (not an organisation, not a robot) by name. */
  async nonRobotUser(username: string): Promise<SuNamespace | null> {
    const r = await this.sql.one<NsDbRow>(`SELECT ${NS_COLUMNS} FROM "user" u WHERE u.username = @v AND u.organization = @no AND u.robot = @no`, { v: username, no: false });
    return r ? ns(r) : null;
  }

  /** get_user_or_org: a user or organisation (not a robot) by name. */
  async userOrOrg(username: string): Promise<SuNamespace | null> {
    const r = await this.sql.one<NsDbRow>(`SELECT ${NS_COLUMNS} FROM "user" u WHERE u.username = @v AND u.robot = @no`, { v: username, no: false });
    return r ? ns(r) : null;
  }

  async userById(id: number): Promise<SuNamespace | null> {
    const r = await this.sql.one<NsDbRow>(`SELECT ${NS_COLUMNS} FROM "user" u WHERE u.id = @v`, { v: id });
    return r ? ns(r) : null;
  }

  /** get_namespace_quota_list with each quota's limits (get_namespace_quota_limit_list). */
  async quotas(namespaceId: number): Promise<SuQuota[]> {
    const quotas = await this.sql.all<{ id: number; limit_bytes: number }>('SELECT q.id, q.limit_bytes FROM userorganizationquota q WHERE q.namespace_id = @ns', {
      ns: namespaceId,
    });
    const out: SuQuota[] = [];
    for (const q of quotas) {
      const limits = await this.sql.all<{ id: number; type: string; percent_of_limit: number }>(
        'SELECT l.id, t.name AS type, l.percent_of_limit FROM quotalimits l JOIN quotatype t ON t.id = l.quota_type_id WHERE l.quota_id = @q',
        { q: q.id },
      );
      out.push({ id: q.id, limitBytes: Number(q.limit_bytes), limits: limits.map((l) => ({ id: l.id, type: l.type, percent: Number(l.percent_of_limit) })) });
    }
    return out;
  }

  /** quota.get_registry_size: the (first) quotaregistrysize row. */
  async registrySize(): Promise<SuRegistrySize | null> {
    const r = await this.sql.one<{ size_bytes: unknown; running: unknown; queued: unknown; completed_ms: unknown }>(
      'SELECT r.size_bytes, r.running, r.queued, r.completed_ms FROM quotaregistrysize r LIMIT 1',
    );
    return r ? { sizeBytes: Number(r.size_bytes), running: bool(r.running), queued: bool(r.queued), completedMs: num(r.completed_ms) } : null;
  }

  /**
   * service_keys.list_all_keys (kid null) or one key by kid, approved or not,
   * alive or not, but never one expired before `staleBefore` (Quay's
   * _stale_expired_keys_clause: EXPIRED_SERVICE_KEY_TTL_SEC before now).
   */
  async serviceKeys(kid: string | null, staleBefore: string): Promise<SuServiceKey[]> {
    // Quay's query selects the keys alone (the approval is read per key afterwards): the same shape here, so
    // PostgreSQL removes the unused LEFT JOIN and reads the rows in the same order as for Quay.
    const rows = await this.sql.all<{
      name: string;
      kid: string;
      service: string;
      jwk: string;
      metadata: string;
      created_date: string;
      expiration_date: string | null;
      rotation_duration: unknown;
      approval_id: number | null;
    }>(
      `SELECT k.name, k.kid, k.service, k.jwk, k.metadata, k.created_date, k.expiration_date, k.rotation_duration, k.approval_id
       FROM servicekey k LEFT JOIN servicekeyapproval a ON a.id = k.approval_id
       WHERE ${kid === null ? '' : 'k.kid = @kid AND '}(NOT (k.expiration_date <= @stale) OR k.expiration_date IS NULL)`,
      { kid, stale: staleBefore },
    );
    const out: SuServiceKey[] = [];
    for (const r of rows) {
      const a =
        r.approval_id === null
          ? null
          : await this.sql.one<{ approver_id: number | null; approval_type: string; approved_date: string; notes: string }>(
              'SELECT a.approver_id, a.approval_type, a.approved_date, a.notes FROM servicekeyapproval a WHERE a.id = @id',
              { id: r.approval_id },
            );
      out.push({
        name: r.name,
        kid: r.kid,
        service: r.service,
        jwk: r.jwk,
        metadata: r.metadata,
        createdDate: r.created_date,
        expirationDate: r.expiration_date,
        rotationDuration: num(r.rotation_duration),
        approval: a ? { approverId: a.approver_id, approvalType: a.approval_type, approvedDate: a.approved_date, notes: a.notes } : null,
      });
    }
    return out;
  }

  /** appspecifictoken.list_all_tokens, or get_all_expiring_tokens (expiring in (now, soon]). */
  async appTokens(window: { now: string; soon: string } | null): Promise<SuAppToken[]> {
    const rows = await this.sql.all<{ uuid: string; title: string; created: string; expiration: string | null; last_accessed: string | null }>(
      `SELECT t.uuid, t.title, t.created, t.expiration, t.last_accessed FROM appspecificauthtoken t
       ${window ? 'WHERE t.expiration <= @soon AND t.expiration > @now' : ''}`,
      { now: window?.now ?? null, soon: window?.soon ?? null },
    );
    return rows.map((r) => ({ uuid: r.uuid, title: r.title, created: r.created, expiration: r.expiration, lastAccessed: r.last_accessed }));
  }

  /** logentrykind: id → name. */
  async logKinds(): Promise<Map<number, string>> {
    const rows = await this.sql.all<{ id: number; name: string }>('SELECT k.id, k.name FROM logentrykind k');
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /**
   * get_logs_query over one table for the whole system (no namespace, no
   * repository: the account is joined too), newest first, as
   * modelutil.paginate reads a page: `limit + 1` rows, from `startIndex`
   * (a datetime, inclusive) and after `offset` rows.
   */
  async logPage(table: (typeof LOG_TABLES)[number], o: { start: string; end: string; startIndex: string | null; offset: number; limit: number }): Promise<SuLogRow[]> {
    const where = ['l.datetime >= @start', 'l.datetime < @end'];
    if (o.startIndex !== null) where.push('l.datetime <= @si');
    const rows = await this.sql.all<{
      id: number;
      kind_id: number;
      metadata_json: string | null;
      ip: string | null;
      datetime: string;
      p_username: string | null;
      p_email: string | null;
      p_robot: unknown;
      a_username: string | null;
      a_email: string | null;
      a_robot: unknown;
      a_org: unknown;
    }>(
      `SELECT l.id, l.kind_id, l.metadata_json, l.ip, l.datetime,
              p.username AS p_username, p.email AS p_email, p.robot AS p_robot,
              a.username AS a_username, a.email AS a_email, a.robot AS a_robot, a.organization AS a_org
       FROM ${table} l LEFT JOIN "user" p ON p.id = l.performer_id LEFT JOIN "user" a ON a.id = l.account_id
       WHERE ${where.join(' AND ')} ORDER BY l.datetime DESC LIMIT @lim${o.offset > 0 ? ' OFFSET @off' : ''}`,
      { start: o.start, end: o.end, si: o.startIndex, lim: o.limit + 1, off: o.offset },
    );
    return rows.map((r) => ({
      id: r.id,
      kindId: r.kind_id,
      metadataJson: r.metadata_json,
      ip: r.ip,
      datetime: r.datetime,
      performerUsername: r.p_username,
      performerEmail: r.p_email,
      performerRobot: r.p_username === null ? null : bool(r.p_robot),
      accountUsername: r.a_username,
      accountEmail: r.a_email,
      accountRobot: r.a_username === null ? null : bool(r.a_robot),
      accountOrganization: r.a_username === null ? null : bool(r.a_org),
    }));
  }

  /** get_aggregated_logs over one table: counts by day of the month and kind. */
  async aggregate(table: (typeof LOG_TABLES)[number], o: { start: string; end: string }): Promise<SuAggregateRow[]> {
    // Quay groups by db.extract_date("day", datetime): EXTRACT(day FROM …) on PostgreSQL (in whatever order the
    // aggregate comes out, as there), peewee's date_part() on SQLite (groups come out sorted by day, then kind).
    const pg = this.sql.dialect === 'postgresql';
    const day = pg ? 'EXTRACT(day FROM l.datetime)' : "CAST(strftime('%d', l.datetime) AS INTEGER)";
    const rows = await this.sql.all<{ kind_id: number; day: unknown; count: unknown }>(
      `SELECT l.kind_id, ${day} AS day, COUNT(l.id) AS count FROM ${table} l
       WHERE l.datetime >= @start AND l.datetime < @end GROUP BY ${day}, l.kind_id${pg ? '' : ' ORDER BY 2, 1'}`,
      { start: o.start, end: o.end },
    );
    return rows.map((r) => ({ kindId: r.kind_id, day: Number(r.day), count: Number(r.count) }));
  }
}
