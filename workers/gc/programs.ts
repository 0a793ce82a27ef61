/**
 * Quay's garbage-collection workers as programs: gcworker
 * (workers/gc/gcworker.py), repositorygcworker
 * (workers/repositorygcworker.py) and namespacegcworker
 * (workers/namespacegcworker.py), on the engine of ./engine.ts.
 *
 * No Redis on the TS side yet, so neither takes Quay's global locks:
 * gcworker's REPO_GARBAGE_COLLECTION_<id> (one collector per repository) and
 * repositorygcworker's and namespacegcworker's LARGE_GARBAGE_COLLECTION (one
 * large purge at a time, across every worker). What stands in for them: every step re-checks under
 * its own transaction (a tag whose end moved is kept, a manifest or blob
 * something holds again is kept, a file is removed only while no row has its
 * checksum), so two collectors on the same repository do the same work twice
 * at worst; a purge is one queue item, claimed by one worker at a time.
 */
import type { Logger } from '../../lib/log.js';
import type { PortableSql } from '../../dal/model/portable-sql.js';
import type { Dal } from '../../dal/model/dal.js';
import type { QuotaAccounting } from '../../dal/model/store.js';
import { GcData, type GcSettings } from '../../dal/portable/gc.js';
import { NamespaceGcData } from '../../dal/portable/namespace-gc.js';
import { namespacePurgeQueues, quayQueue } from '../../dal/portable/quay-queues.js';
import type { StorageDriver } from '../../storage/driver.js';
import { queueProgram, JobError } from '../queue-worker.js';
import type { WorkerMetrics } from '../metrics.js';
import type { WorkerProgram } from '../runner.js';
import { GarbageCollector } from './engine.js';
import { NamespaceCollector } from './namespace.js';

/** Quay's repositorygcworker constants. */
export const REPOSITORY_GC = { pollSeconds: 60, reservationSeconds: 3 * 60 * 60, retryAfterSeconds: 300 } as const;

/** Quay's namespacegcworker constants (retry_after is QueueWorker's default). */
export const NAMESPACE_GC = { pollSeconds: 60, reservationSeconds: 3 * 60 * 60, retryAfterSeconds: 300 } as const;

type QuayKeys = Readonly<Record<string, unknown>>;

const flag = (c: QuayKeys, key: string, fallback: boolean): boolean => (typeof c[key] === 'boolean' ? (c[key] as boolean) : fallback);

/** GC's settings from Quay's keys (defaults from Quay's config.py). */
export function gcSettings(c: QuayKeys): GcSettings {
  const quota: QuotaAccounting = flag(c, 'FEATURE_QUOTA_MANAGEMENT', false) ? 'count' : flag(c, 'QUOTA_INVALIDATE_TOTALS', true) ? 'invalidate' : 'none';
  return { quota, protectImmutable: flag(c, 'FEATURE_IMMUTABLE_TAGS', false) && !flag(c, 'FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE', false) };
}

/** Quay's workers that see these keys sleep for ever instead of working. */
function parked(c: QuayKeys, feature: string): string | null {
  if (flag(c, 'ACCOUNT_RECOVERY_MODE', false)) return 'ACCOUNT_RECOVERY_MODE';
  if (!flag(c, feature, true)) return `${feature} is off`;
  if (flag(c, 'DISABLE_PUSHES', false)) return 'DISABLE_PUSHES';
  return null;
}

export interface GcProgramDeps {
  readonly dal: Dal;
  readonly sql: PortableSql;
  readonly storage: StorageDriver;
  readonly log: Logger;
  readonly quayConfig: QuayKeys;
  readonly metrics: WorkerMetrics | null;
  readonly now?: () => number;
  /** [0, 1): which policy and repository a gcworker pass picks (Quay picks at random). */
  readonly random?: () => number;
}

export function gcCollector(d: GcProgramDeps, log: Logger): { data: GcData; gc: GarbageCollector } {
  const settings = gcSettings(d.quayConfig);
  const data = new GcData(d.dal, settings);
  return { data, gc: new GarbageCollector({ data, storage: d.storage, settings, log, now: d.now }) };
}

/**
 * gcworker: every GARBAGE_COLLECTION_FREQUENCY seconds (30), one of the
 * namespaces' time-machine windows at random, then at random one repository
 * (of up to 500) with a tag that ended longer ago than that window, and
 * garbage_collect_repo on it. As in Quay, only expired tags make a
 * repository a candidate: its expired uploaded blobs are collected with them.
 */
