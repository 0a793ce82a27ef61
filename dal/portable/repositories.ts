/**
 * What Quay's repository and tag views read (endpoints/api/repository*.py,
 * tag.py; data/model/repository.py, _basequery.py, oci/tag.py), written once
 * for both dialects.
 */
import { bool, type PortableSql } from '../model/portable-sql.js';

/** RepositoryState: the names the API shows for the `state` column. */
export const REPOSITORY_STATES = ['NORMAL', 'READ_ONLY', 'MIRROR', 'MARKED_FOR_DELETION', 'ORG_MIRROR'] as const;
export const MARKED_FOR_DELETION = 3;

export interface RepoRow {
  readonly id: number;
  readonly namespace: string;
  readonly name: string;
  readonly description: string | null;
  readonly visibility: string;
  readonly kind: string;
  readonly state: number;
  readonly namespaceIsOrg: boolean;
  readonly namespaceTagExpirationS: number;
  readonly namespaceStripeId: string | null;
  readonly badgeToken: string;
  readonly trustEnabled: boolean;
}

interface RepoDbRow extends Omit<RepoRow, 'namespaceIsOrg' | 'trustEnabled'> {
  namespaceIsOrg: unknown;
  trustEnabled: unknown;
}

const REPO_COLUMNS = `r.id, n.username AS namespace, r.name, r.description, v.name AS visibility, k.name AS kind, r.state,
  n.organization AS "namespaceIsOrg", n.removed_tag_expiration_s AS "namespaceTagExpirationS", n.stripe_id AS "namespaceStripeId",
  r.badge_token AS "badgeToken", r.trust_enabled AS "trustEnabled"`;
const REPO_FROM = `repository r JOIN "user" n ON n.id = r.namespace_user_id JOIN visibility v ON v.id = r.visibility_id JOIN repositorykind k ON k.id = r.kind_id`;

/**
 * An `IN (…)` list of ids as bound parameters (@id0, @id1, …): the SQL text
 * depends only on the list's length, so the statement caches stay bounded.
 */
function idList(ids: readonly number[]): { readonly sql: string; readonly params: Record<string, number> } {
  const params: Record<string, number> = {};
  ids.forEach((id, i) => (params[`id${i}`] = id));
  return { sql: ids.map((_, i) => `@id${i}`).join(', '), params };
}

const repoRow = (r: RepoDbRow): RepoRow => ({ ...r, namespaceIsOrg: bool(r.namespaceIsOrg), trustEnabled: bool(r.trustEnabled) });

export interface VisibleQuery {
  /** The caller's user id (null: anonymous). */
  readonly userId: number | null;
  readonly namespace: string | null;
  readonly kind: string;
  readonly includePublic: boolean;
  readonly startId: number | null;
  readonly limit: number;
  /** Every repository of the namespace (or all, with returnAll) passes: a superuser's listing. */
  readonly superuser: boolean;
  readonly returnAll: boolean;
}

export interface TagHistoryRow {
  readonly id: number;
  readonly name: string;
  readonly lifetimeStartMs: number | null;
  readonly lifetimeEndMs: number | null;
  readonly reversion: boolean;
  readonly immutable: boolean;
  readonly manifestId: number;
  readonly digest: string;
  readonly mediaType: string;
  readonly layersCompressedSize: number | null;
  readonly configMediaType: string | null;
}

export class RepositoryReads {
  constructor(private readonly sql: PortableSql) {}

  /** get_repository: by name, not being deleted. */
  async repository(namespace: string, name: string): Promise<RepoRow | null> {
    const r = await this.sql.one<RepoDbRow>(`SELECT ${REPO_COLUMNS} FROM ${REPO_FROM} WHERE n.username = @ns AND r.name = @name AND r.state <> @gone`, {
      ns: namespace,
      name,
      gone: MARKED_FOR_DELETION,
    });
    return r ? repoRow(r) : null;
  }

  /** Does `repositorykind` have the name. */
  async kindExists(kind: string): Promise<boolean> {
    return (await this.sql.one('SELECT id FROM repositorykind WHERE name = @k', { k: kind })) !== null;
  }

