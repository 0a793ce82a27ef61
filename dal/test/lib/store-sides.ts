/**
 * Both metadata stores side by side for tests that run every scenario on
 * each: SQLite in memory and PostgreSQL on a fresh database (../lib/postgres.ts;
 * fails, never skips, when the server is down). Closed at teardown.
 */
import { SqliteMetadataStore } from '../../sqlite/store.js';
import { PgMetadataStore } from '../../postgres/store.js';
import type { MetadataStore } from '../../model/store.js';
import type { AuthStore } from '../../model/auth-store.js';
import { sqliteDal } from '../../sqlite/dal.js';
import { postgresDal } from '../../postgres/dal.js';
import type { Dal } from '../../model/dal.js';
import { freshPgDatabase } from './postgres.js';

export interface Side {
  readonly kind: 'sqlite' | 'pg';
  readonly meta: MetadataStore;
  readonly auth: AuthStore;
  /** A Dal on the same stores (meta and auth are its `metadata` and `auth`). */
  readonly dal: Dal;
  /** Raw SQL with `?` placeholders (rewritten to $n on PostgreSQL); returns rows. */
  raw(sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]>;
}

export interface StoreSides {
  readonly sides: readonly Side[];
  readonly sqlite: SqliteMetadataStore;
  /** The PostgreSQL stores and their pool. */
  readonly opened: Awaited<ReturnType<typeof PgMetadataStore.open>>;
  /** The PostgreSQL database. */
  readonly db: { name: string; url: string };
}

export async function openStoreSides(t: { teardown(fn: () => unknown): void }): Promise<StoreSides> {
  const db = await freshPgDatabase(t);
  const opened = await PgMetadataStore.open(db.url);
  const sqlite = new SqliteMetadataStore(':memory:');
  t.teardown(async () => {
    await opened.metadata.close();
    await sqlite.close();
  });
  const sqliteSide = sqliteDal(sqlite);
  const pgSide = postgresDal(opened);
  const sides: readonly Side[] = [
    {
      kind: 'sqlite',
      meta: sqlite,
      auth: sqliteSide.auth,
      dal: sqliteSide,
      async raw(sql, ...params) {
        const st = sqlite.db.prepare(sql);
        return st.reader ? (st.all(...params) as Record<string, unknown>[]) : (st.run(...params), []);
      },
    },
    {
      kind: 'pg',
      meta: opened.metadata,
      auth: opened.auth,
      dal: pgSide,
      async raw(sql, ...params) {
        let i = 0;
        return (
          await opened.pool.query(
            sql.replace(/\?/g, () => `$${++i}`),
            params,
          )
        ).rows as Record<string, unknown>[];
      },
    },
  ];
  return { sides, sqlite, opened, db };
}
