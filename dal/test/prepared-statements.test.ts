/**
 * The portable SQL on PostgreSQL runs as named prepared statements
 * (dal/postgres/portable-sql.ts): prepared once per connection, answered
 * the same, and off when asked (QUAY_DB_PREPARED_STATEMENTS=false), on a
 * real server.
 */
import t from 'tap';
import pg from 'pg';
import { PgPortable } from '../postgres/portable-sql.js';
import { preparedStatementsFromEnv } from '../index.js';
import { PgTxSession } from '../postgres/transaction.js';
import { freshPgDatabase } from './lib/postgres.js';

const db = await freshPgDatabase(t);
// One connection: the statements it prepared are the ones pg_prepared_statements lists.
const pool = new pg.Pool({ connectionString: db.url, max: 1 });
t.teardown(() => pool.end());
await pool.query('CREATE TABLE widget (id integer PRIMARY KEY, name text NOT NULL)');
await pool.query("INSERT INTO widget VALUES (1, 'one'), (2, 'two'), (3, 'three')");

const prepared = async (): Promise<string[]> => (await pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map((r) => r.name);

t.test('prepared once per connection, answered the same on every call', async (t) => {
  const sql = new PgPortable(pool);
  const text = 'SELECT w.name FROM widget w WHERE w.id >= @from AND w.name <> @not ORDER BY w.id';
  t.same(await sql.all(text, { from: 2, not: 'x' }), [{ name: 'two' }, { name: 'three' }]);
  t.same(await sql.all(text, { from: 1, not: 'two' }), [{ name: 'one' }, { name: 'three' }], 'other parameters, the same statement');
  t.equal(await sql.run('UPDATE widget SET name = @n WHERE id = @id', { n: 'uno', id: 1 }), 1);
  t.same(await sql.one(text, { from: 1, not: 'x' }), { name: 'uno' }, 'sees the write');
  const names = await prepared();
  t.equal(names.length, 2, `two texts, two prepared statements: ${names.join(', ')}`);
  t.ok(
    names.every((n) => /^swb_\d+$/.test(n)),
    'named swb_<n>',
  );
  // A transaction's client prepares on its own connection (the same one here) and reuses them.
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const s = new PgTxSession(c);
    t.same(await new PgPortable(s).all(text, { from: 3, not: 'x' }), [{ name: 'three' }], 'inside a transaction');
    s.end();
    await c.query('COMMIT');
  } finally {
    c.release();
  }
  t.equal((await prepared()).length, 2, 'nothing prepared twice');
});

t.test('off: nothing prepared, the same answers', async (t) => {
  await pool.query('DEALLOCATE ALL');
  // pg remembers what it prepared per client: a fresh pool starts clean.
  const fresh = new pg.Pool({ connectionString: db.url, max: 1 });
  t.teardown(() => fresh.end());
  const sql = new PgPortable(fresh, false);
  t.same(await sql.all('SELECT w.id FROM widget w WHERE w.id < @lt ORDER BY w.id', { lt: 3 }), [{ id: 1 }, { id: 2 }]);
  t.same((await fresh.query('SELECT name FROM pg_prepared_statements')).rows, [], 'no prepared statement on the connection');
});

t.test('QUAY_DB_PREPARED_STATEMENTS', async (t) => {
  t.equal(preparedStatementsFromEnv({}), true, 'on by default');
  t.equal(preparedStatementsFromEnv({ QUAY_DB_PREPARED_STATEMENTS: 'false' }), false);
  t.equal(preparedStatementsFromEnv({ QUAY_DB_PREPARED_STATEMENTS: ' FALSE ' }), false);
  t.equal(preparedStatementsFromEnv({ QUAY_DB_PREPARED_STATEMENTS: 'true' }), true);
});
