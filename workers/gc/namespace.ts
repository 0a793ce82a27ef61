/**
 * Deleting a namespace: Quay's data/model/user.py delete_namespace_via_marker
 * → delete_user, on the SQL of dal/portable/namespace-gc.ts and the
 * repository purge of ./engine.ts (purge_repository, which also removes the
 * files only the namespace's repositories held).
 *
 * In Quay's order: the namespace disabled; its items purged from Quay's
 * `all_queues` (under its current name, which marking replaced with a
 * UUID: the producer purged the items under the original name); every
 * repository marked for deletion in one statement, then purged, round after
 * round while any purge succeeds; the auto-prune task and policies; the
 * linked data; the user row with every row still pointing at it.
 */
import type { Logger } from '../../lib/log.js';
import type { NamespaceGcData } from '../../dal/portable/namespace-gc.js';
import type { GcData } from '../../dal/portable/gc.js';
import type { WorkQueue } from '../../dal/portable/queue.js';
import { type GarbageCollector, type GcCounts, zeroCounts } from './engine.js';

export interface NamespaceDeleted extends GcCounts {
  repositories: number;
  queue_items: number;
}

export interface NamespaceCollectorDeps {
  readonly data: NamespaceGcData;
  readonly gcData: GcData;
  readonly gc: GarbageCollector;
  /** The queues purged of the namespace's items (dal/portable/quay-queues.ts namespacePurgeQueues). */
  readonly queues: readonly WorkQueue[];
  readonly log: Logger;
}

export class NamespaceCollector {
  constructor(private readonly d: NamespaceCollectorDeps) {}

  /**
   * delete_namespace_via_marker: null when there is no such marker (nothing
   * to do), false when the namespace could not be deleted completely (a
   * repository purge made no progress, or a row still points at the user:
   * retried later), else what was deleted.
   */
  async deleteViaMarker(markerId: number | string): Promise<NamespaceDeleted | false | null> {
    const marker = await this.d.data.marker(markerId);
    if (!marker) return null;
    return this.deleteNamespace(marker.namespaceId);
  }

  /** delete_user on a namespace (a user or an organization). */
  async deleteNamespace(namespaceId: number): Promise<NamespaceDeleted | false> {
    const { data, gcData, gc } = this.d;
    const ns = await data.namespace(namespaceId);
    if (!ns) throw new Error(`namespace ${namespaceId} does not exist`);
    if (ns.enabled) await data.disable(ns.id);
    const counts: NamespaceDeleted = { ...zeroCounts(), repositories: 0, queue_items: 0 };
    for (const q of this.d.queues) counts.queue_items += (await q.deleteNamespaced(ns.username)) ?? 0;
    await data.markRepositoriesForDeletion(ns.id);
    for (;;) {
      const ids = await data.repositoryIds(ns.id);
      if (ids.length === 0) break;
      let progressing = false;
      for (const id of ids) {
        // purge_repository(force=True): one created since the bulk mark is marked now.
        await gcData.markForDeletion(id);
        const repo = await gcData.repository(id);
        if (repo && (await gc.purgeRepository(repo, counts))) {
          progressing = true;
          counts.repositories++;
        }
      }
      if (!progressing) return false;
    }
    await data.deleteAutoPrune(ns.id);
    await data.deleteLinkedData(ns, await data.namespaceName(ns));
    if (!(await data.deleteUserRow(ns.id))) return false;
    return counts;
  }
}
