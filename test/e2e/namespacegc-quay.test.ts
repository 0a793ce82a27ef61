/**
 * namespacegcworker proven against real Quay, on SQLite and PostgreSQL.
 * On top of the test data of Quay's initdb, Quay's own model code builds
 * and then marks for deletion (model.user.mark_namespace_for_deletion, as
 * its API does): an organization with two repositories of content (a layer
 * shared with another namespace, labels, an ended tag), a team with a
 * member, a robot with permissions, permission prototypes, a repository
 * notification, a quota with a limit, an auto-prune policy and task, an
 * OAuth application and a queue item; a second such organization marked
 * with a grace period (its linked data kept until the worker runs); and a
 * user with a repository, a robot, a team membership elsewhere, a star and
 * an app-specific token. A file in storage for every blob row. Then two
 * copies: Quay's NamespaceGCWorker on one, ours on the other; the two
 * databases must be equal row for row (no id may differ: neither worker
 * inserts anything) and the storage file lists too.
 * Mixed mode: an organization deleted through real Quay's API
 * (`DELETE /api/v1/organization/<org>`, a signed-in session) is removed by
 * our `quay worker namespacegcworker --once` process.
 * Needs real Quay and PostgreSQL: fails, never skips.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { LocalStorage } from '../../storage/local.js';
import { blobKey } from '../../storage/paths.js';
import { createLogger } from '../../lib/log.js';
import { namespaceGcWorker, type GcProgramDeps } from '../../workers/gc/programs.js';
import { startQuayPython } from '../lib/quay-python.js';
import { QuayWebSession } from '../lib/quay-api.js';
import { ROOT, run, tempDir } from '../lib/proc.js';
import { diffSnapshots } from '../lib/db-diff.js';
import { copyQuayData, openOursDal, PY_CONTENT, PY_FILE_FOR_EVERY_BLOB, quayAndOursReaders, storageFiles } from '../lib/quay-copies.js';

t.setTimeout(900_000);

const quiet = createLogger({ test: 'namespacegc-quay' }, { level: 'warn' });

/** Quay's model code: namespaces with something in every table a deletion touches. */
const PY_NAMESPACES = `
${PY_CONTENT}
from app import all_queues, namespace_gc_queue, notification_queue
from data.database import QueueItem

devtable = model.user.get_user("devtable")
reader = model.user.get_user("reader")
SHARED = b"layer shared with a namespace that stays"

def content(repo):
    _, m1 = image(repo, repo.name + "1", [SHARED, ("only in " + repo.namespace_user.username + "/" + repo.name).encode()])
    tag("latest", m1)
    _, m2 = image(repo, repo.name + "2", [("ended in " + repo.namespace_user.username + "/" + repo.name).encode()])
    tag("old", m2)
    oci.label.create_manifest_label(m1.id, "owner", repo.name, "manifest")
    oci.tag.delete_tag(repo.id, "old")

def organization(name, limit):
    org = model.organization.create_organization(name, name + "@example.com", devtable)
    for r in ("app", "lib"):
        content(model.repository.create_repository(name, r, devtable))
    team = model.team.create_team("builders", org, "member")
    model.team.add_user_to_team(reader, team)
    robot, _ = model.user.create_robot("bot", org)
    model.team.add_user_to_team(robot, team)
    model.permission.set_team_repo_permission("builders", name, "app", "write")
    model.permission.set_user_repo_permission(robot.username, name, "lib", "read")
    model.permission.add_prototype_permission(org, "read", None, delegate_team=team)
    model.permission.add_prototype_permission(org, "write", reader, delegate_user=robot)
    model.notification.create_repo_notification(model.repository.get_repository(name, "app"), "repo_push", "webhook", {"url": "http://example.com/hook"}, {})
    quota = model.namespacequota.create_namespace_quota(org, 10 * 1024 * 1024)
    if limit:
        model.namespacequota.create_namespace_quota_limit(quota, "warning", 80)
    model.autoprune.create_namespace_autoprune_policy(name, {"method": "number_of_tags", "value": 10}, create_task=True)
    model.oauth.create_application(org, "tool", "http://example.com", "http://example.com/cb")
    notification_queue.put([name, "app"], json.dumps({"notification_uuid": "none"}))
    return org

# the one that stays, holding the shared layer
keep = model.repository.create_repository("devtable", "nsgckeep", devtable)
_, k1 = image(keep, "keep", [SHARED])
tag("latest", k1)

org = organization("nsgcorg", True)
# With a grace period the linked data stays until the worker runs. (No quota limit here: Quay's
# worker looks the quota up by the name the marking gave away, so a limit would block its delete.)
grace = organization("nsgcgrace", False)
user = model.user.create_user("nsgcuser", "password", "nsgcuser@example.com", auto_verify=True)
content(model.repository.create_repository("nsgcuser", "mine", user))
model.user.create_robot("helper", user)
model.team.add_user_to_team(user, model.team.get_organization_team("buynlarge", "readers"))
model.repository.star_repository(user, model.repository.get_repository("devtable", "simple"))
model.appspecifictoken.create_token(user, "cli")

model.user.mark_namespace_for_deletion(org, all_queues, namespace_gc_queue)
model.user.mark_namespace_for_deletion(grace, all_queues, namespace_gc_queue, available_after=3600)
model.user.mark_namespace_for_deletion(user, all_queues, namespace_gc_queue)
# the grace period over
QueueItem.update(available_after=datetime.utcnow() - timedelta(seconds=5)).where(QueueItem.queue_name == "namespacegc/%d/" % grace.id).execute()
${PY_FILE_FOR_EVERY_BLOB}
print(json.dumps({"ids": [org.id, grace.id, user.id], "shared": sha256_digest(SHARED)}))
`;

