/**
 * The grants Quay's permission loader reads for an identity
 * (auth/permissions.py): repository permissions of the user and of its teams.
 */
import type { PortableSql } from '../model/portable-sql.js';

export type RepoRoleName = 'read' | 'write' | 'admin';

export class Grants {
  constructor(private readonly sql: PortableSql) {}

  /** Roles on `namespace/repository` from `repositorypermission`: the user's own rows and its teams' (get_user_repository_permissions). */
  async repositoryRoles(userId: number, namespace: string, repository: string): Promise<RepoRoleName[]> {
    const rows = await this.sql.all<{ name: RepoRoleName }>(
      `SELECT ro.name FROM repositorypermission p JOIN role ro ON ro.id = p.role_id
        JOIN repository r ON r.id = p.repository_id JOIN "user" n ON n.id = r.namespace_user_id
       WHERE n.username = @ns AND r.name = @repo
         AND (p.user_id = @user OR p.team_id IN (SELECT tm.team_id FROM teammember tm WHERE tm.user_id = @user))`,
      { ns: namespace, repo: repository, user: userId },
    );
    return rows.map((r) => r.name);
  }
}
