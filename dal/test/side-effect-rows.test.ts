/**
 * The rows the metadata stores write beside content, on SQLite and on
 * PostgreSQL alike (each scenario runs on both, results compared, then
 * checked against Quay's rules): quota totals for each QuotaAccounting,
 * a new manifest's security status and labels, action log rows (kind by
 * name), notification queue items, tag-notification records dropped with
 * their tag, and `last_accessed` touched only as Quay touches it.
 * Needs the local PostgreSQL (../lib/postgres.ts); fails, never skips.
 */
import t from 'tap';
import type { Test } from 'tap';
import type { NewManifest, QuotaAccounting } from '../model/store.js';
import { sqlLocalTime, sqlTime } from '../model/time.js';
import { openStoreSides, type Side } from './lib/store-sides.js';
import { digestOf as digest, testManifest as manifest } from './lib/manifests.js';

const { sides } = await openStoreSides(t);

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/;
/** A timestamp column's text as one form (PostgreSQL drops trailing zeros of the fraction). */
const time = (x: string): string => sqlTime(Date.parse(`${x.replace(' ', 'T')}Z`));
const normalise = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v ?? null, (_, x: unknown) => (typeof x === 'string' ? (TIME.test(x) ? time(x) : x.replace(UUID, '<uuid>')) : typeof x === 'boolean' ? Number(x) : x)));

/** Run `fn` on both stores; the results must be identical (uuids aside, booleans as 0/1). Returns the SQLite result, normalised. */
async function both<T>(tt: Test, what: string, fn: (s: Side) => Promise<T>): Promise<T> {
  const out: unknown[] = [];
  for (const s of sides) {
    try {
      out.push(normalise(await fn(s)));
    } catch (err) {
      out.push({ threw: true, message: (err as Error).message.slice(0, 40) });
    }
  }
  tt.same(out[1], out[0], `${what}: pg = sqlite`);
  return out[0] as T;
}

const NOW = Date.UTC(2026, 2, 1, 9, 30, 0, 250);
const commit = (s: Side, repo: number, d: string, size: number): Promise<unknown> =>
  s.meta.commitBlob({ uploadUuid: null, repositoryId: repo, digest: d, size, uncompressedSize: null, location: 'local_us', nowMs: NOW, linkExpiresMs: NOW + 3_600_000 });
const put = (s: Side, repo: number, m: NewManifest, tag: string, quota: QuotaAccounting): Promise<unknown> => s.meta.putManifest(repo, m, { tag }, NOW, quota);
const totals = (s: Side): Promise<Record<string, unknown>[]> =>
  s.raw(`SELECT 'ns:' || u.username AS what, q.size_bytes, q.backfill_start_ms,
    CASE WHEN q.backfill_complete THEN 1 ELSE 0 END AS complete FROM quotanamespacesize q JOIN "user" u ON u.id = q.namespace_user_id
  UNION ALL SELECT 'repo:' || r.name, q.size_bytes, q.backfill_start_ms, CASE WHEN q.backfill_complete THEN 1 ELSE 0 END
    FROM quotarepositorysize q JOIN repository r ON r.id = q.repository_id ORDER BY 1`);

