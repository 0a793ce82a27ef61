/**
 * Auto-prune proven against real Quay, on SQLite and PostgreSQL: policies
 * made with Quay's own model code (create_namespace_autoprune_policy,
 * create_repository_autoprune_policy with their tasks) for an organisation
 * and for repositories, both methods, with and without tag patterns (match,
 * non-match, and a pattern without tag_pattern_matches), on tags of known
 * ages; a Cosign signature tag, a manifest list whose children hold `$temp-`
 * tags, pull statistics, an immutable tag, a namespace whose task has no
 * policy left, one whose policy's repository is marked for deletion, a
 * disabled namespace; DEFAULT_NAMESPACE_AUTOPRUNE_POLICY set. Then two
 * copies: Quay's AutoPruneWorker.prune_registry and prune on one,
 * our autopruneworker on the other, both on the same fixed clock (Quay's
 * get_epoch_timestamp_ms and its log's datetime.today() patched). The
 * databases must end equal: the same tags ended at the same instant, the
 * same task rows, the same action log rows (compared without their ids: the
 * order in which one policy's tags are deleted is the database's).
 * Needs real Quay and PostgreSQL: fails, never skips.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { createLogger } from '../../lib/log.js';
import { autoPruneProgram } from '../../workers/programs/autopruneworker.js';
import { startQuayPython } from '../lib/quay-python.js';
import { diffSnapshots, type Snapshot } from '../lib/db-diff.js';
import { copyQuayDatabase, openOursDal, quayAndOursReaders } from '../lib/quay-copies.js';

t.setTimeout(900_000);

const quiet = createLogger({ test: 'autoprune-quay' }, { level: 'warn' });

/** Quay's model code, building the scenario (run once, before the copy). */
const PY_SETUP = `
import json, time
from app import app, storage, repository_gc_queue
from data import model
from data.database import Tag, TagPullStatistics, User, ImageStorageLocation
from data.model import oci, autoprune
from digest.digest_tools import sha256_digest
from image.oci.manifest import OCIManifestBuilder
from image.oci.index import OCIIndexBuilder
from image.oci.config import OCIConfig
from util.bytes import Bytes
from datetime import datetime

NOW = int(time.time() * 1000)
DAY = 86400 * 1000
loc = ImageStorageLocation.get(name="local_us")

def blob(repo, content):
    d = sha256_digest(content)
    storage.put_content(["local_us"], storage.blob_path(d), content)
    model.blob.store_blob_record_and_temp_link_in_repo(repo.id, d, loc, len(content), 3600)
    return d, len(content)

def image(repo, name):
    cfg = json.dumps({"os": "linux", "architecture": "amd64", "rootfs": {"type": "layers", "diff_ids": []}, "history": [], "config": {"Labels": {"name": name}}}).encode()
    blob(repo, cfg)
    b = OCIManifestBuilder()
    b.set_config(OCIConfig(Bytes.for_string_or_unicode(cfg.decode())))
    d, n = blob(repo, ("layer of " + name).encode())
    b.add_layer(d, n)
    m = b.build()
    return m, oci.manifest.get_or_create_manifest(repo.id, m, storage, for_tagging=True, raise_on_error=True).manifest

def tags(repo, manifest, ages):
    for name, age_days in ages:
        oci.tag.retarget_tag(name, manifest.id, raise_on_error=True)
        Tag.update(lifetime_start_ms=NOW - int(age_days * DAY)).where(Tag.repository == repo.id, Tag.name == name, Tag.lifetime_end_ms >> None).execute()

devtable = model.user.get_user("devtable")
def user(name):
    return model.user.create_user_noverify(name, name + "@example.com", email_required=False)
org = model.organization.create_organization("pruneorg", "pruneorg@example.com", devtable)
pu = user("pruneuser")

# pruneorg: two namespace policies (dev-* older than a week; keep the 3 newest not named release-*)
a = model.repository.create_repository("pruneorg", "prunea", devtable)
b = model.repository.create_repository("pruneorg", "pruneb", devtable)
_, ma = image(a, "a")
tags(a, ma, [("release-1", 40), ("release-2", 30), ("release-3", 20), ("release-4", 1), ("dev-1", 10), ("dev-2", 1), ("dev-3", 9),
             ("v1", 50), ("v2", 25), ("v3", 12), ("v4", 3), ("v5", 2), ("latest", 0.5), ("dev-frozen", 12)])
Tag.update(immutable=True).where(Tag.repository == a.id, Tag.name == "dev-frozen").execute()
TagPullStatistics.create(repository=a, tag_name="dev-1", tag_pull_count=3, last_tag_pull_date=datetime.utcnow(), current_manifest_digest=ma.digest)
TagPullStatistics.create(repository=a, tag_name="latest", tag_pull_count=5, last_tag_pull_date=datetime.utcnow(), current_manifest_digest=ma.digest)
# a manifest list whose children are held by hidden temporary tags
c1m, c1 = image(a, "c1")
c2m, c2 = image(a, "c2")
ib = OCIIndexBuilder()
ib.add_manifest(c1m, architecture="amd64", os="linux")
ib.add_manifest(c2m, architecture="arm64", os="linux")
idx = oci.manifest.get_or_create_manifest(a.id, ib.build(), storage, for_tagging=True, raise_on_error=True).manifest
oci.tag.create_temporary_tag_if_necessary(c1, 7200)
oci.tag.create_temporary_tag_if_necessary(c2, 7200)
tags(a, idx, [("dev-multi", 8)])
# pruneb: a signed image whose only tag goes, and a repository policy on top of the namespace's
_, mb = image(b, "b")
_, signed = image(b, "signed")
_, sig = image(b, "signature")
tags(b, mb, [("b1", 5), ("b2", 4), ("b3", 3), ("b4", 2)])
tags(b, signed, [("signed", 60)])
tags(b, sig, [(signed.digest.replace(":", "-") + ".sig", 60)])
autoprune.create_namespace_autoprune_policy("pruneorg", {"method": "creation_date", "value": "7d", "tag_pattern": "^dev-", "tag_pattern_matches": True}, create_task=True)
autoprune.create_namespace_autoprune_policy("pruneorg", {"method": "number_of_tags", "value": 3, "tag_pattern": "^release-", "tag_pattern_matches": False}, create_task=True)
autoprune.create_repository_autoprune_policy("pruneorg", "pruneb", {"method": "number_of_tags", "value": 2}, create_task=True)

# pruneuser: repository policies only (no namespace policy)
r = model.repository.create_repository("pruneuser", "prunerepo", pu)
r2 = model.repository.create_repository("pruneuser", "prunerepo2", pu)
_, mr = image(r, "r")
_, mr2 = image(r2, "r2")
tags(r, mr, [("v1", 30), ("v2", 20), ("v3", 10), ("x1", 40), ("x2", 3), ("x3", 1)])
tags(r2, mr2, [("x1", 5), ("x2", 4), ("y1", 3), ("y2", 2), ("y3", 1)])
autoprune.create_repository_autoprune_policy("pruneuser", "prunerepo", {"method": "creation_date", "value": "2w"}, create_task=True)
autoprune.create_repository_autoprune_policy("pruneuser", "prunerepo", {"method": "number_of_tags", "value": 1, "tag_pattern": "^v", "tag_pattern_matches": False}, create_task=True)
# a pattern without tag_pattern_matches (the API always sets it; the model does not)
autoprune.create_repository_autoprune_policy("pruneuser", "prunerepo2", {"method": "number_of_tags", "value": 1, "tag_pattern": "^x"}, create_task=True)

# nopolicy: a task whose namespace has no policy (deleted by the worker)
autoprune.create_autoprune_task(user("nopolicy").id)
# goneuser: its policy's repository is marked for deletion (the task fails)
gu = user("goneuser")
g = model.repository.create_repository("goneuser", "gone", gu)
autoprune.create_repository_autoprune_policy("goneuser", "gone", {"method": "number_of_tags", "value": 1}, create_task=True)
model.repository.mark_repository_for_deletion("goneuser", "gone", repository_gc_queue)
# offuser: disabled, its task is never picked
reader = user("offuser")
rd = model.repository.create_repository("offuser", "off", reader)
_, mrd = image(rd, "rd")
tags(rd, mrd, [("old", 30), ("new", 1)])
autoprune.create_repository_autoprune_policy("offuser", "off", {"method": "number_of_tags", "value": 1}, create_task=True)
User.update(enabled=False).where(User.id == reader.id).execute()
print(json.dumps({"now": NOW, "a": a.id, "b": b.id, "r": r.id, "r2": r2.id, "rd": rd.id, "children": [c1.id, c2.id]}))
`;

