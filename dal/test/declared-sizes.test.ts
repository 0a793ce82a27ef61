/**
 * Both metadata stores check a new manifest's declared sizes against what
 * they resolve its references to (imagestorage.image_size, a child
 * manifest's UTF-8 byte length) inside the insert, and store the layers'
 * total as an integer. SQLite and PostgreSQL (the local server, see
 * ../lib/postgres.ts; never skipped) must agree.
 */
import t from 'tap';
import { SqliteMetadataStore } from '../sqlite/store.js';
import { PgMetadataStore } from '../postgres/store.js';
import { SizeMismatch, type DeclaredSize, type MetadataStore, type NewManifest } from '../model/store.js';
import { freshPgDatabase } from './lib/postgres.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const digest = (c: string): string => `sha256:${c.repeat(64).slice(0, 64)}`;
const OCI = 'application/vnd.oci.image.manifest.v1+json';

const pgDb = await freshPgDatabase(t);
const pgStore = await PgMetadataStore.open(pgDb.url);
const sqlite = new SqliteMetadataStore(':memory:');
t.teardown(async () => {
  await pgStore.metadata.close();
  await sqlite.close();
});

const sides: readonly { kind: string; store: MetadataStore; raw(sql: string, ...p: unknown[]): Promise<Record<string, unknown>[]> }[] = [
  {
    kind: 'sqlite',
    store: sqlite,
    raw: async (sql, ...p) => {
      const s = sqlite.db.prepare(sql);
      return s.reader ? (s.all(...p) as Record<string, unknown>[]) : (s.run(...p), []);
    },
  },
  {
    kind: 'pg',
    store: pgStore.metadata,
    raw: async (sql, ...p) => {
      let i = 0;
      return (
        await pgStore.pool.query(
          sql.replace(/\?/g, () => `$${++i}`),
          p,
        )
      ).rows as Record<string, unknown>[];
    },
  },
];

function manifest(d: string, text: string, declared: DeclaredSize[], extra: Partial<NewManifest> = {}): NewManifest {
  return {
    digest: d,
    mediaType: OCI,
    text,
    configMediaType: null,
    layersCompressedSize: 0,
    subject: null,
    artifactType: null,
    blobDigests: declared.filter((x) => x.kind !== 'manifest').map((x) => x.digest),
    childDigests: declared.filter((x) => x.kind === 'manifest').map((x) => x.digest),
    declaredSizes: declared,
    ...extra,
  };
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return 'stored';
  } catch (e) {
    if (e instanceof SizeMismatch) return { kind: e.kind, digest: e.digest, actual: e.actual, declared: e.declared };
    return { threw: (e as Error).name };
  }
}

for (const side of sides) {
  t.test(`${side.kind}: declared sizes against the stored ones`, async (t) => {
    const s = side.store;
    const repo = await s.createRepository('acme', `sizes-${side.kind}`, 'public', NOW);
    const commit = (d: string, size: number): Promise<unknown> =>
      s.commitBlob({ uploadUuid: null, repositoryId: repo.id, digest: d, size, uncompressedSize: null, location: 'local_us', nowMs: NOW, linkExpiresMs: NOW + 3600_000 });
    await commit(digest('c'), 10);
    await commit(digest('a'), 1000);
    await commit(digest('b'), 0);

    const good: DeclaredSize[] = [
      { kind: 'config', digest: digest('c'), size: 10 },
      { kind: 'layer', digest: digest('a'), size: 1000 },
      { kind: 'layer', digest: digest('b'), size: 0 },
    ];
    t.equal(await outcome(s.putManifest(repo.id, manifest(digest('1'), '{"m":1}', good, { layersCompressedSize: 1000 }), { tag: 'good' }, NOW)), 'stored');
    const rows = await side.raw('SELECT layers_compressed_size AS total FROM manifest WHERE digest = ?', digest('1'));
    t.same(rows, [{ total: 1000 }]);
    if (side.kind === 'sqlite') t.same(await side.raw('SELECT typeof(layers_compressed_size) AS type FROM manifest WHERE digest = ?', digest('1')), [{ type: 'integer' }]);

    t.same(await outcome(s.putManifest(repo.id, manifest(digest('2'), '{"m":2}', [good[0]!, { kind: 'layer', digest: digest('a'), size: 999 }]), { tag: 'bad' }, NOW)), {
      kind: 'layer',
      digest: digest('a'),
      actual: 1000,
      declared: 999,
    });
    t.same(await outcome(s.putManifest(repo.id, manifest(digest('3'), '{"m":3}', [{ kind: 'config', digest: digest('c'), size: 11 }]), { tag: 'bad' }, NOW)), {
      kind: 'config',
      digest: digest('c'),
      actual: 10,
      declared: 11,
    });
    t.same(await side.raw('SELECT count(*) AS n FROM manifest'), [{ n: 1 }], 'nothing stored for the refused ones');
    t.same(await side.raw("SELECT count(*) AS n FROM tag WHERE name = 'bad'"), [{ n: 0 }]);

    // A child with a multi-byte character: its size is its UTF-8 byte count.
    const childText = '{"note":"caf\u00e9"}';
    t.equal(await outcome(s.putManifest(repo.id, manifest(digest('4'), childText, [good[0]!]), { tempTagUntilMs: NOW + 3600_000 }, NOW)), 'stored');
    t.same(await outcome(s.putManifest(repo.id, manifest(digest('5'), '{"i":1}', [{ kind: 'manifest', digest: digest('4'), size: childText.length }]), { tag: 'idx' }, NOW)), {
      kind: 'manifest',
      digest: digest('4'),
      actual: Buffer.byteLength(childText),
      declared: childText.length,
    });
    t.equal(
      await outcome(s.putManifest(repo.id, manifest(digest('5'), '{"i":1}', [{ kind: 'manifest', digest: digest('4'), size: Buffer.byteLength(childText) }]), { tag: 'idx' }, NOW)),
      'stored',
    );

    // A blob whose image_size is not recorded (NULL, as a row Quay is still writing) is not compared.
    await commit(digest('n'), 5);
    await side.raw('UPDATE imagestorage SET image_size = NULL WHERE content_checksum = ?', digest('n'));
    t.equal(await outcome(s.putManifest(repo.id, manifest(digest('6'), '{"m":6}', [good[0]!, { kind: 'layer', digest: digest('n'), size: 77 }]), { tag: 'null' }, NOW)), 'stored');

    // A total that is not an exact integer never reaches the column.
    const inexact = await outcome(s.putManifest(repo.id, manifest(digest('7'), '{"m":7}', good, { layersCompressedSize: 2 ** 64 }), { tag: 'huge' }, NOW));
    t.not(inexact, 'stored', `a total of 2^64 is refused (${JSON.stringify(inexact)})`);
    t.same(await side.raw('SELECT count(*) AS n FROM manifest WHERE digest = ?', digest('7')), [{ n: 0 }]);
  });
}
