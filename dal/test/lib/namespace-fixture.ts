/**
 * A namespace with something in every table its deletion touches, written
 * with raw SQL on either store side: an organization with a repository, a
 * team with a member, a robot (token, metadata, a permission, a team
 * membership, a user notification), a permission prototype, an OAuth
 * application with a token, a quota with a limit and a quota notification,
 * the namespace's size row, an auto-prune policy and task, a build trigger in
 * another namespace connected through it (`linkedNamespace`);
 * then (`buildNamespace`) marked for deletion the way Quay's
 * mark_namespace_for_deletion leaves it with a grace period (the linked data
 * kept): disabled, renamed to a UUID, a `deletednamespace` marker (the
 * tests put its `namespacegc/<id>/` item).
 */
import { randomUUID } from 'node:crypto';
import type { Side } from './store-sides.js';

export interface LinkedNamespace {
  readonly orgId: number;
  readonly repoId: number;
  readonly robotId: number;
  readonly teamId: number;
  /** A user outside the namespace (team member, trigger owner…): it stays. */
  readonly memberId: number;
  /** The member's own repository, with a build trigger connected through the member that pulls with the org's robot. */
  readonly otherRepoId: number;
}

export interface NamespaceFixture extends LinkedNamespace {
  readonly markerId: number;
}

const T = '2026-06-01 12:00:00';

