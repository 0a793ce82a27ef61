/**
 * What Quay's user views read (endpoints/api/user.py user_view, the
 * notification and starred-repository rows), written once for both dialects.
 */
import { account, type Account, type AccountDbRow } from './accounts.js';
import { bool, type PortableSql } from '../model/portable-sql.js';

export interface FederatedLogin {
  readonly service: string;
  readonly serviceIdent: string;
  readonly metadataJson: string;
}

export interface NotificationRow {
  readonly id: number;
  readonly uuid: string;
  readonly kind: string;
  readonly metadataJson: string;
  readonly dismissed: boolean;
  readonly created: string;
  readonly targetName: string;
  readonly targetIsOrg: boolean;
}

export interface StarredRow {
  readonly id: number;
  readonly namespace: string;
  readonly name: string;
  readonly description: string | null;
  readonly visibility: string;
}

export class UserReads {
  constructor(private readonly sql: PortableSql) {}

  /**
   * get_user_organizations: the organisations with a team the user is a
   * member of. Quay's query has no ORDER BY, so its order is the database's
   * plan for exactly this statement (DISTINCT over every column, in the
   * model's order, with these joins): the same text gives the same order.
   */
  async organizations(username: string): Promise<Account[]> {
    const rows = await this.sql.all<AccountDbRow>(
      `SELECT DISTINCT t1.id, t1.uuid, t1.username, t1.password_hash, t1.email, t1.verified, t1.stripe_id, t1.organization, t1.robot,
        t1.invoice_email, t1.invalid_login_attempts, t1.last_invalid_login, t1.removed_tag_expiration_s, t1.enabled, t1.invoice_email_address,
        t1.given_name, t1.family_name, t1.company, t1.location, t1.maximum_queued_builds_count, t1.creation_date, t1.last_accessed
       FROM "user" AS t1 INNER JOIN team AS t2 ON (t2.organization_id = t1.id) INNER JOIN teammember AS t3 ON (t3.team_id = t2.id)
         INNER JOIN "user" AS t4 ON (t4.id = t3.user_id)
       WHERE ((t1.organization = @yes) AND (t4.username = @name))`,
      { yes: true, name: username },
    );
    return rows.map(account);
  }

  /** list_federated_logins: the user's external logins, robots' quayrobot rows left out. */
  federatedLogins(userId: number): Promise<FederatedLogin[]> {
    return this.sql.all<FederatedLogin>(
      `SELECT s.name AS service, f.service_ident AS "serviceIdent", f.metadata_json AS "metadataJson"
       FROM federatedlogin f JOIN loginservice s ON s.id = f.service_id WHERE s.name <> 'quayrobot' AND f.user_id = @user`,
      { user: userId },
    );
  }

  /** get_user_prompts: the kinds of prompt the user still has. */
  async prompts(userId: number): Promise<string[]> {
    const rows = await this.sql.all<{ name: string }>('SELECT k.name FROM userprompt p JOIN userpromptkind k ON k.id = p.kind_id WHERE p.user_id = @user', { user: userId });
    return rows.map((r) => r.name);
  }

  /**
   * list_notifications: the user's own notifications and those of the
   * organisations it administers (a team with the admin role), newest first;
   * `page` (1-based, Quay's peewee paginate) and `limit`.
   */
  async notifications(
    userId: number,
    o: { readonly uuid?: string; readonly includeDismissed: boolean; readonly page: number | null; readonly limit: number | null },
  ): Promise<NotificationRow[]> {
    const filters = `${o.uuid !== undefined ? ' AND n.uuid = @uuid' : ''}${o.includeDismissed ? '' : ' AND n.dismissed = @no'}`;
    const cols = `n.id, n.uuid, k.name AS kind, n.metadata_json AS "metadataJson", n.dismissed, n.created, n.created AS cd, t.username AS "targetName", t.organization AS "targetIsOrg"`;
    let tail = '';
    if (o.page) tail = ` LIMIT @limit OFFSET @offset`;
    else if (o.limit) tail = ' LIMIT @limit';
    const rows = await this.sql.all<NotificationRow & { dismissed: unknown; targetIsOrg: unknown }>(
      `SELECT * FROM (
        SELECT ${cols} FROM notification n JOIN notificationkind k ON k.id = n.kind_id JOIN "user" t ON t.id = n.target_id
         WHERE n.target_id = @user${filters}
        UNION
        SELECT ${cols} FROM notification n JOIN notificationkind k ON k.id = n.kind_id JOIN "user" t ON t.id = n.target_id
          JOIN team adt ON adt.organization_id = t.id JOIN teamrole r ON r.id = adt.role_id JOIN teammember atm ON atm.team_id = adt.id
         WHERE atm.user_id = @user AND r.name = 'admin'${filters}
       ) x ORDER BY cd DESC${tail}`,
      { user: userId, uuid: o.uuid ?? null, no: false, limit: o.limit ?? 0, offset: o.page ? (o.page - 1) * (o.limit ?? 0) : 0 },
    );
    return rows.map((r) => ({ ...r, dismissed: bool(r.dismissed), targetIsOrg: bool(r.targetIsOrg) }));
  }

  /** get_user_starred_repositories (image repositories not being deleted), by id from `startId`, `limit` rows. */
  starred(userId: number, startId: number | null, limit: number): Promise<StarredRow[]> {
    return this.sql.all<StarredRow>(
      `SELECT r.id, u.username AS namespace, r.name, r.description, v.name AS visibility
       FROM repository r JOIN star s ON s.repository_id = r.id JOIN "user" u ON u.id = r.namespace_user_id JOIN visibility v ON v.id = r.visibility_id
       JOIN repositorykind rk ON rk.id = r.kind_id
       WHERE s.user_id = @user AND rk.name = 'image' AND r.state <> 3 AND r.id >= @start ORDER BY r.id LIMIT @limit`,
      { user: userId, start: startId ?? 0, limit },
    );
  }
}
