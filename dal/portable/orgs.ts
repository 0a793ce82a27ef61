/**
 * What Quay's organisation and team views read (endpoints/api/organization.py,
 * endpoints/api/team.py and the data/model functions they call), written once
 * for both dialects. Where Quay's query has no ORDER BY, neither has ours: the
 * joins and filters follow Peewee's SQL so each database returns the rows in
 * the order it returns them to Quay.
 */
import { bool, type PortableSql } from '../model/portable-sql.js';

/** A user, robot or organisation as the views show it (avatar and names). */
export interface Entity {
  readonly id: number;
  readonly username: string;
  readonly email: string | null;
  readonly robot: boolean;
}

export interface OrgRow extends Entity {
  readonly invoiceEmail: boolean;
  readonly invoiceEmailAddress: string | null;
  readonly removedTagExpirationS: number;
  readonly stripeId: string | null;
}

export interface TeamInfo {
  readonly id: number;
  readonly name: string;
  readonly description: string | null;
  readonly role: string;
  readonly repoCount: number;
  readonly memberCount: number;
}

export interface TeamMembership {
  readonly teamId: number;
  readonly teamName: string;
  readonly user: Entity;
}

export interface MemberPermission {
  readonly user: Entity;
  readonly repositoryName: string;
}

export interface TeamInvite {
  readonly email: string | null;
  readonly user: Entity | null;
}

export interface RepoPermissionView {
  readonly repositoryName: string;
  readonly visibility: string;
  readonly role: string;
}

export interface ProxyCacheRow {
  readonly upstreamRegistry: string;
  readonly expirationS: number;
  readonly insecure: boolean;
}

interface EntityDb {
  u_id: number;
  u_username: string;
  u_email: string | null;
  u_robot: unknown;
}

const ENTITY = (a: string): string => `${a}.id AS u_id, ${a}.username AS u_username, ${a}.email AS u_email, ${a}.robot AS u_robot`;
const entity = (r: EntityDb): Entity => ({ id: r.u_id, username: r.u_username, email: r.u_email, robot: bool(r.u_robot) });

/** Python's `str.encode("ascii")` succeeds (Quay's user lookups answer "none" otherwise). */
export const isAscii = (s: string): boolean => /^[\x00-\x7f]*$/.test(s);

export class OrgReads {
  constructor(private readonly sql: PortableSql) {}

  /** model.organization.get_organization: an organisation by name. */
  async organization(name: string): Promise<OrgRow | null> {
    const r = await this.sql.one<EntityDb & { invoice_email: unknown; invoice_email_address: string | null; removed_tag_expiration_s: number; stripe_id: string | null }>(
      `SELECT ${ENTITY('u')}, u.invoice_email, u.invoice_email_address, u.removed_tag_expiration_s, u.stripe_id
       FROM "user" u WHERE u.username = @name AND u.organization = @yes`,
      { name, yes: true },
    );
    if (!r) return null;
    return {
      ...entity(r),
      invoiceEmail: bool(r.invoice_email),
      invoiceEmailAddress: r.invoice_email_address,
      removedTagExpirationS: r.removed_tag_expiration_s,
      stripeId: r.stripe_id,
    };
  }

  /** model.user.get_user: a user or robot (not an organisation); none for a non-ASCII name. */
  async user(name: string): Promise<Entity | null> {
    if (!isAscii(name)) return null;
    const r = await this.sql.one<EntityDb>(`SELECT ${ENTITY('u')} FROM "user" u WHERE u.username = @name AND u.organization = @no`, { name, no: false });
    return r ? entity(r) : null;
  }

  /** model.user.get_user_or_org: a user or organisation (not a robot); none for a non-ASCII name. */
  async userOrOrg(name: string): Promise<Entity | null> {
    if (!isAscii(name)) return null;
    const r = await this.sql.one<EntityDb>(`SELECT ${ENTITY('u')} FROM "user" u WHERE u.username = @name AND u.robot = @no`, { name, no: false });
    return r ? entity(r) : null;
  }

  /** model.team.get_teams_within_org (no team syncing): each team, its role, repository and member counts. */
  async teamsWithinOrg(orgId: number): Promise<TeamInfo[]> {
    // Quay's statement (unordered: PostgreSQL's order is the answer's) with the two counts as
    // correlated subqueries, so the team scan and its order stay Quay's and it is one round trip.
    const rows = await this.sql.all<{ id: number; name: string; description: string | null; role: string; repos: number; members: number }>(
      `SELECT t.id, t.name, t.description, tr.name AS role,
         (SELECT COUNT(p.id) FROM repositorypermission p WHERE p.team_id = t.id) AS repos,
         (SELECT COUNT(m.id) FROM teammember m WHERE m.team_id = t.id) AS members
       FROM team t JOIN teamrole tr ON t.role_id = tr.id WHERE t.organization_id = @org`,
      { org: orgId },
    );
    return rows.map(({ repos, members, ...t }) => ({ ...t, repoCount: Number(repos), memberCount: Number(members) }));
  }

  /** model.permission.is_org_admin: a member of an admin team of the organisation (the stored role, no OAuth scopes). */
  async isOrgAdmin(userId: number, orgName: string): Promise<boolean> {
    const r = await this.sql.one<{ id: number }>(
      `SELECT t.id FROM team t JOIN teamrole tr ON t.role_id = tr.id JOIN "user" o ON t.organization_id = o.id JOIN teammember m ON m.team_id = t.id
       WHERE m.user_id = @user AND o.username = @org AND tr.name = 'admin' LIMIT 1`,
      { user: userId, org: orgName },
    );
    return r !== null;
  }