  /**
   * get_visible_repositories + filter_to_repos_for_user: public ones (when
   * asked), those with a permission of the user or of its teams, and those
   * of organisations where the user is on an admin team; by id, from startId.
   */
  async visible(q: VisibleQuery): Promise<RepoRow[]> {
    if (!q.includePublic && q.userId === null) return [];
    const base = `SELECT ${REPO_COLUMNS} FROM ${REPO_FROM} WHERE r.state <> @gone AND k.name = @kind${q.startId !== null ? ' AND r.id >= @start' : ''}${q.namespace ? ' AND n.username = @ns' : ''}`;
    const parts: string[] = [];
    if (q.includePublic) parts.push(`${base} AND v.name = 'public'`);
    if (q.userId !== null && q.superuser && (q.namespace || q.returnAll)) parts.push(base);
    else if (q.userId !== null) {
      parts.push(`${base} AND EXISTS (SELECT 1 FROM repositorypermission p WHERE p.repository_id = r.id AND p.user_id = @user)`);
      parts.push(`${base} AND EXISTS (SELECT 1 FROM repositorypermission p JOIN teammember tm ON tm.team_id = p.team_id WHERE p.repository_id = r.id AND tm.user_id = @user)`);
      parts.push(`${base} AND EXISTS (SELECT 1 FROM team t JOIN teamrole tr ON tr.id = t.role_id JOIN teammember tm ON tm.team_id = t.id
        WHERE t.organization_id = r.namespace_user_id AND tr.name = 'admin' AND tm.user_id = @user)`);
    }
    const rows = await this.sql.all<RepoDbRow>(`SELECT * FROM (${parts.join(' UNION ')}) x ORDER BY id LIMIT @limit`, {
      gone: MARKED_FOR_DELETION,
      kind: q.kind,
      start: q.startId,
      ns: q.namespace,
      user: q.userId,
      limit: q.limit,
    });
    return rows.map(repoRow);
  }

  /** get_user_starred_repositories: the starred repositories of a kind, not being deleted (by id). */
  async starred(userId: number, kind: string): Promise<RepoRow[]> {
    const rows = await this.sql.all<RepoDbRow>(
      `SELECT ${REPO_COLUMNS} FROM ${REPO_FROM} JOIN star s ON s.repository_id = r.id WHERE s.user_id = @user AND k.name = @kind AND r.state <> @gone ORDER BY r.id`,
      { user: userId, kind, gone: MARKED_FOR_DELETION },
    );
    return rows.map(repoRow);
  }

  async isStarred(userId: number, repositoryId: number): Promise<boolean> {
    return (await this.sql.one('SELECT id FROM star WHERE repository_id = @r AND user_id = @u', { r: repositoryId, u: userId })) !== null;
  }

  /** get_most_recent_tag_lifetime_start: the newest start of an alive, visible tag per repository (ms). */
  async lastModified(ids: readonly number[], nowMs: number): Promise<Map<number, number | null>> {
    if (ids.length === 0) return new Map();
    const list = idList(ids);
    const rows = await this.sql.all<{ repository_id: number; ms: number | null }>(
      `SELECT repository_id, MAX(lifetime_start_ms) AS ms FROM tag WHERE repository_id IN (${list.sql})
        AND (lifetime_end_ms IS NULL OR lifetime_end_ms > @now) AND hidden = @no GROUP BY repository_id`,
      { ...list.params, now: nowMs, no: false },
    );
    return new Map(rows.map((r) => [r.repository_id, r.ms === null ? null : Number(r.ms)]));
  }

  /** get_repositories_action_sums: actions per repository since `since` (a date, naive-UTC text). */
  async actionSums(ids: readonly number[], since: string): Promise<Map<number, number>> {
    if (ids.length === 0) return new Map();
    const list = idList(ids);
    const rows = await this.sql.all<{ repository_id: number; total: number | string }>(
      `SELECT repository_id, SUM(count) AS total FROM repositoryactioncount WHERE repository_id IN (${list.sql})
        AND ${this.sql.dialect === 'postgresql' ? 'date >= CAST(@since AS TIMESTAMP)' : 'date >= @since'} GROUP BY repository_id`,
      { ...list.params, since },
    );
    return new Map(rows.map((r) => [r.repository_id, Number(r.total)]));
  }

  /** get_repository_action_counts: the daily counts since a time (naive-UTC text), dates as YYYY-MM-DD. */
  actionCounts(repositoryId: number, since: string): Promise<{ date: string; count: number }[]> {
    // A date column against a timestamp: PostgreSQL compares the date as its midnight, SQLite compares the texts; both the same way.
    const cmp = this.sql.dialect === 'postgresql' ? 'date >= CAST(@since AS TIMESTAMP)' : 'date >= @since';
    return this.sql.all(`SELECT CAST(date AS TEXT) AS date, count FROM repositoryactioncount WHERE repository_id = @r AND ${cmp} ORDER BY id`, { r: repositoryId, since });
  }

