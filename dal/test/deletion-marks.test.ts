/**
 * The marks the API's deletes leave (dal/portable/deletion-marks.ts) and the
 * log-export request (dal/portable/logs-export.ts), on SQLite and PostgreSQL:
 * the rows Quay's mark_repository_for_deletion, mark_namespace_for_deletion
 * and queue_logs_export write, the queue items with Quay's names and bodies,
 * Quay's `all_queues` purged (and only of the namespace's items), the
 * linked data deleted at once unless a grace period keeps it, and the cases
 * that mark nothing. test/e2e/api-producers-quay.test.ts runs Quay's own
 * workers on these items.
 */
import t from 'tap';
import { openStoreSides } from './lib/store-sides.js';
import { linkedNamespace } from './lib/namespace-fixture.js';
import { markNamespaceForDeletion, markRepositoryForDeletion, namespaceGracePeriod, solelyAdminedOrganizations } from '../portable/deletion-marks.js';
import { queueLogsExport } from '../portable/logs-export.js';
import { WorkQueue } from '../portable/queue.js';
import { parseSqlTime } from '../model/time.js';

const { sides } = await openStoreSides(t);
const NOW = Date.UTC(2026, 11, 4, 12, 0, 0, 0);
const now = (): number => NOW;
const config = {};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

