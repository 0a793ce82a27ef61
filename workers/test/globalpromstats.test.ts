/**
 * globalpromstats (dal/portable/global-stats.ts + programs/globalpromstats.ts)
 * on SQLite and a fresh PostgreSQL: Quay's counts (repositories, enabled
 * users and organizations, robots, organization mirrors) under Quay's
 * metric names in the process's registry; idle as Quay's when
 * PROMETHEUS_PUSHGATEWAY_URL is emptied. Needs the local PostgreSQL; fails,
 * never skips.
 */
import t from 'tap';
import { Registry } from 'prom-client';
import { openStoreSides } from '../../dal/test/lib/store-sides.js';
import { globalCounts } from '../../dal/portable/global-stats.js';
import { WorkerMetrics } from '../metrics.js';
import { GLOBAL_GAUGES, globalPromStats } from '../programs/globalpromstats.js';
import { idleReason } from '../features.js';

const { sides } = await openStoreSides(t);
const NOW = Date.UTC(2026, 11, 4, 12);

/** A gauge's value as the registry exposes it. */
async function gauge(registry: Registry, name: string): Promise<number | undefined> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values[0]?.value;
}

for (const s of sides) {
  t.test(`${s.kind}: Quay's counts under Quay's metric names`, async (t) => {
    const yes = s.kind === 'pg' ? true : 1;
    const no = s.kind === 'pg' ? false : 0;
    const before = await globalCounts(s.dal.sql);
    await s.meta.createRepository(`gps${s.kind}a`, 'one', 'private', NOW);
    await s.meta.createRepository(`gps${s.kind}a`, 'two', 'private', NOW);
    await s.meta.createRepository(`gps${s.kind}b`, 'three', 'private', NOW);
    const users = ['alice', 'bob', 'carol', 'robotowner+bot'];
    for (const u of users) {
      await s.raw(
        `INSERT INTO "user" (uuid, username, email, verified, organization, robot, invoice_email, invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, enabled, creation_date)
         VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, 1209600, ?, ?)`,
        `uuid-${s.kind}-${u}`,
        `${s.kind}${u}`,
        `${s.kind}${u}@example.com`,
        yes,
        no,
        u.includes('+') ? yes : no,
        no,
        '2026-12-04 12:00:00',
        u === 'bob' ? no : yes,
        '2026-12-04 12:00:00',
      );
    }
    const robot = Number((await s.raw('SELECT id FROM "user" WHERE username = ?', `${s.kind}robotowner+bot`))[0]!.id);
    await s.raw('INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) VALUES (?, ?, ?)', robot, 'encrypted', yes);
    await s.raw('UPDATE "user" SET enabled = ? WHERE username = ?', no, `gps${s.kind}b`);
    const carol = Number((await s.raw('SELECT id FROM "user" WHERE username = ?', `${s.kind}carol`))[0]!.id);
    await s.raw('UPDATE "user" SET enabled = ? WHERE id = ?', no, carol);
    await s.raw(
      'INSERT INTO deletednamespace (namespace_id, marked, original_username, original_email) VALUES (?, ?, ?, ?)',
      carol,
      '2026-12-04 12:00:00',
      'carol',
      'carol@example.com',
    );

    const registry = new Registry();
    const program = globalPromStats({ sql: s.dal.sql, quayConfig: {}, metrics: new WorkerMetrics(registry) });
    t.equal(program.everyMs, 3_600_000, "hourly, as Quay's default");
    const did = await program.run(() => true);
    const expected = {
      quay_repository_rows: before.repositories + 3,
      quay_user_rows: before.users + 2, // alice and bob (disabled users count, as in Quay), less carol (being deleted); the robot is a robot
      quay_org_rows: before.orgs + 1, // gps…a; gps…b is disabled
      quay_robot_rows: before.robots + 1,
      quay_org_mirrors_total: before.orgMirrors,
      quay_org_mirrors_enabled: before.orgMirrorsEnabled,
    };
    t.same(did, expected, 'the pass logs the counts');
    for (const [name] of GLOBAL_GAUGES) t.equal(await gauge(registry, name), expected[name as keyof typeof expected], `${name} is exposed`);
    // A second program list in the same process (the same registry) reuses the gauges.
    t.doesNotThrow(() => globalPromStats({ sql: s.dal.sql, quayConfig: {}, metrics: { registry } as WorkerMetrics }), 'registering twice in one registry is allowed');
  });
}

t.test("idle as Quay's: only a config that empties PROMETHEUS_PUSHGATEWAY_URL stops it", async (t) => {
  t.equal(idleReason('globalpromstats', {}), null, "Quay's default names a local pushgateway");
  t.equal(idleReason('globalpromstats', { PROMETHEUS_PUSHGATEWAY_URL: 'http://pg:9091' }), null);
  t.equal(idleReason('globalpromstats', { PROMETHEUS_PUSHGATEWAY_URL: null }), 'PROMETHEUS_PUSHGATEWAY_URL is not set');
  t.equal(idleReason('globalpromstats', { PROMETHEUS_PUSHGATEWAY_URL: '' }), 'PROMETHEUS_PUSHGATEWAY_URL is not set');
  t.equal(idleReason('repositoryactioncounter', { FEATURE_REPOSITORY_ACTION_COUNTER: false }), 'FEATURE_REPOSITORY_ACTION_COUNTER is off');
  t.equal(idleReason('manifestsubjectbackfillworker', { FEATURE_MANIFEST_SUBJECT_BACKFILL: false }), 'FEATURE_MANIFEST_SUBJECT_BACKFILL is off');
  t.equal(idleReason('repositoryactioncounter', {}), null);
  t.equal(idleReason('manifestsubjectbackfillworker', {}), null);
});