export function gcWorker(d: GcProgramDeps): WorkerProgram {
  const log = d.log.child({ program: 'gcworker' });
  const { data, gc } = gcCollector(d, log);
  const now = d.now ?? Date.now;
  const random = d.random ?? Math.random;
  const every = d.quayConfig.GARBAGE_COLLECTION_FREQUENCY;
  const pick = <T>(xs: readonly T[]): T => xs[Math.min(xs.length - 1, Math.floor(random() * xs.length))]!;
  return {
    program: 'gcworker',
    everyMs: (typeof every === 'number' && every > 0 ? every : 30) * 1000,
    async run(active) {
      if (parked(d.quayConfig, 'FEATURE_GARBAGE_COLLECTION') !== null) return null;
      const policies = await data.gcPolicies();
      if (policies.length === 0) return null;
      const policy = pick(policies);
      const candidates = await data.repositoriesWithGarbage(policy, now());
      if (candidates.length === 0) return null;
      const repo = await data.repository(pick(candidates));
      if (!repo) return null;
      const counts = await gc.garbageCollectRepo(repo, active);
      return { repository_id: repo.id, namespace: repo.namespace, repository: repo.name, policy_seconds: policy, ...counts };
    },
  };
}

/**
 * repositorygcworker: queue `repositorygc`, body {"marker_id",
 * "original_name"}. The `deletedrepository` marker names the repository;
 * purge_repository removes it and everything in it. No marker: nothing to
 * do (done). A purge that could not finish is retried.
 */
export function repositoryGcWorker(d: GcProgramDeps): WorkerProgram {
  const log = d.log.child({ program: 'repositorygcworker' });
  const { data, gc } = gcCollector(d, log);
  const queue = quayQueue(d.sql, d.quayConfig, 'repositorygc', d.now);
  const program = queueProgram(
    {
      program: 'repositorygcworker',
      queue,
      pollSeconds: REPOSITORY_GC.pollSeconds,
      reservationSeconds: REPOSITORY_GC.reservationSeconds,
      retryAfterSeconds: REPOSITORY_GC.retryAfterSeconds,
      async process(job) {
        const markerId = job.marker_id;
        if (typeof markerId !== 'number' && typeof markerId !== 'string') throw new JobError('queue item has no marker_id');
        const marker = await data.deletedRepositoryMarker(markerId);
        if (!marker) {
          log.info('no such deleted-repository marker: nothing to purge', { marker_id: markerId });
          return;
        }
        const repo = await data.repository(marker.repositoryId);
        if (!repo) return;
        log.info('purging repository', { repository_id: repo.id, namespace: repo.namespace, repository: repo.name, original_name: job.original_name ?? null });
        if (!(await gc.purgeRepository(repo))) throw new JobError('GC interrupted; will retry');
      },
    },
    log,
    d.metrics,
  );
  return {
    ...program,
    // Quay's worker sleeps for ever when FEATURE_REPOSITORY_GARBAGE_COLLECTION is off (or in recovery mode, or with pushes disabled).
    run: (active) => (parked(d.quayConfig, 'FEATURE_REPOSITORY_GARBAGE_COLLECTION') !== null ? Promise.resolve(null) : program.run(active)),
  };
}

/**
 * namespacegcworker: queue `namespacegc` (NAMESPACE_GC_QUEUE_NAME; names
 * `namespacegc/<user id>/`, not namespaced), body {"marker_id",
 * "original_username"}. The `deletednamespace` marker names the namespace;
 * delete_user removes its repositories (purge_repository, files included),
 * its linked data and the namespace itself. No marker: nothing to do (done).
 * A deletion that could not finish is retried.
 */
export function namespaceGcWorker(d: GcProgramDeps): WorkerProgram {
  const log = d.log.child({ program: 'namespacegcworker' });
  const { data: gcData, gc } = gcCollector(d, log);
  const collector = new NamespaceCollector({ data: new NamespaceGcData(d.dal), gcData, gc, queues: namespacePurgeQueues(d.sql, d.quayConfig, d.now), log });
  const program = queueProgram(
    {
      program: 'namespacegcworker',
      queue: quayQueue(d.sql, d.quayConfig, 'namespacegc', d.now),
      pollSeconds: NAMESPACE_GC.pollSeconds,
      reservationSeconds: NAMESPACE_GC.reservationSeconds,
      retryAfterSeconds: NAMESPACE_GC.retryAfterSeconds,
      async process(job) {
        const markerId = job.marker_id;
        if (typeof markerId !== 'number' && typeof markerId !== 'string') throw new JobError('queue item has no marker_id');
        log.info('deleting namespace', { marker_id: markerId, original_username: job.original_username ?? null });
        const done = await collector.deleteViaMarker(markerId);
        if (done === null) log.info('no such deleted-namespace marker: nothing to delete', { marker_id: markerId });
        else if (done === false) throw new JobError('GC interrupted; will retry');
        else log.info('namespace deleted', { marker_id: markerId, original_username: job.original_username ?? null, ...done });
      },
    },
    log,
    d.metrics,
  );
  return {
    ...program,
    // Quay's worker sleeps for ever when FEATURE_NAMESPACE_GARBAGE_COLLECTION is off (or in recovery mode, or with pushes disabled).
    run: (active) => (parked(d.quayConfig, 'FEATURE_NAMESPACE_GARBAGE_COLLECTION') !== null ? Promise.resolve(null) : program.run(active)),
  };
}
