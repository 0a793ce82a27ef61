/**
 * dal.tx() on both dialects (./lib/store-sides.ts): work across areas
 * commits or rolls back as one; store operations that are transactions of
 * their own become savepoints in it; a transaction's Dal refuses use after
 * its end. Then what each dialect does for callers outside the transaction:
 * on SQLite they wait until it ends (asserted by effects and order of
 * events, never by timing), on PostgreSQL they run beside it and do not see
 * its rows before COMMIT.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DalTxError, openDal, type Dal } from '../index.js';
import type { ActionLogEntry } from '../model/store.js';
import { openStoreSides, type Side } from './lib/store-sides.js';
import { freshPgDatabase } from './lib/postgres.js';
import { insideTx } from '../sqlite/gate.js';

const { sides } = await openStoreSides(t);
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0, 123);

const count = async (s: Side, sql: string, ...params: unknown[]): Promise<number> => Number((await s.raw(`SELECT count(*) AS n FROM ${sql}`, ...params))[0]!['n']);
const logEntry = (marker: string, repositoryId: number | null = null): ActionLogEntry => ({
  kind: 'create_repo',
  accountId: null,
  performerId: null,
  repositoryId,
  ip: null,
  metadataJson: JSON.stringify({ marker }),
  nowMs: NOW,
});
const queued = (s: Side, queue: string): Promise<Record<string, unknown>[]> => s.raw('SELECT body FROM queueitem WHERE queue_name = ? ORDER BY id', queue);
const logged = (s: Side, marker: string): Promise<number> => count(s, 'logentry3 WHERE metadata_json = ?', JSON.stringify({ marker }));

const users = await Promise.all(sides.map((s) => s.dal.users.createUser({ username: `txuser-${s.kind}`, email: `tx-${s.kind}@example.com`, passwordHash: null }, NOW)));

for (const [i, s] of sides.entries()) {
  const dal = s.dal;
  const user = users[i]!;

  t.test(`${s.kind}: a repository, a permission, a queue item and a log row in one tx are all there after COMMIT`, async (t) => {
    const out = await dal.tx(async (tx) => {
      const repo = await tx.repositories.createRepository(`tx-${s.kind}`, 'commit', 'private', NOW);
      await tx.permissions.setRepositoryPermission(repo.id, { userId: user.id }, 'write');
      // A nested tx joins the open one.
      await tx.tx((inner) => inner.queue.enqueue([{ queueName: `txtest/${s.kind}/commit/`, body: 'committed' }], NOW));
      await tx.logs.logAction(logEntry(`commit-${s.kind}`, repo.id));
      return repo;
    });
    const repo = await dal.repositories.lookupRepository(`tx-${s.kind}`, 'commit');
    t.same(repo, out, 'the repository');
    t.equal(await dal.permissions.repositoryRole(user.id, out.id), 'write', 'the permission');
    t.same(await queued(s, `txtest/${s.kind}/commit/`), [{ body: 'committed' }], 'the queue item');
    t.equal(await logged(s, `commit-${s.kind}`), 1, 'the action log row');
  });

  t.test(`${s.kind}: a throw inside rolls all of it back`, async (t) => {
    await t.rejects(
      dal.tx(async (tx) => {
        const repo = await tx.repositories.createRepository(`tx-${s.kind}`, 'rollback', 'private', NOW);
        await tx.permissions.setRepositoryPermission(repo.id, { userId: user.id }, 'admin');
        await tx.queue.enqueue([{ queueName: `txtest/${s.kind}/rollback/`, body: 'rolled back' }], NOW);
        await tx.logs.logAction(logEntry(`rollback-${s.kind}`, repo.id));
        t.ok(await tx.repositories.lookupRepository(`tx-${s.kind}`, 'rollback'), 'visible inside the tx');
        throw new Error('boom');
      }),
      { message: 'boom' },
      'the error comes out of tx()',
    );
    t.equal(await dal.repositories.lookupRepository(`tx-${s.kind}`, 'rollback'), null, 'no repository');
    t.equal(await count(s, 'repositorypermission WHERE user_id = ? AND repository_id NOT IN (SELECT id FROM repository)', user.id), 0, 'no permission');
    t.equal(await count(s, 'repositorypermission p JOIN role r ON r.id = p.role_id WHERE p.user_id = ? AND r.name = ?', user.id, 'admin'), 0, 'no admin grant');
    t.same(await queued(s, `txtest/${s.kind}/rollback/`), [], 'no queue item');
    t.equal(await logged(s, `rollback-${s.kind}`), 0, 'no action log row');
  });

  t.test(`${s.kind}: a store operation that fails inside is undone alone (a savepoint), the tx goes on`, async (t) => {
    await dal.tx(async (tx) => {
      await tx.repositories.createRepository(`tx-${s.kind}`, 'survivor', 'public', NOW);
      // The organisation row is written, then its owners team's member (no such user) breaks a foreign key.
      await t.rejects(tx.users.createOrganization(`txorg-${s.kind}`, `org-${s.kind}@example.com`, 987_654, NOW), 'createOrganization fails');
      await tx.queue.enqueue([{ queueName: `txtest/${s.kind}/savepoint/`, body: 'after' }], NOW);
    });
    t.ok(await dal.repositories.lookupRepository(`tx-${s.kind}`, 'survivor'), 'work before the failure committed');
    t.equal(await dal.users.userByName(`txorg-${s.kind}`), null, 'the failed operation left nothing');
    t.same(await queued(s, `txtest/${s.kind}/savepoint/`), [{ body: 'after' }], 'work after the failure committed');
  });

  t.test(`${s.kind}: a transaction's Dal refuses use after its end, and never closes the database`, async (t) => {
    let leaked: Dal | undefined;
    await dal.tx(async (tx) => {
      leaked = tx;
      await t.rejects(tx.close(), { code: 'DAL_TX_CLOSE' }, 'close() inside a tx');
    });
    await t.rejects(leaked!.repositories.lookupRepository(`tx-${s.kind}`, 'commit'), { code: 'DAL_TX_ENDED' }, 'a metadata area');
    await t.rejects(leaked!.users.userByName(`txuser-${s.kind}`), { code: 'DAL_TX_ENDED' }, 'an auth area');
    await t.rejects(
      leaked!.tx(async () => 1),
      DalTxError,
      'tx() on it',
    );
    t.ok(await dal.repositories.lookupRepository(`tx-${s.kind}`, 'commit'), 'the Dal itself still works');
  });
}

const sqlite = sides.find((s) => s.kind === 'sqlite')!;
const pg = sides.find((s) => s.kind === 'pg')!;

/** Run `fn` as another request would: outside any transaction's async context. */
const elsewhere = <T>(fn: () => Promise<T>): Promise<T> => insideTx.exit(fn);

