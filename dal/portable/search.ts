/**
 * The searches behind /api/v1/entities, /find/all and /find/repositories
 * (endpoints/api/search.py over data/model/user.py, team.py, repository.py
 * and _basequery.py).
 *
 * Quay's queries have no ORDER BY where it does not care (DISTINCT, GROUP
 * BY, UNION, a bare LIMIT), so the order of its answers is whatever the
 * database's plan yields. Each query here therefore keeps the shape of the
 * one Peewee writes — same joins, same selected columns in the same order,
 * same DISTINCT/GROUP BY/UNION, `LIKE … ESCAPE '!'` on SQLite and `ILIKE …
 * ESCAPE '!'` on PostgreSQL (peewee's ILIKE; data/text.py match_like and
 * prefix_search) — so the same database plans it alike and rows come back
 * in Quay's order on either dialect.
 */
import { bool, type PortableSql } from '../model/portable-sql.js';

/** Every column of Quay's User model, in its field order (what `User.select()` lists). */
const USER_COLUMNS = [
  'id',
  'uuid',
  'username',
  'password_hash',
  'email',
  'verified',
  'stripe_id',
  'organization',
  'robot',
  'invoice_email',
  'invalid_login_attempts',
  'last_invalid_login',
  'removed_tag_expiration_s',
  'enabled',
  'invoice_email_address',
  'given_name',
  'family_name',
  'company',
  'location',
  'maximum_queued_builds_count',
  'creation_date',
  'last_accessed',
];
const userCols = (alias: string, prefix = ''): string => USER_COLUMNS.map((c) => `${alias}.${c}${prefix ? ` AS ${prefix}${c}` : ''}`).join(', ');

/** Every column of the Repository model, in its field order. */
const REPO_COLUMNS = ['id', 'namespace_user_id', 'name', 'visibility_id', 'description', 'badge_token', 'kind_id', 'trust_enabled', 'state'];
const repoCols = (alias: string): string => REPO_COLUMNS.map((c) => `${alias}.${c}`).join(', ');