/** Quay's AutoPruneWorker.prune on its copy, its clock fixed at NOW. */
const pyPrune = (now: number): string => `
import datetime as _dt
NOW = ${now}
import data.database, data.model.oci.tag, data.model.autoprune, data.model.log
for m in (data.database, data.model.oci.tag, data.model.autoprune):
    m.get_epoch_timestamp_ms = lambda: NOW
class FixedDatetime(_dt.datetime):
    @classmethod
    def today(cls):
        return _dt.datetime.fromtimestamp(NOW / 1000)
data.model.log.datetime = FixedDatetime
from workers.autopruneworker import AutoPruneWorker
w = AutoPruneWorker()
# ours runs the registry-wide pass first at its first pass: the same order here
w.prune_registry(skip_lock_for_testing=True)
w.prune()
print("pruned")
`;

/** The action log rows as a sorted list without their ids (the order of one policy's deletions is the database's). */
function withoutLogIds(s: Snapshot): Snapshot {
  const out: Snapshot = new Map(s);
  const logs = s.get('logentry3');
  if (logs) {
    const rows = [...logs.values()].map(({ id: _id, ...rest }) => rest).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    out.set('logentry3', new Map(rows.map((r, i) => [String(i), r])));
  }
  return out;
}

for (const database of ['sqlite', 'postgres'] as const) {
  t.test(`${database}: Quay's autoprune pass and ours on two copies of the same data end equal`, async (t) => {
    const quay = await startQuayPython(t, { database, start: false });
    // Auto-prune on; the tag model's optional clean-ups on, so both sides do them.
    const config = readFileSync(quay.configFile, 'utf8').replace(/^FEATURE_IMAGE_PULL_STATS: false$/m, 'FEATURE_IMAGE_PULL_STATS: true');
    // And a registry-wide default policy: tags older than 45 days, in every active namespace (Quay's test data's too).
    writeFileSync(
      quay.configFile,
      `${config}FEATURE_AUTO_PRUNE: true\nRESET_CHILD_MANIFEST_EXPIRATION: true\nDEFAULT_NAMESPACE_AUTOPRUNE_POLICY: {method: creation_date, value: 45d}\n`,
    );
    const made = JSON.parse((await quay.python(PY_SETUP, { timeoutMs: 300_000 })).trim().split('\n').pop()!) as {
      now: number;
      a: number;
      b: number;
      r: number;
      r2: number;
      rd: number;
      children: number[];
    };
    const NOW = made.now + 5_000;

    const oursDb = await copyQuayDatabase(t, quay, database, 'ap');

    t.match(await quay.python(pyPrune(NOW), { timeoutMs: 300_000 }), /pruned/, "Quay's worker ran");

    const readers = await quayAndOursReaders(t, database, quay.database, oursDb);
    const before = await readers[1]!.snapshot();

    const dal = await openOursDal(t, database, oursDb);
    const quayConfig = parseYaml(readFileSync(quay.configFile, 'utf8')) as Record<string, unknown>;
    const did = await autoPruneProgram({ dal, log: quiet, quayConfig, now: () => NOW }).run(() => true);
    // The four enabled tasks of this scenario and those of Quay's test data (devtable, buynlarge, public).
    t.match(did, { failed: 1 }, 'ours ran every enabled task, one failing');
    t.ok(Number(did?.tasks) >= 4, `ours ran ${String(did?.tasks)} tasks`);
    t.ok(Number(did?.default_policy_tags_pruned) > 0, `the default policy pruned ${String(did?.default_policy_tags_pruned)} tags`);

    const [quaySnap, oursSnap] = [await readers[0]!.snapshot(), await readers[1]!.snapshot()];
    t.same(
      diffSnapshots(withoutLogIds(quaySnap), withoutLogIds(oursSnap)).map((d) => ({ table: d.table, quay_only: d.deleted, ours_only: d.inserted, changed: d.updated })),
      [],
      'the databases are equal after both passes',
    );

    // What the scenario must show, on the result both reached.
    const q = readers[1]!;
    const ended = async (repo: number): Promise<string[]> =>
      (
        await q.rows(`SELECT name FROM tag WHERE repository_id = ${q.p(1)} AND lifetime_end_ms = ${q.p(2)} AND hidden = ${q.p(3)} ORDER BY name`, [
          repo,
          NOW,
          database === 'sqlite' ? 0 : false,
        ])
      )
        .map((r) => String(r.name))
        .filter((n) => !n.startsWith('sha256-'));
    // dev-* older than 7 days; then, of those not named release-*, all but the 3 newest (latest, v5, v4).
    t.same(await ended(made.a), ['dev-1', 'dev-3', 'dev-multi', 'v1', 'v2', 'v3', 'v4'], 'prunea: dev-* by age, then all but the 3 newest non-release tags');
    t.same(await ended(made.b), ['b1', 'b2', 'signed'], 'pruneb: the namespace and repository policies together');
    t.ok(
      (await q.rows(`SELECT name FROM tag WHERE repository_id = ${q.p(1)} AND name LIKE 'sha256-%' AND lifetime_end_ms IS NOT NULL`, [made.b])).length === 1,
      "the signed image's signature tag ended with it",
    );
    t.same(await ended(made.r), ['v1', 'v2', 'x1', 'x2'], 'prunerepo: older than 2 weeks, then all but the newest non-v tag');
    t.same(await ended(made.r2), ['y1', 'y2'], 'prunerepo2: a pattern without tag_pattern_matches selects the tags that do not match');
    t.same(await ended(made.rd), [], "the disabled namespace's repository is untouched");
    const temp = await q.rows(`SELECT lifetime_end_ms FROM tag WHERE manifest_id IN (${q.p(1)}, ${q.p(2)}) AND hidden = ${q.p(3)}`, [
      ...made.children,
      database === 'sqlite' ? 1 : true,
    ]);
    t.ok(temp.length >= 2, 'the children are held by temporary tags…');
    t.same(
      temp.filter((r) => Number(r.lifetime_end_ms) !== NOW),
      [],
      "…which all ended when the manifest list's tag was pruned",
    );
    const status = (await q.rows('SELECT status FROM autoprunetaskstatus ORDER BY id')).map((r) => r.status);
    t.ok(status.filter((s) => s === 'success').length >= 2, 'the tasks with policies succeeded');
    t.ok(
      status.some((s) => s === "failure: 'NoneType' object has no attribute 'name'"),
      "the task whose policy's repository is gone failed with Quay's message",
    );
    t.ok(status.includes('queued'), "the disabled namespace's task is still queued");
    const diff = new Map(diffSnapshots(before, oursSnap).map((d) => [d.table, d]));
    t.equal(diff.get('autoprunetaskstatus')?.deleted.length, 1, 'the task of the namespace without policies was deleted');
    t.ok((diff.get('logentry3')?.inserted.length ?? 0) >= 14, 'every pruned tag has its action log row');
    t.ok((diff.get('tagpullstatistics')?.deleted.length ?? 0) >= 1, "the pruned tag's pull statistics went with it");
  });
}
