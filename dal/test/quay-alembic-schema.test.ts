/**
 * The schema we lay down equals the one real Quay makes: Quay's own `alembic
 * upgrade head` (and boot.py) on one fresh PostgreSQL database,
 * createQuaySchemaPg on another, both read back from the catalogs and
 * compared entry by entry (tables, columns with type, nullability, default
 * and order, indexes, constraints, sequences, every row, alembic_version).
 * Also: QUAY_ALEMBIC_HEAD is the head of the pinned Quay's migrations, and
 * databases Quay's initdb.py made (SQLite and PostgreSQL) are still accepted.
 *
 * What is normalised, and why (everything else must be equal as read):
 *  - blobupload.created's default: Quay's migration froze the moment it ran
 *    into the schema as a constant; each side must hold the moment its own
 *    schema was made (checked), the literal then differs by nature;
 *  - mediatype rows inserted from a Python set (three pairs): their order,
 *    hence which of the two ids each name gets, follows Python's per-process
 *    string hash seed, so any real Quay has either order. Each pair must hold
 *    the same two names on the same two consecutive ids;
 *  - boot.py's instance service key (a servicekey and its approval row) is
 *    data, not schema: checked to be exactly that, then removed with its
 *    sequence reset, before the comparison. boot.py's other write, the
 *    `local_us` storage location, is compared as is: createQuaySchemaPg writes
 *    it too.
 */
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { QUAY_ALEMBIC_HEAD } from '../schema/quay.js';
import { createQuaySchema, readAlembicVersion } from '../sqlite/schema.js';
import { createQuaySchemaPg, readAlembicVersionPg } from '../postgres/schema.js';
import { freshPgDatabase } from './lib/postgres.js';
import { QUAY_PYTHON, startQuayPython } from '../../test/lib/quay-python.js';

t.setTimeout(300_000);

type Queryable = Pick<pg.ClientBase, 'query'>;

/** One catalog, section -> key -> a line describing the entry. */
type Dump = Record<string, Map<string, string>>;

async function rows<T>(db: Queryable, sql: string): Promise<T[]> {
  return (await db.query(sql)).rows as T[];
}

/** Every relation of the current schema but indexes and sequences, and user-defined triggers, functions and types. */
async function dumpObjects(db: Queryable): Promise<Pick<Dump, 'tables' | 'objects'>> {
  const tables = new Map<string, string>();
  for (const r of await rows<{ name: string; kind: string }>(
    db,
    `SELECT relname AS name, relkind AS kind FROM pg_class
      WHERE relnamespace = current_schema()::regnamespace AND relkind NOT IN ('i', 'S')`,
  ))
    tables.set(r.name, `relkind ${r.kind}`);
  const objects = new Map<string, string>();
  for (const r of await rows<{ name: string; def: string }>(
    db,
    `SELECT tgrelid::regclass || '.' || tgname AS name, pg_get_triggerdef(oid) AS def
      FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = current_schema()::regnamespace)`,
  ))
    objects.set(`trigger ${r.name}`, r.def);
  // Functions and types that come with an extension (pg_trgm's) are the extension's, not the schema's.
  const notFromExtension = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = o.oid AND d.deptype = 'e')";
  for (const r of await rows<{ name: string }>(
    db,
    `SELECT o.oid::regprocedure::text AS name FROM pg_proc o
      WHERE o.pronamespace = current_schema()::regnamespace AND ${notFromExtension}`,
  ))
    objects.set(`function ${r.name}`, 'exists');
  for (const r of await rows<{ name: string; type: string }>(
    db,
    `SELECT o.typname AS name, o.typtype AS type FROM pg_type o
      WHERE o.typnamespace = current_schema()::regnamespace AND o.typtype IN ('e', 'd', 'r', 'm') AND ${notFromExtension}`,
  ))
    objects.set(`type ${r.name}`, `typtype ${r.type}`);
  return { tables, objects };
}

