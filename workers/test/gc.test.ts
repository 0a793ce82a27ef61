/**
 * Garbage collection (dal/portable/gc.ts + workers/gc/) on SQLite and on a
 * fresh PostgreSQL: garbage_collect_repo takes the tags past the namespace's
 * time-machine window and expired uploaded blobs, with the manifests, labels,
 * storage rows and files only they held; a blob another repository holds
 * keeps its row and file; purge_repository (through repositorygcworker's
 * queue) removes a repository and what only it held; gcworker picks a
 * repository with garbage. The clock is a variable; nothing waits.
 * Needs the local PostgreSQL; fails, never skips.
 */
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openStoreSides, type Side } from '../../dal/test/lib/store-sides.js';
import { digestOf as digest, testManifest as manifest } from '../../dal/test/lib/manifests.js';
import { LocalStorage } from '../../storage/local.js';
import { blobKey } from '../../storage/paths.js';
import { createLogger } from '../../lib/log.js';
import { tempDir } from '../../test/lib/proc.js';
import { WorkQueue } from '../../dal/portable/queue.js';
import { gcCollector, gcWorker, repositoryGcWorker, type GcProgramDeps } from '../gc/programs.js';
import { EMPTY_LAYER_BLOB_DIGEST } from '../gc/engine.js';

const { sides } = await openStoreSides(t);
const quiet = createLogger({}, { write: () => {} });

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0, 0);
const HOUR = 3_600_000;
const WINDOW_S = 3600;

const [CFG, SHARED, ONLY_OLD, ONLY_NEW, UPLOADED, B_ONLY] = ['c', 'd', 'e', 'f', '1', '2'].map(digest) as [string, string, string, string, string, string];

