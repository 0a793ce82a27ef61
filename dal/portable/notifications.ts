/**
 * Repository and namespace notifications (data/model/notification.py) and
 * authorised notification e-mails (data/model/repository.py), with the event
 * and method names resolved from their lookup tables.
 */
import { randomUUID } from 'node:crypto';
import { bool, type PortableSql } from '../model/portable-sql.js';
import { sqlLocalTime } from '../model/time.js';

export interface NotificationRow {
  readonly id: number;
  readonly uuid: string;
  readonly title: string | null;
  readonly event: string;
  readonly method: string;
  readonly configJson: string | null;
  readonly eventConfigJson: string | null;
  readonly numberOfFailures: number;
  /** The namespace owning it (repository notifications: the repository's namespace). */
  readonly namespace: string;
}

interface DbRow {
  id: number;
  uuid: string;
  title: string | null;
  event: string;
  method: string;
  config_json: string | null;
  event_config_json: string | null;
  number_of_failures: number;
  namespace: string;
}

const row = (r: DbRow): NotificationRow => ({
  id: Number(r.id),
  uuid: r.uuid,
  title: r.title,
  event: r.event,
  method: r.method,
  configJson: r.config_json,
  eventConfigJson: r.event_config_json,
  numberOfFailures: Number(r.number_of_failures),
  namespace: r.namespace,
});

const REPO_COLUMNS = `n.id, n.uuid, n.title, e.name AS event, m.name AS method, n.config_json, n.event_config_json, n.number_of_failures, ns.username AS namespace`;
const REPO_FROM = `repositorynotification n JOIN repository r ON r.id = n.repository_id JOIN "user" ns ON ns.id = r.namespace_user_id
  JOIN externalnotificationevent e ON e.id = n.event_id JOIN externalnotificationmethod m ON m.id = n.method_id`;
const NS_FROM = `namespacenotification n JOIN "user" ns ON ns.id = n.namespace_id
  JOIN externalnotificationevent e ON e.id = n.event_id JOIN externalnotificationmethod m ON m.id = n.method_id`;

export interface AuthorizedEmailRow {
  readonly email: string;
  readonly repository: string;
  readonly namespace: string;
  readonly confirmed: boolean;
}

export class Notifications {
  constructor(private readonly sql: PortableSql) {}

  /** list_repo_notifications: every notification of the repository (whatever its state), in id order. */
  async listForRepository(namespace: string, repository: string): Promise<NotificationRow[]> {
    const rows = await this.sql.all<DbRow>(`SELECT ${REPO_COLUMNS} FROM ${REPO_FROM} WHERE ns.username = @ns AND r.name = @repo ORDER BY n.id`, {
      ns: namespace,
      repo: repository,
    });
    return rows.map(row);
  }

  /** get_repo_notification: by uuid alone, in any repository (as Quay: repositorynotification.py:130 does not scope it). */
  async repositoryNotification(uuid: string): Promise<NotificationRow | null> {
    const r = await this.sql.one<DbRow>(`SELECT ${REPO_COLUMNS} FROM ${REPO_FROM} WHERE n.uuid = @uuid ORDER BY n.id LIMIT 1`, { uuid });
    return r ? row(r) : null;
  }

  /** list_namespace_notifications. */
  async listForNamespace(namespace: string): Promise<NotificationRow[]> {
    const rows = await this.sql.all<DbRow>(`SELECT ${REPO_COLUMNS} FROM ${NS_FROM} WHERE ns.username = @ns ORDER BY n.id`, { ns: namespace });
    return rows.map(row);
  }

  /** get_namespace_notification: by uuid. */
  async namespaceNotification(uuid: string): Promise<NotificationRow | null> {
    const r = await this.sql.one<DbRow>(`SELECT ${REPO_COLUMNS} FROM ${NS_FROM} WHERE n.uuid = @uuid ORDER BY n.id LIMIT 1`, { uuid });
    return r ? row(r) : null;
  }

  /** get_organization: whether `name` is an organisation. */
  async isOrganization(name: string): Promise<boolean> {
    const r = await this.sql.one<{ id: number }>(`SELECT id FROM "user" WHERE username = @name AND organization = @t`, { name, t: true });
    return r !== null;
  }