  /** model.permission.get_user_teams_in_org: the names of the user's teams in the organisation. */
  async userTeamNamesInOrg(userId: number, orgName: string): Promise<Set<string>> {
    const rows = await this.sql.all<{ name: string }>(
      `SELECT t.name FROM team t JOIN "user" o ON t.organization_id = o.id JOIN teammember m ON m.team_id = t.id WHERE m.user_id = @user AND o.username = @org`,
      { user: userId, org: orgName },
    );
    return new Set(rows.map((r) => r.name));
  }

  /** model.team.list_organization_members_by_teams: one row per team membership. */
  async membersByTeams(orgId: number): Promise<TeamMembership[]> {
    const rows = await this.sql.all<EntityDb & { team_id: number; team_name: string }>(
      `SELECT t.id AS team_id, t.name AS team_name, ${ENTITY('u')}
       FROM teammember m JOIN team t ON m.team_id = t.id JOIN "user" u ON m.user_id = u.id WHERE t.organization_id = @org`,
      { org: orgId },
    );
    return rows.map((r) => ({ teamId: r.team_id, teamName: r.team_name, user: entity(r) }));
  }

  /** model.permission.list_organization_member_permissions: user permissions on the organisation's repositories (humans, or one user). */
  async memberPermissions(orgId: number, limitToUserId?: number): Promise<MemberPermission[]> {
    const cond = limitToUserId === undefined ? 'u.robot = @no' : 'p.user_id = @user';
    const rows = await this.sql.all<EntityDb & { repo_name: string }>(
      `SELECT r.name AS repo_name, ${ENTITY('u')}
       FROM repositorypermission p JOIN repository r ON p.repository_id = r.id JOIN "user" u ON p.user_id = u.id
       WHERE r.namespace_user_id = @org AND ${cond}`,
      { org: orgId, no: false, user: limitToUserId ?? null },
    );
    return rows.map((r) => ({ user: entity(r), repositoryName: r.repo_name }));
  }

  /** model.team.get_user_teams_within_org. */
  async userTeamsWithinOrg(username: string, orgId: number): Promise<{ id: number; name: string }[]> {
    return this.sql.all<{ id: number; name: string }>(
      `SELECT t.id, t.name FROM team t JOIN teammember m ON m.team_id = t.id JOIN "user" u ON m.user_id = u.id WHERE t.organization_id = @org AND u.username = @name`,
      { org: orgId, name: username },
    );
  }

  /** model.team.get_organization_team. */
  async team(orgName: string, teamName: string): Promise<{ id: number; name: string } | null> {
    return this.sql.one<{ id: number; name: string }>(
      `SELECT t.id, t.name FROM team t JOIN "user" o ON t.organization_id = o.id WHERE t.name = @team AND o.organization = @yes AND o.username = @org LIMIT 1`,
      { team: teamName, org: orgName, yes: true },
    );
  }

  /** model.organization.get_organization_team_members. */
  async teamMembers(teamId: number): Promise<Entity[]> {
    const rows = await this.sql.all<EntityDb>(`SELECT ${ENTITY('u')} FROM "user" u JOIN teammember m ON m.user_id = u.id JOIN team t ON m.team_id = t.id WHERE t.id = @team`, {
      team: teamId,
    });
    return rows.map(entity);
  }

  /** model.team.get_organization_team_member_invites. */
  async teamInvites(teamId: number): Promise<TeamInvite[]> {
    const rows = await this.sql.all<{ email: string | null; u_id: number | null; u_username: string | null; u_email: string | null; u_robot: unknown }>(
      `SELECT i.email, ${ENTITY('u')}
       FROM teammemberinvite i JOIN team t ON i.team_id = t.id JOIN "user" o ON t.organization_id = o.id LEFT JOIN "user" u ON u.id = i.user_id
       WHERE t.id = @team`,
      { team: teamId },
    );
    return rows.map((r) => ({ email: r.email, user: r.u_id === null ? null : entity(r as EntityDb) }));
  }

  /** model.permission.list_team_permissions. */
  async teamPermissions(teamId: number): Promise<RepoPermissionView[]> {
    return this.sql.all<RepoPermissionView>(
      `SELECT r.name AS "repositoryName", v.name AS visibility, ro.name AS role
       FROM repositorypermission p JOIN repository r ON p.repository_id = r.id JOIN visibility v ON r.visibility_id = v.id JOIN role ro ON p.role_id = ro.id
       WHERE p.team_id = @team`,
      { team: teamId },
    );
  }

  /** model.proxy_cache.get_proxy_cache_config_for_org. */
  async proxyCacheConfig(orgName: string): Promise<ProxyCacheRow | null> {
    const r = await this.sql.one<{ upstream_registry: string; expiration_s: number; insecure: unknown }>(
      `SELECT c.upstream_registry, c.expiration_s, c.insecure FROM proxycacheconfig c JOIN "user" u ON c.organization_id = u.id
       WHERE u.username = @org AND u.organization = @yes`,
      { org: orgName, yes: true },
    );
    return r ? { upstreamRegistry: r.upstream_registry, expirationS: r.expiration_s, insecure: bool(r.insecure) } : null;
  }
}
