/**
 * What Quay's robot views read (endpoints/api/robot.py, robot_models_pre_oci.py
 * and data/model/user.py), written once for both dialects. The robot token is
 * returned as stored (encrypted); the API decrypts it.
 */
import type { PortableSql } from '../model/portable-sql.js';

/** One row of list_entity_robot_permission_teams (with permissions: one per repository × team combination). */
export interface RobotListRow {
  readonly username: string;
  readonly creationDate: string | null;
  readonly lastAccessed: string | null;
  readonly token: string | null;
  readonly description: string | null;
  readonly unstructuredJson: string | null;
  readonly repositoryName?: string | null;
  readonly teamName?: string | null;
}

export interface RobotRow {
  readonly id: number;
  readonly username: string;
  readonly creationDate: string | null;
  readonly lastAccessed: string | null;
}

export interface RobotMetadata {
  readonly description: string;
  readonly unstructuredJson: string | null;
}

export interface RobotPermissionRow {
  readonly repositoryName: string;
  readonly visibility: string;
  readonly role: string;
}

export class RobotReads {
  constructor(private readonly sql: PortableSql) {}

  /**
   * model.user.list_entity_robot_permission_teams: the robots named `<prefix>+…`
   * (Peewee's `**`: ILIKE, which SQLite runs as LIKE; `%` and `_` in the prefix
   * are wildcards there too), with a token, newest access first; LIMIT counts joined rows.
   */
  list(prefix: string, o: { readonly limit: number | null; readonly includePermissions: boolean }): Promise<RobotListRow[]> {
    const like = this.sql.dialect === 'postgresql' ? 'ILIKE' : 'LIKE';
    const perms = o.includePermissions
      ? `LEFT OUTER JOIN repositorypermission p ON p.user_id = rt.robot_account_id
         LEFT OUTER JOIN repository r ON p.repository_id = r.id
         LEFT OUTER JOIN teammember tm ON tm.user_id = u.id
         LEFT OUTER JOIN team t ON tm.team_id = t.id`
      : '';
    const permCols = o.includePermissions ? ', r.name AS "repositoryName", t.name AS "teamName"' : '';
    const limit = o.limit === null ? '' : ' LIMIT @limit';
    return this.sql.all<RobotListRow>(
      `SELECT u.username, u.creation_date AS "creationDate", u.last_accessed AS "lastAccessed", rt.token,
              rm.description, rm.unstructured_json AS "unstructuredJson"${permCols}
       FROM "user" u LEFT OUTER JOIN robotaccountmetadata rm ON rm.robot_account_id = u.id
       JOIN robotaccounttoken rt ON rt.robot_account_id = u.id
       ${perms}
       WHERE u.robot = @yes AND u.username ${like} @pattern
       ORDER BY u.last_accessed DESC${limit}`,
      { yes: true, pattern: `${prefix}+%`, limit: o.limit },
    );
  }

  /** model.user.lookup_robot (the caller checks the name is ASCII). */
  async lookup(username: string): Promise<RobotRow | null> {
    return this.sql.one<RobotRow>(
      `SELECT u.id, u.username, u.creation_date AS "creationDate", u.last_accessed AS "lastAccessed" FROM "user" u WHERE u.username = @name AND u.robot = @yes`,
      { name: username, yes: true },
    );
  }

  /**
   * model.user.get_or_create_robot_metadata: the robot's metadata row, created
   * (description "", unstructured_json {}) when it has none — Quay writes on this GET.
   */
  async metadata(robotId: number): Promise<RobotMetadata> {
    const read = (): Promise<{ description: string; unstructured_json: string | null } | null> =>
      this.sql.one('SELECT m.description, m.unstructured_json FROM robotaccountmetadata m WHERE m.robot_account_id = @id', { id: robotId });
    let r = await read();
    if (!r) {
      await this.sql.run(`INSERT INTO robotaccountmetadata (robot_account_id, description, unstructured_json) VALUES (@id, '', '{}') ON CONFLICT DO NOTHING`, { id: robotId });
      r = await read();
    }
    return { description: r?.description ?? '', unstructuredJson: r?.unstructured_json ?? '{}' };
  }

  /** The stored (encrypted) token, or null when the robot has no robotaccounttoken row. */
  async token(robotId: number): Promise<string | null> {
    const r = await this.sql.one<{ token: string }>('SELECT t.token FROM robotaccounttoken t WHERE t.robot_account_id = @id', { id: robotId });
    return r?.token ?? null;
  }

  /** The robot's federatedlogin metadata_json (get_robot_federation_config); undefined when it has no row. */
  async federationMetadata(robotId: number): Promise<string | null | undefined> {
    const r = await this.sql.one<{ metadata_json: string | null }>('SELECT f.metadata_json FROM federatedlogin f WHERE f.user_id = @id', { id: robotId });
    return r === null ? undefined : r.metadata_json;
  }

  /** model.permission.list_robot_permissions. */
  permissions(robotName: string): Promise<RobotPermissionRow[]> {
    return this.sql.all<RobotPermissionRow>(
      `SELECT r.name AS "repositoryName", v.name AS visibility, ro.name AS role
       FROM repositorypermission p JOIN repository r ON p.repository_id = r.id JOIN visibility v ON r.visibility_id = v.id
         JOIN role ro ON p.role_id = ro.id JOIN "user" u ON p.user_id = u.id
       WHERE u.username = @name AND u.robot = @yes`,
      { name: robotName, yes: true },
    );
  }
}
