/**
 * Credentials users hand to other programs, as Quay's API lists them,
 * written once for both dialects:
 *
 *   appspecificauthtoken  app-specific tokens (data/model/appspecifictoken.py)
 *   oauthapplication      an organisation's OAuth applications (data/model/oauth.py)
 *   oauthaccesstoken      tokens granted to those applications
 *   oauthassignedtoken    tokens an admin assigned to a user to accept
 *
 * Quay's list queries have no ORDER BY; these order as the databases
 * return Quay's queries where that is stable: by id (a single-column index
 * or a small table's scan), app tokens by their (user_id, expiration)
 * index; the user's authorizations in Quay's exact statement (its order
 * on PostgreSQL is the plan's).
 * Timestamps stay Quay's naive-UTC text (parse with parseSqlTime).
 */
import type { PortableSql } from '../model/portable-sql.js';
import { sqlTime } from '../model/time.js';

export interface AppTokenRow {
  readonly id: number;
  readonly uuid: string;
  readonly title: string;
  readonly tokenName: string;
  /** EncryptedCharField: `v0$$…` under DATABASE_SECRET_KEY. */
  readonly tokenSecret: string;
  readonly created: string;
  readonly expiration: string | null;
  readonly lastAccessed: string | null;
}

const APP_TOKEN_COLUMNS = `t.id, t.uuid, t.title, t.token_name AS "tokenName", t.token_secret AS "tokenSecret", t.created,
  t.expiration, t.last_accessed AS "lastAccessed"`;

export interface OAuthAppRow {
  readonly id: number;
  readonly clientId: string;
  /** EncryptedCharField, or null. */
  readonly secureClientSecret: string | null;
  readonly redirectUri: string;
  readonly applicationUri: string;
  readonly name: string;
  readonly description: string;
  /** The `avatar_email` field (column `gravatar_email`). */
  readonly avatarEmail: string | null;
  readonly orgId: number;
  readonly orgName: string;
  readonly orgEmail: string;
}

const APP_COLUMNS = `a.id, a.client_id AS "clientId", a.secure_client_secret AS "secureClientSecret", a.redirect_uri AS "redirectUri",
  a.application_uri AS "applicationUri", a.name, a.description, a.gravatar_email AS "avatarEmail",
  o.id AS "orgId", o.username AS "orgName", o.email AS "orgEmail"`;

export interface AccessTokenRow {
  readonly id: number;
  readonly uuid: string;
  readonly scope: string;
  readonly displayName: string | null;
  readonly expiresAt: string | null;
  readonly created: string | null;
  readonly lastAccessed: string | null;
  /** The granting user's name (null when the row names none). */
  readonly authorizedUser: string | null;
}

const ACCESS_TOKEN_COLUMNS = `t.id, t.uuid, t.scope, t.display_name AS "displayName", t.expires_at AS "expiresAt", t.created,
  t.last_accessed AS "lastAccessed", u.username AS "authorizedUser"`;

export interface AuthorizationRow {
  readonly uuid: string;
  readonly scope: string;
  readonly app: OAuthAppRow;
}

export interface AssignedAuthorizationRow extends AuthorizationRow {
  readonly redirectUri: string | null;
  readonly responseType: string | null;
}

type Flat = Record<string, unknown>;

function appOf(r: Flat): OAuthAppRow {
  return {
    id: r.id as number,
    clientId: r.clientId as string,
    secureClientSecret: (r.secureClientSecret as string | null) ?? null,
    redirectUri: r.redirectUri as string,
    applicationUri: r.applicationUri as string,
    name: r.name as string,
    description: r.description as string,
    avatarEmail: (r.avatarEmail as string | null) ?? null,
    orgId: r.orgId as number,
    orgName: r.orgName as string,
    orgEmail: r.orgEmail as string,
  };
}

export class TokenReads {
  constructor(private readonly sql: PortableSql) {}

  /**
   * The order Quay's unordered app-token queries come back in: both
   * databases walk the (user_id, expiration) index, so by expiration then
   * id, NULL where each database's ascending order puts it (first on
   * SQLite, last on PostgreSQL).
   */
  private readonly appTokenOrder = 't.expiration, t.id';

  /** list_tokens: every app-specific token of the user. */
  appTokens(userId: number): Promise<AppTokenRow[]> {
    return this.sql.all<AppTokenRow>(`SELECT ${APP_TOKEN_COLUMNS} FROM appspecificauthtoken t WHERE t.user_id = @user ORDER BY ${this.appTokenOrder}`, { user: userId });
  }

  /** get_expiring_tokens: the user's tokens with now < expiration <= now + soon (Quay's naive local clock, UTC here). */
  expiringAppTokens(userId: number, nowMs: number, soonMs: number): Promise<AppTokenRow[]> {
    return this.sql.all<AppTokenRow>(
      `SELECT ${APP_TOKEN_COLUMNS} FROM appspecificauthtoken t
       WHERE t.user_id = @user AND t.expiration <= @until AND t.expiration > @now ORDER BY ${this.appTokenOrder}`,
      { user: userId, until: sqlTime(nowMs + soonMs), now: sqlTime(nowMs) },
    );
  }

  /** get_token_by_uuid(uuid, owner): the owner's unexpired (or never expiring) token. */
  appToken(userId: number, uuid: string, nowMs: number): Promise<AppTokenRow | null> {
    return this.sql.one<AppTokenRow>(
      `SELECT ${APP_TOKEN_COLUMNS} FROM appspecificauthtoken t
       WHERE t.uuid = @uuid AND (t.expiration > @now OR t.expiration IS NULL) AND t.user_id = @user ORDER BY t.id`,
      { uuid, user: userId, now: sqlTime(nowMs) },
    );
  }