for (const s of sides) {
  let now = T0;
  const root = tempDir(t, `gc-${s.kind}-`);
  const storage = new LocalStorage(root);
  const deps = (quayConfig: Record<string, unknown> = {}): GcProgramDeps => ({
    dal: s.dal,
    sql: s.dal.sql,
    storage,
    log: quiet,
    quayConfig,
    metrics: null,
    now: () => now,
    random: () => 0,
  });
  const ns = `gc${s.kind}`;
  const files = async (): Promise<string[]> => (await storage.list('')).sort();
  const count = async (sql: string, ...p: unknown[]): Promise<number> => Number((await s.raw(sql, ...p))[0]!.n);
  const blobRow = async (d: string): Promise<number> => count('SELECT COUNT(*) AS n FROM imagestorage WHERE content_checksum = ?', d);
  const commit = async (repo: number, d: string): Promise<void> => {
    await s.meta.commitBlob({ uploadUuid: null, repositoryId: repo, digest: d, size: 10, uncompressedSize: null, location: 'local_us', nowMs: now, linkExpiresMs: now + HOUR });
    const f = join(root, ...blobKey(d).split('/'));
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, d);
  };

  t.test(`${s.kind}: garbage_collect_repo takes what only expired tags and uploads held; shared blobs stay`, async (t) => {
    now = T0;
    const a = await s.meta.createRepository(ns, 'a', 'private', now);
    const b = await s.meta.createRepository(ns, 'b', 'private', now);
    await s.raw('UPDATE "user" SET removed_tag_expiration_s = ? WHERE username = ?', WINDOW_S, ns);
    for (const d of [CFG, SHARED, ONLY_OLD, ONLY_NEW, UPLOADED, EMPTY_LAYER_BLOB_DIGEST]) await commit(a.id, d);
    for (const d of [CFG, SHARED, B_ONLY]) await commit(b.id, d);
    await s.meta.putManifest(
      a.id,
      manifest(digest('a1'), [CFG, SHARED, ONLY_OLD, EMPTY_LAYER_BLOB_DIGEST], { labels: [{ key: 'k', value: 'v', mediaType: 'text/plain' }] }),
      { tag: 'old' },
      now,
    );
    await s.meta.putManifest(a.id, manifest(digest('a2'), [CFG, SHARED, ONLY_NEW]), { tag: 'latest' }, now);
    await s.meta.putManifest(b.id, manifest(digest('b1'), [CFG, SHARED, B_ONLY]), { tag: 'latest' }, now);
    now = T0 + 60_000;
    await s.meta.putManifest(a.id, manifest(digest('a2'), [CFG, SHARED, ONLY_NEW]), { tag: 'old' }, now); // the retag ends old → a1
    await s.raw(
      'INSERT INTO tagpullstatistics (repository_id, tag_name, tag_pull_count, last_tag_pull_date, current_manifest_digest) VALUES (?, ?, 3, ?, ?)',
      a.id,
      'old',
      '2026-06-01 12:00:00',
      digest('a1'),
    );
    const { gc, data } = gcCollector(deps(), quiet);
    const repoA = (await data.repository(a.id))!;

    now = T0 + 30 * 60_000; // inside the window: nothing yet (the uploads have not expired either)
    t.same(await gc.garbageCollectRepo(repoA), { tags: 0, manifests: 0, labels: 0, uploaded_blobs: 0, storages: 0, files: 0 }, 'inside the time machine: nothing');

    now = T0 + 3 * HOUR;
    const counts = await gc.garbageCollectRepo(repoA);
    t.same(
      counts,
      { tags: 1, manifests: 1, labels: 1, uploaded_blobs: 6, storages: 3, files: 2 },
      'one tag, its manifest and label; the uploads; three storage rows, two files (the empty layer keeps its file)',
    );
    t.equal(await count('SELECT COUNT(*) AS n FROM manifest WHERE repository_id = ?', a.id), 1, 'a keeps the retagged manifest');
    t.equal(await count('SELECT COUNT(*) AS n FROM tag WHERE repository_id = ?', a.id), 2, 'latest and old (→ a2) remain');
    t.equal(await count('SELECT COUNT(*) AS n FROM label'), 0, 'the label went with its manifest');
    t.equal(await count('SELECT COUNT(*) AS n FROM tagpullstatistics WHERE repository_id = ?', a.id), 0, 'the purged tag name took its pull statistics');
    t.equal(await blobRow(ONLY_OLD), 0, 'the blob only the old manifest held is gone');
    t.equal(await blobRow(UPLOADED), 0, 'the expired upload nothing else held is gone');
    t.equal(await blobRow(EMPTY_LAYER_BLOB_DIGEST), 0, 'the empty layer row went too…');
    for (const d of [CFG, SHARED, ONLY_NEW, B_ONLY]) t.equal(await blobRow(d), 1, `${d.slice(7, 9)} is still held`);
    t.same(
      await files(),
      [CFG, SHARED, ONLY_NEW, B_ONLY, EMPTY_LAYER_BLOB_DIGEST].map(blobKey).sort(),
      'files: the collected blobs gone (the empty layer kept, as Quay keeps it), the held ones there',
    );
    t.equal(
      await count('SELECT COUNT(*) AS n FROM imagestorageplacement p LEFT JOIN imagestorage s ON s.id = p.storage_id WHERE s.id IS NULL'),
      0,
      'no placement left without its row',
    );
  });

  t.test(`${s.kind}: gcworker picks the repository with garbage; nothing when none has`, async (t) => {
    const b = (await s.meta.lookupRepository(ns, 'b'))!;
    const w = gcWorker(deps());
    t.equal(await w.run(() => true), null, 'no expired tag anywhere: no pick');
    now += 60_000;
    await s.meta.deleteTag(b.id, 'latest', now);
    t.equal(await w.run(() => true), null, 'inside the window: no pick');
    now += 2 * HOUR;
    const did = await w.run(() => true);
    t.match(did, { repository_id: b.id, tags: 1, manifests: 1, storages: 1, files: 1 }, "b's deleted tag past the window: its manifest and its own blob go");
    t.equal(await blobRow(SHARED), 1, 'the blob a still holds stays');
    t.ok(await storage.stat(blobKey(SHARED)), 'and so does its file');
    t.equal(await storage.stat(blobKey(B_ONLY)), null, "b's own blob file is gone");
    t.equal(await gcWorker(deps({ FEATURE_GARBAGE_COLLECTION: false })).run(() => true), null, 'FEATURE_GARBAGE_COLLECTION off: nothing');
  });

  t.test(`${s.kind}: repositorygcworker purges a repository marked for deletion, through its queue`, async (t) => {
    const a = (await s.meta.lookupRepository(ns, 'a'))!;
    await s.raw('UPDATE repository SET state = 3 WHERE id = ?', a.id);
    await s.raw('INSERT INTO star (user_id, repository_id, created) VALUES ((SELECT id FROM "user" WHERE username = ?), ?, ?)', ns, a.id, '2026-06-01 12:00:00');
    await s.raw('INSERT INTO deletedrepository (repository_id, marked, original_name, queue_id) VALUES (?, ?, ?, NULL)', a.id, '2026-06-01 12:00:00', 'a');
    const marker = Number((await s.raw('SELECT id FROM deletedrepository WHERE repository_id = ?', a.id))[0]!.id);
    const queue = new WorkQueue(s.dal.sql, 'repositorygc', { hasNamespace: true, now: () => now });
    await queue.put([ns, String(a.id)], JSON.stringify({ marker_id: marker, original_name: 'a' }));
    await queue.put([ns, 'gone'], JSON.stringify({ marker_id: 999_999, original_name: 'gone' }));
    const did = await repositoryGcWorker(deps()).run(() => true);
    t.same(did, { completed: 2, retried: 0, failed: 0 }, 'both items done (a missing marker is nothing to do)');
    t.equal(await count('SELECT COUNT(*) AS n FROM repository WHERE id = ?', a.id), 0, 'the repository row is gone');
    for (const tbl of ['tag', 'manifest', 'manifestblob', 'uploadedblob', 'star', 'deletedrepository', 'manifestlabel', 'manifestsecuritystatus'])
      t.equal(await count(`SELECT COUNT(*) AS n FROM ${tbl} WHERE repository_id = ?`, a.id), 0, `no ${tbl} rows left`);
    t.same(await files(), [EMPTY_LAYER_BLOB_DIGEST].map(blobKey), 'every file only a held is gone (b held nothing any more); the empty layer stays');
    t.equal(await count('SELECT COUNT(*) AS n FROM imagestorage'), 0, 'no storage row left');
    t.equal(await count("SELECT COUNT(*) AS n FROM queueitem WHERE queue_name LIKE 'repositorygc/%'"), 0, 'the queue is empty');
  });
}

