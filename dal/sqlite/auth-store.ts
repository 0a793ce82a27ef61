/** AuthStore on SQLite, sharing the connection of SqliteMetadataStore. */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
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
import { connectionOf, type Gate, type SqliteConnection, type TxScope } from './gate.js';
import { DEFAULT_TAG_EXPIRATION_S } from '../schema/quay.js';
import { LISTED_STATES } from '../model/rows.js';
import { appTokenRow, EXPIRED_KEY_TTL_MS, MIRROR_ROBOT_SQL, ROLE_ORDER, TEAM_ORDER, USER_COLUMNS, userRow, type AppTokenDbRow, type UserDbRow } from '../model/auth-rows.js';

/** `last_accessed` is due for a rewrite (@before: now less the threshold; the text form sorts as time). */
const STALE = '(last_accessed IS NULL OR last_accessed < @before)';
const touch = (id: number, nowMs: number) => ({ id, now: sqlTime(nowMs), before: sqlTime(nowMs - LAST_ACCESSED_THRESHOLD_MS) });

export class SqliteAuthStore implements AuthStore {
  private readonly conn: SqliteConnection;
  private readonly gate: Gate;

  /** `scope`: the transaction of a transaction's store (./dal.ts); by default calls wait at the connection's gate (./gate.ts). */
  constructor(
    private readonly db: Database.Database,
    scope?: TxScope,
  ) {
    this.conn = connectionOf(db);
    this.gate = scope ?? this.conn.gate;
  }

  private sql(text: string): Database.Statement {
    return this.conn.sql(text);
  }

  private lookupId(table: string, name: string): number {
    const r = this.sql(`SELECT id FROM ${table} WHERE name = ?`).get(name) as { id: number } | undefined;
    if (!r) throw new Error(`${table} has no row named ${JSON.stringify(name)}`);
    return r.id;
  }

  private one(where: string, ...params: unknown[]): UserRow | null {
    const r = this.sql(`SELECT ${USER_COLUMNS} FROM "user" u WHERE ${where}`).get(...params) as UserDbRow | undefined;
    return r ? userRow(r) : null;
  }

  async userByName(username: string): Promise<UserRow | null> {
    while (this.gate.closed) await this.gate.opened();
    return this.one('u.username = ?', username);
  }

  async userByNameOrEmail(text: string): Promise<UserRow | null> {
    while (this.gate.closed) await this.gate.opened();
    return this.one('u.username = ?', text) ?? this.one('u.email = ? AND u.organization = 0', text);
  }

  async userByUuid(uuid: string): Promise<UserRow | null> {
    while (this.gate.closed) await this.gate.opened();
    return this.one('u.uuid = ?', uuid);
  }

