/**
 * repositoryactioncounter, manifestsubjectbackfillworker, manifestbackfillworker and globalpromstats proven against
 * real Quay, on SQLite and PostgreSQL: Quay's initdb data plus, built with
 * Quay's own model code, action counts in every search bucket (some past the
 * retention period, some repositories already counted for yesterday), log
 * rows in the three log tables around yesterday's midnights, and pushed OCI
 * manifests (an image, a referrer with an artifact type naming it as its
 * subject, an index with a subject); then every manifest's subject and
 * artifact type are unset with their backfill flags, as Quay's migration
 * leaves rows stored before the columns. Two copies: Quay's
 * RepositoryActionCountWorker._run_counting and its
 * ManifestSubjectBackfillWorker's two operations on one, our programs on the
 * other, with the same fixed clock (Quay's date/datetime in those modules
 * replaced by a fixed one). The count and score rows must be equal; the
 * manifests too, but for the subject Quay's backfill writes as the Python
 * text of its descriptor where ours writes the digest, as Quay's push does.
 * globalpromstats: Quay's _report_stats and ours give the same six gauges,
 * by name and value.
 * Needs real Quay and PostgreSQL: fails, never skips.
 */
import t from 'tap';
import { storedReferrerFields, storedSizeFields } from '../../registryd/index.js';
import { appendFileSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { localDay } from '../../dal/model/time.js';
import { createLogger } from '../../lib/log.js';
import { repositoryActionCounter } from '../../workers/programs/repositoryactioncounter.js';
import { manifestSubjectBackfill } from '../../workers/programs/manifestsubjectbackfillworker.js';
import { manifestSizeBackfill } from '../../workers/programs/manifestbackfillworker.js';
import { GLOBAL_GAUGES, globalPromStats } from '../../workers/programs/globalpromstats.js';
import { WorkerMetrics } from '../../workers/metrics.js';
import { Registry } from 'prom-client';
import { startQuayPython } from '../lib/quay-python.js';
import { type Row } from '../lib/db-diff.js';
import { copyQuayDatabase, openOursDal, quayAndOursReaders } from '../lib/quay-copies.js';

t.setTimeout(900_000);

const quiet = createLogger({ test: 'small-workers-quay' }, { level: 'warn' });

/** The fixed clock both sides run on: now, to the second, plus 123 ms (Python's str() of a datetime drops a zero fraction). */
const FIXED_MS = Math.floor(Date.now() / 1000) * 1000 + 123;

/** Quay's date.today() / datetime.now() in the two workers' modules, fixed at FIXED_MS (local time, as Python reads it). */
const PY_CLOCK = `
import datetime as _dt
FIXED = _dt.datetime.fromtimestamp(${FIXED_MS} / 1000)
class FixedDate(_dt.date):
    @classmethod
    def today(cls):
        return FIXED.date()
class FixedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED
    @classmethod
    def today(cls):
        return FIXED
`;

/** Quay's model code, building the scenario (run once, before the copy). */
const PY_SETUP = `${PY_CLOCK}
import json
from datetime import timedelta
from app import app, storage
from data import model
from data.database import (Repository, RepositoryActionCount, RepositorySearchScore, LogEntry, LogEntry2, LogEntry3,
    LogEntryKind, Manifest, ImageStorageLocation)
from data.model import oci
from digest.digest_tools import sha256_digest
from image.shared.schemas import parse_manifest_from_bytes
from util.bytes import Bytes

today = FIXED.date()
midnight = _dt.datetime(today.year, today.month, today.day)
yesterday = midnight - timedelta(days=1)

# Action counts: initdb's go; ours in every bucket, some past the 365-day retention, some repositories already counted.
RepositoryActionCount.delete().execute()
repos = list(Repository.select().order_by(Repository.id))
kind = LogEntryKind.get(name="push_repo")
for i, r in enumerate(repos):
    for days, count in ((2, i), (5, 2 * i), (20, 3 * i + 1), (100, 5), (364, 2), (365, 1), (366, 1)):
        if days >= 365 and i % 3:
            continue
        RepositoryActionCount.create(repository=r, date=today - timedelta(days=days), count=count)
    if i % 4 == 1:
        RepositoryActionCount.create(repository=r, date=today - timedelta(days=1), count=42)
    if i % 2 == 0:
        RepositorySearchScore.delete().where(RepositorySearchScore.repository == r).execute()
    def log(table, at):
        table.create(kind=kind, account=r.namespace_user_id, performer=None, repository=r, datetime=at, ip="127.0.0.1", metadata_json="{}")
    for k in range(i % 5):
        log(LogEntry3, yesterday + timedelta(hours=5 * k, minutes=k))
    if i % 2 == 0:
        log(LogEntry2, yesterday + timedelta(hours=23, minutes=59, seconds=59))
    if i % 3 == 0:
        log(LogEntry, yesterday)
    log(LogEntry3, midnight)  # today: not yesterday's
    log(LogEntry3, yesterday - timedelta(microseconds=1))  # the day before

# Pushed OCI manifests: an image, a referrer naming it, an index naming it.
loc = ImageStorageLocation.get(name="local_us")
repo = model.repository.get_repository("devtable", "simple")
def blob(content):
    d = sha256_digest(content)
    storage.put_content(["local_us"], storage.blob_path(d), content)
    model.blob.store_blob_record_and_temp_link_in_repo(repo.id, d, loc, len(content), 3600)
    return {"digest": d, "size": len(content)}
def push(doc, tag=None):
    text = json.dumps(doc)
    m = parse_manifest_from_bytes(Bytes.for_string_or_unicode(text), doc["mediaType"])
    created = oci.manifest.get_or_create_manifest(repo.id, m, storage, for_tagging=True, raise_on_error=True).manifest
    if tag:
        oci.tag.retarget_tag(tag, created.id, raise_on_error=True)
    return {"mediaType": doc["mediaType"], "digest": created.digest, "size": len(text.encode())}
OCI_M = "application/vnd.oci.image.manifest.v1+json"
OCI_I = "application/vnd.oci.image.index.v1+json"
cfg = blob(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode())
layer = blob(b"a layer of the subject image")
empty = blob(b"{}")
base = push({"schemaVersion": 2, "mediaType": OCI_M, "config": dict(cfg, mediaType="application/vnd.oci.image.config.v1+json"),
    "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar+gzip")]}, tag="subject")
push({"schemaVersion": 2, "mediaType": OCI_M, "artifactType": "application/vnd.example.sbom",
    "config": dict(empty, mediaType="application/vnd.oci.empty.v1+json"), "layers": [dict(empty, mediaType="application/vnd.oci.empty.v1+json")],
    "subject": base})
push({"schemaVersion": 2, "mediaType": OCI_I, "artifactType": "application/vnd.example.bundle",
    "manifests": [dict(base, platform={"architecture": "amd64", "os": "linux"})], "subject": base}, tag="bundle")
# Docker schema 2: an image and a list naming it.
D_M = "application/vnd.docker.distribution.manifest.v2+json"
D_L = "application/vnd.docker.distribution.manifest.list.v2+json"
dcfg = blob(json.dumps({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": [sha256_digest(b"d1"), sha256_digest(b"d2")]},
    "history": [{"created_by": "one"}, {"created_by": "two"}]}).encode())
dl1 = blob(b"docker layer one")
dl2 = blob(b"docker layer two, a little longer")
dimg = push({"schemaVersion": 2, "mediaType": D_M, "config": dict(dcfg, mediaType="application/vnd.docker.container.image.v1+json"),
    "layers": [dict(dl1, mediaType="application/vnd.docker.image.rootfs.diff.tar.gzip"), dict(dl2, mediaType="application/vnd.docker.image.rootfs.diff.tar.gzip")]}, tag="docker")
push({"schemaVersion": 2, "mediaType": D_L, "manifests": [dict(dimg, platform={"architecture": "amd64", "os": "linux"})]}, tag="dockerlist")
pushed = {str(m.id): [m.subject, m.artifact_type] for m in Manifest.select().order_by(Manifest.id)}
sizes = {str(m.id): [m.layers_compressed_size, m.config_media_type] for m in Manifest.select().order_by(Manifest.id)}
# As Quay's migration leaves rows stored before the columns.
Manifest.update(subject=None, subject_backfilled=False, artifact_type=None, artifact_type_backfilled=False,
    layers_compressed_size=None, config_media_type=None).execute()
types = sorted({m.media_type.name for m in Manifest.select()})
print(json.dumps({"pushed": pushed, "sizes": sizes, "types": types, "subject": base["digest"], "yesterday": str(yesterday.date()), "repositories": len(repos)}))
`;

/** Quay's own passes on its copy. */
const PY_QUAY = `${PY_CLOCK}
from app import app
import workers.repositoryactioncounter as counter
import data.model.repositoryactioncount as counts
counter.date = FixedDate
counts.date = FixedDate
counts.datetime = FixedDatetime
counter.RepositoryActionCountWorker()._run_counting()
from workers.manifestsubjectbackfillworker import ManifestSubjectBackfillWorker
w = ManifestSubjectBackfillWorker()
w._backfill_manifest_subject()
w._backfill_manifest_artifact_type()
from workers.manifestbackfillworker import ManifestBackfillWorker
ManifestBackfillWorker()._backfill_manifests()
import json
from prometheus_client import REGISTRY
from workers.globalpromstats.globalpromstats import GlobalPrometheusStatsWorker
GlobalPrometheusStatsWorker()._report_stats()
print(json.dumps({name: REGISTRY.get_sample_value(name) for name in ${JSON.stringify(GLOBAL_GAUGES.map(([name]) => name))}}))
`;

const RAC = 'SELECT repository_id, CAST(date AS TEXT) AS date, count FROM repositoryactioncount ORDER BY repository_id, date';
const SCORES = 'SELECT repository_id, score, CAST(last_updated AS TEXT) AS last_updated FROM repositorysearchscore ORDER BY repository_id';
const SIZES = 'SELECT id, layers_compressed_size, config_media_type FROM manifest ORDER BY id';
const MANIFESTS = 'SELECT id, subject, subject_backfilled, artifact_type, artifact_type_backfilled FROM manifest ORDER BY id';

/** Texts beyond pushed ones (schema 1, unreadable ones) for the parsers alone: Quay's `parse_manifest_from_bytes(validate=False)` and ours. */
const SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
const OCI_M = 'application/vnd.oci.image.manifest.v1+json';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const schema1 = (history: unknown[]): string =>
  JSON.stringify({
    schemaVersion: 1,
    name: 'ns/r',
    tag: 'latest',
    architecture: 'amd64',
    fsLayers: history.map((_, i) => ({ blobSum: i % 2 ? D1 : D2 })),
    history: history.map((h) => ({ v1Compatibility: JSON.stringify(h) })),
  });
const PARSER_CASES: [string, string][] = [
  [
    SCHEMA1,
    schema1([
      { id: 'b', parent: 'a', Size: 30 },
      { id: 'a', Size: 12 },
    ]),
  ],
  [
    SCHEMA1,
    schema1([
      { id: 'b', parent: 'a' },
      { id: 'a', Size: 7 },
    ]),
  ],
  ['application/vnd.docker.distribution.manifest.v1+json', schema1([{ id: 'a', Size: 5, config: { Labels: { x: 'y' } } }])],
  [SCHEMA1, schema1([{ Size: 3 }])],
  [SCHEMA1, '{"name": "ns/r", "tag": "x", "fsLayers": []}'],
  [OCI_M, JSON.stringify({ schemaVersion: 2, mediaType: OCI_M, layers: [] })],
  [OCI_M, 'not json'],
  ['application/vnd.docker.distribution.manifest.list.v2+json', '{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json", "manifests": []}'],
  ['text/plain', '{}'],
];
const PY_PARSE = `
import json
from image.shared.schemas import ManifestException, parse_manifest_from_bytes
from util.bytes import Bytes
out = []
for media_type, text in json.loads(${JSON.stringify(JSON.stringify(PARSER_CASES))}):
    try:
        p = parse_manifest_from_bytes(Bytes.for_string_or_unicode(text), media_type, validate=False)
        out.append([p.layers_compressed_size if p.layers_compressed_size is not None else 0, p.config_media_type or None])
    except ManifestException:
        out.append([-1, None])
print(json.dumps(out))
`;

for (const database of ['sqlite', 'postgres'] as const) {
  t.test(`${database}: Quay's action counter and subject backfill and ours, on two copies, end equal`, async (t) => {
    const quay = await startQuayPython(t, { database, start: false });
    const made = JSON.parse((await quay.python(PY_SETUP, { timeoutMs: 300_000 })).trim().split('\n').pop()!) as {
      pushed: Record<string, [string | null, string | null]>;
      sizes: Record<string, [number | null, string | null]>;
      types: string[];
      subject: string;
      yesterday: string;
      repositories: number;
    };
    if (database === 'sqlite') {
      const quaySays = JSON.parse((await quay.python(PY_PARSE)).trim().split('\n').pop()!) as unknown[];
      t.same(
        PARSER_CASES.map(([type, text]) => {
          const f = storedSizeFields(type, text);
          return [f.layersCompressedSize, f.configMediaType];
        }),
        quaySays,
        "schema 1 and unreadable texts: the size and config media type Quay's parsers give",
      );
    }
    // Both clear expired counts (Quay reads the flag from the config at import).
    appendFileSync(quay.configFile, '\nFEATURE_CLEAR_EXPIRED_RAC_ENTRIES: true\n');

    const oursDb = await copyQuayDatabase(t, quay, database, 'sw');

    const quayGauges = JSON.parse((await quay.python(PY_QUAY, { timeoutMs: 300_000 })).trim().split('\n').pop()!) as Record<string, number>;

    const dal = await openOursDal(t, database, oursDb);
    const quayConfig = parseYaml(readFileSync(quay.configFile, 'utf8')) as Record<string, unknown>;
    const did = await repositoryActionCounter({ sql: dal.sql, log: quiet, quayConfig, now: () => FIXED_MS }).run(() => true);
    t.match(did, { day: made.yesterday, taken_by_another: 0 }, 'ours counted yesterday');
    t.ok((did as { expired_deleted: number }).expired_deleted > 0, 'and removed expired counts');
    t.ok(await manifestSubjectBackfill({ sql: dal.sql, referrerFields: storedReferrerFields, log: quiet, quayConfig }).run(() => true), 'ours backfilled');
    t.match(
      await manifestSizeBackfill({ sql: dal.sql, sizeFields: storedSizeFields, log: quiet, quayConfig }).run(() => true),
      { unreadable: 0, taken_by_another: 0 },
      'ours backfilled the sizes',
    );

    // globalpromstats: Quay's gauges (its _report_stats, read from its prometheus_client registry) and ours, on the same rows.
    const registry = new Registry();
    const gauges = await globalPromStats({ sql: dal.sql, quayConfig, metrics: new WorkerMetrics(registry) }).run(() => true);
    t.same(gauges, quayGauges, "globalpromstats: Quay's six gauges, same names, same values");
    t.ok(
      Object.values(quayGauges).some((v) => v > 0),
      'some are not zero',
    );
    const exposed = await registry.metrics();
    for (const [name] of GLOBAL_GAUGES) t.match(exposed, new RegExp(`^${name} ${quayGauges[name]}$`, 'm'), `${name} on /metrics`);

    const readers = await quayAndOursReaders(t, database, quay.database, oursDb);
    const both = (sql: string): Promise<Row[][]> => Promise.all(readers.map((r) => r.rows(sql)));

    const [quayRac, oursRac] = await both(RAC);
    t.same(oursRac, quayRac, 'repositoryactioncount: equal rows');
    const yesterdays = oursRac!.filter((r) => String(r.date).slice(0, 10) === made.yesterday);
    t.ok(
      yesterdays.some((r) => Number(r.count) > 0 && Number(r.count) !== 42),
      "some of yesterday's counts are not zero",
    );
    t.ok(
      yesterdays.some((r) => Number(r.count) === 42),
      'a count that was there already stays',
    );
    // Counts 365 and 366 days old were seeded for every third repository (i % 3 == 0); those
    // counted now lose the 366-day one and keep the 365-day one, as Quay's Peewee compares days.
    const seeded = [...Array(made.repositories).keys()].filter((i) => i % 3 === 0);
    const onDay = (n: number): number => oursRac!.filter((r) => String(r.date).slice(0, 10) === localDay(FIXED_MS, -n)).length;
    t.equal(onDay(365), seeded.length, 'the count of the day 365 days ago stays');
    t.equal(onDay(366), seeded.filter((i) => i % 4 === 1).length, 'older ones go, except where the repository was not counted this pass');

    const [quayScores, oursScores] = await both(SCORES);
    t.same(oursScores, quayScores, 'repositorysearchscore: equal rows');
    t.ok(
      oursScores!.some((r) => Number(r.score) > 0),
      'some scores are not zero',
    );

    const [quayManifests, oursManifests] = await both(MANIFESTS);
    // Quay's backfill stores str() of its OCIManifestDescriptor namedtuple; the digest in it is the subject.
    const quayRead = quayManifests!.map((r) => ({ ...r, subject: r.subject === null ? null : (/digest='(sha256:[0-9a-f]{64})'\)$/.exec(String(r.subject))?.[1] ?? r.subject) }));
    t.ok(
      quayManifests!.some((r) => String(r.subject).startsWith('OCIManifestDescriptor(')),
      "Quay's backfill wrote its descriptor's Python text as the subject (see workers/README.md)",
    );
    t.same(oursManifests, quayRead, 'manifest subject, artifact_type and their flags: equal (Quay’s subject read as its digest)');
    t.same(Object.fromEntries(oursManifests!.map((r) => [String(r.id), [r.subject, r.artifact_type]])), made.pushed, "ours wrote back exactly what Quay's push had written");
    t.equal(oursManifests!.filter((r) => r.subject === made.subject).length, 2, 'the referrer and the index name the image');

    // manifestbackfillworker: every size was NULL; Quay's backfill and ours write the same size and config media type.
    const [quaySizes, oursSizes] = await both(SIZES);
    const sizeRows = (rows: Row[]): Record<string, [number | null, unknown]> =>
      Object.fromEntries(rows.map((r) => [String(r.id), [r.layers_compressed_size === null ? null : Number(r.layers_compressed_size), r.config_media_type]]));
    t.same(sizeRows(oursSizes!), sizeRows(quaySizes!), 'manifest layers_compressed_size and config_media_type: equal');
    t.notOk(
      oursSizes!.some((r) => r.layers_compressed_size === null),
      'none left NULL',
    );
    for (const type of [
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.oci.image.index.v1+json',
    ])
      t.ok(made.types.includes(type), `a ${type} among them`);
    // Images: what Quay's push had written; lists and indexes: 0 where the push writes NULL.
    t.same(
      sizeRows(oursSizes!),
      Object.fromEntries(Object.entries(made.sizes).map(([id, [size, config]]) => [id, [size ?? 0, config]])),
      `every manifest (${made.types.join(', ')}): as pushed`,
    );
  });
}