/** Quay's own namespace GC worker on its copy: every item of its queue. */
const PY_QUAY_WORKER = `
import json, os, subprocess
subprocess.check_call(["bash", os.environ["QUAY_HOME_DIR"] + "/redis.sh"])
from app import app, namespace_gc_queue
from util.locking import GlobalLock
GlobalLock.configure(app.config)
from workers.namespacegcworker import NamespaceGCWorker, POLL_PERIOD_SECONDS, NAMESPACE_GC_TIMEOUT
w = NamespaceGCWorker(namespace_gc_queue, poll_period_seconds=POLL_PERIOD_SECONDS, reservation_seconds=NAMESPACE_GC_TIMEOUT)
done = 0
while True:
    item = namespace_gc_queue.get(processing_time=NAMESPACE_GC_TIMEOUT)
    if item is None:
        break
    w.process_queue_item(json.loads(item.body))
    namespace_gc_queue.complete(item)
    done += 1
print(json.dumps({"deleted": done}))
`;

const lastJson = <T>(out: string): T => JSON.parse(out.trim().split('\n').pop()!) as T;

for (const database of ['sqlite', 'postgres'] as const) {
  t.test(`${database}: Quay's namespacegcworker and ours on two copies of the same data end equal`, async (t) => {
    const quay = await startQuayPython(t, { database, start: false });
    const made = lastJson<{ ids: number[]; shared: string }>(await quay.python(PY_NAMESPACES, { timeoutMs: 300_000 }));
    const ours = await copyQuayData(t, quay, database, 'nsgc');
    const filesBefore = storageFiles(quay.storageDir);
    t.same(storageFiles(ours.storage), filesBefore, 'the copies start with the same files');

    const quayRun = lastJson<{ deleted: number }>(await quay.python(PY_QUAY_WORKER, { timeoutMs: 300_000 }));
    t.equal(quayRun.deleted, 3, "Quay's worker took the three items");

    const readers = await quayAndOursReaders(t, database, quay.database, ours.database);
    const before = await readers[1]!.snapshot();

    const dal = await openOursDal(t, database, ours.database);
    const quayConfig = parseYaml(readFileSync(quay.configFile, 'utf8')) as Record<string, unknown>;
    const deps: GcProgramDeps = { dal, sql: dal.sql, storage: new LocalStorage(ours.storage), log: quiet, quayConfig, metrics: null };
    t.same(await namespaceGcWorker(deps).run(() => true), { completed: 3, retried: 0, failed: 0 }, 'ours took the same three items');

    const [quaySnap, oursSnap] = [await readers[0]!.snapshot(), await readers[1]!.snapshot()];
    t.same(
      diffSnapshots(quaySnap, oursSnap).map((d) => ({ table: d.table, quay_only: d.deleted, ours_only: d.inserted, changed: d.updated })),
      [],
      'the databases are equal after both workers',
    );
    const quayFiles = storageFiles(quay.storageDir);
    t.same(storageFiles(ours.storage), quayFiles, 'the storage file lists are equal');
    t.ok(quayFiles.length < filesBefore.length, `files were removed (${filesBefore.length} → ${quayFiles.length})`);
    t.ok(quayFiles.includes(blobKey(made.shared)), 'the layer another namespace holds keeps its file');

    // What the deletion did, the same on both.
    const did = new Map(diffSnapshots(before, oursSnap).map((d) => [d.table, d]));
    for (const table of [
      'user',
      'repository',
      'tag',
      'manifest',
      'manifestblob',
      'manifestlabel',
      'imagestorage',
      'deletednamespace',
      'queueitem',
      'team',
      'teammember',
      'repositorypermission',
      'permissionprototype',
      'robotaccounttoken',
      'repositorynotification',
      'userorganizationquota',
      'namespaceautoprunepolicy',
      'autoprunetaskstatus',
      'oauthapplication',
      'star',
      'appspecificauthtoken',
    ])
      t.ok((did.get(table)?.deleted.length ?? 0) > 0, `rows of ${table} deleted`);
    const q = readers[1]!;
    t.same(await q.rows(`SELECT id FROM "user" WHERE id IN (${made.ids.map((_, i) => q.p(i + 1)).join(', ')})`, made.ids), [], 'the three namespaces are gone');
  });
}

