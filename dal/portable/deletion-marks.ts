/**
 * The marks the API's deletes leave for the garbage-collection workers, as
 * Quay's data model makes them (data/model/repository.py
 * mark_repository_for_deletion, data/model/user.py
 * mark_namespace_for_deletion), written once for SQLite and PostgreSQL. The
 * queue items they put are Quay's, so either runtime's repositorygcworker or
 * namespacegcworker consumes them.
 *
 *   repository  stars dropped; renamed to a uuid4, state MARKED_FOR_DELETION;
 *               a `deletedrepository` marker; `repositorygc/<ns>/<repo id>/`
 *               with {"marker_id", "original_name"}; the marker's queue_id
 *   namespace   Quay's `all_queues` purged of its items; its linked data
 *               deleted (below); disabled, username and e-mail replaced by
 *               uuid4s; a `deletednamespace` marker; `namespacegc/<user id>/`
 *               with {"marker_id", "original_username"} (available after the
 *               grace period, if any); the marker's queue_id
 *
 * The namespace's linked data (teams, robots, OAuth applications, quotas,
 * …: Quay's `_delete_user_linked_data`, NamespaceGcData.deleteLinkedData)
 * goes at mark time, as in Quay, unless the namespace is on
 * NAMESPACE_GC_GRACE_PERIOD_ALLOWLIST with NAMESPACE_GC_GRACE_PERIOD_SECONDS
 * above 0: then it stays, and the item waits out the grace period, for
 * namespacegcworker to delete it with the namespace.
 *
 * The queues are Quay's (quay-queues.ts), by their names under the config;
 * a namespace's items are purged from exactly Quay's `all_queues`.
 */
import { randomUUID } from 'node:crypto';
import type { Dal } from '../model/dal.js';
import { bool } from '../model/portable-sql.js';
import { sqlLocalTime } from '../model/time.js';
import { MARKED_FOR_DELETION } from './repositories.js';
import { NamespaceGcData } from './namespace-gc.js';
import { namespacePurgeQueues, quayQueue } from './quay-queues.js';
import { pythonJsonDumps } from '../../lib/python-json.js';

/** The Quay config's keys (the *_QUEUE_NAME and NAMESPACE_GC_GRACE_PERIOD_* keys are read). */
export type QuayConfigKeys = Readonly<Record<string, unknown>>;

export interface RepositoryMark {
  readonly repositoryId: number;
  readonly markerId: number;
  readonly queueId: number;
  /** The uuid the repository is renamed to. */
  readonly deletedName: string;
}

/**
 * mark_repository_for_deletion: null when the namespace has no such
 * repository (one already marked counts as none), else the marker. One
 * transaction.
 */
export async function markRepositoryForDeletion(
  dal: Dal,
  o: { readonly namespace: string; readonly repository: string; readonly config: QuayConfigKeys; readonly now: () => number },
): Promise<RepositoryMark | null> {
  return dal.tx(async (tx) => {
    const repo = await tx.sql.one<{ id: number | string }>(
      `SELECT r.id FROM repository r JOIN "user" n ON n.id = r.namespace_user_id WHERE n.username = @ns AND r.name = @name AND r.state <> @marked`,
      { ns: o.namespace, name: o.repository, marked: MARKED_FOR_DELETION },
    );
    if (!repo) return null;
    const repositoryId = Number(repo.id);
    await tx.sql.run('DELETE FROM star WHERE repository_id = @id', { id: repositoryId });
    const deletedName = randomUUID();
    await tx.sql.run('UPDATE repository SET name = @name, state = @state WHERE id = @id', { name: deletedName, state: MARKED_FOR_DELETION, id: repositoryId });
    const marker = await tx.sql.one<{ id: number | string }>(
      'INSERT INTO deletedrepository (repository_id, marked, original_name, queue_id) VALUES (@repo, @marked, @name, NULL) RETURNING id',
      { repo: repositoryId, marked: sqlLocalTime(o.now()), name: o.repository },
    );
    const markerId = Number(marker!.id);
    const queueId = await quayQueue(tx.sql, o.config, 'repositorygc', o.now).put(
      [o.namespace, String(repositoryId)],
      pythonJsonDumps({ marker_id: markerId, original_name: o.repository }),
    );
    await tx.sql.run('UPDATE deletedrepository SET queue_id = @q WHERE id = @id', { q: String(queueId), id: markerId });
    return { repositoryId, markerId, queueId, deletedName };
  });
}

