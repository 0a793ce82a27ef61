/** AuthStore on PostgreSQL, sharing the pool of PgMetadataStore (the twin of ../sqlite/auth-store.ts). */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { inTransaction, type PgTxSession, type Q } from './transaction.js';
import {
  LAST_ACCESSED_THRESHOLD_MS,
  type AppTokenRow,
  type AuthStore,
  type NewUser,
  type Page,
  type RepoRole,
  type ServiceKeyRow,
  type TeamRole,
  type UserRow,
} from '../model/auth-store.js';
import { parseSqlTime, sqlTime } from '../model/time.js';
import { DEFAULT_TAG_EXPIRATION_S } from '../schema/quay.js';
import { LISTED_STATES } from '../model/rows.js';
import { appTokenRow, EXPIRED_KEY_TTL_MS, MIRROR_ROBOT_SQL, ROLE_ORDER, TEAM_ORDER, USER_COLUMNS, userRow, type AppTokenDbRow, type UserDbRow } from '../model/auth-rows.js';

/** `last_accessed` is due for a rewrite ($3: now less the threshold). */
const STALE = '(last_accessed IS NULL OR last_accessed < $3::timestamp)';
/** $1 now, $2 the row id, $3 now less the threshold. */
const touch = (id: number, nowMs: number): unknown[] => [sqlTime(nowMs), id, sqlTime(nowMs - LAST_ACCESSED_THRESHOLD_MS)];

export class PgAuthStore implements AuthStore {
  /** Where statements go: the pool, or the session of the transaction this store belongs to. */
  private readonly q: Q;

  /** `session`: a transaction's store (postgres/dal.ts). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly session?: PgTxSession,
  ) {
    this.q = session ?? pool;
  }

  /** `fn` as one transaction: on a pooled client, or as a savepoint of the open dal.tx(). */
  private tx<T>(fn: (c: Q) => Promise<T>): Promise<T> {
    return this.session ? this.session.savepoint(fn) : inTransaction(this.pool, fn);
  }

  private async lookupId(q: Q, table: string, name: string): Promise<number> {
    const r = (await q.query<{ id: number }>(`SELECT id FROM ${table} WHERE name = $1 ORDER BY id LIMIT 1`, [name])).rows[0];
    if (!r) throw new Error(`${table} has no row named ${JSON.stringify(name)}`);
    return r.id;
  }

  private async one(q: Q, where: string, ...params: unknown[]): Promise<UserRow | null> {
    const r = (await q.query<UserDbRow>(`SELECT ${USER_COLUMNS} FROM "user" u WHERE ${where} ORDER BY u.id LIMIT 1`, params)).rows[0];
    return r ? userRow(r) : null;
  }

  async userByName(username: string): Promise<UserRow | null> {
    return this.one(this.q, 'u.username = $1', username);
  }

  async userByNameOrEmail(text: string): Promise<UserRow | null> {
    return (await this.one(this.q, 'u.username = $1', text)) ?? this.one(this.q, 'u.email = $1 AND u.organization = false', text);
  }

  async userByUuid(uuid: string): Promise<UserRow | null> {
    return this.one(this.q, 'u.uuid = $1', uuid);
  }

  async robotToken(robotId: number): Promise<string | null> {
    const r = (await this.q.query<{ token: string }>('SELECT token FROM robotaccounttoken WHERE robot_account_id = $1', [robotId])).rows[0];
    return r?.token ?? null;
  }

  private async appTokenWhere(where: string, key: string, nowMs: number): Promise<AppTokenRow | null> {
    const r = (
      await this.q.query<AppTokenDbRow>(
        `SELECT a.id AS token_id, a.uuid AS token_uuid, a.title, a.token_secret, ${USER_COLUMNS}
      FROM appspecificauthtoken a JOIN "user" u ON u.id = a.user_id
      WHERE ${where} AND (a.expiration IS NULL OR a.expiration > $2) ORDER BY a.id LIMIT 1`,
        [key, sqlTime(nowMs)],
      )
    ).rows[0];
    return r ? appTokenRow(r) : null;
  }

  async appToken(prefix: string, nowMs: number): Promise<AppTokenRow | null> {
    return this.appTokenWhere('a.token_name = $1', prefix, nowMs);
  }

