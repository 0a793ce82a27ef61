/**
 * The login back-off under concurrency (issue 14), on SQLite and PostgreSQL:
 * two registry nodes (each its own AuthService and database connection, as
 * two processes or hosts) over one database.
 *
 * - 16 wrong passwords at once for one user count once (Quay's verify_user
 *   checks, hashes, then counts: all 16 passed the check and the count jumped
 *   to 16, a 9-hour lock-out); after the 0.5 s window the right one works.
 * - 16 right passwords at once all log in.
 * - The back-off is capped at 15 minutes, and the stored count at the first
 *   count that reaches it, even when Python Quay left a larger one.
 *
 * The clock is the services' injected one: nothing sleeps, nothing is timed.
 * PostgreSQL is the local server (../lib/postgres.ts); the test fails, never
 * skips, when it is down.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { SqliteMetadataStore } from '../../../dal/sqlite/store.js';
import { SqliteAuthStore } from '../../../dal/sqlite/auth-store.js';
import { PgMetadataStore } from '../../../dal/postgres/store.js';
import type { AuthStore } from '../../../dal/model/auth-store.js';
import type { MetadataStore } from '../../../dal/model/store.js';
import { AuthService, type AuthSettings } from '../../auth/auth-service.js';
import { LoginThrottled, type LoginClient } from '../../../domain/auth/credentials.js';
import { hashPassword, MAX_COUNTED_LOGIN_FAILURES, MAX_LOGIN_BACKOFF_MS, retryAfterMs } from '../../../lib/passwords/passwords.js';
import { sharedBcryptPool } from '../../../lib/passwords/bcrypt-pool.js';
import { RegistryError } from '../../oci/errors.js';
import { DEFAULT_AUTH } from '../../index.js';
import { sqlTime } from '../../../dal/model/time.js';
import { createLogger } from '../../../lib/log.js';
import { tempDir } from '../../../test/lib/proc.js';
import { freshPgDatabase } from '../../../dal/test/lib/postgres.js';

const RIGHT = 'the-right-password';
const CLIENT: LoginClient = { address: '192.0.2.10', forwardedFor: null, shared: false };
const SETTINGS: AuthSettings = { ...DEFAULT_AUTH, mode: 'database', serverHostname: 'registry.test', databaseSecretKey: 'secret' };

interface Backend {
  readonly kind: 'sqlite' | 'pg';
  /** One connection (pool) per node. */
  readonly stores: readonly [{ auth: AuthStore; meta: MetadataStore }, { auth: AuthStore; meta: MetadataStore }];
  /** Raw SQL with `?` placeholders. */
  exec(sql: string, ...params: unknown[]): Promise<void>;
}

interface Cluster {
  readonly nodes: readonly [AuthService, AuthService];
  readonly clock: { now: number };
  readonly logs: Record<string, unknown>[];
}

