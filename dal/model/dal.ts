/**
 * The Dal: Quay's data-access layer as the registry, the API and the workers
 * see it. One field per area (areas.ts), the two unions for callers that take
 * a whole store, and `tx` for work that must commit or roll back as one.
 * Each area field is the dialect's store object typed as that area.
 */
import type { MetadataStore } from './store.js';
import type { AuthStore } from './auth-store.js';
import type { PortableSql } from './portable-sql.js';
import type {
  ActionLogArea,
  BlobArea,
  ManifestArea,
  NotificationArea,
  PermissionArea,
  QueueArea,
  RepositoryArea,
  ServiceKeyArea,
  TagArea,
  TeamArea,
  UploadArea,
  UserArea,
} from './areas.js';

export interface Dal {
  readonly dialect: 'sqlite' | 'postgresql';
  readonly metadata: MetadataStore;
  readonly auth: AuthStore;
  readonly repositories: RepositoryArea;
  readonly tags: TagArea;
  readonly manifests: ManifestArea;
  readonly blobs: BlobArea;
  readonly uploads: UploadArea;
  readonly users: UserArea;
  readonly teams: TeamArea;
  readonly permissions: PermissionArea;
  readonly serviceKeys: ServiceKeyArea;
  readonly queue: QueueArea;
  readonly logs: ActionLogArea;
  readonly notifications: NotificationArea;
  /** Read-only SQL written once for both dialects (reader.ts): the API's reads (dal/portable/) use it. */
  readonly sql: PortableSql;
  /**
   * Run `fn` with a Dal whose every area works inside one database
   * transaction: committed when `fn` resolves, rolled back when it throws
   * (the error is rethrown). Use only the `tx` argument inside `fn`, and
   * await its operations one after another (one connection serves them);
   * once `fn` has settled, `tx` refuses every call (DalTxError DAL_TX_ENDED).
   * A nested `tx.tx(fn2)` joins the open transaction: `fn2` runs on the same
   * `tx`, so its writes commit or roll back with the outer transaction, not
   * on their own (a throw that the outer `fn` catches undoes nothing).
   * Store operations that are transactions of their own (putManifest,
   * createRepository, ...) become savepoints inside it: one that throws
   * leaves the transaction as it was before the call. Any other failed call
   * should end `fn` (let it out): on PostgreSQL a failed statement leaves the
   * transaction aborted, so only ROLLBACK is possible.
   * Dialects: SQLite (sqlite/dal.ts) holds the connection, other callers of
   * the same Dal wait until the transaction ends; PostgreSQL
   * (postgres/dal.ts) holds one pooled client, other callers run beside it
   * and see its rows once committed.
   */
  tx<T>(fn: (tx: Dal) => Promise<T>): Promise<T>;
  /** Close the database (waits for pending action-log rows); refused on a transaction's Dal. */
  close(): Promise<void>;
}

/** A transaction's Dal used after its `fn` settled, or asked to close the database. */
export type DalTxErrorCode = 'DAL_TX_ENDED' | 'DAL_TX_CLOSE' | 'DAL_TX_OUTER';

const TX_MESSAGES: Readonly<Record<DalTxErrorCode, string>> = {
  DAL_TX_ENDED: 'the transaction has ended: use the Dal again, not its tx',
  DAL_TX_CLOSE: 'a transaction cannot close the database: close the Dal it came from',
  DAL_TX_OUTER: 'called the Dal a transaction came from inside that transaction: it would wait for the transaction to end, for ever; use the tx the callback was given',
};

export class DalTxError extends Error {
  constructor(readonly code: DalTxErrorCode) {
    super(TX_MESSAGES[code]);
    this.name = 'DalTxError';
  }
}

/** A Dal whose areas are the two stores. */
export function dalOf(dialect: Dal['dialect'], metadata: MetadataStore, auth: AuthStore, sql: PortableSql, tx: Dal['tx'], close: () => Promise<void>): Dal {
  return {
    dialect,
    sql,
    metadata,
    auth,
    repositories: metadata,
    tags: metadata,
    manifests: metadata,
    blobs: metadata,
    uploads: metadata,
    queue: metadata,
    logs: metadata,
    notifications: metadata,
    users: auth,
    teams: auth,
    permissions: auth,
    serviceKeys: auth,
    tx,
    close,
  };
}