t.test('quota totals when FEATURE_QUOTA_MANAGEMENT is on (`count`)', async (tt) => {
  const a = (await both(tt, 'repo q/a', (s) => s.meta.createRepository('q', 'a', 'private', NOW))).id;
  const b = (await both(tt, 'repo q/b', (s) => s.meta.createRepository('q', 'b', 'private', NOW))).id;
  const [c1, l1, l2, l3] = ['c', 'd', 'e', 'f'].map(digest) as [string, string, string, string];
  for (const [d, size] of [
    [c1, 100],
    [l1, 200],
    [l2, 300],
  ] as const)
    await both(tt, `blob ${size}`, (s) => commit(s, a, d, size));
  await both(tt, 'blob with no size recorded', async (s) => {
    await commit(s, a, l3, 1);
    return s.raw('UPDATE imagestorage SET image_size = NULL WHERE content_checksum = ?', l3);
  });

  await both(tt, 'first manifest of the namespace', (s) => put(s, a, manifest(digest('1'), [c1, l1]), 'one', 'count'));
  tt.same(await both(tt, 'rows inserted, backfill done', totals), [
    { what: 'ns:q', size_bytes: 300, backfill_start_ms: 0, complete: 1 },
    { what: 'repo:a', size_bytes: 300, backfill_start_ms: 0, complete: 1 },
  ]);
  await both(tt, 'a second manifest sharing the config', (s) => put(s, a, manifest(digest('2'), [c1, l2, l3]), 'two', 'count'));
  tt.same(
    (await both(tt, 'only the new bytes are added (NULL size counts 0)', totals)).map((r) => r.size_bytes),
    [600, 600],
  );
  await both(tt, 'the same manifest again', (s) => put(s, a, manifest(digest('2'), [c1, l2, l3]), 'again', 'count'));
  tt.same(
    (await both(tt, 'an existing manifest counts nothing', totals)).map((r) => r.size_bytes),
    [600, 600],
  );

  await both(tt, 'blobs linked into q/b', async (s) => {
    for (const d of [c1, l1]) await commit(s, b, d, d === c1 ? 100 : 200);
  });
  await both(tt, 'first manifest of q/b', (s) => put(s, b, manifest(digest('3'), [c1, l1]), 'one', 'count'));
  tt.same(await both(tt, 'namespace +0, repository row created', totals), [
    { what: 'ns:q', size_bytes: 600, backfill_start_ms: 0, complete: 1 },
    { what: 'repo:a', size_bytes: 600, backfill_start_ms: 0, complete: 1 },
    { what: 'repo:b', size_bytes: 300, backfill_start_ms: 0, complete: 1 },
  ]);

  await both(tt, 'an index (no blobs)', (s) =>
    put(s, a, manifest(digest('4'), [], { mediaType: 'application/vnd.oci.image.index.v1+json', childDigests: [digest('1')] }), 'multi', 'count'),
  );
  tt.same(
    (await both(tt, 'no blobs, no change', totals)).map((r) => r.size_bytes),
    [600, 600, 300],
  );

  await both(tt, 'namespace backfill pending', (s) => s.raw('UPDATE quotanamespacesize SET backfill_complete = ?', s.kind === 'pg' ? false : 0));
  await both(tt, 'q/b row gone (as before its backfill)', (s) => s.raw('DELETE FROM quotarepositorysize WHERE repository_id = ?', b));
  await both(tt, 'l2 into q/b', (s) => commit(s, b, l2, 300));
  await both(tt, 'a second manifest of q/b', (s) => put(s, b, manifest(digest('5'), [l2]), 'two', 'count'));
  tt.same(await both(tt, 'pending namespace left alone; no row created beside other manifests', totals), [
    { what: 'ns:q', size_bytes: 600, backfill_start_ms: 0, complete: 0 },
    { what: 'repo:a', size_bytes: 600, backfill_start_ms: 0, complete: 1 },
  ]);

  const r = (
    await both(tt, 'a robot-owned namespace', async (s) => {
      const repo = await s.meta.createRepository('bots', 'r', 'private', NOW);
      await s.raw('UPDATE "user" SET robot = ? WHERE username = ?', s.kind === 'pg' ? true : 1, 'bots');
      return repo;
    })
  ).id;
  await both(tt, 'its blob and manifest', async (s) => {
    await commit(s, r, l1, 200);
    return put(s, r, manifest(digest('6'), [l1]), 'x', 'count');
  });
  tt.equal((await both(tt, 'not eligible: nothing counted', totals)).length, 2);
});

