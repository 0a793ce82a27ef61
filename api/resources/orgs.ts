/**
 * /api/v1 GET rows: API_ORG_READ, API_PROXY_CACHE, API_TEAM_READ
 * (endpoints/api/organization.py, endpoints/api/team.py).
 *
 * Also the small helpers the organisation, robot and permission resources
 * share: Quay's DataModelException answer, the "can view as superuser" test,
 * Python-faithful reading of stored JSON, and the empty-OAuth-scope failure.
 */
import { OrgReads, type Entity, type OrgRow, type TeamInfo } from '../../dal/portable/orgs.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { pythonJsonLoads, type PyJson } from '../../lib/python-json.js';
import { avatar, teamAvatar, userAvatar } from '../../domain/avatar.js';
import { notFound } from '../wire/errors.js';
import { truthyBool } from '../call/params.js';
import { allowIfGlobalReadonlySuperuser, allowIfSuperuser, allowIfSuperuserWithFullAccess } from './guards.js';
import { quotaReport } from './quota.js';
import { QuotaReads } from '../../dal/portable/quota.js';

// ---------------------------------------------------------------------------
// Shared helpers (robots.ts and permissions.ts use them too)

/** `allow_if_global_readonly_superuser() or (features.SUPERUSERS_FULL_ACCESS and allow_if_superuser())`. */
export function canViewAsSuperuser(c: ApiCall): boolean {
  return allowIfGlobalReadonlySuperuser(c) || (c.svc.settings.feature('SUPERUSERS_FULL_ACCESS') && allowIfSuperuser(c));
}

/** `allow_if_global_readonly_superuser() or allow_if_superuser_with_full_access()`. */
export function readonlyOrFullSuperuser(c: ApiCall): boolean {
  return allowIfGlobalReadonlySuperuser(c) || allowIfSuperuserWithFullAccess(c);
}

/** JSONField.python_value: None or "" read as {}. */
export function jsonField(text: string | null): PyJson {
  return text === null || text === '' ? {} : pythonJsonLoads(text);
}

const reads = (c: ApiCall): OrgReads => new OrgReads(c.svc.sql);

/** util/validation.py validate_email (lengths in code points, as Python counts). */
export function validateEmail(email: string | null): boolean {
  if (!email || [...email].length > 254) return false;
  const parts = email.split('@');
  if (parts.length !== 2) return false;
  const [local, domain] = parts as [string, string];
  if (!local || !domain) return false;
  const labels = domain.split('.');
  return labels.length >= 2 && labels.every((l) => l.length > 0);
}

const entityAvatar = (e: Entity): ReturnType<typeof userAvatar> => userAvatar({ username: e.username, email: e.email, robot: e.robot });

// ---------------------------------------------------------------------------
// Organization.get (organization.py:319) and org_view (:125)

/** organization.py quota_view. */
async function orgQuotaView(r: QuotaReads, q: { id: number; limitBytes: number }): Promise<unknown> {
  const limits = await r.limits(q.id);
  return { id: q.id, limit_bytes: q.limitBytes, limits: limits.map((l) => ({ id: l.id, type: l.type, limit_percent: l.percent })) };
}

