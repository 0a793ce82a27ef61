/** PortableSql on a SQLite connection: waits at the connection's gate (or runs in its transaction's scope). */
import type Database from 'better-sqlite3';
import type { SqlParams, PortableSql } from '../model/portable-sql.js';
import { connectionOf, type Gate } from './gate.js';

const NAMES = new Map<string, readonly string[]>();

/** better-sqlite3 binds numbers, strings, bigints, buffers and null: booleans become 1/0, undefined null. */
function bind(sql: string, params: SqlParams): Record<string, unknown> {
  let names = NAMES.get(sql);
  if (!names) {
    names = [...new Set([...sql.matchAll(/@(\w+)/g)].map((m) => m[1]!))];
    NAMES.set(sql, names);
  }
  const out: Record<string, unknown> = {};
  for (const n of names) {
    const v = params[n];
    out[n] = v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : v;
  }
  return out;
}

export class SqlitePortable implements PortableSql {
  readonly dialect = 'sqlite' as const;
  private readonly conn;

  constructor(
    db: Database.Database,
    private readonly gate: Gate = connectionOf(db).gate,
  ) {
    this.conn = connectionOf(db);
  }

  async all<R>(sql: string, params: SqlParams = {}): Promise<R[]> {
    while (this.gate.closed) await this.gate.opened();
    return this.conn.sql(sql).all(bind(sql, params)) as R[];
  }

  async one<R>(sql: string, params: SqlParams = {}): Promise<R | null> {
    while (this.gate.closed) await this.gate.opened();
    return (this.conn.sql(sql).get(bind(sql, params)) as R | undefined) ?? null;
  }

  async run(sql: string, params: SqlParams = {}): Promise<number> {
    while (this.gate.closed) await this.gate.opened();
    return this.conn.sql(sql).run(bind(sql, params)).changes;
  }
}