function cluster(b: Backend, extra: Partial<AuthSettings> = {}): Cluster {
  const clock = { now: Date.UTC(2030, 0, 1, 12) };
  const logs: Record<string, unknown>[] = [];
  const log = createLogger(
    {},
    {
      write: (l) => {
        logs.push(JSON.parse(l) as Record<string, unknown>);
      },
    },
  );
  const node = (i: 0 | 1): AuthService => new AuthService({ ...SETTINGS, ...extra }, b.stores[i].auth, b.stores[i].meta, null, log.child({ node: i }), () => clock.now);
  return { nodes: [node(0), node(1)], clock, logs };
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function attempts(b: Backend, name: string): Promise<number> {
  return (await b.stores[0].auth.userByName(name))!.invalidLoginAttempts;
}

async function newUser(b: Backend, name: string, nowMs: number): Promise<void> {
  await b.stores[0].auth.createUser({ username: name, email: `${name}@example.com`, passwordHash: await hashPassword(RIGHT, 4), verified: true }, nowMs);
}

function completedChecks(): number {
  return Object.values(sharedBcryptPool().stats().completedByThread).reduce((a, n) => a + n, 0);
}

async function scenarios(t: Test, b: Backend): Promise<void> {
  t.test('the compare-and-swap: a failure counts only over the count it read', async (t) => {
    const c = cluster(b);
    await newUser(b, 'cas', c.clock.now);
    const id = (await b.stores[0].auth.userByName('cas'))!.id;
    t.equal(await b.stores[0].auth.recordLoginFailure(id, 0, 1, c.clock.now), true, 'node 0 counts 0 → 1');
    t.equal(await b.stores[1].auth.recordLoginFailure(id, 0, 1, c.clock.now), false, 'node 1, which also read 0, does not');
    t.equal(await attempts(b, 'cas'), 1);
    t.equal(await b.stores[1].auth.recordLoginFailure(id, 1, 2, c.clock.now + 1000), true, 'node 1 over the count it now reads');
    t.match(await b.stores[0].auth.userByName('cas'), { invalidLoginAttempts: 2, lastInvalidLoginMs: c.clock.now + 1000 });
  });

  t.test('16 wrong passwords at once on two nodes count once; the right one works after the window', async (t) => {
    const c = cluster(b);
    await newUser(b, 'victim', c.clock.now);
    const outcomes = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => c.nodes[i % 2]!.authenticateBasic(basic('victim', `wrong-${i}`), CLIENT)));
    const errors = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as unknown) : o.value));
    const checked = errors.filter((e) => e instanceof RegistryError && e.code === 'UNAUTHORIZED');
    const throttled = errors.filter((e): e is LoginThrottled => e instanceof LoginThrottled);
    t.equal(checked.length + throttled.length, 16, 'every attempt refused: a wrong password or a throttle');
    t.ok(checked.length >= 1 && checked.length <= 2, `one check per node at most (${checked.length}); the rest waited and saw the window`);
    t.ok(
      throttled.every((e) => e.by === 'backoff'),
      'the waiters were refused by the back-off, without a bcrypt run',
    );
    t.equal(await attempts(b, 'victim'), 1, 'the count went up by one, not 16');
    const wrongLines = c.logs.filter((l) => l.reason === 'wrong_password');
    t.equal(wrongLines.filter((l) => l.counted === true).length, 1, 'exactly one failure counted');

    const early = await c.nodes[1].authenticateBasic(basic('victim', RIGHT), CLIENT).catch((e: unknown) => e);
    t.ok(early instanceof LoginThrottled && early.by === 'backoff', 'the right password inside the window: refused, as Quay does');
    t.equal((early as LoginThrottled).retryAfterSeconds, 0, "Retry-After: Quay's int() of the 0.5 s left");
    t.equal(await attempts(b, 'victim'), 1, 'a refused attempt is not counted');

    c.clock.now += 1000;
    const p = await c.nodes[0].authenticateBasic(basic('victim', RIGHT), CLIENT);
    t.match(p, { kind: 'user', user: { username: 'victim' } }, 'after 1 s the right password logs in (before: 16 failures, 9 hours)');
    t.equal(await attempts(b, 'victim'), 0, 'and clears the count');
    t.ok(
      c.logs.every((l) => !JSON.stringify(l).includes('wrong-') && !JSON.stringify(l).includes(RIGHT)),
      'no password in any log line',
    );
  });

  t.test('16 right passwords at once on two nodes all log in', async (t) => {
    const c = cluster(b);
    await newUser(b, 'docker', c.clock.now);
    const before = completedChecks();
    const outcomes = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => c.nodes[i % 2]!.authenticateBasic(basic('docker', RIGHT), CLIENT)));
    t.same(
      outcomes.map((o) => o.status),
      Array(16).fill('fulfilled'),
      'none refused',
    );
    t.ok(outcomes.every((o) => o.status === 'fulfilled' && o.value.kind === 'user'));
    t.equal(await attempts(b, 'docker'), 0);
    if (b.kind === 'sqlite') {
      // Lookups answer before any worker can: every attempt joins its node's first, and takes its verdict.
      t.equal(completedChecks() - before, 2, 'one bcrypt run per node, shared by the attempts that waited');
    }
  });

  t.test('the back-off is capped at 15 minutes, and so is the count a patient attacker leaves', async (t) => {
    const c = cluster(b);
    await newUser(b, 'patient', c.clock.now);
    // A long attack on Python Quay left 30 failures: 0.5 s · (2^30 − 1), 17 years there.
    await b.exec('UPDATE "user" SET invalid_login_attempts = ?, last_invalid_login = ? WHERE username = ?', 30, sqlTime(c.clock.now), 'patient');
    const start = c.clock.now;
    c.clock.now = start + MAX_LOGIN_BACKOFF_MS - 1000;
    const early = await c.nodes[0].authenticateBasic(basic('patient', RIGHT), CLIENT).catch((e: unknown) => e);
    t.ok(early instanceof LoginThrottled && early.retryAfterSeconds === 1, 'a second before the cap: refused, 1 s to go');
    c.clock.now = start + MAX_LOGIN_BACKOFF_MS + 1;
    t.match(await c.nodes[1].authenticateBasic(basic('patient', RIGHT), CLIENT), { kind: 'user' }, 'past 15 minutes: the right password works');
    t.equal(await attempts(b, 'patient'), 0);

    // Wrong passwords, each as soon as the back-off allows: the count stops where the wait reaches the cap.
    for (let i = 0; i < MAX_COUNTED_LOGIN_FAILURES + 3; i++) {
      const u = (await b.stores[0].auth.userByName('patient'))!;
      if (u.invalidLoginAttempts > 0) c.clock.now = retryAfterMs(u.invalidLoginAttempts, u.lastInvalidLoginMs) + 1;
      const e = await c.nodes[i % 2]!.authenticateBasic(basic('patient', `wrong-${i}`), CLIENT).catch((err: unknown) => err);
      t.ok(e instanceof RegistryError && e.code === 'UNAUTHORIZED', `failure ${i + 1} checked`);
    }
    const u = (await b.stores[0].auth.userByName('patient'))!;
    t.equal(u.invalidLoginAttempts, MAX_COUNTED_LOGIN_FAILURES, `the count stops at ${MAX_COUNTED_LOGIN_FAILURES}`);
    t.equal(retryAfterMs(u.invalidLoginAttempts, u.lastInvalidLoginMs) - u.lastInvalidLoginMs, MAX_LOGIN_BACKOFF_MS, 'its wait here: the cap');
    t.equal(u.lastInvalidLoginMs, c.clock.now, 'a failure at the cap still restarts the window');
  });
}