/** Columns (type, nullability, default, identity) and each table's column order. */
async function dumpColumns(db: Queryable): Promise<Pick<Dump, 'columns' | 'column order'>> {
  const columns = new Map<string, string>();
  const order = new Map<string, string[]>();
  for (const r of await rows<{ t: string; col: string; type: string; notnull: boolean; dflt: string | null; ident: string; coll: string | null }>(
    db,
    `SELECT c.relname AS t, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
        pg_get_expr(d.adbin, d.adrelid) AS dflt, a.attidentity::text || a.attgenerated::text AS ident,
        CASE WHEN a.attcollation NOT IN (0, 100) THEN a.attcollation::regcollation::text END AS coll
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY c.relname, a.attnum`,
  )) {
    const parts = [
      r.type,
      r.notnull ? 'NOT NULL' : 'NULL',
      r.dflt === null ? '' : `DEFAULT ${r.dflt}`,
      r.ident ? `identity/generated ${r.ident}` : '',
      r.coll ? `COLLATE ${r.coll}` : '',
    ];
    columns.set(`${r.t}.${r.col}`, parts.filter(Boolean).join(' '));
    order.set(r.t, [...(order.get(r.t) ?? []), r.col]);
  }
  // Dropped columns leave gaps in attnum (Quay's history drops some): the order, not the numbers, is what a reader sees.
  return { columns, 'column order': new Map([...order].map(([tb, cols]) => [tb, cols.join(', ')])) };
}

/** Indexes (pg_get_indexdef: unique, method, operator class, predicate), constraints, sequences with their state. */
async function dumpKeys(db: Queryable): Promise<Pick<Dump, 'indexes' | 'constraints' | 'sequences'>> {
  const indexes = new Map<string, string>();
  for (const r of await rows<{ name: string; def: string }>(
    db,
    `SELECT relname AS name, pg_get_indexdef(oid) AS def FROM pg_class
      WHERE relnamespace = current_schema()::regnamespace AND relkind = 'i'`,
  ))
    indexes.set(r.name, r.def);
  const constraints = new Map<string, string>();
  for (const r of await rows<{ name: string; def: string; ok: boolean }>(
    db,
    `SELECT conrelid::regclass || ' ' || conname AS name,
      pg_get_constraintdef(oid) AS def, convalidated AS ok FROM pg_constraint WHERE connamespace = current_schema()::regnamespace`,
  )) {
    constraints.set(r.name, `${r.def}${r.ok ? '' : ' NOT VALID'}`);
  }
  const sequences = new Map<string, string>();
  for (const r of await rows<{
    name: string;
    type: string;
    start: string;
    inc: string;
    min: string;
    max: string;
    cache: string;
    cycle: boolean;
    last: string | null;
    owner: string | null;
  }>(
    db,
    `SELECT s.sequencename AS name, s.data_type::text AS type, s.start_value AS start, s.increment_by AS inc, s.min_value AS min,
        s.max_value AS max, s.cache_size AS cache, s.cycle, s.last_value AS last,
        (SELECT d.refobjid::regclass || '.' || a.attname FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')) AS owner
     FROM pg_sequences s JOIN pg_class c ON c.relname = s.sequencename AND c.relnamespace = current_schema()::regnamespace
     WHERE s.schemaname = current_schema()`,
  )) {
    sequences.set(
      r.name,
      `${r.type} start ${r.start} increment ${r.inc} min ${r.min} max ${r.max} cache ${r.cache}${r.cycle ? ' cycle' : ''}` +
        ` owned by ${r.owner ?? 'nobody'}, last value ${r.last ?? 'none (never used)'}`,
    );
  }
  return { indexes, constraints, sequences };
}

/** Every row of every table (lookup rows, alembic_version, ...), keyed by id where there is one. */
async function dumpRows(db: Queryable, tables: Iterable<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const table of tables) {
    const all = await rows<Record<string, unknown>>(db, `SELECT * FROM "${table}"`);
    for (const r of all) out.set('id' in r ? `${table} id=${String(r['id'])}` : `${table} ${JSON.stringify(r)}`, JSON.stringify(r));
  }
  return out;
}

async function dumpSchema(db: Queryable): Promise<Dump> {
  const objects = await dumpObjects(db);
  return { ...objects, ...(await dumpColumns(db)), ...(await dumpKeys(db)), rows: await dumpRows(db, objects.tables!.keys()) };
}