  /** get_application_for_client_id. */
  async applicationByClientId(clientId: string): Promise<OAuthAppRow | null> {
    const r = await this.sql.one<Flat>(`SELECT ${APP_COLUMNS} FROM oauthapplication a JOIN "user" o ON o.id = a.organization_id WHERE a.client_id = @cid ORDER BY a.id`, {
      cid: clientId,
    });
    return r ? appOf(r) : null;
  }

  /** list_applications_for_org. */
  async applicationsOf(orgId: number): Promise<OAuthAppRow[]> {
    const rows = await this.sql.all<Flat>(`SELECT ${APP_COLUMNS} FROM oauthapplication a JOIN "user" o ON o.id = a.organization_id WHERE a.organization_id = @org ORDER BY a.id`, {
      org: orgId,
    });
    return rows.map(appOf);
  }

  /** lookup_application(org, client_id). */
  async application(orgId: number, clientId: string): Promise<OAuthAppRow | null> {
    const r = await this.sql.one<Flat>(
      `SELECT ${APP_COLUMNS} FROM oauthapplication a JOIN "user" o ON o.id = a.organization_id WHERE a.organization_id = @org AND a.client_id = @cid ORDER BY a.id`,
      { org: orgId, cid: clientId },
    );
    return r ? appOf(r) : null;
  }

  /**
   * list_application_tokens: the application's unexpired tokens, newest id
   * first, from `startId` down (a page token's start_index), `offset` rows
   * skipped, at most `limit` rows.
   */
  applicationTokens(appId: number, o: { nowMs: number; startId: number | null; offset: number; limit: number }): Promise<AccessTokenRow[]> {
    const from = o.startId === null ? '' : ' AND t.id <= @start';
    return this.sql.all<AccessTokenRow>(
      `SELECT ${ACCESS_TOKEN_COLUMNS} FROM oauthaccesstoken t LEFT JOIN "user" u ON u.id = t.authorized_user_id
       WHERE t.application_id = @app AND t.expires_at > @now${from} ORDER BY t.id DESC LIMIT @limit OFFSET @offset`,
      { app: appId, now: sqlTime(o.nowMs), start: o.startId, limit: o.limit, offset: o.offset },
    );
  }

  /** list_access_tokens_for_user (uuid null) or lookup_access_token_for_user (one uuid). */
  async authorizations(userId: number, uuid: string | null): Promise<AuthorizationRow[]> {
    const one = uuid === null ? '' : ' AND t.uuid = @uuid';
    const rows = await this.sql.all<Flat>(
      `SELECT t.uuid AS "tokenUuid", t.scope AS "tokenScope", ${APP_COLUMNS}
       FROM oauthaccesstoken t JOIN oauthapplication a ON a.id = t.application_id JOIN "user" o ON o.id = a.organization_id
       JOIN "user" au ON au.id = t.authorized_user_id
       WHERE t.authorized_user_id = @user${one} ORDER BY t.id`,
      { user: userId, uuid },
    );
    const out = rows.map((r) => ({ uuid: r.tokenUuid as string, scope: r.tokenScope as string, app: appOf(r) }));
    if (uuid !== null) return out;
    // Quay's list has no ORDER BY: its order is the database's plan for exactly its statement
    // (every column, these joins), so that statement gives the order and the rows above the data.
    const order = await this.sql.all<{ uuid: string }>(
      `SELECT t1.id, t1.uuid, t1.application_id, t1.authorized_user_id, t1.scope, t1.display_name, t1.token_name, t1.token_code, t1.token_type,
        t1.expires_at, t1.data, t1.last_accessed, t1.created
       FROM oauthaccesstoken AS t1 INNER JOIN oauthapplication AS t2 ON (t1.application_id = t2.id) INNER JOIN "user" AS t3 ON (t1.authorized_user_id = t3.id)
       WHERE (t1.authorized_user_id = @user)`,
      { user: userId },
    );
    const byUuid = new Map(out.map((r) => [r.uuid, r]));
    return order.map((o) => byUuid.get(o.uuid)).filter((r): r is (typeof out)[number] => r !== undefined);
  }

  /** list_assigned_authorizations_for_user. */
  async assignedAuthorizations(userId: number): Promise<AssignedAuthorizationRow[]> {
    const rows = await this.sql.all<Flat>(
      `SELECT s.uuid AS "assignedUuid", s.scope AS "assignedScope", s.redirect_uri AS "assignedRedirectUri", s.response_type AS "responseType", ${APP_COLUMNS}
       FROM oauthassignedtoken s JOIN oauthapplication a ON a.id = s.application_id JOIN "user" o ON o.id = a.organization_id
       WHERE s.assigned_user_id = @user ORDER BY s.id`,
      { user: userId },
    );
    return rows.map((r) => ({
      uuid: r.assignedUuid as string,
      scope: r.assignedScope as string,
      redirectUri: (r.assignedRedirectUri as string | null) ?? null,
      responseType: (r.responseType as string | null) ?? null,
      app: appOf(r),
    }));
  }

  /**
   * delete_notifications_by_kind: the user's notifications of one kind go.
   * False when the kind does not exist (Quay's NotificationKind.get raises).
   */
  async deleteNotificationsOfKind(userId: number, kind: string): Promise<boolean> {
    const k = await this.sql.one<{ id: number }>('SELECT id FROM notificationkind WHERE name = @kind', { kind });
    if (!k) return false;
    await this.sql.run('DELETE FROM notification WHERE target_id = @user AND kind_id = @kind', { user: userId, kind: k.id });
    return true;
  }
}