  /** get_email_authorized_for_repo (repositories not marked for deletion). */
  async authorizedEmail(namespace: string, repository: string, email: string): Promise<AuthorizedEmailRow | null> {
    const r = await this.sql.one<{ email: string; repository: string; namespace: string; confirmed: unknown }>(
      `SELECT a.email, r.name AS repository, ns.username AS namespace, a.confirmed
         FROM repositoryauthorizedemail a JOIN repository r ON r.id = a.repository_id JOIN "user" ns ON ns.id = r.namespace_user_id
        WHERE ns.username = @ns AND r.name = @repo AND a.email = @email AND r.state <> 3 LIMIT 1`,
      { ns: namespace, repo: repository, email },
    );
    return r ? { email: r.email, repository: r.repository, namespace: r.namespace, confirmed: bool(r.confirmed) } : null;
  }

  // ---- delivery (notificationworker) ----

  /**
   * get_enabled_notification / get_enabled_namespace_notification: the
   * notification with fewer than 3 failures, and (repository notifications)
   * its repository's name.
   */
  async enabledForDelivery(kind: 'repository' | 'namespace', uuid: string): Promise<(NotificationRow & { readonly repository: string | null }) | null> {
    const r =
      kind === 'repository'
        ? await this.sql.one<DbRow & { repository: string }>(
            `SELECT ${REPO_COLUMNS}, r.name AS repository FROM ${REPO_FROM} WHERE n.uuid = @uuid AND n.number_of_failures < 3 ORDER BY n.id LIMIT 1`,
            { uuid },
          )
        : await this.sql.one<DbRow & { repository: null }>(
            `SELECT ${REPO_COLUMNS}, NULL AS repository FROM ${NS_FROM} WHERE n.uuid = @uuid AND n.number_of_failures < 3 ORDER BY n.id LIMIT 1`,
            { uuid },
          );
    return r ? { ...row(r), repository: r.repository ?? null } : null;
  }

  /** After a delivery: failures back to 0 when it worked, one more when it did not (Quay's reset and increment). */
  async recordDelivery(kind: 'repository' | 'namespace', id: number, ok: boolean): Promise<void> {
    const table = kind === 'repository' ? 'repositorynotification' : 'namespacenotification';
    await this.sql.run(ok ? `UPDATE ${table} SET number_of_failures = 0 WHERE id = @id` : `UPDATE ${table} SET number_of_failures = number_of_failures + 1 WHERE id = @id`, { id });
  }

  /** get_nonrobot_user: a user (not an organisation, not a robot) by name. */
  async plainUserId(name: string): Promise<number | null> {
    const r = await this.sql.one<{ id: number | string }>(`SELECT id FROM "user" WHERE username = @name AND organization = @f AND robot = @f`, { name, f: false });
    return r ? Number(r.id) : null;
  }

  /** get_organization: an organisation's id by name. */
  async organizationId(name: string): Promise<number | null> {
    const r = await this.sql.one<{ id: number | string }>(`SELECT id FROM "user" WHERE username = @name AND organization = @t`, { name, t: true });
    return r ? Number(r.id) : null;
  }

  /** get_organization_team + get_organization_team_members: the team's members, or null when there is no such team. */
  async teamMemberIds(org: string, team: string): Promise<number[] | null> {
    const t = await this.sql.one<{ id: number | string }>(
      `SELECT t.id FROM team t JOIN "user" o ON o.id = t.organization_id WHERE o.username = @org AND o.organization = @t AND t.name = @team`,
      { org, team, t: true },
    );
    if (!t) return null;
    const rows = await this.sql.all<{ user_id: number | string }>(`SELECT m.user_id FROM teammember m WHERE m.team_id = @id ORDER BY m.user_id`, { id: Number(t.id) });
    return rows.map((r) => Number(r.user_id));
  }

  /** create_notification: an in-app notification of `kind` (notificationkind.name) for each target, `created` in local time as Quay's default. */
  async createUserNotifications(kind: string, targetIds: readonly number[], metadataJson: string, nowMs: number): Promise<void> {
    const k = await this.sql.one<{ id: number | string }>('SELECT id FROM notificationkind WHERE name = @kind', { kind });
    if (!k) throw new Error(`notification kind ${kind} is not in notificationkind`);
    for (const target of targetIds) {
      await this.sql.run(
        `INSERT INTO notification (uuid, kind_id, target_id, metadata_json, created, dismissed, lookup_path) VALUES (@uuid, @kind, @target, @meta, @created, @f, NULL)`,
        { uuid: randomUUID(), kind: Number(k.id), target, meta: metadataJson, created: sqlLocalTime(nowMs), f: false },
      );
    }
  }
}