for (const s of sides) {
  const ns = `gcq${s.kind}`;
  const root = tempDir(t, `gcq-${s.kind}-`);
  const storage = new LocalStorage(root);
  let now = T0;
  const deps = (quayConfig: Record<string, unknown>): GcProgramDeps => ({ dal: s.dal, sql: s.dal.sql, storage, log: quiet, quayConfig, metrics: null, now: () => now });
  const totals = async (): Promise<number[]> =>
    (
      await s.raw(
        `SELECT q.size_bytes AS n FROM quotanamespacesize q JOIN "user" u ON u.id = q.namespace_user_id WHERE u.username = ?
         UNION ALL SELECT q.size_bytes FROM quotarepositorysize q JOIN repository r ON r.id = q.repository_id JOIN "user" u ON u.id = r.namespace_user_id WHERE u.username = ?`,
        ns,
        ns,
      )
    ).map((r) => Number(r.n));

  t.test(`${s.kind}: with FEATURE_QUOTA_MANAGEMENT a collected manifest's own blobs leave the totals; immutable tags stay when protected`, async (t) => {
    const repo = await s.meta.createRepository(ns, 'q', 'private', now);
    await s.raw('UPDATE "user" SET removed_tag_expiration_s = 0 WHERE username = ?', ns);
    const [x, y, z] = ['7', '8', '9'].map(digest) as [string, string, string];
    for (const [d, size] of [
      [x, 100],
      [y, 200],
      [z, 400],
    ] as const)
      await s.meta.commitBlob({ uploadUuid: null, repositoryId: repo.id, digest: d, size, uncompressedSize: null, location: 'local_us', nowMs: now, linkExpiresMs: now + 1 });
    await s.meta.putManifest(repo.id, manifest(digest('q1'), [x, y]), { tag: 't1' }, now, 'count');
    await s.meta.putManifest(repo.id, manifest(digest('q2'), [x]), { tag: 't2' }, now, 'count');
    await s.meta.putManifest(repo.id, manifest(digest('q3'), [z]), { tag: 't3' }, now, 'count');
    t.same(await totals(), [700, 700], 'namespace and repository: 700 bytes');
    now += 1000;
    await s.meta.deleteTag(repo.id, 't1', now);
    await s.meta.deleteTag(repo.id, 't3', now);
    await s.raw("UPDATE tag SET immutable = ? WHERE repository_id = ? AND name = 't3'", s.kind === 'pg' ? true : 1, repo.id);
    now += 1000;
    const { gc, data } = gcCollector(deps({ FEATURE_QUOTA_MANAGEMENT: true, FEATURE_IMMUTABLE_TAGS: true }), quiet);
    const counts = await gc.garbageCollectRepo((await data.repository(repo.id))!);
    t.match(counts, { tags: 1, manifests: 1 }, 'only the mutable ended tag and its manifest went');
    t.same(await totals(), [500, 500], "y (200) left the totals; x is still held by q2; q3's z is still held (its immutable tag stays)");
    t.equal(Number((await s.raw("SELECT COUNT(*) AS n FROM tag WHERE repository_id = ? AND name = 't3'", repo.id))[0]!.n), 1, 'the immutable ended tag stays');
    const again = gcCollector(deps({ FEATURE_QUOTA_MANAGEMENT: true, FEATURE_IMMUTABLE_TAGS: true, FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE: true }), quiet);
    t.match(await again.gc.garbageCollectRepo((await again.data.repository(repo.id))!), { tags: 1, manifests: 1 }, 'FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE: it goes');
    t.same(await totals(), [100, 100], 'and z left the totals');
  });
}
