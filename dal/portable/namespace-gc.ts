/**
 * The SQL of deleting a namespace, written once for both dialects: Quay's
 * data/model/user.py `delete_namespace_via_marker` → `delete_user`, minus the
 * repository purges (dal/portable/gc.ts, driven by workers/gc/), and what it
 * calls: `_delete_user_linked_data`, the recursive `delete_instance` of a
 * team, an OAuth application, a build trigger, a robot and finally the user
 * (peewee's recursive delete on Quay's models with the User model's skip
 * list), namespacequota.delete_namespace_quota and
 * org_mirror.delete_org_mirror_config.
 *
 * Each step runs in its own transaction where Quay's runs in one
 * (`db_transaction`), and outside any where Quay's does; the final delete of
 * the user is not one transaction (Quay's is not either: a row still
 * pointing at the user fails it, the earlier deletes stay, and the item is
 * retried).
 */
import type { Dal } from '../model/dal.js';
import { bool, likeEscape, type PortableSql } from '../model/portable-sql.js';
import { RepositoryState } from '../model/store.js';
import { isIntegrityError } from './gc.js';

/** A `deletednamespace` row. */
export interface DeletedNamespaceMarker {
  readonly id: number;
  readonly namespaceId: number;
  readonly originalUsername: string;
}

/** The namespace's `user` row as delete_user reads it. */
export interface NamespaceRow {
  readonly id: number;
  readonly username: string;
  readonly organization: boolean;
  readonly robot: boolean;
  readonly enabled: boolean;
}

/**
 * The rows peewee's recursive `User.delete_instance(recursive=True,
 * delete_nullable=True)` deletes, in the order Quay's
 * `delete_instance_filtered` sorts them: every row with a foreign key to the
 * user (the transitive deletes through them are all in Quay's skip list, so
 * none is made). Read from Quay's models, not from the database catalogue:
 * the order keeps each delete ahead of what it points at.
 */
export const USER_DEPENDENTS: readonly (readonly [table: string, column: string])[] = [
  ['repositorybuild', 'pull_robot_id'],
  ['repositorybuildtrigger', 'pull_robot_id'],
  ['repositorybuildtrigger', 'connected_user_id'],
  ['repomirrorconfig', 'internal_robot_id'],
  ['teammemberinvite', 'inviter_id'],
  ['teammemberinvite', 'user_id'],
  ['teammember', 'user_id'],
  ['star', 'user_id'],
  ['repositorypermission', 'user_id'],
  ['repositoryimmutabilitypolicy', 'namespace_id'],
  ['repositoryautoprunepolicy', 'namespace_id'],
  ['permissionprototype', 'delegate_user_id'],
  ['permissionprototype', 'activating_user_id'],
  ['permissionprototype', 'org_id'],
  ['oauthassignedtoken', 'assigned_user_id'],
  ['oauthaccesstoken', 'authorized_user_id'],
  ['userregion', 'user_id'],
  ['userprompt', 'user_id'],
  ['userorganizationquota', 'namespace_id'],
  ['team', 'organization_id'],
  ['servicekeyapproval', 'approver_id'],
  ['robotaccounttoken', 'robot_account_id'],
  ['robotaccountmetadata', 'robot_account_id'],
  ['repository', 'namespace_user_id'],
  ['redhatsubscriptions', 'user_id'],
  ['quotanotificationstate', 'namespace_id'],
  ['quotanamespacesize', 'namespace_user_id'],
  ['proxycacheconfig', 'organization_id'],
  ['organizationrhskus', 'org_id'],
  ['organizationrhskus', 'user_id'],
  ['organizationcontactemail', 'organization_id'],
  ['orgmirrorconfig', 'internal_robot_id'],
  ['orgmirrorconfig', 'organization_id'],
  ['oauthapplication', 'organization_id'],
  ['notification', 'target_id'],
  ['namespacenotification', 'namespace_id'],
  ['namespaceimmutabilitypolicy', 'namespace_id'],
  ['namespaceautoprunepolicy', 'namespace_id'],
  ['federatedlogin', 'user_id'],
  ['emailconfirmation', 'user_id'],
  ['deletednamespace', 'namespace_id'],
  ['autoprunetaskstatus', 'namespace_id'],
  ['appspecificauthtoken', 'user_id'],
];

