/**
 * `quay worker`: Quay's background programs one per process (full mode's
 * shape: `quay serve` runs them in-process instead).
 *
 *   quay worker --list [--json]       every program of owner-maps/workers.tsv, its owner
 *                                     now (WORKER_OWNER_<PROGRAM> in the live config) and
 *                                     whether the TS side has it
 *   quay worker PROGRAM [--once]      run one program while the live config gives it to
 *                                     go; an admin listener serves /metrics, /healthz and
 *                                     /readyz; SIGTERM lets the item in flight finish
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { resolve } from 'node:path';
import { createAdminServer, metricsRoute } from '../lib/admin-server.js';
import { listenOn } from '../lib/listen.js';
import type { Logger } from '../lib/log.js';
import { decideWorker } from '../switchboard/core/decide.js';
import { WorkerRunner, type WorkerProgram } from '../workers/runner.js';
import { WorkerMetrics } from '../workers/metrics.js';
import { goSideOptions, goSidePrograms, openGoSide } from './runtime.js';
import { mkdirSync } from 'node:fs';
import { openDal } from '../dal/index.js';
import type { MetadataStore } from '../dal/model/store.js';
import { LocalStorage } from '../storage/local.js';
import { dataTierPrograms } from '../workers/programs/index.js';
import { idleReason } from '../workers/features.js';
import { storedReferrerFields, storedSizeFields } from '../registryd/index.js';
import { openSnapshots } from './snapshots.js';
import type { RuntimeConfig } from './config.js';

/** The programs the TS side has, by Quay's names (the composition root's list, quay/runtime.ts). */
export const TS_PROGRAMS: readonly string[] = [
  'autopruneworker',
  'blobuploadcleanupworker',
  'expiredappspecifictokenworker',
  'exportactionlogsworker',
  'gcworker',
  'globalpromstats',
  'manifestbackfillworker',
  'manifestsubjectbackfillworker',
  'namespacegcworker',
  'notificationworker',
  'queuecleanupworker',
  'quotaregistrysizeworker',
  'quotatotalworker',
  'repositoryactioncounter',
  'repositorygcworker',
  'servicekey',
];

export interface WorkerListRow {
  readonly program: string;
  readonly kind: string;
  readonly queue: string | null;
  readonly owner: 'python' | 'go';
  readonly reason: string;
  readonly switch_key: string;
  readonly built: boolean;
  /** Why Quay's own worker would idle under this config (its feature is off), or null. */
  readonly idle: string | null;
}

export async function listWorkers(configFile: string | undefined, quayConfig: Readonly<Record<string, unknown>>, log: Logger): Promise<WorkerListRow[]> {
  const snapshots = await openSnapshots({ configFile: configFile ? resolve(configFile) : undefined, env: process.env, cwd: process.cwd(), log });
  try {
    const snap = snapshots.current();
    return snap.owner_map.inventory.workers.map((w) => {
      const d = decideWorker(snap, w.program);
      return {
        program: w.program,
        kind: w.kind,
        queue: w.queue || null,
        owner: d?.owner ?? 'python',
        reason: d?.reason ?? 'not in the inventory',
        switch_key: w.switchKey,
        built: TS_PROGRAMS.includes(w.program),
        idle: idleReason(w.program, quayConfig),
      };
    });
  } finally {
    await snapshots.close();
  }
}

