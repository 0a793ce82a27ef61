/** PortableSql on a PostgreSQL pool (or a transaction's client): `@name` parameters become `$n`. */
import type pg from 'pg';
import type { SqlParams, PortableSql } from '../model/portable-sql.js';
import { positional } from '../model/side-effects.js';
import type { Q } from './transaction.js';

const POSITIONAL = new Map<string, ReturnType<typeof positional>>();

export class PgPortable implements PortableSql {
  readonly dialect = 'postgresql' as const;

  constructor(private readonly q: Q) {}

  private query(sql: string, params: SqlParams): Promise<pg.QueryResult> {
    let p = POSITIONAL.get(sql);
    if (!p) {
      p = positional(sql);
      POSITIONAL.set(sql, p);
    }
    return this.q.query(
      p.text,
      p.names.map((n) => params[n] ?? null),
    );
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