/** org_view (organization.py:125): `teams` null leaves them out; ApplicationInformation passes none ([]). */
export async function orgView(c: ApiCall, r: OrgReads, o: OrgRow, teams: TeamInfo[] | null): Promise<Record<string, unknown>> {
  let isAdmin = await c.caller.canAdminOrg(o.username);
  let isMember = await c.caller.isOrgMember(o.username);
  const asSuperuser = canViewAsSuperuser(c);
  if (asSuperuser) {
    isAdmin = true;
    isMember = true;
  }
  const view: Record<string, unknown> = {
    name: o.username,
    email: isAdmin || asSuperuser ? (validateEmail(o.email) ? o.email : '') : '',
    // get_data_for_user on an organisation: kind "user".
    avatar: entityAvatar(o),
    is_admin: isAdmin,
    is_member: isMember,
  };
  if (teams !== null) {
    const sorted = [...teams].sort((a, b) => a.id - b.id);
    // get_viewable_teams_for_org reads the stored memberships, not the scope-capped roles.
    let viewable: Set<string> | null = null;
    if (!(asSuperuser || isAdmin)) {
      const user = c.caller.user;
      if (!user) viewable = new Set();
      else if (!(await r.isOrgAdmin(user.id, o.username))) viewable = await r.userTeamNamesInOrg(user.id, o.username);
    }
    const out: Record<string, unknown> = {};
    for (const t of sorted) {
      out[t.name] = {
        name: t.name,
        description: t.description,
        role: t.role,
        avatar: teamAvatar(t.name),
        can_view: viewable === null || viewable.has(t.name),
        repo_count: t.repoCount,
        member_count: t.memberCount,
        // TEAM_SYNCING needs a federated login service, which Database auth has not.
        is_synced: false,
      };
    }
    view.teams = out;
    view.ordered_teams = sorted.map((t) => t.name);
  }
  if (isAdmin) {
    view.invoice_email = o.invoiceEmail;
    view.invoice_email_address = o.invoiceEmailAddress;
    view.tag_expiration_s = o.removedTagExpirationS;
    view.is_free_account = o.stripeId === null;
  }
  if ((isAdmin || isMember) && c.svc.settings.feature('QUOTA_MANAGEMENT') && c.svc.settings.feature('EDIT_QUOTA')) {
    const qr = new QuotaReads(c.svc.sql);
    const quotas = await qr.quotas(o.username);
    const views: unknown[] = [];
    for (const q of quotas) views.push(await orgQuotaView(qr, q));
    view.quotas = views;
    view.quota_report = await quotaReport(c, o, quotas);
  }
  return view;
}

async function getOrganization(c: ApiCall): Promise<unknown> {
  const r = reads(c);
  const name = c.params.orgname ?? '';
  const org = await r.organization(name);
  if (!org) throw notFound();
  c.caller.loadGrants();
  let teams: TeamInfo[] | null = null;
  if ((await c.caller.isOrgMember(name)) || canViewAsSuperuser(c)) teams = await r.teamsWithinOrg(org.id);
  return orgView(c, r, org, teams);
}

// ---------------------------------------------------------------------------
// Collaborators, members (organization.py:516, :569, :634)

async function getCollaborators(c: ApiCall): Promise<unknown> {
  const name = c.params.orgname ?? '';
  c.caller.loadGrants();
  if (!(await c.caller.canAdminOrg(name)) && !canViewAsSuperuser(c)) throw c.unauthorized();
  const r = reads(c);
  const org = await r.organization(name);
  if (!org) throw notFound();
  const perms = await r.memberPermissions(org.id);
  const members = new Set((await r.membersByTeams(org.id)).map((m) => m.user.username));
  const collaborators = new Map<string, { kind: string; name: string; avatar: unknown; repositories: string[] }>();
  for (const p of perms) {
    const u = p.user.username;
    if (members.has(u)) continue;
    let entry = collaborators.get(u);
    if (!entry) {
      entry = { kind: 'user', name: u, avatar: entityAvatar(p.user), repositories: [] };
      collaborators.set(u, entry);
    }
    entry.repositories.push(p.repositoryName);
  }
  return { collaborators: [...collaborators.values()] };
}

async function getMembers(c: ApiCall): Promise<unknown> {
  const name = c.params.orgname ?? '';
  c.caller.loadGrants();
  if (!((await c.caller.canAdminOrg(name)) || readonlyOrFullSuperuser(c))) throw c.unauthorized();
  const r = reads(c);
  const org = await r.organization(name);
  if (!org) throw notFound();
  const members = new Map<string, { name: string; kind: string; avatar: unknown; teams: unknown[]; repositories: string[] }>();
  for (const m of await r.membersByTeams(org.id)) {
    if (m.user.robot) continue;
    let entry = members.get(m.user.username);
    if (!entry) {
      entry = { name: m.user.username, kind: 'user', avatar: entityAvatar(m.user), teams: [], repositories: [] };
      members.set(m.user.username, entry);
    }
    entry.teams.push({ name: m.teamName, avatar: teamAvatar(m.teamName) });
  }
  for (const p of await r.memberPermissions(org.id)) members.get(p.user.username)?.repositories.push(p.repositoryName);
  return { members: [...members.values()] };
}

