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
 *   namespace   the namespaced queues purged of its items; disabled, username
 *               and e-mail replaced by uuid4s; a `deletednamespace` marker;
 *               `namespacegc/<user id>/` with {"marker_id",
 *               "original_username"}; the marker's queue_id
 *
 * Where this differs from Quay's, and why: Quay also deletes the namespace's
 * linked data (teams, robots, OAuth applications, quotas, …: its
 * `_delete_user_linked_data`) when it marks a namespace without a grace
 * period. Here that is left to namespacegcworker, which deletes the same
 * rows again before the namespace itself (`delete_user`), exactly as Quay
 * does for a namespace marked with NAMESPACE_GC_GRACE_PERIOD_SECONDS. The
 * namespace is disabled and renamed at once either way, so its robots cannot
 * log in (their owner no longer exists by name) and nothing reaches it by
 * name; until the worker runs, its rows stay in the database.
 */
import { randomUUID } from 'node:crypto';
import type { Dal } from '../model/dal.js';
import { bool } from '../model/portable-sql.js';
import { sqlLocalTime } from '../model/time.js';
import { MARKED_FOR_DELETION } from './repositories.js';
import { WorkQueue } from './queue.js';
import { pythonJsonDumps } from '../../lib/python-json.js';

/** A queue of Quay's app.py: its configured name and whether its item names carry a namespace. */
export interface QueueRef {
  readonly name: string;
  readonly hasNamespace: boolean;
}

/** The queues these marks touch, by their names under the config (Quay's app.py). */
export interface MarkQueues {
  readonly repositoryGc: string;
  readonly namespaceGc: string;
  /** Quay's `all_queues` (plus any the caller adds): each namespaced one is purged of a deleted namespace's items. */
  readonly purgedWithNamespace: readonly QueueRef[];
}

/** The queue names of Quay's config.py defaults (the *_QUEUE_NAME keys override them). */
export function markQueues(keys: Readonly<Record<string, unknown>>): MarkQueues {
  const name = (key: string, fallback: string): string => (typeof keys[key] === 'string' && keys[key] !== '' ? (keys[key] as string) : fallback);
  const repositoryGc = name('REPOSITORY_GC_QUEUE_NAME', 'repositorygc');
  const namespaceGc = name('NAMESPACE_GC_QUEUE_NAME', 'namespacegc');
  return {
    repositoryGc,
    namespaceGc,
    // app.py all_queues, in its order, with each queue's has_namespace.
    purgedWithNamespace: [
      { name: name('REPLICATION_QUEUE_NAME', 'imagestoragereplication'), hasNamespace: false },
      { name: name('DOCKERFILE_BUILD_QUEUE_NAME', 'dockerfilebuild'), hasNamespace: true },
      { name: name('NOTIFICATION_QUEUE_NAME', 'notification'), hasNamespace: true },
      { name: name('CHUNK_CLEANUP_QUEUE_NAME', 'chunk_cleanup'), hasNamespace: false },
      { name: repositoryGc, hasNamespace: true },
      { name: namespaceGc, hasNamespace: false },
    ],
  };
}

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
  o: { readonly namespace: string; readonly repository: string; readonly queues: MarkQueues; readonly now: () => number },
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
    const queue = new WorkQueue(tx.sql, o.queues.repositoryGc, { hasNamespace: true, now: o.now });
    const queueId = await queue.put([o.namespace, String(repositoryId)], pythonJsonDumps({ marker_id: markerId, original_name: o.repository }));
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
 * mark_namespace_for_deletion (no grace period): null when the namespace is
 * already disabled or already marked, else the marker. The queue purge and
 * the mark are one transaction here (Quay's are separate statements).
 */
export async function markNamespaceForDeletion(dal: Dal, o: { readonly userId: number; readonly queues: MarkQueues; readonly now: () => number }): Promise<NamespaceMark | null> {
  return dal.tx(async (tx) => {
    const user = await tx.sql.one<{ username: string; email: string | null; enabled: unknown }>('SELECT username, email, enabled FROM "user" WHERE id = @id', { id: o.userId });
    if (!user || !bool(user.enabled)) return null;
    for (const q of o.queues.purgedWithNamespace) await new WorkQueue(tx.sql, q.name, { hasNamespace: q.hasNamespace, now: o.now }).deleteNamespaced(user.username);
    if (await tx.sql.one('SELECT id FROM deletednamespace WHERE namespace_id = @id', { id: o.userId })) return null;
    const marker = await tx.sql.one<{ id: number | string }>(
      `INSERT INTO deletednamespace (namespace_id, marked, original_username, original_email, queue_id) VALUES (@id, @marked, @name, @email, NULL) RETURNING id`,
      { id: o.userId, marked: sqlLocalTime(o.now()), name: user.username, email: user.email },
    );
    const markerId = Number(marker!.id);
    const deletedName = randomUUID();
    await tx.sql.run('UPDATE "user" SET enabled = @no, username = @name, email = @email WHERE id = @id', { no: false, name: deletedName, email: randomUUID(), id: o.userId });
    const queue = new WorkQueue(tx.sql, o.queues.namespaceGc, { hasNamespace: false, now: o.now });
    const queueId = await queue.put([String(o.userId)], pythonJsonDumps({ marker_id: markerId, original_username: user.username }));
    await tx.sql.run('UPDATE deletednamespace SET queue_id = @q WHERE id = @id', { q: String(queueId), id: markerId });
    return { markerId, queueId, deletedName };
  });
}