  async appTokenByUuid(uuid: string, nowMs: number): Promise<AppTokenRow | null> {
    return this.appTokenWhere('a.uuid = $1', uuid, nowMs);
  }

  async touchAppToken(id: number, nowMs: number): Promise<void> {
    await this.q.query(`UPDATE appspecificauthtoken SET last_accessed = $1 WHERE id = $2 AND ${STALE}`, touch(id, nowMs));
  }

  async touchUser(userId: number, nowMs: number): Promise<void> {
    await this.q.query(`UPDATE "user" SET last_accessed = $1 WHERE id = $2 AND ${STALE}`, touch(userId, nowMs));
  }

  async recordLogin(userId: number, ok: boolean, nowMs: number): Promise<void> {
    if (ok) {
      await this.q.query(
        `UPDATE "user" SET invalid_login_attempts = 0, last_accessed = CASE WHEN ${STALE} THEN $1 ELSE last_accessed END
        WHERE id = $2 AND invalid_login_attempts > 0`,
        touch(userId, nowMs),
      );
    } else await this.q.query('UPDATE "user" SET invalid_login_attempts = invalid_login_attempts + 1, last_invalid_login = $1 WHERE id = $2', [sqlTime(nowMs), userId]);
  }

  async recordLoginFailure(userId: number, seen: number, next: number, nowMs: number): Promise<boolean> {
    // A concurrent UPDATE of the row makes this one wait, then re-test the WHERE on the row it left (READ COMMITTED).
    const r = await this.q.query('UPDATE "user" SET invalid_login_attempts = $1, last_invalid_login = $2 WHERE id = $3 AND invalid_login_attempts = $4', [
      next,
      sqlTime(nowMs),
      userId,
      seen,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async repositoryRole(userId: number, repositoryId: number): Promise<RepoRole | null> {
    const r = (
      await this.q.query<{ name: RepoRole }>(
        `SELECT ro.name FROM repositorypermission p JOIN role ro ON ro.id = p.role_id
      WHERE p.repository_id = $1 AND (p.user_id = $2 OR p.team_id IN (SELECT team_id FROM teammember WHERE user_id = $2))
      ORDER BY ${ROLE_ORDER} DESC LIMIT 1`,
        [repositoryId, userId],
      )
    ).rows[0];
    return r?.name ?? null;
  }

  async mirrorRobot(repositoryId: number, scope: 'repository' | 'organization'): Promise<number | null> {
    const r = (await this.q.query<{ id: number }>(MIRROR_ROBOT_SQL[scope].replace('{p}', '$1'), [repositoryId])).rows[0];
    return r?.id ?? null;
  }

  async teamRole(userId: number, orgId: number): Promise<TeamRole | null> {
    const r = (
      await this.q.query<{ name: TeamRole }>(
        `SELECT tr.name FROM teammember m JOIN team t ON t.id = m.team_id JOIN teamrole tr ON tr.id = t.role_id
      WHERE m.user_id = $1 AND t.organization_id = $2 ORDER BY ${TEAM_ORDER} DESC LIMIT 1`,
        [userId, orgId],
      )
    ).rows[0];
    return r?.name ?? null;
  }

  async visibleRepositories(userId: number | null, includePublic: boolean, page: Page): Promise<string[]> {
    const rows = (
      await this.q.query<{ fullname: string }>(
        `SELECT fullname FROM (
        SELECT u.username || '/' || r.name AS fullname FROM repository r JOIN "user" u ON u.id = r.namespace_user_id JOIN visibility v ON v.id = r.visibility_id
        WHERE r.state IN ${LISTED_STATES} AND (
          ($1::boolean AND v.name = 'public')
          OR r.namespace_user_id = $2
          OR EXISTS (SELECT 1 FROM repositorypermission p WHERE p.repository_id = r.id
               AND (p.user_id = $2 OR p.team_id IN (SELECT team_id FROM teammember WHERE user_id = $2)))
          OR EXISTS (SELECT 1 FROM teammember m JOIN team t ON t.id = m.team_id JOIN teamrole tr ON tr.id = t.role_id
               WHERE m.user_id = $2 AND t.organization_id = r.namespace_user_id AND tr.name = 'admin'))) x
      WHERE fullname COLLATE "C" > $3 ORDER BY fullname COLLATE "C" LIMIT $4`,
        [includePublic, userId ?? -1, page.last ?? '', page.n],
      )
    ).rows;
    return rows.map((r) => r.fullname);
  }

  private async insertUser(q: Q, u: NewUser, nowMs: number): Promise<number> {
    const now = sqlTime(nowMs);
    return (
      await q.query<{ id: number }>(
        `INSERT INTO "user" (uuid, username, password_hash, email, verified, stripe_id, organization, robot,
        invoice_email, invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, enabled, invoice_email_address,
        given_name, family_name, company, location, maximum_queued_builds_count, creation_date, last_accessed)
      VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, false, 0, $8, $9, true, NULL, NULL, NULL, NULL, NULL, NULL, $8, NULL) RETURNING id`,
        [randomUUID(), u.username, u.passwordHash, u.email, u.verified === true, u.organization === true, u.robot === true, now, DEFAULT_TAG_EXPIRATION_S],
      )
    ).rows[0]!.id;
  }

  async createUser(u: NewUser, nowMs: number): Promise<UserRow> {
    const id = await this.insertUser(this.q, u, nowMs);
    return (await this.one(this.q, 'u.id = $1', id))!;
  }

  async createOrganization(name: string, email: string, creatorId: number, nowMs: number): Promise<UserRow> {
    const id = await this.tx(async (c) => {
      const id = await this.insertUser(c, { username: name, email, passwordHash: null, organization: true, verified: false }, nowMs);
      const team = (
        await c.query<{ id: number }>('INSERT INTO team (name, organization_id, role_id, description) VALUES ($1, $2, $3, $4) RETURNING id', [
          'owners',
          id,
          await this.lookupId(c, 'teamrole', 'admin'),
          '',
        ])
      ).rows[0]!.id;
      await c.query('INSERT INTO teammember (user_id, team_id) VALUES ($1, $2)', [creatorId, team]);
      return id;
    });
    return (await this.one(this.q, 'u.id = $1', id))!;
  }

  async createRobot(fullName: string, encryptedToken: string, description: string, nowMs: number): Promise<UserRow> {
    const id = await this.tx(async (c) => {
      // Quay gives a robot a random uuid4 e-mail address and no password.
      const id = await this.insertUser(c, { username: fullName, email: randomUUID(), passwordHash: null, robot: true, verified: false }, nowMs);
      await c.query('INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) VALUES ($1, $2, true)', [id, encryptedToken]);
      await c.query('INSERT INTO federatedlogin (user_id, service_id, service_ident, metadata_json) VALUES ($1, $2, $3, $4)', [
        id,
        await this.lookupId(c, 'loginservice', 'quayrobot'),
        `robot:${id}`,
        '{}',
      ]);
      await c.query('INSERT INTO robotaccountmetadata (robot_account_id, description, unstructured_json) VALUES ($1, $2, $3)', [id, description.slice(0, 255), '{}']);
      return id;
    });
    return (await this.one(this.q, 'u.id = $1', id))!;
  }

  async createTeam(orgId: number, name: string, role: TeamRole): Promise<number> {
    return (
      await this.q.query<{ id: number }>('INSERT INTO team (name, organization_id, role_id, description) VALUES ($1, $2, $3, $4) RETURNING id', [
        name,
        orgId,
        await this.lookupId(this.q, 'teamrole', role),
        '',
      ])
    ).rows[0]!.id;
  }

  async teamId(org: string, team: string): Promise<number | null> {
    const r = (await this.q.query<{ id: number }>('SELECT t.id FROM team t JOIN "user" u ON u.id = t.organization_id WHERE u.username = $1 AND t.name = $2', [org, team])).rows[0];
    return r?.id ?? null;
  }

  async addTeamMember(teamId: number, userId: number): Promise<void> {
    await this.q.query('INSERT INTO teammember (user_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [userId, teamId]);
  }

  async setRepositoryPermission(repositoryId: number, who: { readonly userId: number } | { readonly teamId: number }, role: RepoRole): Promise<void> {
    const roleId = await this.lookupId(this.q, 'role', role);
    if ('userId' in who) {
      await this.q.query(
        `INSERT INTO repositorypermission (team_id, user_id, repository_id, role_id) VALUES (NULL, $1, $2, $3)
        ON CONFLICT (user_id, repository_id) DO UPDATE SET role_id = excluded.role_id`,
        [who.userId, repositoryId, roleId],
      );
    } else {
      await this.q.query(
        `INSERT INTO repositorypermission (team_id, user_id, repository_id, role_id) VALUES ($1, NULL, $2, $3)
        ON CONFLICT (team_id, repository_id) DO UPDATE SET role_id = excluded.role_id`,
        [who.teamId, repositoryId, roleId],
      );
    }
  }

  async setRepositoryVisibility(repositoryId: number, visibility: 'public' | 'private'): Promise<void> {
    await this.q.query('UPDATE repository SET visibility_id = $1 WHERE id = $2', [await this.lookupId(this.q, 'visibility', visibility), repositoryId]);
  }

  async createAppToken(userId: number, t: { uuid: string; title: string; prefix: string; encryptedSecret: string; expirationMs: number | null }, nowMs: number): Promise<void> {
    await this.q.query(
      `INSERT INTO appspecificauthtoken (user_id, uuid, title, created, expiration, last_accessed, token_name, token_secret)
      VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)`,
      [userId, t.uuid, t.title, sqlTime(nowMs), t.expirationMs === null ? null : sqlTime(t.expirationMs), t.prefix, t.encryptedSecret],
    );
  }

  async serviceKey(kid: string, service: string, nowMs: number): Promise<ServiceKeyRow | null> {
    const r = (
      await this.q.query<{ kid: string; service: string; jwk: string; expiration_date: string | null; approval_id: number }>(
        `SELECT kid, service, jwk, expiration_date, approval_id FROM servicekey
      WHERE kid = $1 AND service = $2 AND approval_id IS NOT NULL AND (expiration_date IS NULL OR expiration_date > $3)`,
        [kid, service, sqlTime(nowMs)],
      )
    ).rows[0];
    if (!r) return null;
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(r.jwk) as Record<string, unknown>;
    } catch {
      return null;
    }
    return { kid: r.kid, service: r.service, jwk, expirationMs: r.expiration_date ? parseSqlTime(r.expiration_date) : null, approved: true };
  }

  async registerServiceKey(k: { kid: string; service: string; name: string; jwk: Record<string, unknown>; expirationMs: number }, nowMs: number): Promise<void> {
    const now = sqlTime(nowMs);
    await this.tx(async (c) => {
      await c.query('DELETE FROM servicekey WHERE service = $1 AND expiration_date <= $2', [k.service, sqlTime(nowMs - EXPIRED_KEY_TTL_MS)]);
      const existing = (await c.query<{ approval_id: number | null }>('SELECT approval_id FROM servicekey WHERE kid = $1', [k.kid])).rows[0];
      if (existing && existing.approval_id !== null) {
        await c.query('UPDATE servicekey SET expiration_date = $1 WHERE kid = $2', [sqlTime(k.expirationMs), k.kid]);
        return;
      }
      const approval = (
        await c.query<{ id: number }>('INSERT INTO servicekeyapproval (approver_id, approval_type, approved_date, notes) VALUES (NULL, $1, $2, $3) RETURNING id', [
          'Automatic',
          now,
          '',
        ])
      ).rows[0]!.id;
      await c.query(
        `INSERT INTO servicekey (name, kid, service, jwk, metadata, created_date, expiration_date, rotation_duration, approval_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)
        ON CONFLICT (kid) DO UPDATE SET expiration_date = excluded.expiration_date, approval_id = excluded.approval_id`,
        [k.name, k.kid, k.service, JSON.stringify(k.jwk), JSON.stringify({ created_by: 'CLI tool' }), now, sqlTime(k.expirationMs), approval],
      );
    });
  }

  async extendServiceKey(kid: string, expirationMs: number): Promise<boolean> {
    return ((await this.q.query('UPDATE servicekey SET expiration_date = $1 WHERE kid = $2', [sqlTime(expirationMs), kid])).rowCount ?? 0) > 0;
  }
}