/**
 * A robot's `delete_instance`: only the fields Quay declares with
 * `allows_robots`, deleted, or cleared where it declares
 * `robot_null_delete`; in the order of its dependency walk. Then the robot
 * row itself.
 */
const ROBOT_DEPENDENTS: readonly (readonly [table: string, column: string, action: 'delete' | 'null'])[] = [
  ['orgmirrorconfig', 'internal_robot_id', 'delete'],
  ['repomirrorconfig', 'internal_robot_id', 'delete'],
  ['notification', 'target_id', 'delete'],
  ['repositorybuild', 'pull_robot_id', 'null'],
  ['repositorybuildtrigger', 'pull_robot_id', 'null'],
  ['permissionprototype', 'delegate_user_id', 'delete'],
  ['permissionprototype', 'activating_user_id', 'delete'],
  ['repositorypermission', 'user_id', 'delete'],
  ['federatedlogin', 'user_id', 'delete'],
  ['teammember', 'user_id', 'delete'],
  ['robotaccounttoken', 'robot_account_id', 'delete'],
  ['robotaccountmetadata', 'robot_account_id', 'delete'],
];

const num = (v: unknown): number => Number(v);

export class NamespaceGcData {
  private readonly sql: PortableSql;

  constructor(private readonly dal: Dal) {
    this.sql = dal.sql;
  }

  /** The `deletednamespace` marker a namespacegc queue item names. */
  async marker(markerId: number | string): Promise<DeletedNamespaceMarker | null> {
    const r = await this.sql.one<{ id: unknown; namespace_id: unknown; original_username: string }>(
      'SELECT id, namespace_id, original_username FROM deletednamespace WHERE id = @id',
      { id: markerId },
    );
    return r ? { id: num(r.id), namespaceId: num(r.namespace_id), originalUsername: r.original_username } : null;
  }

  async namespace(id: number): Promise<NamespaceRow | null> {
    const r = await this.sql.one<{ id: unknown; username: string; organization: unknown; robot: unknown; enabled: unknown }>(
      'SELECT id, username, organization, robot, enabled FROM "user" WHERE id = @id',
      { id },
    );
    return r ? { id: num(r.id), username: r.username, organization: bool(r.organization), robot: bool(r.robot), enabled: bool(r.enabled) } : null;
  }

  /** delete_user begins by disabling the namespace. */
  async disable(id: number): Promise<void> {
    await this.sql.run('UPDATE "user" SET enabled = @no WHERE id = @id AND enabled = @yes', { id, no: false, yes: true });
  }

  /** Every repository of the namespace marked for deletion, in one statement. */
  async markRepositoriesForDeletion(namespaceId: number): Promise<number> {
    return this.sql.run('UPDATE repository SET state = @deleting WHERE namespace_user_id = @ns AND state <> @deleting', {
      ns: namespaceId,
      deleting: RepositoryState.MARKED_FOR_DELETION,
    });
  }

  /** The ids of the namespace's repositories, in id order. */
  async repositoryIds(namespaceId: number): Promise<number[]> {
    const rows = await this.sql.all<{ id: unknown }>('SELECT id FROM repository WHERE namespace_user_id = @ns ORDER BY id', { ns: namespaceId });
    return rows.map((r) => num(r.id));
  }

  /** The auto-prune task and policies, which delete_user removes only once the namespace is going. */
  async deleteAutoPrune(namespaceId: number): Promise<void> {
    await this.sql.run('DELETE FROM autoprunetaskstatus WHERE namespace_id = @ns', { ns: namespaceId });
    await this.sql.run('DELETE FROM namespaceautoprunepolicy WHERE namespace_id = @ns', { ns: namespaceId });
  }

  /** _resolve_namespace_name: the name the marker kept, else the current one. */
  async namespaceName(ns: NamespaceRow): Promise<string> {
    const r = await this.sql.one<{ n: string }>('SELECT original_username AS n FROM deletednamespace WHERE namespace_id = @ns', { ns: ns.id });
    return r ? r.n : ns.username;
  }