t.test('quota totals with quota management off', async (tt) => {
  const r = (await both(tt, 'repo inv/r', (s) => s.meta.createRepository('inv', 'r', 'private', NOW))).id;
  const other = (await both(tt, 'repo inv/other', (s) => s.meta.createRepository('inv', 'other', 'private', NOW))).id;
  await both(tt, 'computed totals', async (s) => {
    const ns = (await s.raw('SELECT namespace_user_id AS id FROM repository WHERE id = ?', r))[0]!.id;
    const yes = s.kind === 'pg' ? true : 1;
    await s.raw('INSERT INTO quotanamespacesize (namespace_user_id, size_bytes, backfill_start_ms, backfill_complete) VALUES (?, 900, 5, ?)', ns, yes);
    await s.raw('INSERT INTO quotarepositorysize (repository_id, size_bytes, backfill_start_ms, backfill_complete) VALUES (?, 700, 5, ?)', r, yes);
    await s.raw('INSERT INTO quotarepositorysize (repository_id, size_bytes, backfill_start_ms, backfill_complete) VALUES (?, 200, NULL, ?)', other, yes);
  });
  const mine = (s: Side) => totals(s).then((rows) => rows.filter((x) => ['ns:inv', 'repo:r', 'repo:other'].includes(String(x.what))));
  await both(tt, 'QUOTA_INVALIDATE_TOTALS off (`none`)', (s) => put(s, r, manifest(digest('a'), []), 'x', 'none'));
  tt.same(
    (await both(tt, 'untouched', mine)).map((x) => x.size_bytes),
    [900, 200, 700],
  );
  await both(tt, "Quay's defaults (`invalidate`)", (s) => put(s, r, manifest(digest('b'), []), 'y', 'invalidate'));
  tt.same(await both(tt, 'the repository and its namespace go back to the backfill worker', mine), [
    { what: 'ns:inv', size_bytes: 0, backfill_start_ms: null, complete: 0 },
    { what: 'repo:other', size_bytes: 200, backfill_start_ms: null, complete: 1 },
    { what: 'repo:r', size_bytes: 0, backfill_start_ms: null, complete: 0 },
  ]);
});

t.test('a new manifest: security status and labels; blobs keep uploading = true', async (tt) => {
  const r = (await both(tt, 'repo lab/r', (s) => s.meta.createRepository('lab', 'r', 'private', NOW))).id;
  await both(tt, 'config', (s) => commit(s, r, digest('9'), 10));
  tt.same(await both(tt, 'imagestorage.uploading', (s) => s.raw('SELECT CASE WHEN uploading THEN 1 ELSE 0 END AS u FROM imagestorage WHERE content_checksum = ?', digest('9'))), [
    { u: 1 },
  ]);
  const labels = [
    { key: 'b', value: 'text', mediaType: 'text/plain' },
    { key: 'a', value: '{"x": 1}', mediaType: 'application/json' },
  ];
  await both(tt, 'push with labels', (s) => put(s, r, manifest(digest('7'), [digest('9')], { labels }), 'v', 'none'));
  await both(tt, 'push it again', (s) => put(s, r, manifest(digest('7'), [digest('9')], { labels }), 'w', 'none'));
  tt.same(
    await both(tt, 'label rows, once, in order', (s) =>
      s.raw(
        `SELECT l.uuid, l."key", l.value, mt.name AS media_type, st.name AS source
      FROM manifestlabel ml JOIN label l ON l.id = ml.label_id JOIN mediatype mt ON mt.id = l.media_type_id JOIN labelsourcetype st ON st.id = l.source_type_id
      JOIN manifest m ON m.id = ml.manifest_id WHERE m.digest = ? ORDER BY l.id`,
        digest('7'),
      ),
    ),
    [
      { uuid: '<uuid>', key: 'b', value: 'text', media_type: 'text/plain', source: 'manifest' },
      { uuid: '<uuid>', key: 'a', value: '{"x": 1}', media_type: 'application/json', source: 'manifest' },
    ],
  );
  tt.same(
    await both(tt, 'security status pending', (s) =>
      s.raw(
        `SELECT index_status, error_json, last_indexed, indexer_hash, indexer_version, metadata_json
      FROM manifestsecuritystatus x JOIN manifest m ON m.id = x.manifest_id WHERE m.digest = ?`,
        digest('7'),
      ),
    ),
    [{ index_status: 0, error_json: '{}', last_indexed: sqlTime(NOW), indexer_hash: '', indexer_version: 4, metadata_json: '{}' }],
  );
});

