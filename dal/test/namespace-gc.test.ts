/**
 * The SQL of a namespace's deletion (dal/portable/namespace-gc.ts) on SQLite
 * and a fresh PostgreSQL: the marker, the robots by prefix, the linked data
 * (teams, OAuth applications, triggers connected through the user, quotas,
 * robots with what Quay lets them hold, size and notification rows), the
 * user's own recursive delete, which refuses while a repository still points
 * at it; and the queues a deletion purges.
 * Needs the local PostgreSQL; fails, never skips.
 */
import t from 'tap';
import { openStoreSides } from './lib/store-sides.js';
import { buildNamespace } from './lib/namespace-fixture.js';
import { NamespaceGcData, USER_DEPENDENTS } from '../portable/namespace-gc.js';
import { namespacePurgeQueues, quayQueueName } from '../portable/quay-queues.js';
import { WorkQueue } from '../portable/queue.js';

const { sides } = await openStoreSides(t);
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

for (const s of sides) {
  const count = async (sql: string, ...p: unknown[]): Promise<number> => Number((await s.raw(sql, ...p))[0]!.n);

  t.test(`${s.kind}: marker, robots by exact prefix, linked data, then the user row once nothing points at it`, async (t) => {
    const org = `nsgc_${s.kind}`;
    const f = await buildNamespace(s, org, NOW);
    const data = new NamespaceGcData(s.dal);
    t.same(await data.marker(f.markerId), { id: f.markerId, namespaceId: f.orgId, originalUsername: org }, 'the marker names the namespace and its original name');
    t.equal(await data.marker(999_999), null, 'no such marker');
    const ns = (await data.namespace(f.orgId))!;
    t.match(ns, { id: f.orgId, organization: true, robot: false, enabled: false }, 'the namespace, disabled and renamed');
    t.equal(await data.namespaceName(ns), org, 'its name is the one the marker kept');

    // A robot of a look-alike namespace (`_` is not a wildcard here) and one without a token row (Quay's query joins the token).
    const lookalike = `nsgcx${s.kind}`;
    await s.meta.createRepository(lookalike, 'r', 'private', NOW);
    const b = (v: boolean): unknown => (s.kind === 'pg' ? v : v ? 1 : 0);
    for (const name of [`${lookalike}+bot`, `${org}+tokenless`])
      await s.raw(
        'INSERT INTO "user" (uuid, username, email, verified, organization, robot, invoice_email, last_invalid_login) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        name,
        name,
        name,
        b(true),
        b(false),
        b(true),
        b(false),
        '2026-06-01 12:00:00',
      );
    const other = Number((await s.raw('SELECT id FROM "user" WHERE username = ?', `${lookalike}+bot`))[0]!.id);
    await s.raw('INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) VALUES (?, ?, ?)', other, 't', b(true));
    t.same(await data.robots(org), [f.robotId], "the namespace's robots with a token row, and no other namespace's");

    t.notOk(await data.deleteUserRow(f.orgId), 'the user row cannot go while rows point at it (its team has members, its repository is there)');
    t.equal(await count('SELECT COUNT(*) AS n FROM "user" WHERE id = ?', f.orgId), 1, 'it is still there');
    t.equal(
      await count('SELECT COUNT(*) AS n FROM permissionprototype WHERE org_id = ?', f.orgId),
      0,
      "rows deleted before the refusal stay deleted (Quay's delete is not one transaction)",
    );

    await data.deleteAutoPrune(f.orgId);
    await data.deleteLinkedData(ns, org);
    for (const [table, column, id] of [
      ['team', 'organization_id', f.orgId],
      ['teammember', 'user_id', f.robotId],
      ['oauthapplication', 'organization_id', f.orgId],
      ['userorganizationquota', 'namespace_id', f.orgId],
      ['quotanamespacesize', 'namespace_user_id', f.orgId],
      ['namespaceautoprunepolicy', 'namespace_id', f.orgId],
      ['autoprunetaskstatus', 'namespace_id', f.orgId],
      ['robotaccounttoken', 'robot_account_id', f.robotId],
      ['robotaccountmetadata', 'robot_account_id', f.robotId],
      ['notification', 'target_id', f.robotId],
      ['repositorypermission', 'user_id', f.robotId],
      ['"user"', 'id', f.robotId],
    ] as const)
      t.equal(await count(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`, id), 0, `no ${table} rows left (${column})`);
    t.equal(await count('SELECT COUNT(*) AS n FROM quotalimits'), 0, "the quota's limits went with it");
    t.equal(await count('SELECT COUNT(*) AS n FROM oauthaccesstoken'), 0, "the application's tokens went with it");
    t.equal(
      await count('SELECT COUNT(*) AS n FROM repositorybuildtrigger WHERE pull_robot_id IS NULL AND repository_id = ?', f.otherRepoId),
      1,
      "another namespace's trigger keeps its row, its pull robot cleared",
    );
    t.equal(await count('SELECT COUNT(*) AS n FROM "user" WHERE id IN (?, ?)', f.memberId, other), 2, "the team's member and the look-alike's robot stay");
    t.equal(await count('SELECT COUNT(*) AS n FROM "user" WHERE username = ?', `${org}+tokenless`), 1, 'a robot without a token row is not listed (as in Quay)');

    await s.raw('DELETE FROM repositorypermission WHERE repository_id = ?', f.repoId);
    await s.raw('DELETE FROM quotarepositorysize WHERE repository_id = ?', f.repoId);
    await s.raw('DELETE FROM repository WHERE id = ?', f.repoId);
    t.ok(await data.deleteUserRow(f.orgId), 'with its repository gone, the user row goes');
    t.equal(await count('SELECT COUNT(*) AS n FROM "user" WHERE id = ?', f.orgId), 0, 'the namespace is gone');
    t.equal(await count('SELECT COUNT(*) AS n FROM deletednamespace WHERE id = ?', f.markerId), 0, 'with its marker');
  });

  t.test(`${s.kind}: a user's linked data: team memberships and triggers connected through it`, async (t) => {
    const f = await buildNamespace(s, `nsgcu_${s.kind}`, NOW);
    const data = new NamespaceGcData(s.dal);
    const member = (await data.namespace(f.memberId))!;
    t.match(member, { organization: false, enabled: true });
    await data.deleteLinkedData(member, await data.namespaceName(member));
    t.equal(await count('SELECT COUNT(*) AS n FROM teammember WHERE user_id = ?', f.memberId), 0, 'its team memberships are gone');
    t.equal(await count('SELECT COUNT(*) AS n FROM repositorybuildtrigger WHERE connected_user_id = ?', f.memberId), 0, 'the trigger connected through it is gone');
    t.equal(await count('SELECT COUNT(*) AS n FROM team WHERE id = ?', f.teamId), 1, 'the team stays');
  });

  t.test(`${s.kind}: the user's delete covers every foreign key to "user" in the schema`, async (t) => {
    const refs =
      s.kind === 'sqlite'
        ? await s.raw('SELECT m.name AS tbl, f."from" AS col FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = \'table\' AND f."table" = \'user\'')
        : await s.raw(
            `SELECT c.conrelid::regclass::text AS tbl, a.attname AS col FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
              WHERE c.contype = 'f' AND c.confrelid = '"user"'::regclass`,
          );
    const inSchema = refs.map((r) => `${String(r.tbl).replace(/"/g, '')}.${String(r.col)}`).sort();
    t.ok(inSchema.length > 30, `${inSchema.length} foreign keys to "user"`);
    const listed = new Set(USER_DEPENDENTS.map(([table, column]) => `${table}.${column}`));
    t.same(
      inSchema.filter((r) => !listed.has(r)),
      [],
      'none is left out',
    );
  });

  t.test(`${s.kind}: the queues a namespace's deletion purges: Quay's all_queues`, async (t) => {
    const names = namespacePurgeQueues(s.dal.sql, {}).map((q) => q.name);
    t.same(names, ['imagestoragereplication', 'dockerfilebuild', 'notification', 'chunk_cleanup', 'repositorygc', 'namespacegc'], "app.py's all_queues, in its order");
    t.equal(quayQueueName({ NOTIFICATION_QUEUE_NAME: 'notes' }, 'notification'), 'notes', 'names come from the config keys');
    const ns = `purge_${s.kind}`;
    for (const q of ['notification', 'proxycacheblob', 'exportactionlogs', 'repositorygc', 'dockerfilebuild', 'secscanv4'])
      await new WorkQueue(s.dal.sql, q, { hasNamespace: true }).put([ns, 'x'], '{}');
    await new WorkQueue(s.dal.sql, 'namespacegc', { hasNamespace: false }).put([ns], '{}');
    let purged = 0;
    for (const q of namespacePurgeQueues(s.dal.sql, {})) purged += (await q.deleteNamespaced(ns)) ?? 0;
    t.equal(purged, 3, "Quay's three namespaced queues in all_queues");
    t.same(
      (await s.raw('SELECT queue_name FROM queueitem WHERE queue_name LIKE ? ORDER BY queue_name', `%${ns}%`)).map((r) => r.queue_name),
      [`exportactionlogs/${ns}/x/`, `namespacegc/${ns}/`, `proxycacheblob/${ns}/x/`, `secscanv4/${ns}/x/`],
      'the queues all_queues leaves out keep theirs (an export still runs), and so does the namespace-deletion queue (never namespaced)',
    );
  });
}