  /**
   * _delete_user_linked_data: teams and OAuth applications of an
   * organization (or a user's team memberships), build triggers connected
   * through the user, the namespace's quotas (by its id), its org mirror,
   * the mirrors run by its robots and its robots (by `namespaceName`, the
   * original name: robots keep their names), service-key approvals (cleared), federated logins, quota
   * notifications and state, the namespace's size row and assigned OAuth
   * tokens.
   */
  async deleteLinkedData(ns: NamespaceRow, namespaceName: string): Promise<void> {
    const p = { ns: ns.id };
    if (ns.organization) {
      await this.dal.tx(async (tx) => {
        for (const team of await this.ids(tx.sql, 'SELECT id FROM team WHERE organization_id = @ns ORDER BY id', p)) await deleteTeam(tx.sql, team);
      });
      await this.dal.tx(async (tx) => {
        for (const app of await this.ids(tx.sql, 'SELECT id FROM oauthapplication WHERE organization_id = @ns ORDER BY id', p)) await deleteOAuthApplication(tx.sql, app);
      });
    } else {
      await this.sql.run('DELETE FROM teammember WHERE user_id = @ns', p);
    }
    await this.dal.tx(async (tx) => {
      for (const trigger of await this.ids(tx.sql, 'SELECT id FROM repositorybuildtrigger WHERE connected_user_id = @ns ORDER BY id', p)) {
        // The trigger's recursive delete without delete_nullable: its builds keep their rows, unlinked.
        await tx.sql.run('UPDATE repositorybuild SET trigger_id = NULL WHERE trigger_id = @id', { id: trigger });
        await tx.sql.run('DELETE FROM repositorybuildtrigger WHERE id = @id', { id: trigger });
      }
    });
    await this.dal.tx(async (tx) => {
      // By the namespace's id: Quay's get_namespace_quota_list looks them up by its original name, which marking
      // gave away (the row now has a UUID), so at this point it finds none, or another namespace's (workers/README.md).
      for (const q of await this.ids(tx.sql, 'SELECT id FROM userorganizationquota WHERE namespace_id = @ns ORDER BY id', p)) await deleteNamespaceQuota(tx.sql, q, ns.id);
    });
    if (ns.organization) await this.deleteOrgMirror(ns.id);
    const robots = await this.robots(namespaceName);
    await this.dal.tx(async (tx) => {
      for (const robot of robots) await tx.sql.run('DELETE FROM repomirrorconfig WHERE internal_robot_id = @r', { r: robot });
    });
    await this.dal.tx(async (tx) => {
      for (const robot of await this.robots(namespaceName, tx.sql)) await deleteRobot(tx.sql, robot);
    });
    await this.sql.run('UPDATE servicekeyapproval SET approver_id = NULL WHERE approver_id = @ns', p);
    await this.sql.run('DELETE FROM federatedlogin WHERE user_id = @ns', p);
    await this.sql.run('DELETE FROM namespacenotification WHERE namespace_id = @ns', p);
    await this.sql.run('DELETE FROM quotanotificationstate WHERE namespace_id = @ns', p);
    await this.sql.run('DELETE FROM quotanamespacesize WHERE namespace_user_id = @ns', p);
    await this.sql.run('DELETE FROM oauthassignedtoken WHERE assigned_user_id = @ns', p);
  }

  /**
   * list_namespace_robots: robots named `<namespace>+…` that have a token
   * row (Quay's query joins it). The prefix is matched exactly; Quay's
   * ILIKE pattern does not escape `_` (see workers/README.md).
   */
  async robots(namespaceName: string, s: PortableSql = this.sql): Promise<number[]> {
    return this.ids(
      s,
      `SELECT u.id FROM "user" u JOIN robotaccounttoken t ON t.robot_account_id = u.id
        WHERE u.robot = @yes AND u.username LIKE @prefix ESCAPE '\\' ORDER BY u.id`,
      { yes: true, prefix: `${likeEscape(`${namespaceName}+`)}%` },
    );
  }

