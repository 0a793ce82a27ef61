/**
 * /api/v1 GET rows of API_OAUTH_APPS: an OAuth application's public
 * information (organization.py ApplicationInformation), an organisation's
 * applications and their tokens (organization.py, organization_application_tokens.py),
 * and the signed-in user's granted and assigned authorizations (user.py).
 */
import type { Account } from '../../dal/portable/accounts.js';
import { TokenReads, type AccessTokenRow, type OAuthAppRow } from '../../dal/portable/tokens.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { avatar } from '../../domain/avatar.js';
import { GUNICORN_500_HTML, notFound, RawAnswer } from '../wire/errors.js';
import { decryptOr500 } from './app-tokens.js';
import { requireUser } from './guards.js';
import { orgView } from './orgs.js';
import { OrgReads } from '../../dal/portable/orgs.js';

/** auth/scopes.py: every scope Quay knows, with what get_scope_information shows of it. */
const SCOPES: Readonly<Record<string, { title: string; icon: string; dangerous: boolean; description: string }>> = {
  'repo:read': {
    title: 'View all visible repositories',
    icon: 'fa-hdd-o',
    dangerous: false,
    description: 'This application will be able to view and pull all repositories visible to the granting user',
  },
  'repo:write': {
    title: 'Read/Write to any accessible repositories',
    icon: 'fa-hdd-o',
    dangerous: false,
    description: 'This application will be able to view, push and pull to all repositories to which the granting user has write access',
  },
  'repo:admin': {
    title: 'Administer Repositories',
    icon: 'fa-hdd-o',
    dangerous: false,
    description: 'This application will have administrator access to all repositories to which the granting user has access',
  },
  'repo:create': {
    title: 'Create Repositories',
    icon: 'fa-plus',
    dangerous: false,
    description: 'This application will be able to create repositories in all namespaces that the granting user is allowed to create repositories',
  },
  'user:read': {
    title: 'Read User Information',
    icon: 'fa-user',
    dangerous: false,
    description: 'This application will be able to read user information such as username and email address.',
  },
  'org:admin': {
    title: 'Administer Organization',
    icon: 'fa-gear',
    dangerous: true,
    description:
      'This application will be able to administer your organizations including creating robots, creating teams, adjusting team membership, and changing billing settings. You should have absolute trust in the requesting application before granting this permission.',
  },
  'super:user': {
    title: 'Super User Access',
    icon: 'fa-street-view',
    dangerous: true,
    description:
      'This application will be able to administer your installation including managing users, managing organizations and other features found in the superuser panel. You should have absolute trust in the requesting application before granting this permission.',
  },
  'user:admin': {
    title: 'Administer User',
    icon: 'fa-gear',
    dangerous: true,
    description:
      'This application will be able to administer your account including creating robots and granting them permissions to your repositories. You should have absolute trust in the requesting application before granting this permission.',
  },
};

/**
 * get_scope_information: the scopes of a scope string (split on a space or
 * a comma; any unknown part makes it empty). Quay iterates a Python set, so
 * with several scopes its order follows the process's string hashing
 * (random per Quay start); this keeps the string's order, without repeats.
 */
export function scopeInformation(scope: string | null): unknown[] {
  const parts = (scope ?? '').split(/ |,/);
  if (parts.some((p) => !Object.hasOwn(SCOPES, p))) return [];
  return [...new Set(parts)].map((p) => {
    const s = SCOPES[p]!;
    return { title: s.title, scope: p, description: s.description, icon: s.icon, dangerous: s.dangerous };
  });
}

/** An application's avatar: its avatar e-mail, else its organisation's, kind `app`. */
const appAvatar = (a: OAuthAppRow): unknown => avatar(a.name, a.avatarEmail || a.orgEmail, 'app');

/** get_data_for_org on the application's organisation. */
const appOrg = (a: OAuthAppRow): unknown => ({ name: a.orgName, avatar: avatar(a.orgName, a.orgEmail, 'org') });

