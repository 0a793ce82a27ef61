/**
 * The go side's background programs that live on the data tier alone (the
 * composition root, quay/runtime.ts, adds those that need the registry's
 * services). Each is one of Quay's worker programs under its own name.
 */
import type { Logger } from '../../lib/log.js';
import type { PortableSql } from '../../dal/model/portable-sql.js';
import type { Dal } from '../../dal/model/dal.js';
import type { StorageDriver } from '../../storage/driver.js';
import { Notifications } from '../../dal/portable/notifications.js';
import { deleteExpiredItems } from '../../dal/portable/queue.js';
import { quayQueue } from '../../dal/portable/quay-queues.js';
import { queueProgram } from '../queue-worker.js';
import type { WorkerMetrics } from '../metrics.js';
import type { WorkerProgram } from '../runner.js';
import { notificationJob, notificationSettings } from './notificationworker.js';
import { expiredAppTokenProgram, quotaTotalProgram, registrySizeProgram, serviceKeyProgram } from './schedulers.js';
import { gcWorker, namespaceGcWorker, repositoryGcWorker } from '../gc/programs.js';
import { autoPruneProgram } from './autopruneworker.js';
import { repositoryActionCounter } from './repositoryactioncounter.js';
import { manifestSubjectBackfill, type ReferrerFieldsReader } from './manifestsubjectbackfillworker.js';
import { manifestSizeBackfill, type SizeFieldsReader } from './manifestbackfillworker.js';
import { globalPromStats } from './globalpromstats.js';
import { ActionLogs } from '../../dal/portable/logs.js';
import { exportJob, exportSettings } from './exportactionlogsworker.js';

export interface ProgramDeps {
  readonly sql: PortableSql;
  /** The same database as a Dal (its transactions): garbage collection. */
  readonly dal: Dal;
  /** Where blob files live: garbage collection removes them. */
  readonly storage: StorageDriver;
  readonly log: Logger;
  /** Every Quay key of the config (programs read their settings from them). */
  readonly quayConfig: Readonly<Record<string, unknown>>;
  readonly metrics: WorkerMetrics | null;
  /** How the registry reads a stored manifest's subject and artifact type (manifestsubjectbackfillworker). */
  readonly referrerFields: ReferrerFieldsReader;
  /** How the registry reads a stored manifest's layers' size and config media type (manifestbackfillworker). */
  readonly sizeFields: SizeFieldsReader;
  readonly now?: () => number;
  /** [0, 1): gcworker's random picks (tests fix it). */
  readonly random?: () => number;
}

/** queuecleanupworker's constants (workers/queuecleanupworker.py). */
export const QUEUE_CLEANUP = { olderThanMs: 86_400_000, countThreshold: 50, batchSize: 500 } as const;

export function dataTierPrograms(d: ProgramDeps): WorkerProgram[] {
  const now = d.now ?? Date.now;
  const cleanupEvery = d.quayConfig.QUEUE_CLEANUP_FREQUENCY;
  const notifications = notificationSettings(d.quayConfig);
  const exports = exportSettings(d.quayConfig);
  return [
    expiredAppTokenProgram({ sql: d.sql, log: d.log.child({ program: 'expiredappspecifictokenworker' }), quayConfig: d.quayConfig, now }),
    registrySizeProgram({ sql: d.sql, quayConfig: d.quayConfig, now }),
    quotaTotalProgram({ sql: d.sql, log: d.log.child({ program: 'quotatotalworker' }), quayConfig: d.quayConfig, now }),
    queueProgram(
      {
        program: 'notificationworker',
        queue: quayQueue(d.sql, d.quayConfig, 'notification', now),
        // Quay's NotificationWorker(notification_queue, poll_period_seconds=10, reservation_seconds=30, retry_after_seconds=30).
        pollSeconds: 10,
        reservationSeconds: 30,
        retryAfterSeconds: 30,
        process: notificationJob({
          notifications: new Notifications(d.sql),
          settings: notifications,
          log: d.log.child({ program: 'notificationworker' }),
          now,
        }),
      },
      d.log.child({ program: 'notificationworker' }),
      d.metrics,
    ),
    queueProgram(
      {
        program: 'exportactionlogsworker',
        queue: quayQueue(d.sql, d.quayConfig, 'exportactionlogs', now),
        // Quay's ExportActionLogsWorker(queue, poll_period_seconds=EXPORT_ACTION_LOGS_WORKER_POLL_PERIOD): QueueWorker's
        // reservation and retry_after of 300 s.
        pollSeconds: exports.pollSeconds,
        reservationSeconds: 300,
        retryAfterSeconds: 300,
        process: exportJob({ logs: new ActionLogs(d.sql), storage: d.storage, settings: exports, log: d.log.child({ program: 'exportactionlogsworker' }) }),
      },
      d.log.child({ program: 'exportactionlogsworker' }),
      d.metrics,
    ),
    {
      // Quay's queuecleanupworker: items whose processing expired over a day ago, in batches of 500, once 50 have gathered.
      // Quay compares the UTC processing_expires with its local time (the same in its container, where TZ is UTC); this uses UTC.
      program: 'queuecleanupworker',
      everyMs: (typeof cleanupEvery === 'number' && cleanupEvery > 0 ? cleanupEvery : 86_400) * 1000,
      run: async (active) => {
        let deleted = 0;
        while (active()) {
          const n = await deleteExpiredItems(d.sql, now() - QUEUE_CLEANUP.olderThanMs, QUEUE_CLEANUP.countThreshold, QUEUE_CLEANUP.batchSize);
          if (n === 0) break;
          deleted += n;
        }
        return deleted > 0 ? { deleted } : null;
      },
    },
    gcWorker(d),
    repositoryGcWorker(d),
    namespaceGcWorker(d),
    serviceKeyProgram({ keys: d.dal.serviceKeys, quayConfig: d.quayConfig, now }),
    autoPruneProgram({ dal: d.dal, log: d.log.child({ program: 'autopruneworker' }), quayConfig: d.quayConfig, now }),
    repositoryActionCounter({ sql: d.sql, log: d.log.child({ program: 'repositoryactioncounter' }), quayConfig: d.quayConfig, now }),
    manifestSubjectBackfill({ sql: d.sql, referrerFields: d.referrerFields, log: d.log.child({ program: 'manifestsubjectbackfillworker' }), quayConfig: d.quayConfig }),
    manifestSizeBackfill({ sql: d.sql, sizeFields: d.sizeFields, log: d.log.child({ program: 'manifestbackfillworker' }), quayConfig: d.quayConfig }),
    globalPromStats({ sql: d.sql, quayConfig: d.quayConfig, metrics: d.metrics }),
  ];
}