  async robotToken(robotId: number): Promise<string | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.sql('SELECT token FROM robotaccounttoken WHERE robot_account_id = ?').get(robotId) as { token: string } | undefined;
    return r?.token ?? null;
  }

  private appTokenWhere(where: string, key: string, nowMs: number): AppTokenRow | null {
    const r = this.sql(
      `SELECT a.id AS token_id, a.uuid AS token_uuid, a.title, a.token_secret, ${USER_COLUMNS}
      FROM appspecificauthtoken a JOIN "user" u ON u.id = a.user_id
      WHERE ${where} AND (a.expiration IS NULL OR a.expiration > ?)`,
    ).get(key, sqlTime(nowMs)) as AppTokenDbRow | undefined;
    return r ? appTokenRow(r) : null;
  }

  async appToken(prefix: string, nowMs: number): Promise<AppTokenRow | null> {
    while (this.gate.closed) await this.gate.opened();
    return this.appTokenWhere('a.token_name = ?', prefix, nowMs);
  }

  async appTokenByUuid(uuid: string, nowMs: number): Promise<AppTokenRow | null> {
    while (this.gate.closed) await this.gate.opened();
    return this.appTokenWhere('a.uuid = ?', uuid, nowMs);
  }

  async touchAppToken(id: number, nowMs: number): Promise<void> {
    while (this.gate.closed) await this.gate.opened();
    this.sql(`UPDATE appspecificauthtoken SET last_accessed = @now WHERE id = @id AND ${STALE}`).run(touch(id, nowMs));
  }

  async touchUser(userId: number, nowMs: number): Promise<void> {
    while (this.gate.closed) await this.gate.opened();
    this.sql(`UPDATE "user" SET last_accessed = @now WHERE id = @id AND ${STALE}`).run(touch(userId, nowMs));
  }

  async recordLogin(userId: number, ok: boolean, nowMs: number): Promise<void> {
    while (this.gate.closed) await this.gate.opened();
    if (ok) {
      this.sql(
        `UPDATE "user" SET invalid_login_attempts = 0, last_accessed = CASE WHEN ${STALE} THEN @now ELSE last_accessed END
        WHERE id = @id AND invalid_login_attempts > 0`,
      ).run(touch(userId, nowMs));
    } else this.sql('UPDATE "user" SET invalid_login_attempts = invalid_login_attempts + 1, last_invalid_login = ? WHERE id = ?').run(sqlTime(nowMs), userId);
  }

  async recordLoginFailure(userId: number, seen: number, next: number, nowMs: number): Promise<boolean> {
    while (this.gate.closed) await this.gate.opened();
    // One statement: SQLite's write lock makes the test and the write one step for every connection.
    return (
      this.sql('UPDATE "user" SET invalid_login_attempts = ?, last_invalid_login = ? WHERE id = ? AND invalid_login_attempts = ?').run(next, sqlTime(nowMs), userId, seen).changes >
      0
    );
  }

  async repositoryRole(userId: number, repositoryId: number): Promise<RepoRole | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.sql(
      `SELECT ro.name FROM repositorypermission p JOIN role ro ON ro.id = p.role_id
      WHERE p.repository_id = @repo AND (p.user_id = @user OR p.team_id IN (SELECT team_id FROM teammember WHERE user_id = @user))
      ORDER BY ${ROLE_ORDER} DESC LIMIT 1`,
    ).get({ repo: repositoryId, user: userId }) as { name: RepoRole } | undefined;
    return r?.name ?? null;
  }

  async mirrorRobot(repositoryId: number, scope: 'repository' | 'organization'): Promise<number | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.sql(MIRROR_ROBOT_SQL[scope].replace('{p}', '?')).get(repositoryId) as { id: number } | undefined;
    return r?.id ?? null;
  }

  async teamRole(userId: number, orgId: number): Promise<TeamRole | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.sql(
      `SELECT tr.name FROM teammember m JOIN team t ON t.id = m.team_id JOIN teamrole tr ON tr.id = t.role_id
      WHERE m.user_id = ? AND t.organization_id = ? ORDER BY ${TEAM_ORDER} DESC LIMIT 1`,
    ).get(userId, orgId) as { name: TeamRole } | undefined;
    return r?.name ?? null;
  }

  async visibleRepositories(userId: number | null, includePublic: boolean, page: Page): Promise<string[]> {
    while (this.gate.closed) await this.gate.opened();
    const rows = this.sql(
      `SELECT full FROM (
        SELECT u.username || '/' || r.name AS full FROM repository r JOIN "user" u ON u.id = r.namespace_user_id JOIN visibility v ON v.id = r.visibility_id
        WHERE r.state IN ${LISTED_STATES} AND (
          (@public = 1 AND v.name = 'public')
          OR r.namespace_user_id = @user
          OR EXISTS (SELECT 1 FROM repositorypermission p WHERE p.repository_id = r.id
               AND (p.user_id = @user OR p.team_id IN (SELECT team_id FROM teammember WHERE user_id = @user)))
          OR EXISTS (SELECT 1 FROM teammember m JOIN team t ON t.id = m.team_id JOIN teamrole tr ON tr.id = t.role_id
               WHERE m.user_id = @user AND t.organization_id = r.namespace_user_id AND tr.name = 'admin')))
      WHERE full > @last ORDER BY full LIMIT @n`,
    ).all({ public: includePublic ? 1 : 0, user: userId ?? -1, last: page.last ?? '', n: page.n }) as { full: string }[];
    return rows.map((r) => r.full);
  }

  private insertUser(u: NewUser, nowMs: number): number {
    const now = sqlTime(nowMs);
    return Number(
      this.sql(
        `INSERT INTO "user" (uuid, username, password_hash, email, verified, stripe_id, organization, robot,
        invoice_email, invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, enabled, invoice_email_address,
        given_name, family_name, company, location, maximum_queued_builds_count, creation_date, last_accessed)
      VALUES (?, ?, ?, ?, ?, NULL, ?, ?, 0, 0, ?, ?, 1, NULL, NULL, NULL, NULL, NULL, NULL, ?, NULL)`,
      ).run(randomUUID(), u.username, u.passwordHash, u.email, u.verified ? 1 : 0, u.organization ? 1 : 0, u.robot ? 1 : 0, now, DEFAULT_TAG_EXPIRATION_S, now).lastInsertRowid,
    );
  }

  async createUser(u: NewUser, nowMs: number): Promise<UserRow> {
    while (this.gate.closed) await this.gate.opened();
    const id = this.insertUser(u, nowMs);
    return this.one('u.id = ?', id)!;
  }

  async createOrganization(name: string, email: string, creatorId: number, nowMs: number): Promise<UserRow> {
    while (this.gate.closed) await this.gate.opened();
    const tx = this.db.transaction(() => {
      const id = this.insertUser({ username: name, email, passwordHash: null, organization: true, verified: false }, nowMs);
      const team = Number(
        this.sql('INSERT INTO team (name, organization_id, role_id, description) VALUES (?, ?, ?, ?)').run('owners', id, this.lookupId('teamrole', 'admin'), '').lastInsertRowid,
      );
      this.sql('INSERT INTO teammember (user_id, team_id) VALUES (?, ?)').run(creatorId, team);
      return id;
    });
    return this.one('u.id = ?', tx.immediate())!;
  }

  async createRobot(fullName: string, encryptedToken: string, description: string, nowMs: number): Promise<UserRow> {
    while (this.gate.closed) await this.gate.opened();
    const tx = this.db.transaction(() => {
      // Quay gives a robot a random uuid4 e-mail address and no password.
      const id = this.insertUser({ username: fullName, email: randomUUID(), passwordHash: null, robot: true, verified: false }, nowMs);
      this.sql('INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) VALUES (?, ?, 1)').run(id, encryptedToken);
      this.sql('INSERT INTO federatedlogin (user_id, service_id, service_ident, metadata_json) VALUES (?, ?, ?, ?)').run(
        id,
        this.lookupId('loginservice', 'quayrobot'),
        `robot:${id}`,
        '{}',
      );
      this.sql('INSERT INTO robotaccountmetadata (robot_account_id, description, unstructured_json) VALUES (?, ?, ?)').run(id, description.slice(0, 255), '{}');
      return id;
    });
    return this.one('u.id = ?', tx.immediate())!;
  }

  async createTeam(orgId: number, name: string, role: TeamRole): Promise<number> {
    while (this.gate.closed) await this.gate.opened();
    return Number(
      this.sql('INSERT INTO team (name, organization_id, role_id, description) VALUES (?, ?, ?, ?)').run(name, orgId, this.lookupId('teamrole', role), '').lastInsertRowid,
    );
  }

  async teamId(org: string, team: string): Promise<number | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.sql('SELECT t.id FROM team t JOIN "user" u ON u.id = t.organization_id WHERE u.username = ? AND t.name = ?').get(org, team) as { id: number } | undefined;
    return r?.id ?? null;
  }

  async addTeamMember(teamId: number, userId: number): Promise<void> {
    while (this.gate.closed) await this.gate.opened();
    this.sql('INSERT OR IGNORE INTO teammember (user_id, team_id) VALUES (?, ?)').run(userId, teamId);
  }

  async setRepositoryPermission(repositoryId: number, who: { readonly userId: number } | { readonly teamId: number }, role: RepoRole): Promise<void> {
    while (this.gate.closed) await this.gate.opened();
    const roleId = this.lookupId('role', role);
    if ('userId' in who) {
      this.sql(
        `INSERT INTO repositorypermission (team_id, user_id, repository_id, role_id) VALUES (NULL, ?, ?, ?)
        ON CONFLICT (user_id, repository_id) DO UPDATE SET role_id = excluded.role_id`,
      ).run(who.userId, repositoryId, roleId);
    } else {
      this.sql(
        `INSERT INTO repositorypermission (team_id, user_id, repository_id, role_id) VALUES (?, NULL, ?, ?)
        ON CONFLICT (team_id, repository_id) DO UPDATE SET role_id = excluded.role_id`,
      ).run(who.teamId, repositoryId, roleId);
    }
  }

  async setRepositoryVisibility(repositoryId: number, visibility: 'public' | 'private'): Promise<void> {
    while (this.gate.closed) await this.gate.opened();
    this.sql('UPDATE repository SET visibility_id = ? WHERE id = ?').run(this.lookupId('visibility', visibility), repositoryId);
  }

  async createAppToken(userId: number, t: { uuid: string; title: string; prefix: string; encryptedSecret: string; expirationMs: number | null }, nowMs: number): Promise<void> {
    while (this.gate.closed) await this.gate.opened();
    this.sql(
      `INSERT INTO appspecificauthtoken (user_id, uuid, title, created, expiration, last_accessed, token_name, token_secret)
      VALUES (?, ?, ?, ?, ?, NULL, ?, ?)`,
    ).run(userId, t.uuid, t.title, sqlTime(nowMs), t.expirationMs === null ? null : sqlTime(t.expirationMs), t.prefix, t.encryptedSecret);
  }

  async serviceKey(kid: string, service: string, nowMs: number): Promise<ServiceKeyRow | null> {
    while (this.gate.closed) await this.gate.opened();
    const r = this.sql(
      `SELECT kid, service, jwk, expiration_date, approval_id FROM servicekey
      WHERE kid = ? AND service = ? AND approval_id IS NOT NULL AND (expiration_date IS NULL OR expiration_date > ?)`,
    ).get(kid, service, sqlTime(nowMs)) as { kid: string; service: string; jwk: string; expiration_date: string | null; approval_id: number } | undefined;
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
    while (this.gate.closed) await this.gate.opened();
    const now = sqlTime(nowMs);
    const tx = this.db.transaction(() => {
      this.sql('DELETE FROM servicekey WHERE service = ? AND expiration_date <= ?').run(k.service, sqlTime(nowMs - EXPIRED_KEY_TTL_MS));
      const existing = this.sql('SELECT approval_id FROM servicekey WHERE kid = ?').get(k.kid) as { approval_id: number | null } | undefined;
      if (existing && existing.approval_id !== null) {
        this.sql('UPDATE servicekey SET expiration_date = ? WHERE kid = ?').run(sqlTime(k.expirationMs), k.kid);
        return;
      }
      const approval = Number(
        this.sql('INSERT INTO servicekeyapproval (approver_id, approval_type, approved_date, notes) VALUES (NULL, ?, ?, ?)').run('Automatic', now, '').lastInsertRowid,
      );
      this.sql(
        `INSERT INTO servicekey (name, kid, service, jwk, metadata, created_date, expiration_date, rotation_duration, approval_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)
        ON CONFLICT (kid) DO UPDATE SET expiration_date = excluded.expiration_date, approval_id = excluded.approval_id`,
      ).run(k.name, k.kid, k.service, JSON.stringify(k.jwk), JSON.stringify({ created_by: 'CLI tool' }), now, sqlTime(k.expirationMs), approval);
    });
    tx.immediate();
  }

  async extendServiceKey(kid: string, expirationMs: number): Promise<boolean> {
    while (this.gate.closed) await this.gate.opened();
    return this.sql('UPDATE servicekey SET expiration_date = ? WHERE kid = ?').run(sqlTime(expirationMs), kid).changes > 0;
  }
}
