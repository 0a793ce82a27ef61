/**
 * /api/v1 GET rows: API_NOTIFICATION_READ — repository notifications
 * (endpoints/api/repositorynotification.py), authorised notification
 * e-mails (repoemail.py, FEATURE_MAILING) and namespace notifications
 * (namespacenotification.py, FEATURE_QUOTA_NOTIFICATIONS).
 *
 * The feature-gated rows are absent from the route table when their flag is
 * off (Quay's show_if). With the flag on they are served as Quay's code
 * reads; that path is NOT checked against real Quay (the fixture runs with
 * both flags off).
 */
import { pythonJsonLoads, type PyJson } from '../../lib/python-json.js';
import { Notifications, type NotificationRow } from '../../dal/portable/notifications.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { Abort, notFound } from '../wire/errors.js';
import { allowIfGlobalReadonlySuperuser, allowIfSuperuserWithFullAccess, requireRepo, requireUser } from './guards.js';

/** json.loads, with `{}` for text that is not JSON (the `except ValueError` of both views). */
function loadsOrEmpty(text: string | null): PyJson {
  if (text === null) return {};
  try {
    return pythonJsonLoads(text);
  } catch {
    return {};
  }
}

/** RepositoryNotification.to_dict (repositorynotification_models_interface.py:34). */
function repoNotificationView(n: NotificationRow): Record<string, PyJson> {
  return {
    uuid: n.uuid,
    title: n.title,
    event: n.event,
    method: n.method,
    config: loadsOrEmpty(n.configJson),
    event_config: loadsOrEmpty(n.eventConfigJson),
    number_of_failures: n.numberOfFailures,
  };
}

/** _notification_view (namespacenotification.py:33): the same fields; an empty event config reads as `{}`. */
function namespaceNotificationView(n: NotificationRow): Record<string, PyJson> {
  return { ...repoNotificationView(n), event_config: loadsOrEmpty(n.eventConfigJson || '{}') };
}

/** RepositoryNotificationList.get: every notification of the repository (an unknown repository lists none). */
async function listRepoNotifications(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'admin', { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true });
  const rows = await new Notifications(c.svc.sql).listForRepository(r.namespace, r.repository);
  return { notifications: rows.map(repoNotificationView) };
}

/** RepositoryNotification.get: looked up by uuid only, in whatever repository (Quay's model does not scope it). */
async function getRepoNotification(c: ApiCall): Promise<unknown> {
  await requireRepo(c, 'admin', { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true });
  const found = await new Notifications(c.svc.sql).repositoryNotification(c.params.uuid ?? '');
  if (!found) throw notFound();
  return repoNotificationView(found);
}

/** RepositoryAuthorizedEmail.get (FEATURE_MAILING): the record without its code; flask abort(404) when none. */
async function getAuthorizedEmail(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'admin', { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true });
  const rec = await new Notifications(c.svc.sql).authorizedEmail(r.namespace, r.repository, c.params.email ?? '');
  if (!rec) throw new Abort(404);
  return { email: rec.email, repository: rec.repository, namespace: rec.namespace, confirmed: rec.confirmed };
}

/** _check_org_read: org admin, a global read-only superuser or a full-access superuser. */
async function checkOrgRead(c: ApiCall, org: string): Promise<void> {
  if ((await c.caller.canAdminOrg(org)) || allowIfGlobalReadonlySuperuser(c) || allowIfSuperuserWithFullAccess(c)) return;
  throw c.unauthorized();
}

async function listOrgNamespaceNotifications(c: ApiCall): Promise<unknown> {
  const org = c.params.orgname ?? '';
  await checkOrgRead(c, org);
  const dal = new Notifications(c.svc.sql);
  if (!(await dal.isOrganization(org))) throw notFound();
  return { notifications: (await dal.listForNamespace(org)).map(namespaceNotificationView) };
}

async function getOrgNamespaceNotification(c: ApiCall): Promise<unknown> {
  const org = c.params.orgname ?? '';
  await checkOrgRead(c, org);
  const found = await new Notifications(c.svc.sql).namespaceNotification(c.params.uuid ?? '');
  if (!found || found.namespace !== org) throw notFound();
  return namespaceNotificationView(found);
}

async function listUserNamespaceNotifications(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  return { notifications: (await new Notifications(c.svc.sql).listForNamespace(user.username)).map(namespaceNotificationView) };
}

async function getUserNamespaceNotification(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const found = await new Notifications(c.svc.sql).namespaceNotification(c.params.uuid ?? '');
  if (!found || found.namespace !== user.username) throw notFound();
  return namespaceNotificationView(found);
}

const mailing = (s: { feature(name: string): boolean }): boolean => s.feature('MAILING');
const quotaNotifications = (s: { feature(name: string): boolean }): boolean => s.feature('QUOTA_NOTIFICATIONS');

export const NOTIFICATION_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0211 /api/v1/repository/{repository:apirepopath}/notification/
  { quayHandler: 'RepositoryNotificationList.get', handle: listRepoNotifications },
  // ROUTE_0214 /api/v1/repository/{repository:apirepopath}/notification/{uuid}
  { quayHandler: 'RepositoryNotification.get', handle: getRepoNotification },
  // ROUTE_0176 /api/v1/repository/{repository:apirepopath}/authorizedemail/{email} — show_if(MAILING); flag-on path unverified.
  { quayHandler: 'RepositoryAuthorizedEmail.get', handle: getAuthorizedEmail, registered: mailing },
  // ROUTE_0119 /api/v1/organization/{orgname}/notifications — show_if(QUOTA_NOTIFICATIONS); flag-on path unverified.
  { quayHandler: 'OrgNamespaceNotificationList.get', handle: listOrgNamespaceNotifications, registered: quotaNotifications },
  // ROUTE_0122 /api/v1/organization/{orgname}/notifications/{uuid} — show_if(QUOTA_NOTIFICATIONS); flag-on path unverified.
  { quayHandler: 'OrgNamespaceNotification.get', handle: getOrgNamespaceNotification, registered: quotaNotifications },
  // ROUTE_0324 /api/v1/user/namespacenotifications — show_if(QUOTA_NOTIFICATIONS); flag-on path unverified.
  { quayHandler: 'UserNamespaceNotificationList.get', handle: listUserNamespaceNotifications, registered: quotaNotifications },
  // ROUTE_0327 /api/v1/user/namespacenotifications/{uuid} — show_if(QUOTA_NOTIFICATIONS); flag-on path unverified.
  { quayHandler: 'UserNamespaceNotification.get', handle: getUserNamespaceNotification, registered: quotaNotifications },
];
