/**
 * The API's deletes of whole repositories and namespaces, as Quay's
 * endpoints make them: each leaves a mark and a queue item
 * (dal/portable/deletion-marks.ts) for the garbage-collection workers, of
 * either runtime, and an audit row, and answers 204 at once.
 *
 *   Repository.delete    endpoints/api/repository.py   repository admin (or a full-access
 *                        superuser); delete_repo; the repository's dockerfilebuild items go.
 *                        A repository that does not exist in a namespace the caller
 *                        administers is a 204 with its audit row, as in Quay.
 *   Organization.delete  endpoints/api/organization.py fresh login; organisation admin (or a
 *                        full-access superuser); 404 for a name that is not an organisation;
 *                        org_delete is written before the mark, as in Quay.
 *   User.delete          endpoints/api/user.py         the user itself with user:admin, fresh
 *                        login; 404 unless AUTHENTICATION_TYPE is Database; refused (400)
 *                        while the user is the only admin of an organisation; user_delete
 *                        names the renamed account, as in Quay.
 */
import { markNamespaceForDeletion, markRepositoryForDeletion, solelyAdminedOrganizations } from '../../dal/portable/deletion-marks.js';
import { quayQueue } from '../../dal/portable/quay-queues.js';
import { logAction } from '../call/audit.js';
import { Reply, type ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { GUNICORN_500_HTML, ModelError, RawAnswer, notFound } from '../wire/errors.js';
import { allowIfSuperuserWithFullAccess, requireFreshLogin, requireRepo, requireUser } from './guards.js';

const NO_CONTENT = new Reply(204, '');

async function deleteRepository(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'admin', { allowForSuperuser: true });
  const { svc } = c;
  const keys = svc.settings.keys;
  await markRepositoryForDeletion(svc.dal, { namespace: r.namespace, repository: r.repository, config: keys, now: svc.now });
  // Quay reads the namespace's user next (for billing): a namespace that does not exist fails there.
  if (!(await svc.sql.one('SELECT id FROM "user" WHERE username = @name', { name: r.namespace }))) throw new RawAnswer(500, 'text/html', GUNICORN_500_HTML);
  await quayQueue(svc.sql, keys, 'dockerfilebuild', svc.now).deleteNamespaced(r.namespace, r.repository);
  await logAction(c, 'delete_repo', r.namespace, { repo: r.repository, namespace: r.namespace });
  return NO_CONTENT;
}

async function deleteOrganization(c: ApiCall): Promise<unknown> {
  requireFreshLogin(c);
  const orgname = c.params.orgname!;
  if (!(await c.caller.canAdminOrg(orgname)) && !allowIfSuperuserWithFullAccess(c)) throw c.unauthorized();
  const org = await c.svc.sql.one<{ id: number | string }>('SELECT id FROM "user" WHERE username = @name AND organization = @yes', { name: orgname, yes: true });
  if (!org) throw notFound();
  await logAction(c, 'org_delete', orgname, { namespace: orgname });
  await markNamespaceForDeletion(c.svc.dal, { userId: Number(org.id), config: c.svc.settings.keys, now: c.svc.now });
  return NO_CONTENT;
}

async function deleteUser(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  requireFreshLogin(c);
  const auth = c.svc.settings.keys.AUTHENTICATION_TYPE;
  if (auth !== undefined && auth !== 'Database') throw c.abort(404);
  const sole = await solelyAdminedOrganizations(c.svc.dal, user.id);
  if (sole.length > 0) throw new ModelError(`Cannot delete ${user.username} as you are the only admin for organizations: ${sole.join(', ')}`);
  await markNamespaceForDeletion(c.svc.dal, { userId: user.id, config: c.svc.settings.keys, now: c.svc.now });
  // Quay re-reads the user after the mark: the row is logged under its new (uuid) name.
  const renamed = await c.svc.sql.one<{ username: string }>('SELECT username FROM "user" WHERE id = @id', { id: user.id });
  await logAction(c, 'user_delete', renamed?.username ?? user.username, { username: user.username });
  return NO_CONTENT;
}

export const DELETE_ROUTES: readonly ApiRouteRecord[] = [
  { quayHandler: 'Repository.delete', handle: deleteRepository },
  { quayHandler: 'Organization.delete', handle: deleteOrganization },
  { quayHandler: 'User.delete', handle: deleteUser },
];