t.test('sqlite: calls from outside an open tx wait for its end, and none lands inside it', async (t) => {
  const events: string[] = [];
  let outsideWrite: Promise<void> | undefined;
  let outsideLog: Promise<void> | undefined;
  let outsideRead: Promise<string[]> | undefined;
  await t.rejects(
    sqlite.dal.tx(async (tx) => {
      await tx.queue.enqueue([{ queueName: 'txtest/wait/', body: 'inside' }], NOW);
      // Other requests' calls: started here, but outside the tx's async context, as a concurrent request's are.
      outsideWrite = elsewhere(() => sqlite.dal.queue.enqueue([{ queueName: 'txtest/wait/', body: 'outside' }], NOW)).then(() => {
        events.push('outside write');
      });
      outsideLog = elsewhere(() => sqlite.dal.logs.logAction(logEntry('outside-during-tx'))).then(() => {
        events.push('outside log');
      });
      // Give the outside calls (and the group commit's batch) every turn of the event loop they could want.
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      events.push('tx body done');
      throw new Error('roll back');
    }),
    { message: 'roll back' },
  );
  await outsideWrite;
  await outsideLog;
  t.same(events, ['tx body done', 'outside write', 'outside log'], 'the outside calls ran after the tx');
  t.same(await queued(sqlite, 'txtest/wait/'), [{ body: 'outside' }], 'the outside write was not rolled back with the tx: it was not in it');
  t.equal(await logged(sqlite, 'outside-during-tx'), 1, 'nor was the group-committed log row');

  await sqlite.dal.tx(async (tx) => {
    outsideRead = elsewhere(() => sqlite.dal.repositories.listRepositories({ n: 1000 }));
    await new Promise((r) => setImmediate(r));
    await tx.repositories.createRepository('tx-sqlite', 'late', 'private', NOW);
  });
  t.ok((await outsideRead!).includes('tx-sqlite/late'), 'a read started before the tx wrote ran after its COMMIT');
});

