/**
 * A Dal on one SQLite connection, and its transactions.
 *
 * better-sqlite3 is synchronous and a connection has one transaction at a
 * time, so dal.tx() holds the whole connection: it waits for the connection's
 * gate (./gate.ts), runs BEGIN IMMEDIATE (taking SQLite's write lock up front,
 * as the stores' own transactions do), closes the gate, and runs `fn` with a
 * Dal of twin stores that pass a TxScope instead of the gate. Calls on the
 * outer Dal made meanwhile, by other requests, and the action-log group
 * commit, wait at the gate and run after COMMIT or ROLLBACK, so none of their
 * statements lands in the transaction. Store methods that are transactions of
 * their own (`db.transaction(...).immediate()`) become savepoints inside it:
 * better-sqlite3 issues SAVEPOINT instead of BEGIN when the connection is
 * already in a transaction. In the transaction, action-log rows are inserted
 * at once (committed with it) instead of through the group commit. A nested
 * tx() joins the open transaction (see Dal.tx).
 */
import { dalOf, DalTxError, type Dal } from '../model/dal.js';
import { SqliteAuthStore } from './auth-store.js';
import { connectionOf, insideTx, TxScope } from './gate.js';
import type { SqliteMetadataStore } from './store.js';
import { SqlitePortable } from './portable-sql.js';

/** A Dal on the store's connection (`auth`, when given, must be on the same connection). */
export function sqliteDal(store: SqliteMetadataStore, auth: SqliteAuthStore = new SqliteAuthStore(store.db)): Dal {
  const db = store.db;
  const gate = connectionOf(db).gate;

  async function tx<T>(fn: (tx: Dal) => Promise<T>): Promise<T> {
    while (gate.closed) await gate.opened();
    // Synchronous from the test above to here: no other transaction can begin in between.
    db.exec('BEGIN IMMEDIATE');
    gate.close();
    const scope = new TxScope();
    try {
      const out = await insideTx.run(gate, () => fn(scopedDal(scope)));
      scope.end();
      db.exec('COMMIT');
      return out;
    } catch (err) {
      scope.end();
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    } finally {
      gate.open();
    }
  }

  function scopedDal(scope: TxScope): Dal {
    const inner: Dal = dalOf(
      'sqlite',
      store.inTransaction(scope),
      new SqliteAuthStore(db, scope),
      new SqlitePortable(db, scope),
      async (fn) => {
        if (scope.closed) throw new DalTxError('DAL_TX_ENDED');
        return fn(inner);
      },
      async () => {
        throw new DalTxError('DAL_TX_CLOSE');
      },
    );
    return inner;
  }

  return dalOf('sqlite', store, auth, new SqlitePortable(db), tx, () => store.close());
}
