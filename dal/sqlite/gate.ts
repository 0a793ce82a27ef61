/**
 * One better-sqlite3 connection serves every store of a Dal. While a
 * dal.tx() holds it (BEGIN IMMEDIATE … COMMIT, ./dal.ts), statements from
 * outside that transaction must wait, or they would land inside it. So every
 * store method starts with
 *
 *   while (this.gate.closed) await this.gate.opened();
 *
 * which costs a boolean test when no transaction is open. A loop, not an
 * `if`: when the gate opens, a waiting tx() may take the connection again
 * before this continuation runs. Everything after that line is synchronous
 * (better-sqlite3), so no transaction can begin between the test and the
 * statements. The stores of a transaction's own Dal get a TxScope instead:
 * open while the transaction runs, refusing every call after it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import { DalTxError } from '../model/dal.js';

export interface Gate {
  /** Calls must wait (or, on a TxScope, are refused). */
  readonly closed: boolean;
  /** Resolves when the gate opens (rejects on an ended TxScope). */
  opened(): Promise<void>;
}

/**
 * The gate whose transaction the current async context runs in (dal.tx() runs
 * its callback inside it). A call on the outer stores from there would wait
 * for its own transaction to end, for ever: it is refused instead.
 */
export const insideTx = new AsyncLocalStorage<ConnectionGate>();

/** The connection's gate: closed while a transaction holds the connection. */
export class ConnectionGate implements Gate {
  closed = false;
  private waiting: (() => void)[] = [];

  opened(): Promise<void> {
    if (insideTx.getStore() === this) return Promise.reject(new DalTxError('DAL_TX_OUTER'));
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  close(): void {
    this.closed = true;
  }

  /** Open, and wake every waiter (in arrival order). */
  open(): void {
    this.closed = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}

/** The gate of a transaction's stores: open while it runs, then closed for good. */
export class TxScope implements Gate {
  closed = false;

  opened(): Promise<void> {
    return Promise.reject(new DalTxError('DAL_TX_ENDED'));
  }

  end(): void {
    this.closed = true;
  }
}

/** What every store on one connection shares: its gate and its prepared statements. */
export interface SqliteConnection {
  readonly gate: ConnectionGate;
  /** The statement for `text`, prepared once per connection. */
  sql(text: string): Database.Statement;
}

const CONNECTIONS = new WeakMap<Database.Database, SqliteConnection>();

export function connectionOf(db: Database.Database): SqliteConnection {
  let c = CONNECTIONS.get(db);
  if (!c) {
    const stmts = new Map<string, Database.Statement>();
    c = {
      gate: new ConnectionGate(),
      sql(text) {
        let s = stmts.get(text);
        if (!s) {
          s = db.prepare(text);
          stmts.set(text, s);
        }
        return s;
      },
    };
    CONNECTIONS.set(db, c);
  }
  return c;
}