t.test('mixed mode: an organization deleted through real Quay’s API is removed by our worker process', async (t) => {
  const quay = await startQuayPython(t, { database: 'sqlite' });
  await quay.python(`
${PY_CONTENT}
devtable = model.user.get_user("devtable")
org = model.organization.create_organization("mixedorg", "mixedorg@example.com", devtable)
repo = model.repository.create_repository("mixedorg", "app", devtable)
_, m = image(repo, "app", [b"only in mixedorg/app"])
tag("latest", m)
model.user.create_robot("bot", org)
model.team.create_team("builders", org, "member")
`);
  const session = await QuayWebSession.signIn(quay.url, 'devtable', 'password');
  const del = await session.call('DELETE', '/api/v1/organization/mixedorg');
  t.equal(del.status, 204, JSON.stringify(del.body));
  const marked = lastJson<{ marker: number; namespace: number; items: string[] }>(
    await quay.python(`
import json
from app import app
from data.database import DeletedNamespace, QueueItem
m = DeletedNamespace.get(DeletedNamespace.original_username == "mixedorg")
print(json.dumps({"marker": m.id, "namespace": m.namespace_id, "items": [i.body for i in QueueItem.select().where(QueueItem.queue_name ** "namespacegc/%")]}))`),
  );
  t.same(
    marked.items.map((b) => JSON.parse(b) as unknown),
    [{ marker_id: marked.marker, original_username: 'mixedorg' }],
    "Quay's API queued the item",
  );
  const only = blobKey(`sha256:${(await quay.python(`import hashlib; print(hashlib.sha256(b"only in mixedorg/app").hexdigest())`)).trim()}`);
  t.ok(storageFiles(quay.storageDir).includes(only), "the org's own layer is in storage");

  const dir = tempDir(t, 'nsgc-mixed-');
  const config = join(dir, 'config.yaml');
  const keys = parseYaml(readFileSync(quay.configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(config, stringify({ ...keys, MIGRATION: { WORKER_OWNER_NAMESPACEGCWORKER: 'go' } }));
  const r = await run(
    process.execPath,
    [join(ROOT, 'bin/quay.js'), 'worker', 'namespacegcworker', '--once', '--mode', 'standalone', '--config', config, '--data-dir', join(dir, 'data')],
    {
      cwd: ROOT,
      timeoutMs: 120_000,
    },
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /"msg":"namespace deleted"/, 'our worker logged the deletion');

  const left = lastJson<Record<string, number>>(
    await quay.python(`
import json
from app import app
from data.database import User, Repository, DeletedNamespace, QueueItem, Team
ns = ${marked.namespace}
print(json.dumps({
  "user": User.select().where((User.id == ns) | (User.username ** "mixedorg+%")).count(),
  "repository": Repository.select().where(Repository.namespace_user == ns).count(),
  "deletednamespace": DeletedNamespace.select().where(DeletedNamespace.id == ${marked.marker}).count(),
  "namespacegc": QueueItem.select().where(QueueItem.queue_name ** "namespacegc/%").count(),
  "team": Team.select().where(Team.organization == ns).count(),
}))`),
  );
  t.same(left, { user: 0, repository: 0, deletednamespace: 0, namespacegc: 0, team: 0 }, 'the organization, its robot, repository and marker are gone; the item is done');
  t.notOk(storageFiles(quay.storageDir).includes(only), 'the file only it held is gone');
  const org = await session.call('GET', '/api/v1/organization/mixedorg');
  t.equal(org.status, 404, 'Quay no longer knows the organization');
});