  /** get_repository_sizes: bytes per repository (0 when unknown). */
  async sizes(ids: readonly number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>(ids.map((id) => [id, 0]));
    if (ids.length === 0) return out;
    const list = idList(ids);
    const rows = await this.sql.all<{ repository_id: number; size_bytes: number | null }>(
      `SELECT repository_id, size_bytes FROM quotarepositorysize WHERE repository_id IN (${list.sql})`,
      list.params,
    );
    for (const r of rows) out.set(r.repository_id, r.size_bytes ?? 0);
    return out;
  }

  /** The namespace's quota limit (first userorganizationquota row), or null. */
  async namespaceQuotaLimit(namespace: string): Promise<number | null> {
    const r = await this.sql.one<{ limit_bytes: number }>(
      'SELECT q.limit_bytes FROM userorganizationquota q JOIN "user" u ON u.id = q.namespace_id WHERE u.username = @ns ORDER BY q.id',
      { ns: namespace },
    );
    return r ? r.limit_bytes : null;
  }

  /**
   * list_repository_tag_history: tags with their manifest, newest start first
   * then by name, `pageSize + 1` rows from page `page` (1-based); alive and
   * visible when `activeOnly`, else every visible tag, dead ones included.
   */
  async tagHistory(
    repositoryId: number,
    o: {
      readonly page: number;
      readonly pageSize: number;
      readonly activeOnly: boolean;
      readonly nowMs: number;
      readonly specificTag?: string | null;
      readonly like?: string | null;
      readonly eq?: string | null;
      readonly sinceMs?: number | null;
    },
  ): Promise<TagHistoryRow[]> {
    const where = [
      't.repository_id = @repo',
      't.hidden = @no',
      ...(o.activeOnly ? ['(t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > @now)'] : []),
      ...(o.specificTag != null ? ['t.name = @specific'] : []),
      ...(o.eq != null ? ['t.name = @eq'] : []),
      ...(o.like != null ? [this.sql.dialect === 'postgresql' ? 't.name ILIKE @like' : 't.name LIKE @like'] : []),
      ...(o.sinceMs != null ? ['(t.lifetime_start_ms > @since OR t.lifetime_end_ms > @since)'] : []),
    ];
    const rows = await this.sql.all<TagHistoryRow & { reversion: unknown; immutable: unknown }>(
      `SELECT t.id, t.name, t.lifetime_start_ms AS "lifetimeStartMs", t.lifetime_end_ms AS "lifetimeEndMs", t.reversion, t.immutable,
        m.id AS "manifestId", m.digest, mt.name AS "mediaType", m.layers_compressed_size AS "layersCompressedSize", m.config_media_type AS "configMediaType"
       FROM tag t JOIN manifest m ON m.id = t.manifest_id JOIN mediatype mt ON mt.id = m.media_type_id
       WHERE ${where.join(' AND ')} ORDER BY t.lifetime_start_ms DESC, t.name LIMIT @limit OFFSET @offset`,
      {
        repo: repositoryId,
        no: false,
        now: o.nowMs,
        specific: o.specificTag ?? null,
        eq: o.eq ?? null,
        like: o.like != null ? `%${o.like}%` : null,
        since: o.sinceMs ?? null,
        limit: o.pageSize + 1,
        offset: o.pageSize * (o.page - 1),
      },
    );
    return rows.map((r) => ({
      ...r,
      reversion: bool(r.reversion),
      immutable: bool(r.immutable),
      lifetimeStartMs: r.lifetimeStartMs === null ? null : Number(r.lifetimeStartMs),
      lifetimeEndMs: r.lifetimeEndMs === null ? null : Number(r.lifetimeEndMs),
    }));
  }
}

/** What a manifest list's sparseness is computed from (tag.py _get_sparse_manifest_info). */
export class ManifestPresence {
  constructor(private readonly sql: PortableSql) {}

  /** The manifest's bytes when it belongs to the repository (null: none). */
  async bytes(manifestId: number, repositoryId: number): Promise<string | null> {
    const r = await this.sql.one<{ manifest_bytes: string | null }>('SELECT manifest_bytes FROM manifest WHERE id = @m AND repository_id = @r', { m: manifestId, r: repositoryId });
    return r ? r.manifest_bytes : null;
  }

  /** The digests among `digests` stored in the repository with non-empty bytes. */
  async present(repositoryId: number, digests: readonly string[]): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    const params: Record<string, unknown> = { r: repositoryId };
    digests.forEach((d, i) => (params[`d${i}`] = d));
    const rows = await this.sql.all<{ digest: string; manifest_bytes: string | null }>(
      `SELECT digest, manifest_bytes FROM manifest WHERE repository_id = @r AND digest IN (${digests.map((_, i) => `@d${i}`).join(', ')})`,
      params,
    );
    return new Set(rows.filter((r) => r.manifest_bytes !== null && r.manifest_bytes !== '').map((r) => r.digest));
  }
}
