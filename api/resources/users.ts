/**
 * /api/v1 GET rows of API_USER_READ (endpoints/api/user.py): the signed-in
 * user (User.get), another user (Users.get), the user's notifications, its
 * starred repositories.
 */
import type { Account } from '../../dal/portable/accounts.js';
import { UserReads } from '../../dal/portable/users.js';
import { parseSqlTime } from '../../dal/model/time.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { orgAvatar, userAvatar } from '../../domain/avatar.js';
import { formatDate } from '../../domain/quay-dates.js';
import { invalidToken, notFound } from '../wire/errors.js';
import { requireUser } from './guards.js';
import { quotaReport, quotaView } from './quota.js';
import { QuotaReads } from '../../dal/portable/quota.js';

/** REPOS_PER_PAGE (endpoints/api/repository.py), the starred list's page too. */
const REPOS_PER_PAGE = 100;

/** user_view: what Quay shows of a user, more to the user itself. */
export async function userView(c: ApiCall, user: Account): Promise<Record<string, unknown>> {
  const reads = new UserReads(c.svc.sql);
  const { caller, svc } = c;
  const publicNamespaces = svc.settings.publicNamespaces;
  const orgs = new Map<string, Account>();
  for (const o of await reads.organizations(user.username)) orgs.set(o.username, o);
  for (const ns of publicNamespaces) {
    const a = await svc.accounts.byName(ns);
    if (a) orgs.set(ns, a);
  }
  const out: Record<string, unknown> = { anonymous: false, username: user.username, avatar: userAvatar(user) };
  const isAdmin = caller.canAdminUser(user.username);
  if (isAdmin) {
    const logins = await reads.federatedLogins(user.id);
    Object.assign(out, {
      can_create_repo: true,
      is_me: true,
      verified: user.verified,
      email: user.email,
      logins: logins.map((l) => {
        let metadata: unknown = {};
        try {
          metadata = JSON.parse(l.metadataJson);
        } catch {
          metadata = {};
        }
        return { service: l.service, service_identifier: l.serviceIdent, metadata };
      }),
      invoice_email: user.invoiceEmail,
      invoice_email_address: user.invoiceEmailAddress,
      preferred_namespace: user.stripeId !== null,
      tag_expiration_s: user.removedTagExpirationS,
      prompts: await reads.prompts(user.id),
      company: user.company,
      family_name: user.familyName,
      given_name: user.givenName,
      location: user.location,
      is_free_account: user.stripeId === null,
      has_password_set: user.passwordHash !== null,
    });
    if (svc.settings.feature('QUOTA_MANAGEMENT') && svc.settings.feature('EDIT_QUOTA')) {
      const quotas = await new QuotaReads(svc.sql).quotas(user.username);
      out.quotas = quotas.length > 0 ? await Promise.all(quotas.map((q) => quotaView(c, q))) : [];
      out.quota_report = await quotaReport(c, user, quotas);
    }
  }
  if (caller.canReadUser(user.username)) {
    const list: unknown[] = [];
    for (const o of orgs.values()) {
      const view: Record<string, unknown> = {
        name: o.username,
        avatar: orgAvatar(o),
        can_create_repo: await caller.canCreateIn(o.username),
        public: publicNamespaces.includes(o.username),
      };
      if (isAdmin) Object.assign(view, { is_org_admin: await caller.canAdminOrg(o.username), preferred_namespace: o.stripeId !== null });
      list.push(view);
    }
    out.organizations = list;
  }
  if (svc.settings.feature('SUPER_USERS') && caller.isSuperUser()) out.super_user = caller.user?.id === user.id && caller.isSuperUser();
  if (caller.isGlobalReadonlySuperUser()) out.global_readonly_super_user = caller.user?.id === user.id;
  return out;
}

async function getLoggedInUser(c: ApiCall): Promise<unknown> {
  const user = c.caller.user;
  if (!user || user.organization || !c.caller.canReadUser(user.username)) throw invalidToken('Requires authentication', { session_required: false });
  return userView(c, user);
}

async function getUserInformation(c: ApiCall): Promise<unknown> {
  const user = await c.svc.accounts.byName(c.params.username ?? '');
  // get_nonrobot_user: a user, never a robot or an organisation.
  if (!user || user.robot || user.organization) throw c.abort(404);
  return userView(c, user);
}

function notificationView(n: Awaited<ReturnType<UserReads['notifications']>>[number]): unknown {
  let metadata: unknown = null;
  try {
    metadata = JSON.parse(n.metadataJson);
  } catch {
    metadata = null;
  }
  return {
    id: n.uuid,
    organization: n.targetIsOrg ? n.targetName : null,
    kind: n.kind,
    created: formatDate(parseSqlTime(n.created)),
    metadata,
    dismissed: n.dismissed,
  };
}

async function listUserNotifications(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const a = c.args([
    { name: 'limit', help: 'Limit on the number of results (int)', type: 'int', default: 5 },
    { name: 'page', help: 'Offset page number. (int)', type: 'int', default: 0 },
  ]);
  const limit = a.limit as number;
  const page = a.page as number;
  const rows = await new UserReads(c.svc.sql).notifications(user.id, { includeDismissed: false, page: page || null, limit: limit + 1 });
  const more = rows.length > limit;
  return { notifications: (more ? rows.slice(0, limit) : rows).map(notificationView), additional: more };
}

async function getUserNotification(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const [note] = await new UserReads(c.svc.sql).notifications(user.id, { uuid: c.params.uuid ?? '', includeDismissed: true, page: null, limit: 1 });
  if (!note) throw notFound();
  return notificationView(note);
}

async function listStarredRepos(c: ApiCall): Promise<unknown> {
  const a = c.args([{ name: 'next_page', help: 'The page token for the next page', type: 'str' }]);
  const user = requireUser(c, 'admin');
  const token = c.svc.pages.decrypt(a.next_page as string | null, c.svc.now());
  const start = token && typeof token.start_index === 'number' ? token.start_index : null;
  const pageNumber = token && typeof token.page_number === 'number' && token.page_number ? token.page_number : null;
  const offset = token && typeof token.offset_val === 'number' ? token.offset_val : 0;
  const rows = await new UserReads(c.svc.sql).starred(user.id, start, REPOS_PER_PAGE + 1);
  const out: Record<string, unknown> = {
    repositories: rows.slice(0, REPOS_PER_PAGE).map((r) => ({ namespace: r.namespace, name: r.name, description: r.description, is_public: r.visibility === 'public' })),
  };
  if (rows.length > REPOS_PER_PAGE) {
    out.next_page = c.svc.pages.encrypt(
      { start_index: rows[REPOS_PER_PAGE]!.id, page_number: pageNumber ? pageNumber + 1 : 1, is_datetime: false, offset_val: offset },
      c.svc.now(),
    );
  }
  return out;
}

export const USER_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0294 /api/v1/user/
  { quayHandler: 'User.get', handle: getLoggedInUser, anonAllowed: true },
  // ROUTE_0353 /api/v1/users/{username}
  { quayHandler: 'Users.get', handle: getUserInformation },
  // ROUTE_0330 /api/v1/user/notifications
  { quayHandler: 'UserNotificationList.get', handle: listUserNotifications },
  // ROUTE_0331 /api/v1/user/notifications/{uuid}
  { quayHandler: 'UserNotification.get', handle: getUserNotification },
  // ROUTE_0350 /api/v1/user/starred
  { quayHandler: 'StarredRepositoryList.get', handle: listStarredRepos },
];
