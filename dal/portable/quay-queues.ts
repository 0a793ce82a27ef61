/**
 * Quay's work queues as app.py declares them: the config key naming each,
 * its default name, and whether its items are named under a namespace
 * (`<queue>/<namespace>/…`, `has_namespace`). Producers and workers of both
 * runtimes must agree on these names.
 */
import type { PortableSql } from '../model/portable-sql.js';
import { WorkQueue } from './queue.js';

export interface QuayQueue {
  /** The config key holding its name. */
  readonly key: string;
  /** Its name when the key is not set (Quay's config.py). */
  readonly fallback: string;
  readonly hasNamespace: boolean;
  /** In app.py's `all_queues`: purged of a namespace's items when the namespace is deleted. */
  readonly inAllQueues: boolean;
}

export const QUAY_QUEUES = {
  imagestoragereplication: { key: 'REPLICATION_QUEUE_NAME', fallback: 'imagestoragereplication', hasNamespace: false, inAllQueues: true },
  proxycacheblob: { key: 'PROXY_CACHE_BLOB_QUEUE_NAME', fallback: 'proxycacheblob', hasNamespace: true, inAllQueues: false },
  dockerfilebuild: { key: 'DOCKERFILE_BUILD_QUEUE_NAME', fallback: 'dockerfilebuild', hasNamespace: true, inAllQueues: true },
  notification: { key: 'NOTIFICATION_QUEUE_NAME', fallback: 'notification', hasNamespace: true, inAllQueues: true },
  secscanv4: { key: 'SECSCAN_V4_NOTIFICATION_QUEUE_NAME', fallback: 'secscanv4', hasNamespace: false, inAllQueues: false },
  exportactionlogs: { key: 'EXPORT_ACTION_LOGS_QUEUE_NAME', fallback: 'exportactionlogs', hasNamespace: true, inAllQueues: false },
  chunkcleanup: { key: 'CHUNK_CLEANUP_QUEUE_NAME', fallback: 'chunk_cleanup', hasNamespace: false, inAllQueues: true },
  repositorygc: { key: 'REPOSITORY_GC_QUEUE_NAME', fallback: 'repositorygc', hasNamespace: true, inAllQueues: true },
  // has_namespace false on purpose (app.py): a namespace's own deletion item must survive the purge.
  namespacegc: { key: 'NAMESPACE_GC_QUEUE_NAME', fallback: 'namespacegc', hasNamespace: false, inAllQueues: true },
} as const satisfies Record<string, QuayQueue>;

export type QuayQueueId = keyof typeof QUAY_QUEUES;

/** The queue's name under this config. */
export function quayQueueName(config: Readonly<Record<string, unknown>>, id: QuayQueueId): string {
  const q = QUAY_QUEUES[id];
  const v = config[q.key];
  return typeof v === 'string' && v !== '' ? v : q.fallback;
}

export function quayQueue(sql: PortableSql, config: Readonly<Record<string, unknown>>, id: QuayQueueId, now?: () => number): WorkQueue {
  return new WorkQueue(sql, quayQueueName(config, id), { hasNamespace: QUAY_QUEUES[id].hasNamespace, now });
}

/**
 * The queues purged of a namespace's items when it is deleted: Quay's
 * `all_queues`, in app.py's order. Both the mark (the API's deletes,
 * deletion-marks.ts) and namespacegcworker purge exactly these, as Quay's
 * `mark_namespace_for_deletion` and `delete_user` do. It leaves out
 * `proxycacheblob` and `exportactionlogs` (namespaced: an export queued
 * before the delete still runs, as in Quay) and `secscanv4` (not namespaced).
 */
export function namespacePurgeQueues(sql: PortableSql, config: Readonly<Record<string, unknown>>, now?: () => number): WorkQueue[] {
  return (Object.keys(QUAY_QUEUES) as QuayQueueId[]).filter((id) => QUAY_QUEUES[id].inAllQueues).map((id) => quayQueue(sql, config, id, now));
}