async function getMember(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  const membername = c.params.membername ?? '';
  c.caller.loadGrants();
  if (!((await c.caller.canAdminOrg(orgname)) || readonlyOrFullSuperuser(c))) throw c.unauthorized();
  const r = reads(c);
  const member = await r.user(membername);
  if (!member) throw notFound();
  const organization = await r.userOrOrg(orgname);
  if (!organization) throw notFound();
  const teams = await r.userTeamsWithinOrg(membername, organization.id);
  if (teams.length === 0) {
    // Not in a team: only the organisation's own robots are still shown.
    if (!member.robot) throw notFound();
    if (member.username.split('+')[0] !== orgname) throw notFound();
  }
  const perms = await r.memberPermissions(organization.id, member.id);
  return {
    name: member.username,
    kind: member.robot ? 'robot' : 'user',
    avatar: entityAvatar(member),
    teams: teams.map((t) => ({ name: t.name, avatar: teamAvatar(t.name) })),
    repositories: perms.map((p) => p.repositoryName),
  };
}

// ---------------------------------------------------------------------------
// Teams (team.py:357, :583)

async function getTeamMembers(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  const teamname = c.params.teamname ?? '';
  const args = c.args([{ name: 'includePending', help: 'Whether to include pending members', type: truthyBool, default: false }]);
  c.caller.loadGrants();
  if (!((await c.caller.canViewTeam(orgname, teamname)) || readonlyOrFullSuperuser(c))) throw c.unauthorized();
  const r = reads(c);
  const team = await r.team(orgname, teamname);
  if (!team) throw notFound();
  const members = await r.teamMembers(team.id);
  const canEdit = await c.caller.canAdminOrg(orgname);
  const invites = args.includePending && canEdit ? await r.teamInvites(team.id) : [];
  const memberView = (u: Entity, invited: boolean): unknown => ({ name: u.username, kind: 'user', is_robot: u.robot, avatar: entityAvatar(u), invited });
  return {
    name: teamname,
    members: [
      ...members.map((m) => memberView(m, false)),
      ...invites.map((i) => (i.user ? memberView(i.user, true) : { email: i.email, kind: 'invite', avatar: avatar(i.email ?? '', i.email, 'user'), invited: true })),
    ],
    can_edit: canEdit,
  };
}

async function getTeamPermissions(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  const teamname = c.params.teamname ?? '';
  c.caller.loadGrants();
  if (!((await c.caller.canAdminOrg(orgname)) || readonlyOrFullSuperuser(c))) throw c.unauthorized();
  const r = reads(c);
  const team = await r.team(orgname, teamname);
  if (!team) throw notFound();
  const perms = await r.teamPermissions(team.id);
  return { permissions: perms.map((p) => ({ repository: { name: p.repositoryName, is_public: p.visibility === 'public' }, role: p.role })) };
}

// ---------------------------------------------------------------------------
// Proxy cache (organization.py:1052)

async function getProxyCacheConfig(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  c.caller.loadGrants();
  if (!(await c.caller.isOrgMember(orgname)) && !canViewAsSuperuser(c)) throw c.unauthorized();
  const config = await reads(c).proxyCacheConfig(orgname);
  return {
    upstream_registry: config ? config.upstreamRegistry : '',
    expiration_s: config ? config.expirationS : '',
    insecure: config ? config.insecure : '',
  };
}

export const ORG_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0073 /api/v1/organization/{orgname}
  { quayHandler: 'Organization.get', handle: getOrganization },
  // ROUTE_0092 /api/v1/organization/{orgname}/collaborators
  { quayHandler: 'OrganizationCollaboratorList.get', handle: getCollaborators },
  // ROUTE_0108 /api/v1/organization/{orgname}/members
  { quayHandler: 'OrganizationMemberList.get', handle: getMembers },
  // ROUTE_0110 /api/v1/organization/{orgname}/members/{membername}
  { quayHandler: 'OrganizationMember.get', handle: getMember },
  // ROUTE_0159 /api/v1/organization/{orgname}/team/{teamname}/members
  { quayHandler: 'TeamMemberList.get', handle: getTeamMembers },
  // ROUTE_0162 /api/v1/organization/{orgname}/team/{teamname}/permissions
  { quayHandler: 'TeamPermissions.get', handle: getTeamPermissions },
  // ROUTE_0134 /api/v1/organization/{orgname}/proxycache (show_if FEATURE_PROXY_CACHE)
  { quayHandler: 'OrganizationProxyCacheConfig.get', handle: getProxyCacheConfig, registered: (s) => s.feature('PROXY_CACHE') },
];
