/**
 * What Quay's repository-permission and permission-prototype views read
 * (endpoints/api/permission.py, permission_models_pre_oci.py, prototype.py and
 * data/model/permission.py), written once for both dialects. No ORDER BY where
 * Quay's query has none.
 */
import { bool, type PortableSql } from '../model/portable-sql.js';
import type { Entity } from './orgs.js';

export interface UserPermissionRow {
  readonly role: string;
  readonly user: Entity;
}

export interface TeamPermissionRow {
  readonly role: string;
  readonly teamName: string;
}

export interface PrototypeRow {
  readonly uuid: string;
  readonly role: string;
  readonly activatingUser: Entity | null;
  readonly delegateUser: Entity | null;
  readonly delegateTeamName: string | null;
}

interface UserCols {
  u_id: number;
  u_username: string;
  u_email: string | null;
  u_robot: unknown;
}

const userOf = (r: UserCols): Entity => ({ id: r.u_id, username: r.u_username, email: r.u_email, robot: bool(r.u_robot) });

export class PermissionReads {
  constructor(private readonly sql: PortableSql) {}

  /** model.user.get_all_repo_users: every user (and robot) permission on the repository. */
  async repoUsers(namespace: string, repository: string): Promise<UserPermissionRow[]> {
    const rows = await this.sql.all<UserCols & { role: string }>(
      `SELECT u.id AS u_id, u.username AS u_username, u.email AS u_email, u.robot AS u_robot, ro.name AS role
       FROM repositorypermission p JOIN "user" u ON p.user_id = u.id JOIN role ro ON p.role_id = ro.id
         JOIN repository r ON p.repository_id = r.id JOIN "user" n ON r.namespace_user_id = n.id
       WHERE n.username = @ns AND r.name = @repo`,
      { ns: namespace, repo: repository },
    );
    return rows.map((r) => ({ role: r.role, user: userOf(r) }));
  }

  /** model.permission.get_all_repo_teams. */
  repoTeams(namespace: string, repository: string): Promise<TeamPermissionRow[]> {
    return this.sql.all<TeamPermissionRow>(
      `SELECT t.name AS "teamName", ro.name AS role
       FROM repositorypermission p JOIN team t ON p.team_id = t.id JOIN role ro ON p.role_id = ro.id
         JOIN repository r ON p.repository_id = r.id JOIN "user" n ON r.namespace_user_id = n.id
       WHERE n.username = @ns AND r.name = @repo`,
      { ns: namespace, repo: repository },
    );
  }

  /** model.permission.get_user_reponame_permission: the first matching row, or null (Quay: DataModelException). */
  async userRepoPermission(username: string, namespace: string, repository: string): Promise<UserPermissionRow | null> {
    const r = await this.sql.one<UserCols & { role: string }>(
      `SELECT u.id AS u_id, u.username AS u_username, u.email AS u_email, u.robot AS u_robot, ro.name AS role
       FROM repositorypermission p JOIN "user" u ON p.user_id = u.id JOIN role ro ON p.role_id = ro.id
         JOIN repository r ON p.repository_id = r.id JOIN "user" n ON r.namespace_user_id = n.id
       WHERE r.name = @repo AND n.username = @ns AND u.username = @name`,
      { ns: namespace, repo: repository, name: username },
    );
    return r ? { role: r.role, user: userOf(r) } : null;
  }

  /** model.permission.get_team_reponame_permission: the first matching row's role, or null. */
  async teamRepoRole(teamName: string, namespace: string, repository: string): Promise<string | null> {
    const r = await this.sql.one<{ role: string }>(
      `SELECT ro.name AS role
       FROM repositorypermission p JOIN team t ON p.team_id = t.id JOIN role ro ON p.role_id = ro.id
         JOIN repository r ON p.repository_id = r.id JOIN "user" n ON r.namespace_user_id = n.id
       WHERE r.name = @repo AND n.username = @ns AND t.name = @team`,
      { ns: namespace, repo: repository, team: teamName },
    );
    return r?.role ?? null;
  }