/** get_solely_admined_organizations: the organisations where `userId` is the only non-robot member of an admin team, by name. */
export async function solelyAdminedOrganizations(dal: Dal, userId: number): Promise<string[]> {
  const rows = await dal.sql.all<{ username: string }>(
    `SELECT o.username FROM "user" o
    WHERE o.organization = @yes AND o.id IN (
      SELECT t.organization_id FROM team t JOIN teamrole r ON r.id = t.role_id JOIN teammember m ON m.team_id = t.id
      WHERE r.name = 'admin' AND m.user_id = @user)
    AND (SELECT COUNT(DISTINCT m.user_id) FROM teammember m JOIN team t ON t.id = m.team_id JOIN teamrole r ON r.id = t.role_id JOIN "user" u ON u.id = m.user_id
      WHERE t.organization_id = o.id AND r.name = 'admin' AND u.robot = @no) = 1
    ORDER BY o.id`,
    { yes: true, no: false, user: userId },
  );
  return rows.map((r) => r.username);
}

export interface NamespaceMark {
  readonly markerId: number;
  readonly queueId: number;
  /** The uuid the namespace is renamed to. */
  readonly deletedName: string;
}

/**
 * The grace period mark_namespace_for_deletion gives a namespace (not
 * forced): NAMESPACE_GC_GRACE_PERIOD_SECONDS when it is above 0 and the
 * namespace is on a non-empty NAMESPACE_GC_GRACE_PERIOD_ALLOWLIST, else 0.
 */
export function namespaceGracePeriod(config: QuayConfigKeys, username: string): number {
  const seconds = config.NAMESPACE_GC_GRACE_PERIOD_SECONDS;
  const allow = config.NAMESPACE_GC_GRACE_PERIOD_ALLOWLIST;
  return typeof seconds === 'number' && seconds > 0 && Array.isArray(allow) && allow.includes(username) ? seconds : 0;
}

/**
 * mark_namespace_for_deletion, as the API calls it (not forced): null when
 * the namespace is disabled or already marked, else the marker. In Quay's
 * order: the queues purged, the linked data deleted (without a grace
 * period), the marker, the rename, the item. One transaction here (Quay's
 * are several); like Quay's, a namespace found already marked keeps the
 * purge and the deletes made before that was found.
 */
export async function markNamespaceForDeletion(
  dal: Dal,
  o: { readonly userId: number; readonly config: QuayConfigKeys; readonly now: () => number },
): Promise<NamespaceMark | null> {
  return dal.tx(async (tx) => {
    const user = await tx.sql.one<{ username: string; email: string | null; enabled: unknown; organization: unknown; robot: unknown }>(
      'SELECT username, email, enabled, organization, robot FROM "user" WHERE id = @id',
      { id: o.userId },
    );
    if (!user || !bool(user.enabled)) return null;
    const grace = namespaceGracePeriod(o.config, user.username);
    for (const q of namespacePurgeQueues(tx.sql, o.config, o.now)) await q.deleteNamespaced(user.username);
    if (grace <= 0) {
      const ns = { id: o.userId, username: user.username, organization: bool(user.organization), robot: bool(user.robot), enabled: true };
      const data = new NamespaceGcData(tx);
      await data.deleteLinkedData(ns, await data.namespaceName(ns));
    }
    if (await tx.sql.one('SELECT id FROM deletednamespace WHERE namespace_id = @id', { id: o.userId })) return null;
    const marker = await tx.sql.one<{ id: number | string }>(
      `INSERT INTO deletednamespace (namespace_id, marked, original_username, original_email, queue_id) VALUES (@id, @marked, @name, @email, NULL) RETURNING id`,
      { id: o.userId, marked: sqlLocalTime(o.now()), name: user.username, email: user.email },
    );
    const markerId = Number(marker!.id);
    const deletedName = randomUUID();
    await tx.sql.run('UPDATE "user" SET enabled = @no, username = @name, email = @email WHERE id = @id', { no: false, name: deletedName, email: randomUUID(), id: o.userId });
    const body = pythonJsonDumps({ marker_id: markerId, original_username: user.username });
    const queueId = await quayQueue(tx.sql, o.config, 'namespacegc', o.now).put([String(o.userId)], body, { availableAfterSeconds: grace });
    await tx.sql.run('UPDATE deletednamespace SET queue_id = @q WHERE id = @id', { q: String(queueId), id: markerId });
    return { markerId, queueId, deletedName };
  });
}
