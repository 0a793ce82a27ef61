/**
 * quotatotalworker (dal/portable/quota-totals.ts, workers/programs/schedulers.ts)
 * and servicekey (Quay's servicekeyworker), on SQLite and on a fresh PostgreSQL: namespaces
 * without a total get theirs (every repository's distinct blobs, a repository
 * marked for deletion included, as Quay counts) and their repositories'
 * (those not marked for deletion); a complete total and a count in progress
 * stay; a total handed back is counted again; disabled users and robots are
 * not picked; the first pass waits QUOTA_TOTAL_DELAY_SECONDS. The real-Quay
 * comparison is test/e2e/quotatotal-quay.test.ts. Needs the local PostgreSQL.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStoreSides } from '../../dal/test/lib/store-sides.js';
import { digestOf as digest, testManifest as manifest } from '../../dal/test/lib/manifests.js';
import { createLogger } from '../../lib/log.js';
import { QuotaTotals } from '../../dal/portable/quota-totals.js';
import { quotaTotalProgram, serviceKeyProgram } from '../programs/schedulers.js';
import { idleReason } from '../features.js';

const { sides } = await openStoreSides(t);
const quiet = createLogger({}, { write: () => {} });
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0, 0);

t.test('quotatotalworker idles as Quay’s', async (t) => {
  t.equal(idleReason('quotatotalworker', {}), 'FEATURE_QUOTA_MANAGEMENT is off');
  t.equal(idleReason('quotatotalworker', { FEATURE_QUOTA_MANAGEMENT: true }), null);
  t.equal(idleReason('quotatotalworker', { FEATURE_QUOTA_MANAGEMENT: true, QUOTA_BACKFILL: false }), 'QUOTA_BACKFILL is off');
});

for (const s of sides) {
  let now = T0;
  const no = s.kind === 'sqlite' ? 0 : false;
  const yes = s.kind === 'sqlite' ? 1 : true;
  const id = async (user: string): Promise<number> => Number((await s.raw('SELECT id FROM "user" WHERE username = ?', user))[0]!.id);
  const blobs = async (repo: number, d: Record<string, number>): Promise<void> => {
    for (const [dg, size] of Object.entries(d))
      await s.meta.commitBlob({ uploadUuid: null, repositoryId: repo, digest: dg, size, uncompressedSize: null, location: 'local_us', nowMs: now, linkExpiresMs: now + 60_000 });
  };
  const nsRow = async (user: string): Promise<Record<string, unknown> | undefined> =>
    (await s.raw('SELECT size_bytes, backfill_start_ms, backfill_complete FROM quotanamespacesize WHERE namespace_user_id = ?', await id(user)))[0];
  const repoRow = async (repo: number): Promise<Record<string, unknown> | undefined> =>
    (await s.raw('SELECT size_bytes, backfill_start_ms, backfill_complete FROM quotarepositorysize WHERE repository_id = ?', repo))[0];
  const row = (size: number, start: number | null, complete: boolean): Record<string, unknown> => ({
    size_bytes: size,
    backfill_start_ms: start,
    backfill_complete: s.kind === 'sqlite' ? (complete ? 1 : 0) : complete,
  });

  t.test(`${s.kind}: the backfill counts what Quay's run_backfill counts`, async (t) => {
    const [A, B, C, D] = ['a', 'b', 'c', 'd'].map(digest) as [string, string, string, string];
    const a = await s.meta.createRepository(`qt${s.kind}`, 'a', 'private', now);
    const b = await s.meta.createRepository(`qt${s.kind}`, 'b', 'private', now);
    const gone = await s.meta.createRepository(`qt${s.kind}`, 'gone', 'private', now);
    await blobs(a.id, { [A]: 10, [B]: 20 });
    await blobs(b.id, { [B]: 20, [C]: 40 });
    await blobs(gone.id, { [D]: 80 });
    await s.meta.putManifest(a.id, manifest(digest('1'), [A, B]), { tag: 'latest' }, now, 'none');
    await s.meta.putManifest(b.id, manifest(digest('2'), [B, C]), { tag: 'latest' }, now, 'none');
    await s.meta.putManifest(gone.id, manifest(digest('3'), [D]), { tag: 'latest' }, now, 'none');
    await s.raw('UPDATE repository SET state = 3 WHERE id = ?', gone.id);
    // A namespace whose total is complete, one handed back (with a complete repository total), one in progress.
    const done = await s.meta.createRepository(`qd${s.kind}`, 'x', 'private', now);
    await s.raw('INSERT INTO quotanamespacesize (namespace_user_id, size_bytes, backfill_start_ms, backfill_complete) VALUES (?, 7, ?, ?)', await id(`qd${s.kind}`), T0 - 1, yes);
    const back = await s.meta.createRepository(`qb${s.kind}`, 'y', 'private', now);
    await blobs(back.id, { [C]: 40 });
    await s.meta.putManifest(back.id, manifest(digest('4'), [C]), { tag: 'latest' }, now, 'none');
    await s.raw('INSERT INTO quotanamespacesize (namespace_user_id, size_bytes, backfill_start_ms, backfill_complete) VALUES (?, 0, NULL, ?)', await id(`qb${s.kind}`), no);
    await s.raw('INSERT INTO quotarepositorysize (repository_id, size_bytes, backfill_start_ms, backfill_complete) VALUES (?, 5, ?, ?)', back.id, T0 - 1, yes);
    await s.meta.createRepository(`qp${s.kind}`, 'z', 'private', now);
    await s.raw('INSERT INTO quotanamespacesize (namespace_user_id, size_bytes, backfill_start_ms, backfill_complete) VALUES (?, 0, ?, ?)', await id(`qp${s.kind}`), T0 - 1, no);
    await s.meta.createRepository(`qoff${s.kind}`, 'w', 'private', now);
    await s.raw('UPDATE "user" SET enabled = ? WHERE username = ?', no, `qoff${s.kind}`);

    const picked = await new QuotaTotals(s.dal.sql).namespacesToBackfill(100);
    t.ok(picked.includes(await id(`qt${s.kind}`)) && picked.includes(await id(`qb${s.kind}`)), 'the namespace without a total and the one handed back are picked');
    for (const other of [`qd${s.kind}`, `qp${s.kind}`, `qoff${s.kind}`]) t.notOk(picked.includes(await id(other)), `${other} is not`);

    now = T0 + 1000;
    const p = quotaTotalProgram({ sql: s.dal.sql, log: quiet, quayConfig: { QUOTA_TOTAL_DELAY_SECONDS: 60 }, now: () => now });
    t.equal(await p.run(() => true), null, 'nothing before QUOTA_TOTAL_DELAY_SECONDS');
    now += 60_000;
    t.match(await p.run(() => true), { namespaces: 2 });
    t.same(await nsRow(`qt${s.kind}`), row(150, now, true), 'the namespace: every distinct blob of its repositories, the one marked for deletion too');
    t.same(await repoRow(a.id), row(30, now, true));
    t.same(await repoRow(b.id), row(60, now, true));
    t.equal(await repoRow(gone.id), undefined, 'no total for a repository marked for deletion');
    t.same(await nsRow(`qb${s.kind}`), row(40, now, true), 'the total handed back is counted again');
    t.same(await repoRow(back.id), row(5, T0 - 1, true), 'a complete repository total stays');
    t.same(await nsRow(`qd${s.kind}`), row(7, T0 - 1, true), 'a complete namespace total stays');
    t.same(await nsRow(`qp${s.kind}`), row(0, T0 - 1, false), 'a count in progress stays');
    t.equal(await repoRow(done.id), undefined, "a complete namespace's repositories are not visited");
    now += 60_000;
    t.equal(await p.run(() => true), null, 'counted totals are not counted again');
  });

  t.test(`${s.kind}: servicekey moves the instance key's expiry, as Quay's servicekeyworker`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'servicekey-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const kidFile = join(dir, 'quay.kid');
    writeFileSync(kidFile, `kid-${s.kind}\n`);
    await s.dal.serviceKeys.registerServiceKey({ kid: `kid-${s.kind}`, service: 'quay', name: 'test', jwk: { kty: 'RSA' }, expirationMs: T0 + 60_000 }, T0);
    const p = serviceKeyProgram({
      keys: s.dal.serviceKeys,
      quayConfig: { INSTANCE_SERVICE_KEY_KID_LOCATION: kidFile, INSTANCE_SERVICE_KEY_EXPIRATION: 120 },
      now: () => T0 + 3_600_000,
    });
    t.equal(p.everyMs, 55 * 60_000, 'every INSTANCE_SERVICE_KEY_REFRESH (55 minutes)');
    t.match(await p.run(() => true), { kid: `kid-${s.kind}` });
    const exp = String((await s.raw('SELECT expiration_date FROM servicekey WHERE kid = ?', `kid-${s.kind}`))[0]!.expiration_date);
    t.match(exp, /^2026-06-01[ T]15:00:00/, 'now + INSTANCE_SERVICE_KEY_EXPIRATION minutes');
    writeFileSync(kidFile, 'no-such-kid');
    await t.rejects(
      p.run(() => true),
      /no servicekey row/,
      'a key that is gone fails the pass',
    );
  });
}
