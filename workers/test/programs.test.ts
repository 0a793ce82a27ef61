/**
 * The queue-program framework's outcomes (Quay's QueueWorker), and the
 * small programs, on both dialects: expiredappspecifictokenworker's window
 * and its idle states, queuecleanupworker's threshold. The programs the TS
 * side says it has (TS_PROGRAMS, `quay worker --list`) are the ones the
 * runtime runs.
 */
import t from 'tap';
import { storedReferrerFields, storedSizeFields } from '../../registryd/index.js';
import { Registry } from 'prom-client';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStorage } from '../../storage/local.js';
import { openStoreSides } from '../../dal/test/lib/store-sides.js';
import { WorkQueue } from '../../dal/portable/queue.js';
import { sqlTime } from '../../dal/model/time.js';
import { JobError, WorkerUnhealthyError, queueProgram, type QueueProgramSpec } from '../queue-worker.js';
import type { WorkerProgram } from '../runner.js';
import { WorkerMetrics } from '../metrics.js';
import { dataTierPrograms } from '../programs/index.js';
import { expiredAppTokenProgram, parseTimedelta, registrySizeProgram } from '../programs/schedulers.js';
import { TS_PROGRAMS } from '../../quay/worker-cli.js';
import { idleReason } from '../features.js';
import { createLogger, type Logger } from '../../lib/log.js';

const { sides } = await openStoreSides(t);