export function formatWorkerList(rows: readonly WorkerListRow[]): string {
  const head = ['PROGRAM', 'OWNER', 'REASON', 'KIND', 'QUEUE', 'TS SIDE', 'FEATURE'];
  const body = rows.map((r) => [r.program, r.owner, r.reason, r.kind, r.queue ?? '-', r.built ? 'built' : 'python only', r.idle === null ? 'on' : `idle: ${r.idle}`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cols) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export interface RunWorkerOptions {
  readonly program: string;
  readonly config: RuntimeConfig;
  readonly configFile: string | undefined;
  readonly once: boolean;
  readonly adminListen: { readonly host: string; readonly port: number } | null;
  readonly log: Logger;
  /** Resolves when the process is told to stop (SIGTERM, SIGINT). */
  readonly stopped: Promise<string>;
}

/**
 * What one program needs, and no more: the programs of the data tier get the
 * database and the storage driver; only blobuploadcleanupworker, which works
 * through the registry's upload service, opens the whole go side (and with it
 * the instance signing key, which a worker process otherwise has no use for).
 */
async function openProgram(o: RunWorkerOptions, metrics: WorkerMetrics): Promise<{ program: WorkerProgram; store: MetadataStore; close(): Promise<void> }> {
  const pick = (programs: readonly WorkerProgram[]): WorkerProgram => programs.find((p) => p.program === o.program)!;
  const deps = { log: o.log, quayConfig: o.config.quayConfig, metrics };
  if (o.program === 'blobuploadcleanupworker') {
    const side = await openGoSide(goSideOptions(o.config, o.log, null));
    return { program: pick(goSidePrograms(side, { staleUploadHours: 48, ...deps })), store: side.store, close: () => side.close() };
  }
  const c = o.config;
  const dal = await openDal({ databaseUri: c.databaseUri, databaseFile: c.databaseFile, storageLocation: c.storage.location });
  mkdirSync(c.storage.path, { recursive: true });
  const storage = new LocalStorage(c.storage.path, c.storage.location);
  return {
    program: pick(dataTierPrograms({ sql: dal.sql, dal, storage, referrerFields: storedReferrerFields, sizeFields: storedSizeFields, ...deps })),
    store: dal.metadata,
    close: () => dal.close(),
  };
}

/** Runs one program until stopped (or one pass with `once`). Resolves with the exit code. */
export async function runWorker(o: RunWorkerOptions): Promise<number> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'workers_' });
  const metrics = new WorkerMetrics(registry);
  const snapshots = await openSnapshots({
    configFile: o.configFile ? resolve(o.configFile) : undefined,
    env: process.env,
    cwd: process.cwd(),
    log: o.log.child({ component: 'snapshots' }),
  });
  const opened = await openProgram(o, metrics).catch(async (e: unknown) => {
    await snapshots.close();
    throw e;
  });
  const runner = new WorkerRunner(snapshots, [opened.program], o.log, metrics);
  const close = async (): Promise<void> => {
    await runner.stop();
    await opened.close();
    await snapshots.close();
  };
  if (o.once) {
    const d = decideWorker(snapshots.current(), o.program);
    if (d?.owner !== 'go') {
      o.log.warn(`${o.program} is owned by python (${d?.reason ?? 'default'}): not run here`, { program: o.program, key: d?.key ?? null });
      await close();
      return 0;
    }
    // Started, so the runner knows go owns it (its pass checks that between items); the start's own pass is the one awaited.
    runner.start();
    await runner.runOnce(o.program);
    const failed = runner.states()[0]!.last_error !== null;
    await close();
    return failed ? 1 : 0;
  }
  const admin = o.adminListen
    ? createAdminServer({
        routes: {
          '/metrics': metricsRoute(registry),
          '/healthz': (_req, send) => send(200, 'application/json', JSON.stringify({ status: 'ok' })),
          '/readyz': (_req, send) => {
            opened.store
              .listRepositories({ n: 1 })
              .then(
                () => true,
                () => false,
              )
              .then((db) => send(db ? 200 : 503, 'application/json', JSON.stringify({ status: db ? 'ready' : 'not ready', database: db, workers: runner.states() })));
          },
        },
        notFound: () => 'not found: try /metrics, /healthz or /readyz\n',
      })
    : null;
  let adminPort: number | null = null;
  if (admin && o.adminListen) {
    try {
      adminPort = await listenOn(admin, o.adminListen.host, o.adminListen.port);
    } catch (e) {
      await close();
      throw e;
    }
  }
  runner.start();
  o.log.info('quay worker running', { program: o.program, admin_listen: adminPort === null ? null : `${o.adminListen!.host}:${adminPort}`, owner: runner.states()[0]!.owner });
  const signal = await o.stopped;
  o.log.info('stopping: the item in flight finishes first', { program: o.program, signal });
  await close();
  if (admin) {
    admin.closeAllConnections();
    await new Promise<void>((r) => admin.close(() => r()));
  }
  o.log.info('stopped', { program: o.program });
  return 0;
}