t.test('sqlite: transactions on one connection run one after the other', async (t) => {
  const events: string[] = [];
  const first = sqlite.dal.tx(async (tx) => {
    events.push('first begins');
    await new Promise((r) => setImmediate(r));
    await tx.queue.enqueue([{ queueName: 'txtest/serial/', body: 'first' }], NOW);
    events.push('first ends');
  });
  const second = sqlite.dal.tx(async (tx) => {
    events.push('second begins');
    await tx.queue.enqueue([{ queueName: 'txtest/serial/', body: 'second' }], NOW);
    events.push('second ends');
  });
  await Promise.all([first, second]);
  t.same(events, ['first begins', 'first ends', 'second begins', 'second ends']);
  t.same(await queued(sqlite, 'txtest/serial/'), [{ body: 'first' }, { body: 'second' }]);
});

t.test('sqlite: the outer Dal used inside its own tx is refused at once, never a deadlock', async (t) => {
  const got = await sqlite.dal
    .tx(async () => {
      // The Dal the tx came from, not the tx: it would wait for this transaction to end.
      await sqlite.dal.queue.enqueue([{ queueName: 'txtest/outer/', body: 'x' }], NOW);
    })
    .then(
      () => 'resolved',
      (e: unknown) => (e instanceof DalTxError ? e.code : String(e)),
    );
  t.equal(got, 'DAL_TX_OUTER');
  t.same(await queued(sqlite, 'txtest/outer/'), [], 'and the transaction rolled back');
  const nested = await sqlite.dal.tx(async () => sqlite.dal.tx(async () => 'inner')).catch((e: unknown) => (e instanceof DalTxError ? e.code : String(e)));
  t.equal(nested, 'DAL_TX_OUTER', "a tx on the outer Dal from inside a tx: refused too (the tx's own .tx joins)");
  t.equal(await sqlite.dal.tx(async (tx) => tx.tx(async () => 'joined')), 'joined');
});

t.test('pg: an outside reader does not see the rows of an open tx, and sees them after COMMIT', async (t) => {
  await pg.dal.tx(async (tx) => {
    const repo = await tx.repositories.createRepository('tx-pg', 'uncommitted', 'private', NOW);
    await tx.queue.enqueue([{ queueName: 'txtest/pg/uncommitted/', body: 'x' }], NOW);
    t.ok(await tx.repositories.lookupRepository('tx-pg', 'uncommitted'), 'inside: visible');
    t.equal(await pg.dal.repositories.lookupRepository('tx-pg', 'uncommitted'), null, 'outside: not yet');
    t.same(await queued(pg, 'txtest/pg/uncommitted/'), [], 'outside: no queue item yet');
    t.equal(await pg.dal.permissions.repositoryRole(1, repo.id), null, 'outside: nothing to grant on');
  });
  t.ok(await pg.dal.repositories.lookupRepository('tx-pg', 'uncommitted'), 'after COMMIT');
  t.same(await queued(pg, 'txtest/pg/uncommitted/'), [{ body: 'x' }]);
});

t.test('openDal gives every area on both dialects', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const db = await freshPgDatabase(t);
  for (const databaseUri of [null, db.url]) {
    const dal = await openDal({ databaseUri, databaseFile: join(dir, 'sub', 'quay.db'), storageLocation: 'local_us' });
    t.equal(dal.dialect, databaseUri ? 'postgresql' : 'sqlite');
    for (const area of ['repositories', 'tags', 'manifests', 'blobs', 'uploads', 'queue', 'logs', 'notifications'] as const) t.equal(dal[area], dal.metadata, area);
    for (const area of ['users', 'teams', 'permissions', 'serviceKeys'] as const) t.equal(dal[area], dal.auth, area);
    const repo = await dal.tx((tx) => tx.repositories.createRepository('opened', 'repo', 'public', NOW));
    t.same(await dal.repositories.lookupRepository('opened', 'repo'), repo);
    await dal.close();
  }
});
