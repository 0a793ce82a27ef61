/**
 * /api/v1 GET rows: API_PERMISSION_READ (endpoints/api/prototype.py,
 * endpoints/api/permission.py with permission_models_pre_oci.py).
 */
import type { Entity } from '../../dal/portable/orgs.js';
import { OrgReads } from '../../dal/portable/orgs.js';
import { PermissionReads, type UserPermissionRow } from '../../dal/portable/permissions.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { teamAvatar, userAvatar } from '../../domain/avatar.js';
import { notFound, ModelError } from '../wire/errors.js';
import { requireRepo } from './guards.js';
import { readonlyOrFullSuperuser } from './orgs.js';

const reads = (c: ApiCall): PermissionReads => new PermissionReads(c.svc.sql);
const entityAvatar = (e: Entity): unknown => userAvatar({ username: e.username, email: e.email, robot: e.robot });

/** @require_repo_admin(allow_for_global_readonly_superuser=True, allow_for_superuser=True). */
async function requireRepoAdmin(c: ApiCall): Promise<{ namespace: string; repository: string }> {
  c.caller.loadGrants();
  return requireRepo(c, 'admin', { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true });
}

// ---------------------------------------------------------------------------
// PermissionPrototypeList.get (prototype.py:147)

async function getPrototypes(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  c.caller.loadGrants();
  if (!((await c.caller.canAdminOrg(orgname)) || readonlyOrFullSuperuser(c))) throw c.unauthorized();
  const org = await new OrgReads(c.svc.sql).organization(orgname);
  if (!org) throw notFound();
  const r = reads(c);
  const protos = await r.prototypes(org.id);
  const ids = new Set<number>();
  for (const p of protos) {
    if (p.activatingUser) ids.add(p.activatingUser.id);
    if (p.delegateUser) ids.add(p.delegateUser.id);
  }
  const members = await r.orgMemberSet(org.id, ids);
  const userView = (u: Entity): unknown => ({
    name: u.username,
    is_robot: u.robot,
    kind: 'user',
    is_org_member: u.robot || members.has(u.username),
    avatar: entityAvatar(u),
  });
  return {
    prototypes: protos.map((p) => ({
      activating_user: p.activatingUser ? userView(p.activatingUser) : null,
      delegate: p.delegateUser ? userView(p.delegateUser) : { name: p.delegateTeamName, kind: 'team', avatar: teamAvatar(p.delegateTeamName ?? '') },
      role: p.role,
      id: p.uuid,
    })),
  };
}

// ---------------------------------------------------------------------------
// Repository permissions (permission.py)

/** UserPermission.to_dict: is_org_member only under an organisation. */
function userPermissionView(p: UserPermissionRow, hasOrg: boolean, isOrgMember: boolean): Record<string, unknown> {
  return {
    role: p.role,
    name: p.user.username,
    is_robot: p.user.robot,
    avatar: entityAvatar(p.user),
    ...(hasOrg ? { is_org_member: isOrgMember } : {}),
  };
}

async function getRepoTeamPermissions(c: ApiCall): Promise<unknown> {
  const { namespace, repository } = await requireRepoAdmin(c);
  const out: Record<string, unknown> = {};
  for (const p of await reads(c).repoTeams(namespace, repository)) out[p.teamName] = { role: p.role, name: p.teamName, avatar: teamAvatar(p.teamName) };
  return { permissions: out };
}

async function getRepoTeamPermission(c: ApiCall): Promise<unknown> {
  const { namespace, repository } = await requireRepoAdmin(c);
  const role = await reads(c).teamRepoRole(c.params.teamname ?? '', namespace, repository);
  if (role === null) throw new ModelError('Team does not have permission for repo.');
  return { role };
}

async function getRepoUserPermissions(c: ApiCall): Promise<unknown> {
  const { namespace, repository } = await requireRepoAdmin(c);
  const org = await new OrgReads(c.svc.sql).organization(namespace);
  const r = reads(c);
  const perms = await r.repoUsers(namespace, repository);
  const members = org
    ? await r.orgMemberSet(
        org.id,
        perms.map((p) => p.user.id),
      )
    : new Set<string>();
  const out: Record<string, unknown> = {};
  for (const p of perms) out[p.user.username] = userPermissionView(p, org !== null, org !== null && (p.user.robot || members.has(p.user.username)));
  return { permissions: out };
}

async function getRepoUserPermission(c: ApiCall): Promise<unknown> {
  const { namespace, repository } = await requireRepoAdmin(c);
  const r = reads(c);
  const perm = await r.userRepoPermission(c.params.username ?? '', namespace, repository);
  if (!perm) throw new ModelError('User does not have permission for repo.');
  const org = await new OrgReads(c.svc.sql).organization(namespace);
  const isMember = org !== null && (perm.user.robot || (await r.orgMemberSet(org.id, [perm.user.id])).has(perm.user.username));
  return userPermissionView(perm, org !== null, isMember);
}

async function getRepoUserTransitivePermission(c: ApiCall): Promise<unknown> {
  const { namespace, repository } = await requireRepoAdmin(c);
  const user = await new OrgReads(c.svc.sql).user(c.params.username ?? '');
  if (!user) throw notFound();
  const r = reads(c);
  const repoId = await r.repositoryId(namespace, repository);
  if (repoId === null) throw notFound();
  const roles = await r.transitiveRoles(user.id, repoId);
  if (roles.length === 0) throw notFound();
  return { permissions: roles.map((role) => ({ role })) };
}

export const PERMISSION_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0129 /api/v1/organization/{orgname}/prototypes
  { quayHandler: 'PermissionPrototypeList.get', handle: getPrototypes },
  // ROUTE_0217 /api/v1/repository/{repository:apirepopath}/permissions/team/
  { quayHandler: 'RepositoryTeamPermissionList.get', handle: getRepoTeamPermissions },
  // ROUTE_0219 /api/v1/repository/{repository:apirepopath}/permissions/team/{teamname}
  { quayHandler: 'RepositoryTeamPermission.get', handle: getRepoTeamPermission },
  // ROUTE_0221 /api/v1/repository/{repository:apirepopath}/permissions/user/
  { quayHandler: 'RepositoryUserPermissionList.get', handle: getRepoUserPermissions },
  // ROUTE_0223 /api/v1/repository/{repository:apirepopath}/permissions/user/{username}
  { quayHandler: 'RepositoryUserPermission.get', handle: getRepoUserPermission },
  // ROUTE_0225 /api/v1/repository/{repository:apirepopath}/permissions/user/{username}/transitive
  { quayHandler: 'RepositoryUserTransitivePermission.get', handle: getRepoUserTransitivePermission },
];
