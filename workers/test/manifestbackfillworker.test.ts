/**
 * manifestbackfillworker (dal/portable/manifest-backfill.ts +
 * programs/manifestbackfillworker.ts) on SQLite and a fresh PostgreSQL:
 * manifests whose layers_compressed_size is NULL get the size and config
 * media type their text holds (Docker schema 2 and OCI images: layers added
 * up, the config's type; lists and indexes: 0 and none; schema 1: the
 * history's `Size`s, no config); -1 for a text that does not parse (with a
 * log line); a row with a size is left as it is; each fill is a
 * compare-and-swap on the NULL size. Needs the local PostgreSQL; fails,
 * never skips.
 */
import t from 'tap';
import { storedSizeFields } from '../../registryd/index.js';
import { openStoreSides } from '../../dal/test/lib/store-sides.js';
import { digestOf, testManifest } from '../../dal/test/lib/manifests.js';
import { ManifestBackfill } from '../../dal/portable/manifest-backfill.js';
import { createLogger } from '../../lib/log.js';
import { manifestSizeBackfill } from '../programs/manifestbackfillworker.js';

const { sides } = await openStoreSides(t);
const NOW = Date.UTC(2026, 11, 4, 12);

const OCI_M = 'application/vnd.oci.image.manifest.v1+json';
const OCI_I = 'application/vnd.oci.image.index.v1+json';
const DOCKER_M = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_L = 'application/vnd.docker.distribution.manifest.list.v2+json';
const SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
const CONFIG = 'application/vnd.docker.container.image.v1+json';
const LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const PLATFORM = { architecture: 'amd64', os: 'linux' };

const texts: Record<string, { mediaType: string; doc: unknown; want: [number, string | null] }> = {
  docker: {
    mediaType: DOCKER_M,
    doc: {
      schemaVersion: 2,
      mediaType: DOCKER_M,
      config: { mediaType: CONFIG, digest: digestOf('1'), size: 9 },
      layers: [
        { mediaType: LAYER, digest: digestOf('2'), size: 1000 },
        { mediaType: LAYER, digest: digestOf('3'), size: 234 },
      ],
    },
    want: [1234, CONFIG],
  },
  oci: {
    mediaType: OCI_M,
    doc: {
      schemaVersion: 2,
      mediaType: OCI_M,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf('4'), size: 5 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf('5'), size: 77 }],
    },
    want: [77, 'application/vnd.oci.image.config.v1+json'],
  },
  list: {
    mediaType: DOCKER_L,
    doc: { schemaVersion: 2, mediaType: DOCKER_L, manifests: [{ mediaType: DOCKER_M, digest: digestOf('6'), size: 500, platform: PLATFORM }] },
    want: [0, null],
  },
  index: { mediaType: OCI_I, doc: { schemaVersion: 2, mediaType: OCI_I, manifests: [{ mediaType: OCI_M, digest: digestOf('7'), size: 400 }] }, want: [0, null] },
  schema1: {
    mediaType: SCHEMA1,
    doc: {
      schemaVersion: 1,
      name: 'ns/r',
      tag: 'latest',
      architecture: 'amd64',
      fsLayers: [{ blobSum: digestOf('8') }, { blobSum: digestOf('9') }, { blobSum: digestOf('a') }],
      history: [
        { v1Compatibility: JSON.stringify({ id: 'c', parent: 'b', Size: 30 }) },
        { v1Compatibility: JSON.stringify({ id: 'b', parent: 'a' }) },
        { v1Compatibility: JSON.stringify({ id: 'a', Size: 12 }) },
      ],
      signatures: [],
    },
    want: [42, null],
  },
  schema1NoId: {
    mediaType: SCHEMA1,
    doc: { schemaVersion: 1, name: 'ns/r', tag: 'x', fsLayers: [{ blobSum: digestOf('8') }], history: [{ v1Compatibility: JSON.stringify({ Size: 3 }) }] },
    want: [-1, null],
  },
  broken: { mediaType: OCI_M, doc: { schemaVersion: 2, mediaType: OCI_M, layers: [] }, want: [-1, null] },
};

for (const s of sides) {
  t.test(`${s.kind}: sizes and config media types filled from the stored text, once`, async (t) => {
    const repo = await s.meta.createRepository(`mbf${s.kind}`, 'r', 'private', NOW);
    const ids: Record<string, number> = {};
    let c = 0;
    for (const [name, m] of Object.entries(texts)) {
      const ref = await s.meta.putManifest(
        repo.id,
        testManifest(digestOf(`b${c++}`), [], { mediaType: m.mediaType, text: JSON.stringify(m.doc), layersCompressedSize: 5 }),
        { tag: name },
        NOW,
      );
      ids[name] = ref.id;
    }
    const kept = await s.meta.putManifest(repo.id, testManifest(digestOf('c'), [], { layersCompressedSize: 99, configMediaType: 'kept/type' }), { tag: 'kept' }, NOW);
    // As Quay's migration leaves rows stored before the columns.
    await s.raw('UPDATE manifest SET layers_compressed_size = NULL, config_media_type = NULL WHERE repository_id = ? AND id <> ?', repo.id, kept.id);

    const data = new ManifestBackfill(s.dal.sql);
    t.equal(await data.anyPending('sizes'), true);
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({}, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const program = manifestSizeBackfill({ sql: s.dal.sql, sizeFields: storedSizeFields, log, quayConfig: {} });
    t.equal(program.everyMs, 3_600_000, "Quay's default MANIFEST_BACKFILL_WORKER_FREQUENCY");
    t.same(await program.run(() => true), { filled: 7, unreadable: 2, taken_by_another: 0 });
    const rows = Object.fromEntries(
      (await s.raw('SELECT id, layers_compressed_size, config_media_type FROM manifest WHERE repository_id = ?', repo.id)).map((r) => [
        Number(r.id),
        [r.layers_compressed_size === null ? null : Number(r.layers_compressed_size), r.config_media_type],
      ]),
    );
    for (const [name, m] of Object.entries(texts)) t.same(rows[ids[name]!], m.want, name);
    t.ok(
      lines.some((l) => l.manifest_id === ids.broken && l.level === 'warn'),
      'a text that does not parse is logged',
    );
    t.same(rows[kept.id], [99, 'kept/type'], 'a row with a size is left alone');

    t.equal(await data.anyPending('sizes'), false);
    t.equal(await program.run(() => true), null, 'the next pass has nothing to do');
    t.equal(await data.fill('sizes', ids.docker!, [1, 'other']), false, 'a fill is refused once the size is set (another worker did it)');
    t.equal(await data.anyPending('subject'), false, "the subject backfill's rows are its own");
  });
}

t.test('the frequency comes from MANIFEST_BACKFILL_WORKER_FREQUENCY', async (t) => {
  const p = manifestSizeBackfill({
    sql: sides[0]!.dal.sql,
    sizeFields: storedSizeFields,
    log: createLogger({}, { write: () => {} }),
    quayConfig: { MANIFEST_BACKFILL_WORKER_FREQUENCY: 5 },
  });
  t.equal(p.everyMs, 5000);
});