t.test('action log rows, notifications, tag-notification records', async (tt) => {
  const r = await both(tt, 'repo logs/r', (s) => s.meta.createRepository('logs', 'r', 'public', NOW));
  await both(tt, 'push_repo', (s) =>
    s.meta.logAction({ kind: 'push_repo', accountId: r.namespaceId, performerId: null, repositoryId: r.id, ip: '10.0.0.1', metadataJson: '{"a": 1}', nowMs: NOW }),
  );
  await both(tt, 'no account: the lowest user id', (s) =>
    s.meta.logAction({ kind: 'pull_repo_failed', accountId: null, performerId: null, repositoryId: null, ip: null, metadataJson: '{}', nowMs: NOW }),
  );
  tt.same(
    await both(tt, 'rows', (s) =>
      s
        .raw(
          `SELECT k.name AS kind, l.account_id = (SELECT min(id) FROM "user") AS lowest, l.account_id = ? AS ns,
      l.repository_id, l.datetime, l.ip, l.metadata_json FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id ORDER BY l.id`,
          r.namespaceId,
        )
        .then((rows) => rows.map((x) => ({ ...x, lowest: Number(x.lowest), ns: Number(x.ns) }))),
    ),
    [
      { kind: 'push_repo', lowest: 0, ns: 1, repository_id: r.id, datetime: sqlLocalTime(NOW), ip: '10.0.0.1', metadata_json: '{"a": 1}' },
      { kind: 'pull_repo_failed', lowest: 1, ns: 0, repository_id: null, datetime: sqlLocalTime(NOW), ip: null, metadata_json: '{}' },
    ],
  );
  const refused = await both(tt, 'an unknown kind is refused', (s) =>
    s.meta.logAction({ kind: 'no_such_kind', accountId: 1, performerId: null, repositoryId: null, ip: null, metadataJson: '{}', nowMs: NOW }),
  );
  tt.match(refused, { threw: true });
  tt.equal(await both(tt, 'namespaceId', (s) => s.meta.namespaceId('logs')), r.namespaceId);
  tt.equal(await both(tt, 'namespaceId of nobody', (s) => s.meta.namespaceId('nobody')), null);

  await both(tt, 'two repo_push notifications and a build one', async (s) => {
    for (const [uuid, event] of [
      ['n-1', 'repo_push'],
      ['n-2', 'build_start'],
      ['n-3', 'repo_push'],
    ]) {
      await s.raw(
        `INSERT INTO repositorynotification (uuid, repository_id, event_id, method_id, title, config_json, event_config_json, number_of_failures, last_ran_ms)
        VALUES (?, ?, (SELECT id FROM externalnotificationevent WHERE name = ?), (SELECT id FROM externalnotificationmethod WHERE name = 'webhook'), NULL, '{}', '{}', 0, NULL)`,
        uuid,
        r.id,
        event,
      );
    }
  });
  tt.same(await both(tt, 'repo_push notifications by id', (s) => s.meta.repositoryNotifications(r.id, 'repo_push')), ['n-1', 'n-3']);
  await both(tt, 'enqueue two', (s) =>
    s.meta.enqueue(
      [
        { queueName: 'notification/logs/r/repo_push/', body: '{"n": 1}' },
        { queueName: 'notification/logs/r/repo_push/', body: '{"n": 3}' },
      ],
      NOW,
    ),
  );
  tt.same(
    await both(tt, 'queue items', (s) =>
      s.raw(`SELECT queue_name, body, available_after, CASE WHEN available THEN 1 ELSE 0 END AS available, processing_expires,
      retries_remaining, state_id FROM queueitem ORDER BY id`),
    ),
    [1, 3].map((n) => ({
      queue_name: 'notification/logs/r/repo_push/',
      body: `{"n": ${n}}`,
      available_after: sqlTime(NOW),
      available: 1,
      processing_expires: null,
      retries_remaining: 5,
      state_id: '<uuid>',
    })),
  );

  await both(tt, 'a manifest tagged twice', async (s) => {
    await s.meta.putManifest(r.id, manifest(digest('8'), []), { tag: 'x' }, NOW, 'none');
    await s.meta.putManifest(r.id, manifest(digest('8'), []), { tag: 'y' }, NOW, 'none');
    await s.meta.putManifest(r.id, manifest(digest('8'), []), { tag: 'z' }, NOW, 'none');
    for (const tag of ['x', 'y', 'z']) {
      await s.raw(
        `INSERT INTO tagnotificationsuccess (notification_id, tag_id, method_id) VALUES ((SELECT min(id) FROM repositorynotification),
        (SELECT id FROM tag WHERE name = ? AND repository_id = ?), (SELECT id FROM externalnotificationmethod WHERE name = 'webhook'))`,
        tag,
        r.id,
      );
    }
  });
  tt.ok(await both(tt, 'delete tag z', (s) => s.meta.deleteTag(r.id, 'z', NOW + 1)));
  tt.same(await both(tt, 'delete by digest: the tags ended', (s) => s.meta.deleteManifest(r.id, digest('8'), NOW + 2)), ['x', 'y']);
  tt.same(
    await both(tt, 'their tag-notification records are gone', (s) => s.raw('SELECT count(*) AS n FROM tagnotificationsuccess').then((rows) => rows.map((x) => Number(x.n)))),
    [0],
  );
});

