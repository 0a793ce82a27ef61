/**
 * PortableSql on a PostgreSQL pool (or a transaction's client): `@name`
 * parameters become `$n`, and each statement text is a named prepared
 * statement on every connection that runs it. PostgreSQL then parses and
 * plans it once per connection instead of once per call: on Quay's schema
 * that planning was most of an API read's database time (bench:api, the
 * session rows went from ~400 to ~1,800 requests/s). PostgreSQL replans a
 * prepared statement by itself when a table it reads changes (Quay's
 * migrations); every statement names its columns, so a plan's row type
 * cannot change under it.
 *
 * Off (`prepare: false`, QUAY_DB_PREPARED_STATEMENTS=false) for a pooler
 * that cannot keep a session's prepared statements, such as PgBouncer before
 * 1.21 in transaction mode. Statement texts past MAX_PREPARED (texts built
 * with a variable number of parameters) run unnamed.
 */
import type pg from 'pg';
import type { SqlParams, PortableSql } from '../model/portable-sql.js';
import { positional } from '../model/side-effects.js';
import type { Q } from './transaction.js';

/** How many distinct statement texts are prepared (per process; each connection prepares those it runs). */
export const MAX_PREPARED = 1000;

interface Statement {
  /** The prepared statement's name; null: run unnamed. */
  readonly name: string | null;
  readonly text: string;
  readonly names: readonly string[];
}

const STATEMENTS = new Map<string, Statement>();
let prepared = 0;

function statement(sql: string): Statement {
  let s = STATEMENTS.get(sql);
  if (!s) {
    const p = positional(sql);
    s = { name: prepared < MAX_PREPARED ? `swb_${prepared++}` : null, text: p.text, names: p.names };
    // Past the cap nothing more is remembered: an unnamed statement is rebuilt per call.
    if (s.name !== null) STATEMENTS.set(sql, s);
  }
  return s;
}

export class PgPortable implements PortableSql {
  readonly dialect = 'postgresql' as const;

  constructor(
    private readonly q: Q,
    private readonly prepare = true,
  ) {}

  private query(sql: string, params: SqlParams): Promise<pg.QueryResult> {
    const s = statement(sql);
    const values = s.names.map((n) => params[n] ?? null);
    if (this.prepare && s.name !== null) return this.q.query({ name: s.name, text: s.text, values });
    return this.q.query(s.text, values);
  }

  async all<R>(sql: string, params: SqlParams = {}): Promise<R[]> {
    return (await this.query(sql, params)).rows as R[];
  }

  async run(sql: string, params: SqlParams = {}): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  async one<R>(sql: string, params: SqlParams = {}): Promise<R | null> {
    return (await this.all<R>(sql, params))[0] ?? null;
  }
}
