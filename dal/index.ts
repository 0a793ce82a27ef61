/**
 * Quay's data-access layer: Quay's tables on SQLite or PostgreSQL, opened
 * once by the runtime (quay/runtime.ts) and shared by the registry, the API
 * and the workers. The Dal (dal.ts) gives each area (areas.ts) its own field
 * and runs multi-area work in one transaction (Dal.tx).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqliteMetadataStore } from './sqlite/store.js';
import { PgMetadataStore } from './postgres/store.js';
import { sqliteDal } from './sqlite/dal.js';
import { postgresDal } from './postgres/dal.js';
import type { Dal } from './model/dal.js';

export { DalTxError, type Dal } from './model/dal.js';
export type * from './model/areas.js';
export { sqliteDal } from './sqlite/dal.js';
export { postgresDal } from './postgres/dal.js';

export interface DalOptions {
  /** A postgresql:// URI: Quay's PostgreSQL; null for SQLite at `databaseFile`. */
  readonly databaseUri: string | null;
  /** The SQLite file (its directory is made when missing). */
  readonly databaseFile: string;
  /** `imagestoragelocation` names the runtime writes to (DISTRIBUTED_STORAGE_PREFERENCE). */
  readonly storageLocation: string;
  /**
   * PostgreSQL: the API's statements as named prepared statements (default:
   * QUAY_DB_PREPARED_STATEMENTS, true unless `false`); off behind a pooler
   * that cannot keep them (PgBouncer before 1.21 in transaction mode).
   */
  readonly preparedStatements?: boolean;
}

/** QUAY_DB_PREPARED_STATEMENTS: `false` turns prepared statements off; anything else leaves them on. */
export function preparedStatementsFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.QUAY_DB_PREPARED_STATEMENTS ?? '').trim().toLowerCase() !== 'false';
}

/**
 * The data tier on PostgreSQL (a postgresql:// URI) or SQLite; Quay's schema
 * is laid down on an empty database and checked otherwise.
 */
export async function openDal(o: DalOptions): Promise<Dal> {
  if (o.databaseUri) {
    return postgresDal(await PgMetadataStore.open(o.databaseUri, { storageLocations: [o.storageLocation] }), o.preparedStatements ?? preparedStatementsFromEnv());
  }
  mkdirSync(dirname(o.databaseFile), { recursive: true });
  return sqliteDal(new SqliteMetadataStore(o.databaseFile));
}
