/**
 * A fresh PostgreSQL database per test file on the local server
 * (127.0.0.1:5432, trust auth, user postgres, maintenance database `test`;
 * override with SWB_TEST_PG_URL). An unreachable server fails the test loudly
 * with the command that starts it: these tests never skip.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL = process.env['SWB_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PG_START_COMMAND = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The URL of `db` on the admin URL's server. */
export function pgUrl(db: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${PG_ADMIN_URL} (${(err as Error).message}). Start it with: ${PG_START_COMMAND}`);
  }
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Create an empty database `swb_t_<random>`, dropped (with FORCE) in teardown. Returns its URL. */
export async function freshPgDatabase(t: Teardown): Promise<{ name: string; url: string }> {
  const name = `swb_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  t.teardown(() => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  return { name, url: pgUrl(name) };
}
