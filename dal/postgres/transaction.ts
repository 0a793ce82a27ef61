import type pg from 'pg';
import { DalTxError } from '../model/dal.js';

/** Anything that runs queries: the pool, a client inside a transaction, or a PgTxSession. */
export type Q = Pick<pg.ClientBase, 'query'>;

/** Run `fn` in one transaction on one pooled connection. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    try {
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    c.release();
  }
}

/**
 * The pooled client of an open dal.tx() as the stores of its Dal see it:
 * their queries go to that client until the transaction ends, then are
 * refused (DalTxError DAL_TX_ENDED) rather than sent to a client that is back
 * in the pool, maybe in someone else's transaction. A store operation that is
 * a transaction of its own runs as a SAVEPOINT in it (savepoint()).
 */
export class PgTxSession implements Q {
  private ended = false;
  private savepoints = 0;

  constructor(private readonly client: pg.PoolClient) {}

  readonly query = ((...args: unknown[]) => {
    if (this.ended) throw new DalTxError('DAL_TX_ENDED');
    return (this.client.query as (...a: unknown[]) => unknown).apply(this.client, args);
  }) as pg.ClientBase['query'];

  /** `fn` atomically inside the transaction: its work is undone, and the transaction still usable, when it throws. */
  async savepoint<T>(fn: (c: Q) => Promise<T>): Promise<T> {
    const name = `dal_sp_${++this.savepoints}`;
    await this.query(`SAVEPOINT ${name}`);
    try {
      const out = await fn(this);
      await this.query(`RELEASE SAVEPOINT ${name}`);
      return out;
    } catch (err) {
      await this.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
      throw err;
    }
  }

  get closed(): boolean {
    return this.ended;
  }

  end(): void {
    this.ended = true;
  }
}