async function applicationInformation(c: ApiCall): Promise<unknown> {
  const app = await new TokenReads(c.svc.sql).applicationByClientId(c.params.client_id ?? '');
  if (!app) throw notFound();
  const org = await c.svc.accounts.byId(app.orgId);
  if (!org) throw notFound();
  return {
    name: app.name,
    description: app.description,
    uri: app.applicationUri,
    avatar: appAvatar(app),
    // org_view(o, teams=[]): an organisation view without teams.
    organization: await orgView(c, new OrgReads(c.svc.sql), org, []),
  };
}

/** app_view (organization.py:743): the secret, redirect URI and avatar e-mail only for the organisation's admins. */
async function appView(c: ApiCall, a: OAuthAppRow): Promise<unknown> {
  const isAdmin = await c.caller.canAdminOrg(a.orgName);
  const secret = isAdmin && a.secureClientSecret !== null ? decryptOr500(c.svc.settings, a.secureClientSecret) : null;
  // Quay asserts an admin gets a secret (organization.py:751): an AssertionError escapes to gunicorn.
  if (isAdmin && secret === null) throw new RawAnswer(500, 'text/html', GUNICORN_500_HTML);
  return {
    name: a.name,
    description: a.description,
    application_uri: a.applicationUri,
    client_id: a.clientId,
    client_secret: secret,
    redirect_uri: isAdmin ? a.redirectUri : null,
    avatar_email: isAdmin ? a.avatarEmail : null,
  };
}

/** AdministerOrganizationPermission, a global read-only superuser, or a superuser with full access; then the organisation. */
async function adminOrg(c: ApiCall): Promise<Account> {
  const orgname = c.params.orgname ?? '';
  const { caller } = c;
  c.caller.loadGrants();
  if (!((await caller.canAdminOrg(orgname)) || caller.isGlobalReadonlySuperUser() || caller.hasFullAccess())) throw c.unauthorized();
  // get_organization: an organisation by name, else NotFound.
  const org = await c.svc.accounts.byName(orgname);
  if (!org || !org.organization) throw notFound();
  return org;
}

async function organizationApplications(c: ApiCall): Promise<unknown> {
  const org = await adminOrg(c);
  const apps = await new TokenReads(c.svc.sql).applicationsOf(org.id);
  const out: unknown[] = [];
  for (const a of apps) out.push(await appView(c, a));
  return { applications: out };
}

async function organizationApplication(c: ApiCall): Promise<unknown> {
  const org = await adminOrg(c);
  const app = await new TokenReads(c.svc.sql).application(org.id, c.params.client_id ?? '');
  if (!app) throw notFound();
  return appView(c, app);
}

/** datetime.isoformat() + "Z" of a naive-UTC column: microseconds only when not zero. */
function isoZ(v: string | null): string | null {
  if (v === null) return null;
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?/.exec(v);
  if (!m) return v;
  const micros = (m[3] ?? '').padEnd(6, '0').slice(0, 6);
  return `${m[1]}T${m[2]}${/^0*$/.test(micros) ? '' : `.${micros}`}Z`;
}

/** token_view (organization_application_tokens.py:97): metadata, never the secret on a GET. */
const accessTokenView = (t: AccessTokenRow): unknown => ({
  uuid: t.uuid,
  name: t.displayName,
  scope: t.scope,
  expires_at: isoZ(t.expiresAt),
  created: isoZ(t.created),
  created_by: t.authorizedUser,
  last_accessed: isoZ(t.lastAccessed),
});

/** list_application_tokens' page size. */
const TOKENS_PER_PAGE = 50;