for (const s of sides) {
  const items = async (like: string): Promise<{ id: number; queue_name: string; body: string; retries_remaining: number }[]> =>
    (await s.raw('SELECT id, queue_name, body, retries_remaining FROM queueitem WHERE queue_name LIKE ? ORDER BY id', like)).map((r) => ({
      id: Number(r.id),
      queue_name: String(r.queue_name),
      body: String(r.body),
      retries_remaining: Number(r.retries_remaining),
    }));
  const put = (queue: string, parts: string[]): Promise<number> => new WorkQueue(s.dal.sql, queue, { hasNamespace: true, now }).put(parts, '{}');

  t.test(`${s.kind}: a repository is renamed, marked, unstarred and queued for repositorygc`, async (t) => {
    const repo = await s.meta.createRepository('rmark', 'app', 'private', NOW);
    const owner = await s.auth.userByName('rmark');
    await s.raw('INSERT INTO star (user_id, repository_id, created) VALUES (?, ?, ?)', owner!.id, repo.id, '2026-12-04 12:00:00');
    const mark = await markRepositoryForDeletion(s.dal, { namespace: 'rmark', repository: 'app', config, now });
    t.ok(mark, 'marked');
    t.equal(mark!.repositoryId, repo.id);
    const [row] = await s.raw('SELECT name, state FROM repository WHERE id = ?', repo.id);
    t.match(String(row!.name), UUID, 'renamed to a uuid4');
    t.equal(String(row!.name), mark!.deletedName);
    t.equal(Number(row!.state), 3, 'MARKED_FOR_DELETION');
    t.same(await s.raw('SELECT id FROM star WHERE repository_id = ?', repo.id), [], 'stars dropped');
    const [marker] = await s.raw('SELECT id, repository_id, original_name, queue_id FROM deletedrepository WHERE repository_id = ?', repo.id);
    t.equal(Number(marker!.id), mark!.markerId);
    t.equal(marker!.original_name, 'app');
    t.same(await items('repositorygc/rmark/%'), [
      { id: mark!.queueId, queue_name: `repositorygc/rmark/${repo.id}/`, body: `{"marker_id": ${mark!.markerId}, "original_name": "app"}`, retries_remaining: 5 },
    ]);
    t.equal(String(marker!.queue_id), String(mark!.queueId), "the marker holds its item's id");
    t.equal(await markRepositoryForDeletion(s.dal, { namespace: 'rmark', repository: 'app', config, now }), null, 'a marked repository is gone by name: nothing to mark');
    t.equal(await markRepositoryForDeletion(s.dal, { namespace: 'rmark', repository: 'nope', config, now }), null, 'a missing repository: nothing');
  });

  t.test(`${s.kind}: a namespace is disabled, renamed, purged from the namespaced queues and queued for namespacegc`, async (t) => {
    await s.meta.createRepository('nmark', 'x', 'private', NOW);
    await s.meta.createRepository('nmark0', 'x', 'private', NOW);
    const user = (await s.auth.userByName('nmark'))!;
    await s.raw('UPDATE "user" SET email = ? WHERE id = ?', 'nmark@example.com', user.id);
    const purged = [await put('notification', ['nmark', 'x', 'repo_push']), await put('dockerfilebuild', ['nmark', 'x']), await put('repositorygc', ['nmark', '9'])];
    const kept = [
      await put('notification', ['nmark0', 'x', 'repo_push']),
      await put('exportactionlogs', ['nmark']),
      await new WorkQueue(s.dal.sql, 'namespacegc', { hasNamespace: false, now }).put(['nmark'], '{}'),
    ];
    const mark = await markNamespaceForDeletion(s.dal, { userId: user.id, config, now });
    t.ok(mark, 'marked');
    const [row] = await s.raw('SELECT username, email, enabled FROM "user" WHERE id = ?', user.id);
    t.match(String(row!.username), UUID, 'username replaced by a uuid4');
    t.match(String(row!.email), UUID, 'e-mail replaced by a uuid4');
    t.notOk(row!.enabled === true || Number(row!.enabled) === 1, 'disabled');
    const [marker] = await s.raw('SELECT id, original_username, original_email, queue_id FROM deletednamespace WHERE namespace_id = ?', user.id);
    t.same([marker!.original_username, marker!.original_email, String(marker!.queue_id)], ['nmark', 'nmark@example.com', String(mark!.queueId)]);
    const all = await items('%');
    for (const id of purged)
      t.notOk(
        all.some((i) => i.id === id),
        `item ${id} of the namespace purged`,
      );
    for (const id of kept)
      t.ok(
        all.some((i) => i.id === id),
        `item ${id} kept (another namespace, or a queue Quay's all_queues leaves out: an export still runs)`,
      );
    t.same(
      all.find((i) => i.id === mark!.queueId),
      { id: mark!.queueId, queue_name: `namespacegc/${user.id}/`, body: `{"marker_id": ${mark!.markerId}, "original_username": "nmark"}`, retries_remaining: 5 },
    );
    t.equal(await markNamespaceForDeletion(s.dal, { userId: user.id, config, now }), null, 'a disabled namespace: nothing');
  });

  t.test(`${s.kind}: marking deletes the linked data at once, as Quay's mark does without a grace period`, async (t) => {
    const org = `lnk${s.kind}`;
    const f = await linkedNamespace(s, org, NOW);
    const mark = await markNamespaceForDeletion(s.dal, { userId: f.orgId, config, now });
    t.ok(mark, 'marked');
    const count = async (sql: string, ...p: unknown[]): Promise<number> => Number((await s.raw(sql, ...p))[0]!.n);
    t.equal(await count('SELECT COUNT(*) AS n FROM team WHERE organization_id = ?', f.orgId), 0, 'its teams are gone');
    t.equal(await count('SELECT COUNT(*) AS n FROM "user" WHERE id = ?', f.robotId), 0, 'its robot is gone');
    t.equal(await count('SELECT COUNT(*) AS n FROM userorganizationquota WHERE namespace_id = ?', f.orgId), 0, 'its quota is gone');
    t.equal(await count('SELECT COUNT(*) AS n FROM oauthapplication WHERE organization_id = ?', f.orgId), 0, 'its OAuth application is gone');
    t.equal(await count('SELECT COUNT(*) AS n FROM quotanamespacesize WHERE namespace_user_id = ?', f.orgId), 0, 'its size row is gone');
    t.equal(
      await count('SELECT COUNT(*) AS n FROM repositorybuildtrigger WHERE repository_id = ? AND pull_robot_id IS NULL', f.otherRepoId),
      1,
      "another namespace's trigger stays, without the robot",
    );
    t.equal(await count('SELECT COUNT(*) AS n FROM repository WHERE namespace_user_id = ?', f.orgId), 1, 'its repository waits for the worker');
    t.equal(await count('SELECT COUNT(*) AS n FROM namespaceautoprunepolicy WHERE namespace_id = ?', f.orgId), 1, 'its auto-prune policy too (delete_user removes it)');
  });

  t.test(`${s.kind}: with a grace period for the namespace the linked data stays and the item waits`, async (t) => {
    const org = `grc${s.kind}`;
    const f = await linkedNamespace(s, org, NOW);
    const grace = { NAMESPACE_GC_GRACE_PERIOD_SECONDS: 3600, NAMESPACE_GC_GRACE_PERIOD_ALLOWLIST: [org] };
    const mark = await markNamespaceForDeletion(s.dal, { userId: f.orgId, config: grace, now });
    t.ok(mark, 'marked');
    const count = async (sql: string, ...p: unknown[]): Promise<number> => Number((await s.raw(sql, ...p))[0]!.n);
    t.equal(await count('SELECT COUNT(*) AS n FROM team WHERE organization_id = ?', f.orgId), 1, 'its team stays');
    t.equal(await count('SELECT COUNT(*) AS n FROM "user" WHERE id = ?', f.robotId), 1, 'its robot stays');
    t.equal(await count('SELECT COUNT(*) AS n FROM userorganizationquota WHERE namespace_id = ?', f.orgId), 1, 'its quota stays');
    const [item] = await s.raw('SELECT available_after FROM queueitem WHERE id = ?', mark!.queueId);
    t.equal(parseSqlTime(item!.available_after as string | Date), NOW + 3_600_000, 'the namespacegc item is available after the grace period');
  });

  t.test(`${s.kind}: solely administered organisations`, async (t) => {
    const a = await s.auth.createUser({ username: 'soloadmin', email: 'solo@example.com', passwordHash: null }, NOW);
    const b = await s.auth.createUser({ username: 'coadmin', email: 'co@example.com', passwordHash: null }, NOW);
    await s.auth.createOrganization('soloorg', 'soloorg@example.com', a.id, NOW);
    await s.auth.createOrganization('sharedorg', 'sharedorg@example.com', a.id, NOW);
    await s.auth.addTeamMember((await s.auth.teamId('sharedorg', 'owners'))!, b.id);
    t.same(await solelyAdminedOrganizations(s.dal, a.id), ['soloorg'], 'only where no other non-robot admin is');
    t.same(await solelyAdminedOrganizations(s.dal, b.id), []);
  });

  t.test(`${s.kind}: a logs export is Quay's item, or nothing for a missing target`, async (t) => {
    const repo = await s.meta.createRepository('lexp', 'app', 'private', NOW);
    const ns = (await s.auth.userByName('lexp'))!;
    const base = { namespace: 'lexp', repository: 'app', startTime: '12/03/2026', endTime: '12/05/2026', callbackUrl: null, callbackEmail: 'a@b' };
    const id = await queueLogsExport(s.dal.sql, base, { queueName: 'exportactionlogs', now, exportId: '6f1c3c1e-7a5b-4c1d-9e1f-2a3b4c5d6e7f' });
    t.equal(id, '6f1c3c1e-7a5b-4c1d-9e1f-2a3b4c5d6e7f');
    t.same(
      (await items('exportactionlogs/lexp/%')).map(({ id: _, ...rest }) => rest),
      [
        {
          queue_name: 'exportactionlogs/lexp/',
          body: `{"export_id": "${id!}", "repository_id": ${repo.id}, "namespace_id": ${ns.id}, "namespace_name": "lexp", "repository_name": "app", "start_time": "12/03/2026", "end_time": "12/05/2026", "callback_url": null, "callback_email": "a@b"}`,
          retries_remaining: 3,
        },
      ],
    );
    t.equal(await queueLogsExport(s.dal.sql, { ...base, repository: 'nope' }, { queueName: 'exportactionlogs', now }), null, 'missing repository');
    t.equal(await queueLogsExport(s.dal.sql, { ...base, namespace: 'nope' }, { queueName: 'exportactionlogs', now }), null, 'missing namespace');
    t.match(await queueLogsExport(s.dal.sql, { ...base, repository: null, callbackUrl: '' }, { queueName: 'exportactionlogs', now }), UUID, 'a namespace export');
  });
}

t.test('the grace period applies as Quay reads it', async (t) => {
  t.equal(namespaceGracePeriod({}, 'a'), 0, 'none by default');
  t.equal(namespaceGracePeriod({ NAMESPACE_GC_GRACE_PERIOD_SECONDS: 60 }, 'a'), 0, 'an empty allowlist: none');
  t.equal(namespaceGracePeriod({ NAMESPACE_GC_GRACE_PERIOD_SECONDS: 60, NAMESPACE_GC_GRACE_PERIOD_ALLOWLIST: ['b'] }, 'a'), 0, 'a namespace not on it: none');
  t.equal(namespaceGracePeriod({ NAMESPACE_GC_GRACE_PERIOD_SECONDS: 0, NAMESPACE_GC_GRACE_PERIOD_ALLOWLIST: ['a'] }, 'a'), 0, '0 seconds: none');
  t.equal(namespaceGracePeriod({ NAMESPACE_GC_GRACE_PERIOD_SECONDS: 60, NAMESPACE_GC_GRACE_PERIOD_ALLOWLIST: ['a'] }, 'a'), 60);
});
