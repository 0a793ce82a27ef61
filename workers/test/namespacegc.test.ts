/**
 * namespacegcworker (workers/gc/namespace.ts through its queue program) on
 * SQLite and a fresh PostgreSQL: an organization marked for deletion with
 * repositories, content, team, robot, OAuth application, quota, auto-prune
 * policy and queue items goes entirely — rows and the files only it held —
 * while a blob another namespace holds keeps its row and file, and the
 * people and repositories outside it stay. A missing marker is nothing to
 * do; the feature flag parks the program as Quay's worker sleeps.
 * Needs the local PostgreSQL; fails, never skips.
 */
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openStoreSides } from '../../dal/test/lib/store-sides.js';
import { buildNamespace } from '../../dal/test/lib/namespace-fixture.js';
import { digestOf as digest, testManifest as manifest } from '../../dal/test/lib/manifests.js';
import { WorkQueue } from '../../dal/portable/queue.js';
import { LocalStorage } from '../../storage/local.js';
import { blobKey } from '../../storage/paths.js';
import { createLogger } from '../../lib/log.js';
import { tempDir } from '../../test/lib/proc.js';
import { namespaceGcWorker, type GcProgramDeps } from '../gc/programs.js';

const { sides } = await openStoreSides(t);
const quiet = createLogger({}, { write: () => {} });
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0, 0);
const [CFG, SHARED, ONLY_ORG, OTHER] = ['a', 'b', 'c', 'e'].map(digest) as [string, string, string, string];

for (const s of sides) {
  const root = tempDir(t, `nsgc-${s.kind}-`);
  const storage = new LocalStorage(root);
  const now = T0;
  const deps = (quayConfig: Record<string, unknown> = {}): GcProgramDeps => ({ dal: s.dal, sql: s.dal.sql, storage, log: quiet, quayConfig, metrics: null, now: () => now });
  const count = async (sql: string, ...p: unknown[]): Promise<number> => Number((await s.raw(sql, ...p))[0]!.n);
  const commit = async (repo: number, d: string): Promise<void> => {
    await s.meta.commitBlob({
      uploadUuid: null,
      repositoryId: repo,
      digest: d,
      size: 10,
      uncompressedSize: null,
      location: 'local_us',
      nowMs: now,
      linkExpiresMs: now + 3_600_000,
    });
    const f = join(root, ...blobKey(d).split('/'));
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, d);
  };

  t.test(`${s.kind}: an organization marked for deletion goes with its repositories, files and linked rows`, async (t) => {
    const org = `nsorg${s.kind}`;
    const f = await buildNamespace(s, org, now);
    const second = await s.meta.createRepository(`${org}tmp`, 'second', 'private', now);
    await s.raw('UPDATE repository SET namespace_user_id = ? WHERE id = ?', f.orgId, second.id);
    for (const d of [CFG, SHARED, ONLY_ORG]) await commit(f.repoId, d);
    for (const d of [CFG, SHARED]) await commit(second.id, d);
    await s.meta.putManifest(f.repoId, manifest(digest('m1'), [CFG, SHARED, ONLY_ORG]), { tag: 'latest' }, now);
    await s.meta.putManifest(second.id, manifest(digest('m2'), [CFG, SHARED]), { tag: 'v1' }, now);
    for (const d of [CFG, SHARED, OTHER]) await commit(f.otherRepoId, d);
    await s.meta.putManifest(f.otherRepoId, manifest(digest('o1'), [CFG, SHARED, OTHER]), { tag: 'latest' }, now);

    const renamed = String((await s.raw('SELECT username FROM "user" WHERE id = ?', f.orgId))[0]!.username);
    await new WorkQueue(s.dal.sql, 'notification', { hasNamespace: true }).put([renamed, 'x'], '{}');
    // Not in Quay's all_queues: an export queued before the delete still runs, as in Quay.
    const kept = await new WorkQueue(s.dal.sql, 'exportactionlogs', { hasNamespace: true }).put([renamed, 'x'], '{}');
    const gcQueue = new WorkQueue(s.dal.sql, 'namespacegc', { hasNamespace: false, now: () => now });
    await gcQueue.put([String(f.orgId)], JSON.stringify({ marker_id: f.markerId, original_username: org }));
    await gcQueue.put(['999999'], JSON.stringify({ marker_id: 999_999, original_username: 'gone' }));

    t.equal(await namespaceGcWorker(deps({ FEATURE_NAMESPACE_GARBAGE_COLLECTION: false })).run(() => true), null, 'FEATURE_NAMESPACE_GARBAGE_COLLECTION off: parked');
    const did = await namespaceGcWorker(deps()).run(() => true);
    t.same(did, { completed: 2, retried: 0, failed: 0 }, 'both items done (a missing marker is nothing to do)');

    t.equal(await count('SELECT COUNT(*) AS n FROM "user" WHERE id IN (?, ?)', f.orgId, f.robotId), 0, 'the organization and its robot are gone');
    t.equal(await count('SELECT COUNT(*) AS n FROM repository WHERE namespace_user_id = ?', f.orgId), 0, 'its repositories are gone');
    for (const table of ['tag', 'manifest', 'manifestblob', 'uploadedblob', 'repositorypermission'])
      t.equal(await count(`SELECT COUNT(*) AS n FROM ${table} WHERE repository_id IN (?, ?)`, f.repoId, second.id), 0, `no ${table} rows of its repositories`);
    for (const table of [
      'team',
      'oauthapplication',
      'quotalimits',
      'userorganizationquota',
      'namespaceautoprunepolicy',
      'autoprunetaskstatus',
      'deletednamespace',
      'robotaccounttoken',
    ])
      t.equal(await count(`SELECT COUNT(*) AS n FROM ${table}`), 0, `no ${table} rows`);
    t.same(
      (await s.raw('SELECT id FROM queueitem')).map((r) => Number(r.id)),
      [kept],
      "its items purged from Quay's all_queues and the deletion items done; the export (a queue all_queues leaves out) stays",
    );
    t.same((await storage.list('')).sort(), [CFG, SHARED, OTHER].map(blobKey).sort(), 'the file only it held is gone; the blobs another namespace holds stay');
    t.equal(await count('SELECT COUNT(*) AS n FROM imagestorage WHERE content_checksum = ?', ONLY_ORG), 0, "its own blob's row is gone");
    t.equal(await count('SELECT COUNT(*) AS n FROM "user" WHERE id = ?', f.memberId), 1, 'the member (another namespace) stays');
    t.equal(await count('SELECT COUNT(*) AS n FROM tag WHERE repository_id = ?', f.otherRepoId), 1, "the other namespace's repository keeps its tag");
    t.equal(
      await count('SELECT COUNT(*) AS n FROM repositorybuildtrigger WHERE repository_id = ? AND pull_robot_id IS NULL', f.otherRepoId),
      1,
      'its trigger stays, without the deleted robot',
    );
  });
}