/** Lines naming each entry that is missing on one side or differs. */
function diffDumps(quay: Dump, ours: Dump): string[] {
  const out: string[] = [];
  for (const section of Object.keys(quay)) {
    const a = quay[section]!;
    const b = ours[section]!;
    for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
      const x = a.get(key);
      const y = b.get(key);
      if (x === y) continue;
      if (y === undefined) out.push(`${section}: ${key} only in Quay's: ${x}`);
      else if (x === undefined) out.push(`${section}: ${key} only in ours: ${y}`);
      else out.push(`${section}: ${key}\n    Quay's: ${x}\n    ours:   ${y}`);
    }
  }
  return out;
}

/**
 * Replaces blobupload.created's frozen default by a marker after checking it
 * lies in [from, to] (`local`: Quay writes the local time; we write UTC).
 */
function normaliseMigrationTime(t: Test, dump: Dump, from: Date, to: Date, local: boolean): void {
  const key = 'blobupload.created';
  const col = dump['columns']!.get(key) ?? '';
  const m = /DEFAULT '(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)'::timestamp without time zone$/.exec(col);
  if (!t.ok(m, `${key} has a frozen default: ${col}`) || !m) return;
  const at = new Date(local ? m[1]!.replace(' ', 'T') : `${m[1]!.replace(' ', 'T')}Z`).getTime();
  t.ok(at >= Math.floor(from.getTime() / 1000) * 1000 && at <= to.getTime(), `${key}'s default ${m[1]} is when the schema was made`);
  dump['columns']!.set(key, col.replace(m[1]!, '<when the schema was made>'));
}

/** Media types Quay's migrations insert by iterating a Python set, two per set. */
const SET_ORDERED_MEDIATYPES: readonly (readonly [string, string])[] = [
  ['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws'],
  ['application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'],
  ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json'],
];

/** Folds each pair's two rows into one entry: both ids (consecutive) and both names, in no particular order. */
function normaliseSetOrder(t: Test, dump: Dump, side: string): void {
  const data = dump['rows']!;
  const byName = new Map<string, number>();
  for (const [key, row] of data) {
    if (!key.startsWith('mediatype id=')) continue;
    const r = JSON.parse(row) as { id: number; name: string };
    byName.set(r.name, r.id);
  }
  for (const pair of SET_ORDERED_MEDIATYPES) {
    const ids = pair.map((n) => byName.get(n)).sort((x, y) => (x ?? 0) - (y ?? 0));
    if (!t.ok(ids[0] !== undefined && ids[1] === ids[0] + 1, `${side}: ${pair.join(' and ')} are on consecutive ids`)) continue;
    for (const id of ids) data.delete(`mediatype id=${String(id)}`);
    data.set(`mediatype ids=${ids.join(',')}`, [...pair].sort().join(' | '));
  }
}

/** Checks boot.py's instance service key and takes it out, with the sequences' state, before the comparison. */
async function removeBootServiceKey(t: Test, db: Queryable): Promise<void> {
  const keys = await rows<{ service: string; approval_type: string }>(
    db,
    `SELECT k.service, a.approval_type
      FROM servicekey k JOIN servicekeyapproval a ON a.id = k.approval_id`,
  );
  t.same(
    keys.map((k) => [k.service, k.approval_type]),
    [['quay', 'ServiceKeyApprovalType.AUTOMATIC']],
    "boot.py's instance key is the only service key",
  );
  t.same(await rows(db, 'SELECT count(*)::int AS n FROM servicekeyapproval'), [{ n: 1 }], 'and its approval the only approval');
  await db.query('DELETE FROM servicekey');
  await db.query('DELETE FROM servicekeyapproval');
  // A sequence nobody drew from: last value = start, not called (what createQuaySchemaPg leaves).
  await db.query("SELECT setval('servicekey_id_seq', 1, false), setval('servicekeyapproval_id_seq', 1, false)");
}

async function client(t: Test, url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  t.teardown(() => c.end());
  return c;
}