  /** org_mirror.delete_org_mirror_config: mirrored repositories back to normal, discovered ones and the config deleted. */
  private async deleteOrgMirror(namespaceId: number): Promise<void> {
    await this.dal.tx(async (tx) => {
      const s = tx.sql;
      const config = await s.one<{ id: unknown }>('SELECT id FROM orgmirrorconfig WHERE organization_id = @ns', { ns: namespaceId });
      if (!config) return;
      const c = { c: num(config.id), normal: RepositoryState.NORMAL, mirror: RepositoryState.ORG_MIRROR };
      await s.run(
        `UPDATE repository SET state = @normal WHERE state = @mirror
            AND id IN (SELECT repository_id FROM orgmirrorrepository WHERE org_mirror_config_id = @c AND repository_id IS NOT NULL)`,
        c,
      );
      await s.run('DELETE FROM orgmirrorrepository WHERE org_mirror_config_id = @c', c);
      await s.run('DELETE FROM orgmirrorconfig WHERE id = @c', c);
    });
  }

  /**
   * The user's own recursive delete: every row pointing at it (Quay's order),
   * then the row. False when something still points at it (Quay's
   * IntegrityError: the item is retried); the deletes made before stay, as
   * in Quay, which runs them outside a transaction.
   */
  async deleteUserRow(namespaceId: number): Promise<boolean> {
    const p = { ns: namespaceId };
    try {
      for (const [table, column] of USER_DEPENDENTS) await this.sql.run(`DELETE FROM ${table} WHERE ${column} = @ns`, p);
      await this.sql.run('DELETE FROM "user" WHERE id = @ns', p);
      return true;
    } catch (e) {
      if (isIntegrityError(e)) return false;
      throw e;
    }
  }

  private async ids(s: PortableSql, sql: string, params: Record<string, unknown>): Promise<number[]> {
    return (await s.all<{ id: unknown }>(sql, params)).map((r) => num(r.id));
  }
}

/**
 * A team's recursive delete (without delete_nullable): prototypes and
 * permissions that delegate to it are unlinked, its sync, invites and
 * members deleted, then the team.
 */
async function deleteTeam(s: PortableSql, team: number): Promise<void> {
  const p = { t: team };
  await s.run('UPDATE permissionprototype SET delegate_team_id = NULL WHERE delegate_team_id = @t', p);
  await s.run('UPDATE repositorypermission SET team_id = NULL WHERE team_id = @t', p);
  for (const table of ['teamsync', 'teammemberinvite', 'teammember']) await s.run(`DELETE FROM ${table} WHERE team_id = @t`, p);
  await s.run('DELETE FROM team WHERE id = @t', p);
}

/** An OAuth application with its assigned tokens, access tokens and authorization codes. */
async function deleteOAuthApplication(s: PortableSql, app: number): Promise<void> {
  const p = { a: app };
  for (const table of ['oauthassignedtoken', 'oauthaccesstoken', 'oauthauthorizationcode']) await s.run(`DELETE FROM ${table} WHERE application_id = @a`, p);
  await s.run('DELETE FROM oauthapplication WHERE id = @a', p);
}

/** namespacequota.delete_namespace_quota: the quota's notification state, its quota notifications, its limits, the quota. */
async function deleteNamespaceQuota(s: PortableSql, quota: number, namespaceId: number): Promise<void> {
  const p = { q: quota, ns: namespaceId };
  await s.run('DELETE FROM quotanotificationstate WHERE namespace_id = @ns', p);
  await s.run(
    `DELETE FROM namespacenotification WHERE namespace_id = @ns
        AND event_id IN (SELECT id FROM externalnotificationevent WHERE name IN ('quota_warning', 'quota_error'))`,
    p,
  );
  await s.run('DELETE FROM quotalimits WHERE quota_id = @q', p);
  await s.run('DELETE FROM userorganizationquota WHERE id = @q', p);
}

/** A robot's delete_instance: its robot-allowed links deleted or cleared, then the robot row. */
async function deleteRobot(s: PortableSql, robot: number): Promise<void> {
  const p = { r: robot };
  for (const [table, column, action] of ROBOT_DEPENDENTS) {
    await s.run(action === 'null' ? `UPDATE ${table} SET ${column} = NULL WHERE ${column} = @r` : `DELETE FROM ${table} WHERE ${column} = @r`, p);
  }
  await s.run('DELETE FROM "user" WHERE id = @r', p);
}
