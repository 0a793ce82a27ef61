/**
 * createQuaySchemaPg on the local PostgreSQL (fresh databases, see
 * ../lib/postgres.ts; fails, never skips, when the server is down): same
 * tables, columns, indexes and lookup rows as the SQLite schema, Quay's
 * PostgreSQL types, idempotent, refuses foreign revisions, serialises
 * concurrent creators. (quay-alembic-schema.test.ts compares the whole
 * catalog with what Quay's own migrations make.)
 */
import t from 'tap';
import type { Test } from 'tap';
import Database from 'better-sqlite3';
import pg from 'pg';
import { LOOKUP_ROWS, QUAY_ALEMBIC_HEAD } from '../schema/quay.js';
import { createQuaySchema } from '../sqlite/schema.js';
import { BOOLEAN_COLUMNS, createQuaySchemaPg, readAlembicVersionPg } from '../postgres/schema.js';
import { PG_TYPES, PgMetadataStore } from '../postgres/store.js';
import { freshPgDatabase } from './lib/postgres.js';

async function pool(t: Test, url: string): Promise<pg.Pool> {
  const p = new pg.Pool({ connectionString: url, max: 4, types: PG_TYPES });
  p.on('error', () => undefined);
  t.teardown(() => p.end());
  return p;
}

const sqlite = new Database(':memory:');
createQuaySchema(sqlite);
t.teardown(() => sqlite.close());

const a = await freshPgDatabase(t);
const pa = await pool(t, a.url);

t.test('creates the schema once; idempotent at head', async (tt) => {
  tt.equal(await readAlembicVersionPg(pa), undefined, 'empty database has no alembic_version');
  await createQuaySchemaPg(pa);
  tt.equal(await readAlembicVersionPg(pa), QUAY_ALEMBIC_HEAD);
  const count = async (): Promise<number> => (await pa.query<{ n: number }>('SELECT COUNT(*) AS n FROM logentrykind')).rows[0]!.n;
  tt.equal(await count(), LOOKUP_ROWS['logentrykind']!.length);
  await createQuaySchemaPg(pa);
  const c = await pa.connect();
  try {
    await createQuaySchemaPg(c);
  } finally {
    c.release();
  }
  tt.equal(await count(), LOOKUP_ROWS['logentrykind']!.length, 'second and third runs change nothing');
  tt.same((await pa.query('SELECT version_num FROM alembic_version')).rows, [{ version_num: QUAY_ALEMBIC_HEAD }]);
});

