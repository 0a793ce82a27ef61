/**
 * A Dal on a PostgreSQL pool, and its transactions.
 *
 * dal.tx() checks a client out of the pool, runs BEGIN, and runs `fn` with a
 * Dal of twin stores whose every statement goes to that client through a
 * PgTxSession (./transaction.ts); COMMIT when `fn` resolves, ROLLBACK when it
 * throws, then the client goes back to the pool. Other callers keep using the
 * pool's other clients and, under READ COMMITTED, see the transaction's rows
 * only once committed. Store operations that are transactions of their own
 * become SAVEPOINTs, and the advisory locks they take (Quay's tag lock, the
 * per-digest blob lock) are held until the outer transaction ends. Action-log
 * rows of the transaction are inserted with it; the group commit of the outer
 * Dal writes on its own pooled clients, never into a transaction. A nested
 * tx() joins the open transaction (see Dal.tx).
 */
import type pg from 'pg';
import { dalOf, DalTxError, type Dal } from '../model/dal.js';
import { PgAuthStore } from './auth-store.js';
import type { PgMetadataStore } from './store.js';
import { inTransaction, PgTxSession } from './transaction.js';
import { PgPortable } from './portable-sql.js';

/** A Dal on the pool the two stores share (what PgMetadataStore.open returns). */
export function postgresDal(
  opened: { readonly metadata: PgMetadataStore; readonly auth: PgAuthStore; readonly pool: pg.Pool },
  /** Named prepared statements for the portable SQL (./portable-sql.ts). */
  preparedStatements = true,
): Dal {
  const { metadata, auth, pool } = opened;

  function tx<T>(fn: (tx: Dal) => Promise<T>): Promise<T> {
    return inTransaction(pool, async (client) => {
      const session = new PgTxSession(client);
      try {
        return await fn(sessionDal(session));
      } finally {
        // Before COMMIT/ROLLBACK: a call the transaction did not await is refused, never sent after it.
        session.end();
      }
    });
  }

  function sessionDal(session: PgTxSession): Dal {
    const inner: Dal = dalOf(
      'postgresql',
      metadata.inSession(session),
      new PgAuthStore(pool, session),
      new PgPortable(session, preparedStatements),
      async (fn) => {
        if (session.closed) throw new DalTxError('DAL_TX_ENDED');
        return fn(inner);
      },
      async () => {
        throw new DalTxError('DAL_TX_CLOSE');
      },
    );
    return inner;
  }

  return dalOf('postgresql', metadata, auth, new PgPortable(pool, preparedStatements), tx, () => metadata.close());
}
