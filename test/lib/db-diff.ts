/**
 * Whole-database snapshots and their difference, to find every row an
 * operation writes: snapshot, operate, snapshot again, diff. Works on Quay's
 * SQLite file and on PostgreSQL alike (rows keyed by `id`, or by the whole
 * row for tables without one), values normalised to JSON-comparable form
 * (booleans as true/false, numbers as numbers, timestamps as text).
 */
import Database from 'better-sqlite3';
import pg from 'pg';

export type Row = Record<string, unknown>;
/** Table name → row key → row. */
export type Snapshot = Map<string, Map<string, Row>>;

export interface TableDiff {
  readonly table: string;
  readonly inserted: Row[];
  readonly deleted: Row[];
  /** Rows whose key stayed and some column changed: the columns before and after. */
  readonly updated: { key: string; before: Row; after: Row }[];
}

/** A database that can be snapshotted: SQLite (a file) or PostgreSQL (a URI). */
export interface DbReader {
  snapshot(): Promise<Snapshot>;
  /** Rows of a query (`?` placeholders on SQLite, `$n` on PostgreSQL: write both through `sql`). */
  rows(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** `$1, $2` for PostgreSQL, `?` for SQLite: `p(1)` is the first placeholder. */
  p(n: number): string;
  close(): Promise<void>;
}

const keyOf = (r: Row): string => ('id' in r ? String(r.id) : JSON.stringify(r));

function normalise(r: Row, booleans: ReadonlySet<string> | null): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === 'bigint') out[k] = Number(v);
    else if (v instanceof Date) out[k] = v.toISOString();
    else if (Buffer.isBuffer(v)) out[k] = v.toString('base64');
    else if (booleans?.has(k) && (v === 0 || v === 1)) out[k] = v === 1;
    else out[k] = v;
  }
  return out;
}

/** SQLite: `file` opened read-only for each snapshot (the writers keep WAL mode). */
export function sqliteReader(file: string): DbReader {
  const db = new Database(file, { readonly: true });
  db.pragma('busy_timeout = 5000');
  return {
    async snapshot() {
      const snap: Snapshot = new Map();
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
      db.exec('BEGIN');
      try {
        for (const t of tables) {
          const rows = new Map<string, Row>();
          for (const r of db.prepare(`SELECT * FROM "${t}"`).all() as Row[]) rows.set(keyOf(r), normalise(r, null));
          snap.set(t, rows);
        }
      } finally {
        db.exec('COMMIT');
      }
      return snap;
    },
    async rows(sql, params = []) {
      return (db.prepare(sql).all(...params) as Row[]).map((r) => normalise(r, null));
    },
    p: () => '?',
    async close() {
      db.close();
    },
  };
}

/** PostgreSQL at `uri`: one connection, every public table in one repeatable-read snapshot. */
export async function pgReader(uri: string): Promise<DbReader> {
  const c = new pg.Client({
    connectionString: uri,
    types: {
      getTypeParser: ((oid: number, format?: string) => {
        if (oid === 20) return (v: string) => Number(v);
        if (oid === 1114) return (v: string) => v;
        return pg.types.getTypeParser(oid, format as 'text');
      }) as pg.CustomTypesConfig['getTypeParser'],
    },
  });
  await c.connect();
  return {
    async snapshot() {
      const snap: Snapshot = new Map();
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      try {
        const tables = (await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r) => r.t);
        for (const t of tables) {
          const rows = new Map<string, Row>();
          for (const r of (await c.query<Row>(`SELECT * FROM "${t}"`)).rows) rows.set(keyOf(r), normalise(r, null));
          snap.set(t, rows);
        }
      } finally {
        await c.query('COMMIT');
      }
      return snap;
    },
    async rows(sql, params = []) {
      return (await c.query<Row>(sql, [...params])).rows.map((r) => normalise(r, null));
    },
    p: (n) => `$${n}`,
    async close() {
      await c.end();
    },
  };
}

/** Every table whose rows differ between `a` (before) and `b` (after). */
export function diffSnapshots(a: Snapshot, b: Snapshot): TableDiff[] {
  const out: TableDiff[] = [];
  for (const table of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const before = a.get(table) ?? new Map<string, Row>();
    const after = b.get(table) ?? new Map<string, Row>();
    const d: TableDiff = { table, inserted: [], deleted: [], updated: [] };
    for (const [k, r] of after) {
      const old = before.get(k);
      if (!old) {
        d.inserted.push(r);
        continue;
      }
      if (JSON.stringify(old) === JSON.stringify(r)) continue;
      const bc: Row = {};
      const ac: Row = {};
      for (const col of Object.keys(r)) {
        if (JSON.stringify(old[col]) !== JSON.stringify(r[col])) {
          bc[col] = old[col];
          ac[col] = r[col];
        }
      }
      d.updated.push({ key: k, before: bc, after: ac });
    }
    for (const [k, r] of before) if (!after.has(k)) d.deleted.push(r);
    if (d.inserted.length || d.deleted.length || d.updated.length) out.push(d);
  }
  return out;
}