async function organizationApplicationTokens(c: ApiCall): Promise<unknown> {
  const a = c.args([{ name: 'next_page', help: 'The page token for the next page', type: 'str' }]);
  const org = await adminOrg(c);
  const app = await new TokenReads(c.svc.sql).application(org.id, c.params.client_id ?? '');
  if (!app) throw notFound();
  // paginate(..., descending=True): id <= start_index, OFFSET offset_val, limit + 1 rows.
  const token = c.svc.pages.decrypt(a.next_page as string | null, c.svc.now());
  const start = token && typeof token.start_index === 'number' ? token.start_index : null;
  const pageNumber = token && typeof token.page_number === 'number' && token.page_number ? token.page_number : null;
  const offset = token && typeof token.offset_val === 'number' ? token.offset_val : 0;
  const rows = await new TokenReads(c.svc.sql).applicationTokens(app.id, { nowMs: c.svc.now(), startId: start, offset: offset > 0 ? offset : 0, limit: TOKENS_PER_PAGE + 1 });
  const out: Record<string, unknown> = { tokens: rows.slice(0, TOKENS_PER_PAGE).map(accessTokenView) };
  if (rows.length > TOKENS_PER_PAGE) {
    out.next_page = c.svc.pages.encrypt(
      { start_index: rows[TOKENS_PER_PAGE]!.id, page_number: pageNumber ? pageNumber + 1 : 1, is_datetime: false, offset_val: offset },
      c.svc.now(),
    );
  }
  return out;
}

/** authorization_view (user.py:1223). */
function authorizationView(t: { uuid: string; scope: string; app: OAuthAppRow }): unknown {
  const a = t.app;
  return {
    application: { name: a.name, description: a.description, url: a.applicationUri, avatar: appAvatar(a), organization: appOrg(a) },
    scopes: scopeInformation(t.scope),
    uuid: t.uuid,
  };
}

async function userAuthorizations(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const rows = await new TokenReads(c.svc.sql).authorizations(user.id, null);
  return { authorizations: rows.map(authorizationView) };
}

async function userAuthorization(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const [row] = await new TokenReads(c.svc.sql).authorizations(user.id, c.params.access_token_uuid ?? '');
  if (!row) throw notFound();
  return authorizationView(row);
}

/**
 * UserAssignedAuthorizations.get (user.py:1309). A GET that writes, as in
 * Quay: the user's `assigned_authorization` notifications are deleted (they
 * count as seen) before the list is answered.
 */
async function userAssignedAuthorizations(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const reads = new TokenReads(c.svc.sql);
  if (!(await reads.deleteNotificationsOfKind(user.id, 'assigned_authorization'))) throw new Error('notificationkind assigned_authorization is missing');
  const rows = await reads.assignedAuthorizations(user.id);
  return {
    authorizations: rows.map((r) => {
      const a = r.app;
      return {
        application: { name: a.name, clientId: a.clientId, description: a.description, url: a.applicationUri, avatar: appAvatar(a), organization: appOrg(a) },
        uuid: r.uuid,
        redirectUri: r.redirectUri,
        scopes: scopeInformation(r.scope),
        responseType: r.responseType,
      };
    }),
  };
}

export const OAUTH_APP_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0057 /api/v1/app/{client_id}
  { quayHandler: 'ApplicationInformation.get', handle: applicationInformation },
  // ROUTE_0076 /api/v1/organization/{orgname}/applications
  { quayHandler: 'OrganizationApplications.get', handle: organizationApplications },
  // ROUTE_0079 /api/v1/organization/{orgname}/applications/{client_id}
  { quayHandler: 'OrganizationApplicationResource.get', handle: organizationApplication },
  // ROUTE_0082 /api/v1/organization/{orgname}/applications/{client_id}/tokens
  { quayHandler: 'OrganizationApplicationTokens.get', handle: organizationApplicationTokens },
  // ROUTE_0302 /api/v1/user/assignedauthorization
  { quayHandler: 'UserAssignedAuthorizations.get', handle: userAssignedAuthorizations, registered: (s) => s.feature('ASSIGN_OAUTH_TOKEN') },
  // ROUTE_0304 /api/v1/user/authorizations
  { quayHandler: 'UserAuthorizationList.get', handle: userAuthorizations },
  // ROUTE_0306 /api/v1/user/authorizations/{access_token_uuid}
  { quayHandler: 'UserAuthorization.get', handle: userAuthorization },
];