  /** model.repository.get_repository: its id, unless marked for deletion (state 3). */
  async repositoryId(namespace: string, repository: string): Promise<number | null> {
    const r = await this.sql.one<{ id: number }>(
      `SELECT r.id FROM repository r JOIN "user" n ON r.namespace_user_id = n.id WHERE n.username = @ns AND r.name = @repo AND r.state <> 3`,
      { ns: namespace, repo: repository },
    );
    return r?.id ?? null;
  }

  /** model.permission.get_user_repo_permissions: the roles the user holds on the repository, directly or through a team. */
  async transitiveRoles(userId: number, repositoryId: number): Promise<string[]> {
    const rows = await this.sql.all<{ role: string }>(
      `SELECT ro.name AS role
       FROM repositorypermission p JOIN role ro ON p.role_id = ro.id JOIN repository r ON p.repository_id = r.id JOIN "user" n ON r.namespace_user_id = n.id
       WHERE p.repository_id = @repo
         AND (p.user_id = @user OR EXISTS (SELECT 1 FROM teammember tm WHERE tm.team_id = p.team_id AND tm.user_id = @user))`,
      { repo: repositoryId, user: userId },
    );
    return rows.map((r) => r.role);
  }

  /**
   * model.organization.get_organization_member_set: the usernames of the
   * organisation's human team members among `userIds` (empty filter: none).
   */
  async orgMemberSet(orgId: number, userIds: Iterable<number>): Promise<Set<string>> {
    const ids = [...new Set(userIds)];
    if (ids.length === 0) return new Set();
    const params: Record<string, unknown> = { org: orgId, no: false };
    ids.forEach((id, i) => (params[`id${i}`] = id));
    const rows = await this.sql.all<{ username: string }>(
      `SELECT DISTINCT u.username FROM "user" u JOIN teammember m ON m.user_id = u.id JOIN team t ON m.team_id = t.id
       WHERE t.organization_id = @org AND u.robot = @no AND u.id IN (${ids.map((_, i) => `@id${i}`).join(', ')})`,
      params,
    );
    return new Set(rows.map((r) => r.username));
  }

  /** model.permission.get_prototype_permissions: the organisation's default permissions. */
  async prototypes(orgId: number): Promise<PrototypeRow[]> {
    const rows = await this.sql.all<{
      uuid: string;
      role: string;
      a_id: number | null;
      a_username: string | null;
      a_email: string | null;
      a_robot: unknown;
      d_id: number | null;
      d_username: string | null;
      d_email: string | null;
      d_robot: unknown;
      team_name: string | null;
    }>(
      `SELECT pp.uuid, ro.name AS role,
              au.id AS a_id, au.username AS a_username, au.email AS a_email, au.robot AS a_robot,
              du.id AS d_id, du.username AS d_username, du.email AS d_email, du.robot AS d_robot,
              t.name AS team_name
       FROM permissionprototype pp
         LEFT OUTER JOIN "user" au ON au.id = pp.activating_user_id
         LEFT OUTER JOIN "user" du ON du.id = pp.delegate_user_id
         LEFT OUTER JOIN team t ON t.id = pp.delegate_team_id
         LEFT OUTER JOIN role ro ON ro.id = pp.role_id
       WHERE pp.org_id = @org`,
      { org: orgId },
    );
    return rows.map((r) => ({
      uuid: r.uuid,
      role: r.role,
      activatingUser: r.a_id === null ? null : userOf({ u_id: r.a_id, u_username: r.a_username!, u_email: r.a_email, u_robot: r.a_robot }),
      delegateUser: r.d_id === null ? null : userOf({ u_id: r.d_id, u_username: r.d_username!, u_email: r.d_email, u_robot: r.d_robot }),
      delegateTeamName: r.team_name,
    }));
  }
}