t.test('SQLite: two nodes, two connections to one file', async (t) => {
  const file = join(tempDir(t, 'login-race-'), 'quay.db');
  const metas = [new SqliteMetadataStore(file), new SqliteMetadataStore(file)] as const;
  t.teardown(async () => {
    for (const m of metas) await m.close();
  });
  await scenarios(t, {
    kind: 'sqlite',
    stores: [
      { auth: new SqliteAuthStore(metas[0].db), meta: metas[0] },
      { auth: new SqliteAuthStore(metas[1].db), meta: metas[1] },
    ],
    async exec(sql, ...params) {
      metas[0].db.prepare(sql).run(...params);
    },
  });
});

t.test('PostgreSQL: two nodes, two pools on one database', async (t) => {
  const db = await freshPgDatabase(t);
  const a = await PgMetadataStore.open(db.url);
  const b = await PgMetadataStore.open(db.url);
  t.teardown(async () => {
    await a.metadata.close();
    await b.metadata.close();
  });
  await scenarios(t, {
    kind: 'pg',
    stores: [
      { auth: a.auth, meta: a.metadata },
      { auth: b.auth, meta: b.metadata },
    ],
    async exec(sql, ...params) {
      let i = 0;
      await a.pool.query(
        sql.replace(/\?/g, () => `$${++i}`),
        params,
      );
    },
  });
});