/** The namespace and its linked data, not marked. */
export async function linkedNamespace(s: Side, org: string, nowMs: number): Promise<LinkedNamespace> {
  const b = (v: boolean): unknown => (s.kind === 'pg' ? v : v ? 1 : 0);
  const id = async (sql: string, ...p: unknown[]): Promise<number> => Number((await s.raw(sql, ...p))[0]!.id);
  const repo = await s.meta.createRepository(org, 'app', 'private', nowMs);
  const other = await s.meta.createRepository(`${org}member`, 'own', 'private', nowMs);
  const orgId = await id('SELECT id FROM "user" WHERE username = ?', org);
  const memberId = await id('SELECT id FROM "user" WHERE username = ?', `${org}member`);
  // The store creates a namespace as an organization: the member is a user.
  await s.raw('UPDATE "user" SET organization = ? WHERE id = ?', b(false), memberId);
  const user = async (name: string, robot: boolean): Promise<number> => {
    await s.raw(
      `INSERT INTO "user" (uuid, username, email, verified, organization, robot, invoice_email, last_invalid_login, enabled)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      randomUUID(),
      name,
      randomUUID(),
      b(true),
      b(false),
      b(robot),
      b(false),
      T,
      b(true),
    );
    return id('SELECT id FROM "user" WHERE username = ?', name);
  };
  const robotId = await user(`${org}+builder`, true);
  await s.raw('INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) VALUES (?, ?, ?)', robotId, 'v0$$token', b(true));
  await s.raw("INSERT INTO robotaccountmetadata (robot_account_id, description, unstructured_json) VALUES (?, 'builds', '{}')", robotId);
  await s.raw("INSERT INTO team (name, organization_id, role_id, description) VALUES ('owners', ?, (SELECT id FROM teamrole WHERE name = 'admin'), '')", orgId);
  const teamId = await id('SELECT id FROM team WHERE organization_id = ?', orgId);
  await s.raw('INSERT INTO teammember (user_id, team_id) VALUES (?, ?), (?, ?)', memberId, teamId, robotId, teamId);
  await s.raw("INSERT INTO repositorypermission (team_id, user_id, repository_id, role_id) VALUES (?, NULL, ?, (SELECT id FROM role WHERE name = 'write'))", teamId, repo.id);
  await s.raw("INSERT INTO repositorypermission (team_id, user_id, repository_id, role_id) VALUES (NULL, ?, ?, (SELECT id FROM role WHERE name = 'read'))", robotId, other.id);
  await s.raw(
    "INSERT INTO permissionprototype (org_id, uuid, activating_user_id, delegate_user_id, delegate_team_id, role_id) VALUES (?, ?, NULL, NULL, ?, (SELECT id FROM role WHERE name = 'read'))",
    orgId,
    randomUUID(),
    teamId,
  );
  await s.raw(
    `INSERT INTO notification (uuid, kind_id, target_id, metadata_json, created, dismissed) VALUES (?, (SELECT id FROM notificationkind WHERE name = 'repo_push'), ?, '{}', ?, ?)`,
    randomUUID(),
    robotId,
    T,
    b(false),
  );
  await s.raw(
    "INSERT INTO oauthapplication (client_id, redirect_uri, application_uri, organization_id, name, description) VALUES ('cid', 'http://x', 'http://x', ?, 'app', '')",
    orgId,
  );
  const appId = await id('SELECT id FROM oauthapplication WHERE organization_id = ?', orgId);
  await s.raw(
    `INSERT INTO oauthaccesstoken (uuid, application_id, authorized_user_id, scope, token_type, expires_at, data, token_code, token_name)
     VALUES (?, ?, ?, 'repo:read', 'Bearer', ?, '', 'code', 'name')`,
    randomUUID(),
    appId,
    memberId,
    T,
  );
  await s.raw('INSERT INTO userorganizationquota (namespace_id, limit_bytes) VALUES (?, 1000000)', orgId);
  const quotaId = await id('SELECT id FROM userorganizationquota WHERE namespace_id = ?', orgId);
  await s.raw("INSERT INTO quotalimits (quota_id, quota_type_id, percent_of_limit) VALUES (?, (SELECT id FROM quotatype WHERE name = 'Warning'), 80)", quotaId);
  await s.raw('DELETE FROM quotanamespacesize WHERE namespace_user_id = ?', orgId);
  await s.raw('INSERT INTO quotanamespacesize (namespace_user_id, size_bytes, backfill_start_ms, backfill_complete) VALUES (?, 0, NULL, ?)', orgId, b(true));
  await s.raw('INSERT INTO namespaceautoprunepolicy (uuid, namespace_id, policy) VALUES (?, ?, \'{"method": "number_of_tags", "value": 5}\')', randomUUID(), orgId);
  await s.raw('INSERT INTO autoprunetaskstatus (namespace_id, last_ran_ms, status) VALUES (?, NULL, NULL)', orgId);
  await s.raw(
    `INSERT INTO repositorybuildtrigger (uuid, service_id, repository_id, connected_user_id, config, pull_robot_id, enabled)
     VALUES (?, (SELECT id FROM buildtriggerservice WHERE name = 'custom-git'), ?, ?, '{}', ?, ?)`,
    randomUUID(),
    other.id,
    memberId,
    robotId,
    b(true),
  );
  return { orgId, repoId: repo.id, robotId, teamId, memberId, otherRepoId: other.id };
}

/** The namespace, marked for deletion as with a grace period. */
export async function buildNamespace(s: Side, org: string, nowMs: number): Promise<NamespaceFixture> {
  const f = await linkedNamespace(s, org, nowMs);
  const b = (v: boolean): unknown => (s.kind === 'pg' ? v : v ? 1 : 0);
  const orgId = f.orgId;
  // Marked for deletion, as mark_namespace_for_deletion leaves it when a grace period defers the linked data.
  await s.raw('INSERT INTO deletednamespace (namespace_id, marked, original_username, original_email, queue_id) VALUES (?, ?, ?, ?, NULL)', orgId, T, org, `${org}@example.com`);
  const markerId = Number((await s.raw('SELECT id FROM deletednamespace WHERE namespace_id = ?', orgId))[0]!.id);
  await s.raw('UPDATE "user" SET enabled = ?, username = ?, email = ? WHERE id = ?', b(false), randomUUID(), randomUUID(), orgId);
  return { ...f, markerId };
}