/** A storage driver on a temporary directory (the garbage collectors need one; nothing here writes blobs). */
function storageFor(tt: { teardown(fn: () => unknown): void }): LocalStorage {
  const dir = mkdtempSync(join(tmpdir(), 'workers-programs-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return new LocalStorage(dir);
}
const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);

/** A logger that keeps its lines. */
function captureLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ component: 'test' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

/** A queue program on `queue` with notificationworker's name and timings, doing `process` per item. */
const testProgram = (queue: WorkQueue, process: QueueProgramSpec['process'], log: Logger, metrics: WorkerMetrics | null): WorkerProgram =>
  queueProgram({ program: 'notificationworker', queue, pollSeconds: 10, reservationSeconds: 30, retryAfterSeconds: 30, process }, log, metrics);

for (const s of sides) {
  t.test(`${s.kind}: a queue program's outcomes follow Quay's QueueWorker`, async (t) => {
    let now = T0;
    const q = new WorkQueue(s.dal.sql, `fw${s.kind}`, { hasNamespace: true, now: () => now });
    const { log, lines } = captureLog();
    const registry = new Registry();
    const metrics = new WorkerMetrics(registry, () => now);
    const seen: string[] = [];
    const program = testProgram(
      q,
      async (job) => {
        seen.push(String(job.kind));
        if (job.kind === 'job') throw new JobError('bad item');
        if (job.kind === 'crash') throw new Error('bug');
        if (job.kind === 'unhealthy') throw new WorkerUnhealthyError('no database');
      },
      log,
      metrics,
    );
    for (const kind of ['ok', 'job', 'crash']) await q.put(['ns', kind], JSON.stringify({ kind }));
    await q.put(['ns', 'bad'], '[1, 2');
    const did = await program.run(() => true);
    t.same(seen.sort(), ['crash', 'job', 'ok'], 'every readable item processed once');
    t.same(did, { completed: 1, retried: 2, failed: 1 });
    const rows = await s.raw(`SELECT queue_name, retries_remaining, available FROM queueitem WHERE queue_name LIKE ? ORDER BY queue_name`, `fw${s.kind}/%`);
    t.same(
      rows.map((r) => [String(r.queue_name).split('/')[2], Number(r.retries_remaining)]),
      [
        ['bad', 0],
        ['crash', 4],
        ['job', 4],
      ],
      'ok completed; job and crash back with one retry spent; the unreadable one spent',
    );
    t.ok(
      lines.some((l) => l.level === 'error' && String(l.msg).includes('not a JSON object')),
      'the unreadable item is logged',
    );
    t.equal(await program.run(() => true), null, 'the retried items wait for retry_after');

    now += 30_000;
    await q.put(['ns', 'unhealthy'], JSON.stringify({ kind: 'unhealthy' }));
    await s.raw(`DELETE FROM queueitem WHERE queue_name LIKE ? AND queue_name NOT LIKE ?`, `fw${s.kind}/%`, `%unhealthy%`);
    await program.run(() => true);
    const [u] = await s.raw(`SELECT retries_remaining FROM queueitem WHERE queue_name LIKE ?`, `fw${s.kind}/%unhealthy%`);
    t.equal(Number(u!.retries_remaining), 5, 'an unhealthy worker gives the retry back');

    const text = await registry.metrics();
    t.match(text, /workers_queue_items_total\{program="notificationworker",outcome="completed"\} 1/);
    t.match(text, /workers_queue_items_total\{program="notificationworker",outcome="returned"\} 1/);
    t.match(text, /workers_queue_depth\{program="notificationworker",state="available"\} 0/);
  });

  t.test(`${s.kind}: a pass stops claiming once the program is no longer go's; the item in flight finishes`, async (t) => {
    const q = new WorkQueue(s.dal.sql, `own${s.kind}`, { hasNamespace: false });
    for (let i = 0; i < 5; i++) await q.put([String(i)], '{}');
    let owned = true;
    let done = 0;
    const program = testProgram(
      q,
      async () => {
        owned = false; // the kill switch flips while the first item is processed
        await new Promise((r) => setTimeout(r, 5));
        done++;
      },
      captureLog().log,
      null,
    );
    await program.run(() => owned);
    t.equal(done, 1, 'the item in flight finished, no other was claimed');
    t.equal((await q.stats()).available, 4);
  });

  t.test(`${s.kind}: expiredappspecifictokenworker deletes tokens expired past the window`, async (t) => {
    const user = await s.dal.users.createUser({ username: `tok${s.kind}`, email: `tok${s.kind}@example.com`, passwordHash: null }, T0);
    const mk = async (title: string, expirationMs: number | null): Promise<void> =>
      s.dal.users.createAppToken(user.id, { uuid: `${title}-${s.kind}`, title, prefix: `${title}${s.kind}`.padEnd(60, 'x').slice(0, 60), encryptedSecret: 'x', expirationMs }, T0);
    await mk('old', T0 - 2 * 86_400_000);
    await mk('recent', T0 - 3600_000);
    await mk('live', T0 + 86_400_000);
    await mk('never', null);
    const titles = async (): Promise<string[]> => (await s.raw('SELECT title FROM appspecificauthtoken WHERE user_id = ? ORDER BY title', user.id)).map((r) => String(r.title));
    const p = expiredAppTokenProgram({ sql: s.dal.sql, log: captureLog().log, quayConfig: {}, now: () => T0 });
    t.same(await p.run(() => true), { deleted: 1, window: '1d' });
    t.same(await titles(), ['live', 'never', 'recent'], 'only the token expired over a day ago is gone');
    const off = captureLog();
    const idle = expiredAppTokenProgram({ sql: s.dal.sql, log: off.log, quayConfig: { EXPIRED_APP_SPECIFIC_TOKEN_GC: null }, now: () => T0 + 10 * 86_400_000 });
    t.equal(await idle.run(() => true), null);
    t.same(await titles(), ['live', 'never', 'recent'], 'a null window: idle, as Quay');
    t.match(String(off.lines[0]?.msg), /idle: garbage collection of app-specific tokens is disabled/);
    const tight = expiredAppTokenProgram({ sql: s.dal.sql, log: captureLog().log, quayConfig: { EXPIRED_APP_SPECIFIC_TOKEN_GC: '30m' }, now: () => T0 });
    t.same(await tight.run(() => true), { deleted: 1, window: '30m' });
    t.same(await titles(), ['live', 'never']);
  });

  t.test(`${s.kind}: queuecleanupworker deletes expired items once 50 have gathered`, async (t) => {
    await s.raw('DELETE FROM queueitem');
    const cleanup = dataTierPrograms({
      referrerFields: storedReferrerFields,
      sizeFields: storedSizeFields,
      sql: s.dal.sql,
      dal: s.dal,
      storage: storageFor(t),
      log: captureLog().log,
      quayConfig: {},
      metrics: null,
      now: () => T0,
    }).find((p) => p.program === 'queuecleanupworker')!;
    const expired = sqlTime(T0 - 2 * 86_400_000);
    const put = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        await s.raw(
          `INSERT INTO queueitem (queue_name, body, available_after, available, processing_expires, retries_remaining, state_id) VALUES (?, '{}', ?, ?, ?, 0, ?)`,
          'x/',
          expired,
          s.kind === 'pg' ? false : 0,
          expired,
          `st-${s.kind}-${Math.random()}`,
        );
      }
    };
    await put(49);
    t.equal(await cleanup.run(() => true), null, '49: below the threshold');
    await put(1);
    t.same(await cleanup.run(() => true), { deleted: 50 });
  });
}

