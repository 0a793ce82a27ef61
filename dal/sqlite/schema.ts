/**
 * Quay's schema on SQLite: the routine that lays it down on an empty
 * database (the dialect-neutral layout, lookup rows and Alembic head are in
 * ../schema/quay.ts), and the reading of a SQLite database's tables.
 */
import type { Database } from 'better-sqlite3';
import {
  EXPLICIT_ID_LOOKUPS,
  LABEL_SOURCE_MUTABLE,
  LOOKUP_ROWS,
  QUAY_ALEMBIC_HEAD,
  SCHEMA_SQL,
  STORAGE_LOCATIONS,
  SchemaVersionError,
  compareQuayTables,
  expectedQuayTables,
  unstampedMismatch,
  type ColumnShape,
  type CreateQuaySchemaOptions,
  type TableShapes,
} from '../schema/quay.js';

/** Kept for callers that import these from the SQLite module (test/e2e); defined in ../schema/quay.ts and ../time.ts. */
export { LOOKUP_ROWS, QUAY_ALEMBIC_HEAD, STORAGE_LOCATIONS, SchemaVersionError, type CreateQuaySchemaOptions } from '../schema/quay.js';
export { formatQuayTimestamp } from '../model/time.js';

/**
 * Lays Quay's schema down on an empty database, in one transaction: tables and
 * indexes, lookup rows, storage locations, alembic_version = head.
 *
 * Does nothing when alembic_version already holds the head. Throws
 * SchemaVersionError (code REG_SCHEMA_VERSION) when alembic_version holds
 * anything else: a database that Alembic (or someone else) owns never gets
 * DDL from us. A database with Quay's tables but no alembic_version (made by
 * Quay's initdb.py) is accepted, unchanged but for storage-location rows, when
 * compareQuayTables finds nothing missing; otherwise it is refused the same way.
 */
export function createQuaySchema(db: Database, options: CreateQuaySchemaOptions = {}): void {
  const locations = options.storageLocations ?? STORAGE_LOCATIONS;
  // IMMEDIATE: two processes racing on a new file serialise here; the loser
  // then sees the head and does nothing.
  db.transaction(() => {
    const found = readAlembicVersion(db);
    if (found === QUAY_ALEMBIC_HEAD) return;
    if (found !== undefined) throw new SchemaVersionError(QUAY_ALEMBIC_HEAD, found);
    const existing = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('user', 'repository', 'manifest', 'tag', 'imagestorage')")
      .pluck()
      .all() as string[];
    if (existing.length > 0) {
      // Quay's own initdb.py (its tests and development setups) makes tables
      // from its models and never stamps alembic_version. Such a database is
      // accepted when its tables hold what we read and write (checked here),
      // and left unstamped: stamping would tell a later `alembic upgrade` that
      // migrations ran which did not, and the database is not ours to mark.
      const problems = compareQuayTables(expectedQuayTables(), sqliteTables(db));
      if (problems.length > 0) throw new SchemaVersionError(QUAY_ALEMBIC_HEAD, unstampedMismatch(problems));
      ensureImageLocations(db, locations);
      return;
    }

    for (const sql of SCHEMA_SQL) db.exec(sql);
    for (const [table, names] of Object.entries(LOOKUP_ROWS)) {
      if (table === 'labelsourcetype') {
        const ins = db.prepare('INSERT INTO labelsourcetype (name, mutable) VALUES (?, ?)');
        for (const name of names) ins.run(name, LABEL_SOURCE_MUTABLE[name] ? 1 : 0);
        continue;
      }
      if (EXPLICIT_ID_LOOKUPS.includes(table)) {
        const ins = db.prepare(`INSERT INTO ${table} (id, name) VALUES (?, ?)`);
        names.forEach((name, i) => ins.run(i + 1, name));
        continue;
      }
      const ins = db.prepare(`INSERT INTO ${table} (name) VALUES (?)`);
      for (const name of names) ins.run(name);
    }
    ensureImageLocations(db, locations);
    db.prepare('INSERT INTO alembic_version (version_num) VALUES (?)').run(QUAY_ALEMBIC_HEAD);
  }).immediate();
}

/**
 * The revision recorded in alembic_version: undefined when the table is
 * absent; a description when it is empty or holds several rows.
 */
export function readAlembicVersion(db: Database): string | undefined {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").get();
  if (table === undefined) return undefined;
  const rows = db.prepare('SELECT version_num FROM alembic_version').pluck().all() as string[];
  if (rows.length === 1) return rows[0];
  return rows.length === 0 ? '(empty alembic_version)' : `several versions: ${rows.join(', ')}`;
}

/**
 * Makes sure an imagestoragelocation row exists for each name (what Quay's
 * boot does for its DISTRIBUTED_STORAGE_CONFIG keys). Plain DML, so it is
 * also fine on a database Alembic owns.
 */
export function ensureImageLocations(db: Database, names: readonly string[]): void {
  const ins = db.prepare('INSERT INTO imagestoragelocation (name) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM imagestoragelocation WHERE name = ?)');
  for (const name of names) ins.run(name, name);
}

/** The tables and columns of a SQLite database. */
export function sqliteTables(db: Database): TableShapes {
  const out = new Map<string, Map<string, ColumnShape>>();
  const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").pluck().all() as string[];
  for (const table of names) {
    const cols = new Map<string, ColumnShape>();
    for (const c of db.prepare(`PRAGMA table_info("${table.replace(/"/g, '""')}")`).all() as { name: string; notnull: number; dflt_value: unknown; pk: number }[]) {
      // An INTEGER PRIMARY KEY is the rowid: it is never null whatever the flag says, and fills itself.
      cols.set(c.name, { notNull: c.notnull === 1 || c.pk > 0, hasDefault: c.dflt_value !== null || c.pk > 0 });
    }
    out.set(table, cols);
  }
  return out;
}
