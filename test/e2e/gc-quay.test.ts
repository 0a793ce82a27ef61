/**
 * Garbage collection proven against real Quay, on SQLite and PostgreSQL:
 * repository content is built by Quay's own model code (blobs shared between
 * repositories and namespaces, a retag, deleted and expired tags past the
 * time-machine window, a manifest list, labels, pull statistics, a referrer
 * holding an expired manifest, an expired uploaded blob, a repository marked
 * for deletion with its queue item), on top of the test data of Quay's
 * initdb, with a file in storage for every blob row. Then two copies of the
 * same database and storage: Quay's garbage_collect_repo over every
 * repository and its RepositoryGCWorker's purge on one, ours (the same
 * collector, and the repositorygcworker program through the queue) on the
 * other. The two databases must be equal, row for row, and so must the
 * storage file lists; a blob another repository holds keeps its row and
 * file; no file is left without a row and no row loses its file. Quota:
 * SQLite runs with FEATURE_QUOTA_MANAGEMENT on (totals lowered), PostgreSQL
 * with it off (totals handed back to the backfill worker).
 * Needs real Quay and PostgreSQL: fails, never skips.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { LocalStorage } from '../../storage/local.js';
import { blobKey } from '../../storage/paths.js';
import { createLogger } from '../../lib/log.js';
import { gcCollector, repositoryGcWorker, type GcProgramDeps } from '../../workers/gc/programs.js';
import { startQuayPython } from '../lib/quay-python.js';
import { copyQuayData, openOursDal, PY_CONTENT, PY_FILE_FOR_EVERY_BLOB, quayAndOursReaders, storageFiles } from '../lib/quay-copies.js';
import { diffSnapshots } from '../lib/db-diff.js';

t.setTimeout(900_000);

const quiet = createLogger({ test: 'gc-quay' }, { level: 'warn' });

/** Quay's model code, building the scenario (run once, before the copy). */
const PY_SETUP = `
${PY_CONTENT}
devtable = model.user.get_user("devtable")
public = model.user.get_user("public")
a = model.repository.create_repository("devtable", "gca", devtable)
b = model.repository.create_repository("devtable", "gcb", devtable)
p = model.repository.create_repository("public", "gcp", public)
d = model.repository.create_repository("devtable", "gcdel", devtable)

SHARED = b"layer shared by every repository"
m1, a1 = image(a, "a1", [SHARED, b"only in a1"])
m2, a2 = image(a, "a2", [SHARED, b"only in a2"])
m3, a3 = image(a, "a3", [b"only in a3, held by a referrer"])
tag("v1", a1)
tag("latest", a2)
tag("t3", a3)
oci.label.create_manifest_label(a1.id, "maintainer", "gc@example.com", "manifest")
oci.label.create_manifest_label(a2.id, "keep", "yes", "manifest")
tag("v1", a2)  # the retag: v1 -> a1 ends
oci.tag.delete_tag(a.id, "t3")
image(a, "referrer", [b"referrer layer"], subject=a3)
# a manifest list with two children, tagged then deleted
c1m, c1 = image(a, "c1", [b"child one", SHARED])
c2m, c2 = image(a, "c2", [b"child two"])
ib = OCIIndexBuilder()
ib.add_manifest(c1m, architecture="amd64", os="linux")
ib.add_manifest(c2m, architecture="arm64", os="linux")
idx = oci.manifest.get_or_create_manifest(a.id, ib.build(), storage, for_tagging=True, raise_on_error=True).manifest
tag("multi", idx)
oci.tag.delete_tag(a.id, "multi")
TagPullStatistics.create(repository=a, tag_name="v1", tag_pull_count=4, last_tag_pull_date=datetime.utcnow(), current_manifest_digest=a1.digest)
ManifestPullStatistics.create(repository=a, manifest_digest=a1.digest, manifest_pull_count=4, last_manifest_pull_date=datetime.utcnow())
# an upload nothing holds, expired
blob(a, b"uploaded, never used", expires=-60)
# other repositories sharing blobs
_, b1 = image(b, "b1", [SHARED, b"only in a1"])
tag("latest", b1)
_, p1 = image(p, "p1", [SHARED])
tag("latest", p1)
tag("gone", p1)
oci.tag.delete_tag(p.id, "gone")
_, d1 = image(d, "d1", [SHARED, b"only in gcdel"])
tag("latest", d1)
# every tag that ended, ended long ago (past the window), and every upload link expired
Tag.update(lifetime_end_ms=OLD).where(~(Tag.lifetime_end_ms >> None), Tag.repository << [a.id, b.id, p.id]).execute()
UploadedBlob.update(expires_at=datetime.utcnow() - timedelta(seconds=60)).execute()
model.repository.mark_repository_for_deletion("devtable", "gcdel", repository_gc_queue)
${PY_FILE_FOR_EVERY_BLOB}
print(json.dumps({"a": a.id, "b": b.id, "p": p.id, "d": d.id, "shared": sha256_digest(SHARED), "a3": a3.digest, "index": idx.digest, "child": c2.digest}))
`;