t.test('last_accessed is touched as Quay touches it', async (tt) => {
  const robot = await both(tt, 'a robot', (s) => s.auth.createRobot('acc+bot', 'v0$$x', '', NOW));
  const user = await both(tt, 'a user', (s) => s.auth.createUser({ username: 'acc', email: 'acc@example.com', passwordHash: null }, NOW));
  const seen = (s: Side, id: number) =>
    s.raw('SELECT last_accessed AS at FROM "user" WHERE id = ?', id).then((rows) => (rows[0]!.at === null ? 'null' : time(String(rows[0]!.at))));
  await both(tt, 'robot login', (s) => s.auth.touchUser(robot.id, NOW));
  await both(tt, 'robot login 30 s later', (s) => s.auth.touchUser(robot.id, NOW + 30_000));
  tt.equal(await both(tt, 'kept within the minute', (s) => seen(s, robot.id)), sqlTime(NOW));
  await both(tt, 'robot login 61 s later', (s) => s.auth.touchUser(robot.id, NOW + 61_000));
  tt.equal(await both(tt, 'rewritten after it', (s) => seen(s, robot.id)), sqlTime(NOW + 61_000));
  await both(tt, 'a password login without failures', (s) => s.auth.recordLogin(user.id, true, NOW));
  tt.equal(await both(tt, "user untouched (Quay's verify_user)", (s) => seen(s, user.id)), 'null');
  await both(tt, 'a failure, then a success', async (s) => {
    await s.auth.recordLogin(user.id, false, NOW);
    await s.auth.recordLogin(user.id, true, NOW + 1000);
  });
  tt.equal(await both(tt, 'touched when clearing the count', (s) => seen(s, user.id)), sqlTime(NOW + 1000));
  tt.match(await both(tt, 'count cleared', (s) => s.auth.userByName('acc')), { invalidLoginAttempts: 0 });
});