t.test("createQuaySchemaPg makes exactly what Quay's alembic upgrade head makes", async (t) => {
  const quayFrom = new Date();
  const quay = await startQuayPython(t, { database: 'postgres', schema: 'alembic', start: false });
  const quayTo = new Date();
  const q = await client(t, quay.database);
  t.equal(await readAlembicVersionPg(q), QUAY_ALEMBIC_HEAD, "Quay's migrations end at QUAY_ALEMBIC_HEAD");
  await removeBootServiceKey(t, q);

  const ours = await freshPgDatabase(t);
  const o = await client(t, ours.url);
  await o.query('CREATE EXTENSION pg_trgm'); // as quayPgDatabase does for Quay: its search indexes need it
  const oursFrom = new Date();
  await createQuaySchemaPg(o);
  const oursTo = new Date();

  const quayDump = await dumpSchema(q);
  const ourDump = await dumpSchema(o);
  t.equal(quayDump['tables']!.size, 105, "Quay's head has 105 tables");
  t.ok(quayDump['indexes']!.size > 400 && quayDump['constraints']!.size > 200 && quayDump['rows']!.size > 200, 'the dump is not empty');
  normaliseMigrationTime(t, quayDump, quayFrom, quayTo, true);
  normaliseMigrationTime(t, ourDump, oursFrom, oursTo, false);
  normaliseSetOrder(t, quayDump, "Quay's");
  normaliseSetOrder(t, ourDump, 'ours');

  const diff = diffDumps(quayDump, ourDump);
  t.equal(diff.join('\n'), '', `the catalogs are identical (${diff.length} differences)`);
});

/** revision -> the revisions it follows (none for the first; two or more for a merge). */
function migrationGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.py'))) {
    const src = readFileSync(join(dir, file), 'utf8');
    const revision = /^revision\s*=\s*["'](\w+)["']/m.exec(src)?.[1];
    const down = /^down_revision\s*=\s*(.+)$/m.exec(src)?.[1];
    if (revision === undefined || down === undefined) throw new Error(`${file}: no revision / down_revision`);
    // "abc", None, or a tuple ("abc", "def") for a merge.
    graph.set(
      revision,
      [...down.matchAll(/["'](\w+)["']/g)].map((m) => m[1]!),
    );
  }
  return graph;
}

t.test('QUAY_ALEMBIC_HEAD is the head of the pinned Quay', async (t) => {
  const graph = migrationGraph(join(QUAY_PYTHON, 'src', 'data', 'migrations', 'versions'));
  t.ok(graph.size > 100, `${graph.size} migrations read`);
  const named = new Set([...graph.values()].flat());
  t.same(
    [...named].filter((r) => !graph.has(r)),
    [],
    'every down_revision is a migration of the tree',
  );
  t.same([...graph.values()].filter((d) => d.length === 0).length, 1, 'one first migration');
  const heads = [...graph.keys()].filter((r) => !named.has(r));
  t.same(heads, [QUAY_ALEMBIC_HEAD], 'exactly one head, and it is QUAY_ALEMBIC_HEAD');
});

t.test("a SQLite database from Quay's initdb.py is accepted, unstamped", async (t) => {
  const quay = await startQuayPython(t, { start: false });
  const db = new Database(quay.database);
  t.teardown(() => db.close());
  const tables = (): number => db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get() as number;
  const before = tables();
  t.doesNotThrow(() => createQuaySchema(db), 'createQuaySchema accepts it');
  t.equal(readAlembicVersion(db), undefined, 'no alembic_version is written');
  t.equal(tables(), before, 'no table is added');
  t.ok(db.prepare("SELECT 1 FROM imagestoragelocation WHERE name = 'local_us'").get(), 'the storage location is there');
});

t.test("a PostgreSQL database from Quay's initdb.py is accepted, unstamped", async (t) => {
  const quay = await startQuayPython(t, { database: 'postgres', schema: 'initdb', start: false });
  const c = await client(t, quay.database);
  const tables = async (): Promise<unknown> => (await c.query('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema()')).rows;
  const before = await tables();
  await createQuaySchemaPg(c);
  t.equal(await readAlembicVersionPg(c), undefined, 'no alembic_version is written');
  t.same(await tables(), before, 'no table is added');
});