t.test("parseTimedelta reads Quay's <n><unit>", async (t) => {
  t.equal(parseTimedelta('1d'), 86_400_000);
  t.equal(parseTimedelta('30m'), 1_800_000);
  t.equal(parseTimedelta('2w'), 14 * 86_400_000);
  t.equal(parseTimedelta('5x'), null);
  t.equal(parseTimedelta(5), null);
});

t.test('every program quay worker --list calls built is one the runtime runs', async (t) => {
  const names = dataTierPrograms({
    referrerFields: storedReferrerFields,
    sizeFields: storedSizeFields,
    sql: sides[0]!.dal.sql,
    dal: sides[0]!.dal,
    storage: storageFor(t),
    log: captureLog().log,
    quayConfig: {},
    metrics: null,
  }).map((p) => p.program);
  for (const p of TS_PROGRAMS) t.ok(p === 'blobuploadcleanupworker' || names.includes(p), `${p} is run by the runtime`);
  for (const p of names) t.ok(TS_PROGRAMS.includes(p), `${p} is listed as built`);
});

t.test('the quick start gives every built program to go (no Python Quay runs there)', async (t) => {
  const example = readFileSync(new URL('../../examples/quickstart.yaml', import.meta.url), 'utf8');
  const given = [...example.matchAll(/^\s*WORKER_OWNER_([A-Z_]+):\s*go\s*$/gm)].map((m) => m[1]!.toLowerCase());
  t.same([...given].sort(), [...TS_PROGRAMS].map((p) => p.replace(/-/g, '_')).sort(), 'examples/quickstart.yaml lists exactly the built programs');
});

t.test("idleReason: when Quay's own worker would sleep for ever", async (t) => {
  t.equal(idleReason('notificationworker', {}), null, 'no gate');
  t.equal(idleReason('gcworker', {}), null, 'FEATURE_GARBAGE_COLLECTION is on by default');
  t.equal(idleReason('gcworker', { FEATURE_GARBAGE_COLLECTION: false }), 'FEATURE_GARBAGE_COLLECTION is off');
  t.equal(idleReason('repomirrorworker', {}), 'FEATURE_REPO_MIRROR is off', 'off by default');
  t.equal(idleReason('repomirrorworker', { FEATURE_REPO_MIRROR: true }), null);
  t.equal(idleReason('securityscanningnotificationworker', { FEATURE_SECURITY_SCANNER: true }), 'FEATURE_SECURITY_NOTIFICATIONS is off', 'both flags');
  t.equal(idleReason('storagereplication', { FEATURE_STORAGE_REPLICATION: true }), 'a LocalStorage location is configured (Quay does not replicate with local storage)');
  t.equal(idleReason('storagereplication', { FEATURE_STORAGE_REPLICATION: true, DISTRIBUTED_STORAGE_CONFIG: { s3: ['S3Storage', {}] } }), null);
  t.match(idleReason('chunkcleanupworker', {}), /no SwiftStorage/);
  t.equal(idleReason('notificationworker', { ACCOUNT_RECOVERY_MODE: true }), 'ACCOUNT_RECOVERY_MODE is on', 'every program in account recovery mode');
  t.equal(idleReason('quotaregistrysizeworker', { FEATURE_QUOTA_MANAGEMENT: true }), null);
  t.match(idleReason('quotaregistrysizeworker', { FEATURE_QUOTA_MANAGEMENT: true, FEATURE_SUPER_USERS: false, SUPER_USERS: ['admin'] }), /superusers are off/);
});

t.test('idleReason: the other settings Quay checks at start', async (t) => {
  t.equal(idleReason('gcworker', { DISABLE_PUSHES: true }), 'DISABLE_PUSHES is on');
  t.equal(idleReason('repositorygcworker', { DISABLE_PUSHES: true }), 'DISABLE_PUSHES is on');
  t.equal(idleReason('quotatotalworker', { FEATURE_QUOTA_MANAGEMENT: true, QUOTA_BACKFILL: false }), 'QUOTA_BACKFILL is off');
  t.equal(idleReason('quotatotalworker', { FEATURE_QUOTA_MANAGEMENT: true }), null);
  t.equal(idleReason('pullstatsredisflushworker', { FEATURE_IMAGE_PULL_STATS: true }), null, "Quay's default PULL_METRICS_REDIS");
  t.equal(idleReason('pullstatsredisflushworker', { FEATURE_IMAGE_PULL_STATS: true, PULL_METRICS_REDIS: null }), 'PULL_METRICS_REDIS is not set');
});