t.test('tables and columns equal the SQLite schema', async (tt) => {
  const sqliteTables = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'sqlite_sequence' ORDER BY name").pluck().all() as string[];
  const sqliteCols: Record<string, string[]> = {};
  for (const table of sqliteTables) sqliteCols[table] = (sqlite.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((r) => r.name);
  const pgCols: Record<string, string[]> = {};
  for (const r of (
    await pa.query<{ table_name: string; column_name: string }>(`SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
  ).rows)
    (pgCols[r.table_name] ??= []).push(r.column_name);
  tt.equal(sqliteTables.length, 105, "Quay's 105 tables, alembic_version included");
  tt.same(Object.keys(pgCols).sort(), sqliteTables);
  tt.same(pgCols, sqliteCols, 'same columns, same order');

  const sqliteIdx = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name").pluck().all() as string[];
  const pgIdx = (
    await pa.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()
      AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype = 'p') ORDER BY indexname`)
  ).rows.map((r) => r.indexname);
  tt.same([...pgIdx].sort(), [...sqliteIdx].sort(), 'same index names');
  const uniq = async (): Promise<string[]> =>
    (
      await pa.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()
      AND indexdef LIKE 'CREATE UNIQUE%' AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype = 'p') ORDER BY indexname`)
    ).rows.map((r) => r.indexname);
  tt.same(
    (await uniq()).sort(),
    (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE 'CREATE UNIQUE%'").pluck().all() as string[]).sort(),
    'same unique indexes',
  );
});

t.test('PostgreSQL types as Quay has them', async (tt) => {
  const cols = new Map<string, { data_type: string; len: number | null; dflt: string | null; nullable: string }>();
  for (const r of (
    await pa.query<{ table_name: string; column_name: string; data_type: string; len: number | null; dflt: string | null; nullable: string }>(
      `SELECT table_name, column_name, data_type, character_maximum_length AS len, column_default AS dflt, is_nullable AS nullable
     FROM information_schema.columns WHERE table_schema = current_schema()`,
    )
  ).rows)
    cols.set(`${r.table_name}.${r.column_name}`, r);
  const booleans = [...cols]
    .filter(([, c]) => c.data_type === 'boolean')
    .map(([k]) => k)
    .sort();
  tt.same(
    booleans,
    Object.entries(BOOLEAN_COLUMNS)
      .flatMap(([tb, cs]) => cs.map((c) => `${tb}.${c}`))
      .sort(),
    'boolean columns = Quay BooleanFields',
  );
  const type = (k: string): string => {
    const c = cols.get(k);
    if (!c) return 'missing';
    return c.len !== null ? `${c.data_type}(${c.len})` : c.data_type;
  };
  const expect: Record<string, string> = {
    'user.id': 'integer',
    'user.uuid': 'character varying(36)',
    'user.username': 'character varying(255)',
    'user.removed_tag_expiration_s': 'bigint',
    'user.last_invalid_login': 'timestamp without time zone',
    'user.organization': 'boolean',
    'tag.lifetime_start_ms': 'bigint',
    'tag.lifetime_end_ms': 'bigint',
    'tag.hidden': 'boolean',
    'uploadedblob.id': 'bigint',
    'logentry3.id': 'bigint',
    'manifestblob.id': 'bigint',
    'manifest.id': 'integer',
    'manifest.manifest_bytes': 'text',
    'manifest.digest': 'character varying(255)',
    'blobupload.byte_count': 'bigint',
    'blobupload.sha_state': 'text',
    'blobupload.created': 'timestamp without time zone',
    'imagestorage.image_size': 'bigint',
    'queueitem.queue_name': 'character varying(1024)',
    'queueitem.body': 'text',
    'alembic_version.version_num': 'character varying(32)',
    'label.key': 'character varying(255)',
    'label.value': 'text',
    'servicekey.jwk': 'text',
    'repository.description': 'text',
    'repository.state': 'integer',
    'repositoryactioncount.date': 'date',
    'logentry.id': 'bigint',
    'logentry2.id': 'integer',
    'proxycacheconfig.upstream_registry': 'character varying(2048)',
    'repomirrorconfig.external_registry_password': 'character varying(9000)',
    'quotaregistrysize.size_bytes': 'bigint',
    'apprtag.protected': 'boolean',
  };
  for (const [k, v] of Object.entries(expect)) tt.equal(type(k), v, k);
  tt.equal(cols.get('user.enabled')!.dflt, 'true');
  tt.equal(cols.get('tag.hidden')!.dflt, 'false');
  tt.equal(cols.get('user.removed_tag_expiration_s')!.dflt, '1209600');
  tt.equal(cols.get('quotanamespacesize.size_bytes')!.dflt, "'0'::bigint", 'a default the migration gave as a string stays one');
  tt.equal(cols.get('messages.severity')!.dflt, "'info'::character varying");
  tt.match(
    cols.get('blobupload.created')!.dflt,
    /^'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d'::timestamp without time zone$/,
    "the creation moment, frozen as Quay's migration froze its own",
  );
  const seq = async (name: string): Promise<unknown> =>
    (await pa.query(`SELECT data_type::text AS type, last_value::int AS last FROM pg_sequences WHERE sequencename = $1`, [name])).rows[0];
  tt.same(await seq('logentry_id_seq'), { type: 'integer', last: null }, 'logentry: bigint id on an integer sequence, as Alembic widened it');
  tt.same(await seq('logentry3_id_seq'), { type: 'bigint', last: null });
  tt.same(await seq('disablereason_id_seq'), { type: 'integer', last: null }, 'rows inserted with explicit ids leave the sequence unused');
  tt.same(await seq('visibility_id_seq'), { type: 'integer', last: 2 }, 'rows inserted by name draw from it');
  tt.match(cols.get('tag.id')!.dflt, /nextval\('tag_id_seq'/);
  const constraints = (await pa.query<{ conname: string }>('SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace')).rows.map((r) => r.conname);
  for (const c of [
    'pk_user',
    'pk_tag',
    'pk_quotanamespacesizeid',
    'alembic_version_pkc',
    'fk_tag_manifest_id_manifest',
    'fk_repository_namespace_user_id_user',
    'fk_imagestorageplacement_location_id_imagestoragelocation',
    'fk_manifestblob_blob_id_imagestorage',
    'pk_proxy_cache_config',
    'fk_quotalimit_id',
    'fk_tag_notification_success_tag_id',
    'fk_repomirrorrule_left_child_id_repomirrorrule',
  ])
    tt.ok(constraints.includes(c), `constraint ${c}`);
  const defs = new Map(
    (await pa.query<{ indexname: string; indexdef: string }>('SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()')).rows.map((r) => [
      r.indexname,
      r.indexdef,
    ]),
  );
  tt.match(defs.get('repository_name__fulltext'), /USING gin \(name gin_trgm_ops\)/);
  tt.match(defs.get('user_email_unique_non_org'), /WHERE \(organization = false\)/);
});

t.test('lookup rows equal the SQLite ones, ids included', async (tt) => {
  for (const table of [...Object.keys(LOOKUP_ROWS), 'imagestoragelocation']) {
    const s = sqlite.prepare(`SELECT id, name FROM ${table} ORDER BY id`).all();
    const p = (await pa.query(`SELECT id, name FROM ${table} ORDER BY id`)).rows;
    tt.same(p, s, table);
  }
  tt.same(
    (await pa.query('SELECT name, mutable FROM labelsourcetype ORDER BY id')).rows,
    (sqlite.prepare('SELECT name, mutable FROM labelsourcetype ORDER BY id').all() as { name: string; mutable: number }[]).map((r) => ({ name: r.name, mutable: r.mutable === 1 })),
  );
});

t.test('refuses another alembic revision', async (tt) => {
  await pa.query("UPDATE alembic_version SET version_num = '0123456789ab'");
  try {
    await tt.rejects(createQuaySchemaPg(pa), { code: 'REG_SCHEMA_VERSION', found: '0123456789ab', expected: QUAY_ALEMBIC_HEAD });
    await tt.rejects(PgMetadataStore.open(a.url), { code: 'REG_SCHEMA_VERSION' }, 'open refuses too');
    await pa.query('DELETE FROM alembic_version');
    await tt.rejects(createQuaySchemaPg(pa), { code: 'REG_SCHEMA_VERSION', found: '(empty alembic_version)' });
  } finally {
    await pa.query('DELETE FROM alembic_version');
    await pa.query('INSERT INTO alembic_version (version_num) VALUES ($1)', [QUAY_ALEMBIC_HEAD]);
  }
  const { metadata } = await PgMetadataStore.open(a.url);
  tt.same(await metadata.listRepositories({ n: 1 }), [], 'opens at head');
  await metadata.close();
});

t.test('refuses Quay tables without alembic_version that do not fit, and changes nothing', async (tt) => {
  const b = await freshPgDatabase(tt);
  const pb = await pool(tt, b.url);
  await pb.query('CREATE TABLE "user" (id serial PRIMARY KEY)');
  await tt.rejects(createQuaySchemaPg(pb), { code: 'REG_SCHEMA_VERSION', found: /no alembic_version, and its tables differ from Quay's: table visibility is missing/ });
  tt.same((await pb.query('SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()')).rows, [{ table_name: 'user' }]);
});

t.test("accepts an unstamped database whose tables fit (Quay's initdb.py), leaving it unstamped", async (tt) => {
  const b = await freshPgDatabase(tt);
  const pb = await pool(tt, b.url);
  await createQuaySchemaPg(pb);
  await pb.query('DROP TABLE alembic_version');
  await pb.query("DELETE FROM imagestoragelocation WHERE name = 'local_us'");
  await createQuaySchemaPg(pb);
  tt.equal(await readAlembicVersionPg(pb), undefined, 'no alembic_version is written');
  tt.same((await pb.query("SELECT count(*)::int AS n FROM imagestoragelocation WHERE name = 'local_us'")).rows, [{ n: 1 }], 'the storage location is ensured');
  await pb.query('ALTER TABLE tag ADD COLUMN required_thing text NOT NULL');
  await tt.rejects(createQuaySchemaPg(pb), { code: 'REG_SCHEMA_VERSION', found: /column tag\.required_thing is NOT NULL without a default and unknown to us/ });
  await pb.query('ALTER TABLE tag DROP COLUMN required_thing');
  await pb.query('ALTER TABLE manifest DROP COLUMN subject');
  await tt.rejects(createQuaySchemaPg(pb), { code: 'REG_SCHEMA_VERSION', found: /column manifest\.subject is missing/ });
});

t.test('concurrent creators serialise', async (tt) => {
  const c = await freshPgDatabase(tt);
  const pools = await Promise.all([0, 1, 2, 3].map(() => pool(tt, c.url)));
  await Promise.all(pools.map((p) => createQuaySchemaPg(p)));
  tt.equal(await readAlembicVersionPg(pools[0]!), QUAY_ALEMBIC_HEAD);
  tt.same((await pools[0]!.query('SELECT COUNT(*) AS n FROM visibility')).rows, [{ n: 2 }]);
  tt.same((await pools[0]!.query('SELECT COUNT(*) AS n FROM alembic_version')).rows, [{ n: 1 }]);
});