/** Quay's own GC on its copy: garbage_collect_repo over every repository, then its repository GC worker's queue. */
const PY_QUAY_GC = `
import json, os, subprocess
subprocess.check_call(["bash", os.environ["QUAY_HOME_DIR"] + "/redis.sh"])
from app import app, repository_gc_queue
from data.database import Repository, RepositoryState
from data.model import gc
from workers.repositorygcworker import RepositoryGCWorker
ids = [r.id for r in Repository.select(Repository.id).where(Repository.state != RepositoryState.MARKED_FOR_DELETION).order_by(Repository.id)]
for i in ids:
    gc.garbage_collect_repo(Repository.get(id=i))
w = RepositoryGCWorker(repository_gc_queue, poll_period_seconds=60, reservation_seconds=10800)
purged = 0
while True:
    item = repository_gc_queue.get(processing_time=10800)
    if item is None:
        break
    w._perform_gc(json.loads(item.body))
    repository_gc_queue.complete(item)
    purged += 1
print(json.dumps({"repositories": ids, "purged": purged}))
`;

for (const database of ['sqlite', 'postgres'] as const) {
  t.test(`${database}: Quay's GC and ours on two copies of the same data end equal`, async (t) => {
    const quay = await startQuayPython(t, { database, start: false });
    const made = JSON.parse((await quay.python(PY_SETUP, { timeoutMs: 300_000 })).trim().split('\n').pop()!) as {
      a: number;
      b: number;
      p: number;
      d: number;
      shared: string;
      a3: string;
      index: string;
      child: string;
    };

    // Both of Quay's quota paths: SQLite collects with FEATURE_QUOTA_MANAGEMENT on (sizes
    // subtracted), PostgreSQL with it off (the totals handed back to the backfill worker).
    // The content was pushed with it on, so there are totals either way.
    const quotaOn = database === 'sqlite';
    if (!quotaOn) writeFileSync(quay.configFile, readFileSync(quay.configFile, 'utf8').replace(/^FEATURE_QUOTA_MANAGEMENT: true$/m, 'FEATURE_QUOTA_MANAGEMENT: false'));
    t.equal(/^FEATURE_QUOTA_MANAGEMENT: true$/m.test(readFileSync(quay.configFile, 'utf8')), quotaOn, `FEATURE_QUOTA_MANAGEMENT is ${quotaOn ? 'on' : 'off'} in Quay's config`);

    // The copy for ours: database and storage as they are now.
    const { database: oursDb, storage: oursStorage } = await copyQuayData(t, quay, database, 'gc');
    const filesBefore = storageFiles(quay.storageDir);
    t.same(storageFiles(oursStorage), filesBefore, 'the copies start with the same files');

    // Quay's GC on its copy.
    const quayRun = JSON.parse((await quay.python(PY_QUAY_GC, { timeoutMs: 300_000 })).trim().split('\n').pop()!) as { repositories: number[]; purged: number };
    t.ok(quayRun.purged >= 1, "Quay's worker purged the repository marked for deletion");

    const readers = await quayAndOursReaders(t, database, quay.database, oursDb);
    const before = await readers[1]!.snapshot();

    // Ours on the other.
    const dal = await openOursDal(t, database, oursDb);
    const quayConfig = parseYaml(readFileSync(quay.configFile, 'utf8')) as Record<string, unknown>;
    const deps: GcProgramDeps = { dal, sql: dal.sql, storage: new LocalStorage(oursStorage), log: quiet, quayConfig, metrics: null };
    const { gc, data } = gcCollector(deps, quiet);
    let collected = 0;
    for (const id of quayRun.repositories) {
      const repo = await data.repository(id);
      if (!repo) continue;
      const c = await gc.garbageCollectRepo(repo);
      collected += c.tags + c.manifests + c.storages + c.uploaded_blobs;
    }
    t.ok(collected > 0, 'ours collected something');
    const did = await repositoryGcWorker(deps).run(() => true);
    t.match(did, { completed: quayRun.purged, failed: 0 }, 'our repositorygcworker purged what Quay purged, through the queue');

    // The two databases: equal, row for row.
    const [quaySnap, oursSnap] = [await readers[0]!.snapshot(), await readers[1]!.snapshot()];
    const diff = diffSnapshots(quaySnap, oursSnap);
    t.same(
      diff.map((d) => ({ table: d.table, quay_only: d.deleted, ours_only: d.inserted, changed: d.updated })),
      [],
      'the databases are equal after both GCs',
    );
    // What GC did, the same on both: rows of every kind it handles deleted, quota totals lowered.
    const did2 = new Map(diffSnapshots(before, oursSnap).map((d) => [d.table, d]));
    for (const table of [
      'tag',
      'manifest',
      'manifestblob',
      'manifestchild',
      'manifestlabel',
      'label',
      'imagestorage',
      'imagestorageplacement',
      'uploadedblob',
      'tagpullstatistics',
      'manifestpullstatistics',
      'deletedrepository',
      'repository',
      'queueitem',
    ])
      t.ok((did2.get(table)?.deleted.length ?? 0) > 0, `GC deleted ${table} rows`);
    t.ok(
      ['quotanamespacesize', 'quotarepositorysize'].some((tb) => (did2.get(tb)?.updated.length ?? 0) + (did2.get(tb)?.deleted.length ?? 0) > 0),
      quotaOn ? 'quota totals lowered' : 'quota totals handed back to the backfill worker',
    );
    const quayFiles = storageFiles(quay.storageDir);
    t.same(storageFiles(oursStorage), quayFiles, 'the storage file lists are equal');
    t.ok(quayFiles.length < filesBefore.length, `files were removed (${filesBefore.length} → ${quayFiles.length})`);

    // What the scenario must show, on the result both reached.
    const q = readers[1]!;
    const rows = (sql: string, ...p: unknown[]): Promise<Record<string, unknown>[]> =>
      q.rows(
        sql.replace(
          /\?/g,
          (() => {
            let i = 0;
            return () => q.p(++i);
          })(),
        ),
        p,
      );
    t.same(await rows('SELECT id FROM repository WHERE id = ?', made.d), [], 'the repository marked for deletion is gone');
    t.equal((await rows('SELECT id FROM imagestorage WHERE content_checksum = ?', made.shared)).length, 1, 'the shared blob keeps its row…');
    t.ok(quayFiles.includes(blobKey(made.shared)), '…and its file');
    t.same(await rows('SELECT id FROM tag WHERE repository_id = ? AND lifetime_end_ms IS NOT NULL', made.a), [], "a's ended tags are gone");
    t.equal((await rows("SELECT t.id FROM tag t WHERE t.repository_id = ? AND t.name = 'v1'", made.a)).length, 1, 'the retagged v1 stays');
    const storageRows = await rows('SELECT content_checksum FROM imagestorage WHERE cas_path = ?', database === 'sqlite' ? 1 : true);
    const held = new Set(storageRows.map((r) => String(r.content_checksum)));
    const collectedFiles = filesBefore.filter((f) => !quayFiles.includes(f));
    t.ok(collectedFiles.length > 0, `${collectedFiles.length} files removed`);
    const manifestsOfA = (await rows('SELECT digest FROM manifest WHERE repository_id = ?', made.a)).map((r) => String(r.digest));
    t.ok(manifestsOfA.includes(made.a3), 'a manifest whose tags all ended stays while a referrer names it as its subject');
    t.notOk(manifestsOfA.includes(made.index), 'the deleted manifest list is gone…');
    t.notOk(manifestsOfA.includes(made.child), '…with the child only it held');
    t.same(
      [...held].filter((c) => c.startsWith('sha256:') && filesBefore.includes(blobKey(c)) && !quayFiles.includes(blobKey(c))),
      [],
      'no row that had a file lost it',
    );
    t.same(
      collectedFiles.filter((f) => [...held].some((c) => c.startsWith('sha256:') && blobKey(c) === f)),
      [],
      'no file removed while a row points at it',
    );
  });
}