/** data/text.py _escape_wildcard: `!`-escaped wildcards, quotes removed. */
export function escapeWildcard(q: string): string {
  return q.replace(/!/g, '!!').replace(/%/g, '!%').replace(/_/g, '!_').replace(/\[/g, '![').replace(/['"`]/g, '');
}

/** The parts of a `"user"` row the search views show. */
export interface Entity {
  readonly id: number;
  readonly username: string;
  readonly email: string | null;
  readonly organization: boolean;
  readonly robot: boolean;
}

export interface MatchingUser {
  readonly id: number;
  readonly username: string;
  readonly email: string | null;
  readonly robot: boolean;
}

export interface TeamHit {
  readonly id: number;
  readonly name: string;
  readonly organizationId: number;
}

export interface RepoHit {
  readonly id: number;
  readonly name: string;
  readonly description: string | null;
  readonly visibilityId: number;
  readonly namespace: Entity;
}

type Row = Record<string, unknown>;

const entity = (r: Row, p = ''): Entity => ({
  id: Number(r[`${p}id`]),
  username: r[`${p}username`] as string,
  email: (r[`${p}email`] as string | null) ?? null,
  organization: bool(r[`${p}organization`]),
  robot: bool(r[`${p}robot`]),
});

export class Search {
  constructor(private readonly sql: PortableSql) {}

  private get like(): string {
    return this.sql.dialect === 'postgresql' ? 'ILIKE' : 'LIKE';
  }

  /** Ids of the lookup rows Peewee inlines as parameters: the public visibility, the `image` kind, the `admin` team role. */
  async lookupIds(): Promise<{ publicVisibility: number; imageKind: number; adminRole: number }> {
    const [v, k, r] = await Promise.all([
      this.sql.one<{ id: number }>(`SELECT id FROM visibility WHERE name = 'public'`),
      this.sql.one<{ id: number }>(`SELECT id FROM repositorykind WHERE name = 'image'`),
      this.sql.one<{ id: number }>(`SELECT id FROM teamrole WHERE name = 'admin'`),
    ]);
    return { publicVisibility: Number(v?.id ?? -1), imageKind: Number(k?.id ?? -1), adminRole: Number(r?.id ?? -1) };
  }

  /** User.get(username=…): any account with that name (get_namespace_user; non-ASCII names: none). */
  async accountByName(username: string): Promise<Entity | null> {
    if (/[^\x00-\x7f]/.test(username)) return null;
    const r = await this.sql.one<Row>(`SELECT ${userCols('t1')} FROM "user" AS t1 WHERE t1.username = @u LIMIT 1`, { u: username });
    return r ? entity(r) : null;
  }

  /** get_organization. */
  async organization(name: string): Promise<Entity | null> {
    const r = await this.sql.one<Row>(`SELECT ${userCols('t1')} FROM "user" AS t1 WHERE t1.username = @u AND t1.organization = @t LIMIT 1`, { u: name, t: true });
    return r ? entity(r) : null;
  }

  async accountsById(ids: readonly number[]): Promise<Map<number, Entity>> {
    if (ids.length === 0) return new Map();
    const params: Record<string, unknown> = {};
    const names = ids.map((id, i) => {
      params[`i${i}`] = id;
      return `@i${i}`;
    });
    const rows = await this.sql.all<Row>(`SELECT ${userCols('t1')} FROM "user" AS t1 WHERE t1.id IN (${names.join(', ')})`, params);
    return new Map(rows.map((r) => [Number(r.id), entity(r)]));
  }

  /** team.get_matching_teams: teams of the organisation whose name starts with the prefix (10). */
  async matchingTeams(prefix: string, orgId: number): Promise<TeamHit[]> {
    const rows = await this.sql.all<Row>(
      `SELECT t1.id, t1.name, t1.organization_id, t1.role_id, t1.description FROM team AS t1
        WHERE ((t1.name ${this.like} @p ESCAPE '!') AND (t1.organization_id = @org)) LIMIT @limit`,
      { p: `${escapeWildcard(prefix)}%`, org: orgId, limit: 10 },
    );
    return rows.map((r) => ({ id: Number(r.id), name: r.name as string, organizationId: Number(r.organization_id) }));
  }

  /**
   * user._get_matching_users: users by name (exactly, or by prefix), plus the
   * robot namespace's robots by prefix when given (even for an "exact"
   * lookup), grouped; with an organisation, robots first.
   */
  async matchingUsers(o: { prefix: string; robotNamespace: string | null; organizationId: number | null; limit: number; exact: boolean }): Promise<MatchingUser[]> {
    const params: Record<string, unknown> = { f: false, t: true, limit: o.limit };
    let userSearch: string;
    if (o.exact) {
      userSearch = 't1.username = @p';
      params.p = o.prefix;
    } else {
      userSearch = `t1.username ${this.like} @p ESCAPE '!'`;
      params.p = `${escapeWildcard(o.prefix)}%`;
    }
    let where = `((${userSearch}) AND (t1.organization = @f)) AND (t1.robot = @f)`;
    if (o.robotNamespace) {
      params.rp = `${escapeWildcard(`${o.robotNamespace}+${o.prefix}`)}%`;
      where = `((t1.username ${this.like} @rp ESCAPE '!') AND (t1.robot = @t)) OR (${where})`;
    }
    const group = 'GROUP BY t1.id, t1.username, t1.email, t1.robot';
    const sql =
      o.organizationId !== null
        ? `SELECT t1.id, t1.username, t1.email, t1.robot, SUM(t2.id) FROM "user" AS t1
             LEFT OUTER JOIN teammember AS t3 ON (t3.user_id = t1.id)
             LEFT OUTER JOIN team AS t2 ON ((t2.id = t3.team_id) AND (t2.organization_id = @org))
            WHERE (${where}) ${group} ORDER BY t1.robot DESC LIMIT @limit`
        : `SELECT t1.id, t1.username, t1.email, t1.robot FROM "user" AS t1 WHERE (${where}) ${group} LIMIT @limit`;
    if (o.organizationId !== null) params.org = o.organizationId;
    const rows = await this.sql.all<Row>(sql, params);
    return rows.map((r) => ({ id: Number(r.id), username: r.username as string, email: (r.email as string | null) ?? null, robot: bool(r.robot) }));
  }

  /** team.get_matching_user_teams: teams the user is in, by name prefix. */
  async userTeams(userId: number, prefix: string, limit: number): Promise<TeamHit[]> {
    const rows = await this.sql.all<Row>(
      `SELECT DISTINCT t1.id, t1.id AS id2, t1.name, t1.organization_id, t1.role_id, t1.description FROM team AS t1
        INNER JOIN "user" AS t2 ON (t1.organization_id = t2.id) INNER JOIN teammember AS t3 ON (t3.team_id = t1.id)
        WHERE ((t3.user_id = @u) AND (t1.name ${this.like} @p ESCAPE '!')) LIMIT @limit`,
      { u: userId, p: `${escapeWildcard(prefix)}%`, limit },
    );
    return rows.map((r) => ({ id: Number(r.id), name: r.name as string, organizationId: Number(r.organization_id) }));
  }

  /** team.get_matching_admined_teams: teams (with at least one member) of organisations where the user is in an admin team. */
  async adminedTeams(username: string, prefix: string, limit: number): Promise<TeamHit[]> {
    const rows = await this.sql.all<Row>(
      `SELECT DISTINCT t1.id, t1.id AS id2, t1.name, t1.organization_id, t1.role_id, t1.description FROM team AS t1
        INNER JOIN "user" AS t2 ON (t1.organization_id = t2.id) INNER JOIN teammember AS t3 ON (t3.team_id = t1.id)
        WHERE ((t1.name ${this.like} @p ESCAPE '!') AND (t1.organization_id IN (
          SELECT DISTINCT t2.id FROM "user" AS t2 INNER JOIN team AS t1 ON (t1.organization_id = t2.id)
            INNER JOIN teammember AS t3 ON (t3.team_id = t1.id) INNER JOIN "user" AS t4 ON (t4.id = t3.user_id)
            INNER JOIN teamrole AS t5 ON (t1.role_id = t5.id)
           WHERE (((t2.organization = @t) AND (t4.username = @u)) AND (t5.name = @admin))))) LIMIT @limit`,
      { p: `${escapeWildcard(prefix)}%`, t: true, u: username, admin: 'admin', limit },
    );
    return rows.map((r) => ({ id: Number(r.id), name: r.name as string, organizationId: Number(r.organization_id) }));
  }

  /** The organisations in which `username` is in an admin team (get_user_organizations + TeamRole admin). */
  async adminedOrganizations(username: string): Promise<string[]> {
    const rows = await this.sql.all<{ username: string }>(
      `SELECT DISTINCT t1.id, t1.username FROM "user" AS t1 INNER JOIN team AS t2 ON (t2.organization_id = t1.id)
        INNER JOIN teammember AS t3 ON (t3.team_id = t2.id) INNER JOIN "user" AS t4 ON (t4.id = t3.user_id)
        INNER JOIN teamrole AS t5 ON (t2.role_id = t5.id)
        WHERE (((t1.organization = @t) AND (t4.username = @u)) AND (t5.name = @admin))`,
      { t: true, u: username, admin: 'admin' },
    );
    return rows.map((r) => r.username);
  }

  /** user.get_matching_robots: accounts named `<admined org or self>+<prefix>…`. */
  async matchingRobots(username: string, prefix: string, limit: number): Promise<Entity[]> {
    const params: Record<string, unknown> = { f: false, limit };
    const names = [...(await this.adminedOrganizations(username)), username];
    let where = '@f';
    names.forEach((n, i) => {
      params[`p${i}`] = `${escapeWildcard(`${n}+${prefix}`)}%`;
      where = `(${where} OR (t1.username ${this.like} @p${i} ESCAPE '!'))`;
    });
    const rows = await this.sql.all<Row>(`SELECT ${userCols('t1')} FROM "user" AS t1 WHERE ${where} LIMIT @limit`, params);
    return rows.map((r) => entity(r));
  }

  /**
   * user.get_matching_user_namespaces: namespaces by prefix holding an image
   * repository the user may see (filter_to_repos_for_user's UNION).
   */
  async matchingNamespaces(prefix: string, userId: number | null, limit: number): Promise<Entity[]> {
    const ids = await this.lookupIds();
    const params: Record<string, unknown> = { p: `${escapeWildcard(prefix)}%`, kind: ids.imageKind, pub: ids.publicVisibility, role: ids.adminRole, limit };
    const head = (u: string, r: string, p: string): string =>
      `SELECT DISTINCT ${userCols(u)} FROM "user" AS ${u} INNER JOIN repository AS ${r} ON (${r}.namespace_user_id = ${u}.id)
         LEFT OUTER JOIN repositorypermission AS ${p} ON (${p}.repository_id = ${r}.id)`;
    const base = (u: string, r: string): string => `(${u}.username ${this.like} @p ESCAPE '!') AND (${r}.kind_id = @kind)`;
    const parts = [`${head('t1', 't2', 't3')} WHERE ((${base('t1', 't2')}) AND (t2.visibility_id = @pub))`];
    if (userId !== null) {
      params.u = userId;
      parts.push(
        `${head('t4', 't5', 't6')} WHERE ((${base('t4', 't5')}) AND (t6.user_id = @u))`,
        `${head('t4', 't5', 't6')} INNER JOIN team AS t7 ON (t6.team_id = t7.id) INNER JOIN teammember AS t8 ON (t8.team_id = t7.id)
          WHERE ((${base('t4', 't5')}) AND (t8.user_id = @u))`,
        `${head('t4', 't5', 't6')} INNER JOIN team AS t9 ON (t9.organization_id = t5.namespace_user_id) INNER JOIN teammember AS t10 ON (t9.id = t10.team_id)
          WHERE (((${base('t4', 't5')}) AND (t9.role_id = @role)) AND (t10.user_id = @u))`,
      );
    }
    const rows = await this.sql.all<Row>(`${parts.join(' UNION ')} LIMIT @limit`, params);
    return rows.map((r) => entity(r));
  }

  /**
   * _get_sorted_matching_repositories with repo_kind None: by name or
   * description (`%value%`), a name match weighing 100 × the search score;
   * `ns/value` restricts to that namespace. Private repositories only when
   * `includePrivate`; ids only when `idsOnly` (then no namespace join unless
   * the lookup names one).
   */
  async sortedMatching(lookup: string, o: { includePrivate: boolean; idsOnly: boolean; limit: number; offset: number }): Promise<RepoHit[] | number[]> {
    const ids = await this.lookupIds();
    const params: Record<string, unknown> = { limit: o.limit, offset: o.offset, deleted: 3 };
    const select = o.idsOnly ? ['t1.id'] : [repoCols('t1'), userCols('t2', 'ns_')];
    let from = 'repository AS t1 INNER JOIN repositorysearchscore AS t3 ON (t3.repository_id = t1.id)';
    let where: string;
    let order: string;
    let namespaceJoined = false;
    if (!lookup) {
      where = '(t1.state != @deleted)';
      order = 't3.score DESC, t3.id';
    } else {
      let repoValue = lookup;
      let userValue: string | null = null;
      const slash = lookup.indexOf('/');
      if (slash >= 0) [userValue, repoValue] = [lookup.slice(0, slash), lookup.slice(slash + 1)];
      params.q = `%${escapeWildcard(repoValue)}%`;
      params.hundred = 100;
      select.push(`CASE WHEN (t1.name ${this.like} @q ESCAPE '!') THEN (@hundred * t3.score) ELSE t3.score END AS score`);
      where = `(((t1.description ${this.like} @q ESCAPE '!') OR (t1.name ${this.like} @q ESCAPE '!')) AND (t1.state != @deleted))`;
      order = 'score DESC, t3.id';
      if (userValue) {
        from += ' INNER JOIN "user" AS t2 ON (t1.namespace_user_id = t2.id)';
        where = `(${where} AND (t2.username = @ns))`;
        params.ns = userValue;
        namespaceJoined = true;
      }
    }
    if (!o.includePrivate) {
      where = `(${where} AND (t1.visibility_id = @pub))`;
      params.pub = ids.publicVisibility;
    }
    if (!o.idsOnly && !namespaceJoined) from += ' INNER JOIN "user" AS t2 ON (t1.namespace_user_id = t2.id)';
    const rows = await this.sql.all<Row>(`SELECT ${select.join(', ')} FROM ${from} WHERE ${where} ORDER BY ${order} LIMIT @limit OFFSET @offset`, params);
    if (o.idsOnly) return rows.map((r) => Number(r.id));
    return rows.map((r) => ({
      id: Number(r.id),
      name: r.name as string,
      description: (r.description as string | null) ?? null,
      visibilityId: Number(r.visibility_id),
      namespace: entity(r, 'ns_'),
    }));
  }

  /**
   * The visibility filter of _filter_repositories_visible_to_user: of the
   * given repositories, those public or reachable by the user — through a
   * repositorypermission row (an INNER JOIN: a repository without any
   * permission row is never found, public or not), a team, or an admin team
   * of its organisation.
   */
  async visibleAmong(repoIds: readonly number[], userId: number): Promise<RepoHit[]> {
    if (repoIds.length === 0) return [];
    const ids = await this.lookupIds();
    const params: Record<string, unknown> = { pub: ids.publicVisibility, u: userId, role: ids.adminRole };
    const inList = repoIds
      .map((id, i) => {
        params[`r${i}`] = id;
        return `@r${i}`;
      })
      .join(', ');
    const head = (r: string, n: string, p: string): string =>
      `SELECT DISTINCT ${repoCols(r)}, ${userCols(n, 'ns_')} FROM repository AS ${r} INNER JOIN "user" AS ${n} ON (${n}.id = ${r}.namespace_user_id)
         INNER JOIN repositorypermission AS ${p} ON (${p}.repository_id = ${r}.id)`;
    const sql = [
      `${head('t1', 't2', 't3')} WHERE ((t1.id IN (${inList})) AND (t1.visibility_id = @pub))`,
      `${head('t4', 't5', 't6')} WHERE ((t4.id IN (${inList})) AND (t6.user_id = @u))`,
      `${head('t4', 't5', 't6')} INNER JOIN team AS t7 ON (t6.team_id = t7.id) INNER JOIN teammember AS t8 ON (t8.team_id = t7.id)
        WHERE ((t4.id IN (${inList})) AND (t8.user_id = @u))`,
      `${head('t4', 't5', 't6')} INNER JOIN team AS t9 ON (t9.organization_id = t4.namespace_user_id) INNER JOIN teammember AS t10 ON (t9.id = t10.team_id)
        WHERE (((t4.id IN (${inList})) AND (t9.role_id = @role)) AND (t10.user_id = @u))`,
    ].join(' UNION ');
    const rows = await this.sql.all<Row>(sql, params);
    return rows.map((r) => ({
      id: Number(r.id),
      name: r.name as string,
      description: (r.description as string | null) ?? null,
      visibilityId: Number(r.visibility_id),
      namespace: entity(r, 'ns_'),
    }));
  }

  private inParams(ids: readonly number[], params: Record<string, unknown>): string {
    return ids
      .map((id, i) => {
        params[`r${i}`] = id;
        return `@r${i}`;
      })
      .join(', ');
  }

  /** oci.tag.get_most_recent_tag_lifetime_start: the newest alive, visible tag's start (ms) per repository. */
  async lastModifiedMs(repoIds: readonly number[], nowMs: number): Promise<Map<number, number | null>> {
    if (repoIds.length === 0) return new Map();
    const params: Record<string, unknown> = { now: nowMs, f: false };
    const rows = await this.sql.all<{ repository_id: number; ms: number | string | null }>(
      `SELECT t1.repository_id, MAX(t1.lifetime_start_ms) AS ms FROM tag AS t1
        WHERE (t1.repository_id IN (${this.inParams(repoIds, params)})) AND ((t1.lifetime_end_ms IS NULL) OR (t1.lifetime_end_ms > @now)) AND (t1.hidden = @f)
        GROUP BY t1.repository_id`,
      params,
    );
    return new Map(rows.map((r) => [Number(r.repository_id), r.ms === null ? null : Number(r.ms)]));
  }

  /** repository.get_stars. */
  async stars(repoIds: readonly number[]): Promise<Map<number, number>> {
    if (repoIds.length === 0) return new Map();
    const params: Record<string, unknown> = {};
    const rows = await this.sql.all<{ repository_id: number; n: number | string }>(
      `SELECT repository_id, COUNT(id) AS n FROM star WHERE repository_id IN (${this.inParams(repoIds, params)}) GROUP BY repository_id`,
      params,
    );
    return new Map(rows.map((r) => [Number(r.repository_id), Number(r.n)]));
  }

  /** log.get_repositories_action_sums: action counts since `since` (a naive datetime as the sqlite3 adapter writes it). */
  async actionSums(repoIds: readonly number[], since: string): Promise<Map<number, number>> {
    if (repoIds.length === 0) return new Map();
    const params: Record<string, unknown> = { since };
    const rows = await this.sql.all<{ repository_id: number; n: number | string | null }>(
      `SELECT repository_id, SUM(count) AS n FROM repositoryactioncount
        WHERE repository_id IN (${this.inParams(repoIds, params)}) AND date >= ${this.sql.dialect === 'postgresql' ? 'CAST(@since AS TIMESTAMP)' : '@since'} GROUP BY repository_id`,
      params,
    );
    return new Map(rows.map((r) => [Number(r.repository_id), Number(r.n ?? 0)]));
  }
}
