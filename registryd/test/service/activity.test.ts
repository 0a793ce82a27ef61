/**
 * ActivityLog on a SQLite store: the exact `logentry3` rows and queue items
 * Quay writes for each call (metadata text as Python's json.dumps writes it,
 * key order included), the caller each kind of token names, the namespaces
 * exempt from logging, and what a failed write does under strict and lenient
 * logging. (The same rows against real Quay: test/e2e/quay-side-effects.test.ts.)
 */
import t from 'tap';
import { SqliteMetadataStore } from '../../../dal/sqlite/store.js';
import { SqliteAuthStore } from '../../../dal/sqlite/auth-store.js';
import type { ActionLogEntry, MetadataStore, RepositoryRef } from '../../../dal/model/store.js';
import { ActivityLog, DEFAULT_ACTIVITY, type ActivitySettings, type Requester } from '../../service/activity.js';
import { IpResolver } from '../../service/ip-resolver.js';
import { silentLogger } from '../../../lib/log.js';
import type { TokenClaims } from '../../auth/tokens.js';
import { sqlLocalTime, sqlTime } from '../../../dal/model/time.js';

const NOW = Date.UTC(2026, 4, 2, 8, 0, 0, 0);
/** logentry3.datetime is local time, as Quay writes it. */
const LOCAL = sqlLocalTime(NOW);
const store = new SqliteMetadataStore(':memory:');
const users = new SqliteAuthStore(store.db);
t.teardown(() => store.close());

const alice = await users.createUser({ username: 'alice', email: 'alice@example.com', passwordHash: null }, NOW);
const org = await users.createOrganization('org', 'org@example.com', alice.id, NOW);
const robot = await users.createRobot('org+ci', 'v0$$x', '', NOW);
await users.createAppToken(alice.id, { uuid: '00000000-0000-4000-8000-000000000001', title: 'laptop', prefix: 'P'.repeat(60), encryptedSecret: 'v0$$s', expirationMs: null }, NOW);
const repo = await store.createRepository('org', 'app', 'private', NOW);

function activity(settings: Partial<ActivitySettings> = {}, s: MetadataStore = store): ActivityLog {
  return new ActivityLog({
    store: s,
    users,
    ips: new IpResolver(null),
    log: silentLogger,
    now: () => NOW,
    settings: { ...DEFAULT_ACTIVITY, serverHostname: 'quay.example', urlScheme: 'https', ...settings },
  });
}
const claims = (context: Record<string, unknown>, sub = 'x'): TokenClaims => ({ sub, context });
const who = (c: TokenClaims | null, ip: string | null = '192.0.2.7', userAgent = 'skopeo/1.9.3'): Requester => ({ ip, userAgent, claims: c });
const asAlice = () => who(claims({ version: 2, entity_kind: 'user', entity_reference: alice.uuid, kind: 'user', user: 'alice' }, 'alice'));
const INTERNET = '"resolved_ip": {"provider": "internet", "service": null, "sync_token": null, "country_iso_code": null, "aws_region": null, "continent": null}';

let seen = 0;
/** The rows written since the last call. */
function rows(): Record<string, unknown>[] {
  const r = store.db
    .prepare(
      `SELECT k.name AS kind, u.username AS account, p.username AS performer, l.repository_id AS repo, l.datetime, l.ip, l.metadata_json AS metadata
    FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id JOIN "user" u ON u.id = l.account_id LEFT JOIN "user" p ON p.id = l.performer_id
    WHERE l.id > ? ORDER BY l.id`,
    )
    .all(seen) as Record<string, unknown>[];
  seen = (store.db.prepare('SELECT coalesce(max(id), 0) AS n FROM logentry3').get() as { n: number }).n;
  return r;
}

t.test('pull_repo, push_repo and delete_tag rows', async (t) => {
  const a = activity();
  await a.pulled(repo, asAlice(), { tag: 'v1' }, 'application/vnd.oci.image.manifest.v1+json');
  await a.pulled(repo, who(null, '198.51.100.1', ''), { digest: 'sha256:abc' }, 'application/vnd.oci.image.index.v1+json');
  await a.pushed(repo, asAlice(), 'v2', 'application/vnd.docker.distribution.manifest.v2+json');
  await a.tagsDeleted(repo, asAlice(), ['x', 'y'], 'sha256:def');
  t.same(rows(), [
    {
      kind: 'pull_repo',
      account: 'org',
      performer: 'alice',
      repo: repo.id,
      datetime: LOCAL,
      ip: '192.0.2.7',
      metadata: `{"repo": "app", "namespace": "org", "user-agent": "skopeo/1.9.3", "tag": "v1", "mediaType": "application/vnd.oci.image.manifest.v1+json", "username": "alice", ${INTERNET}}`,
    },
    {
      kind: 'pull_repo',
      account: 'org',
      performer: null,
      repo: repo.id,
      datetime: LOCAL,
      ip: '198.51.100.1',
      metadata: `{"repo": "app", "namespace": "org", "user-agent": "", "manifest_digest": "sha256:abc", "mediaType": "application/vnd.oci.image.index.v1+json", ${INTERNET}}`,
    },
    {
      kind: 'push_repo',
      account: 'org',
      performer: 'alice',
      repo: repo.id,
      datetime: LOCAL,
      ip: '192.0.2.7',
      metadata: `{"repo": "app", "namespace": "org", "user-agent": "skopeo/1.9.3", "tag": "v2", "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "username": "alice", ${INTERNET}}`,
    },
    ...['x', 'y'].map((tag) => ({
      kind: 'delete_tag',
      account: 'org',
      performer: 'alice',
      repo: repo.id,
      datetime: LOCAL,
      ip: '192.0.2.7',
      metadata: `{"repo": "app", "namespace": "org", "user-agent": "skopeo/1.9.3", "tag": "${tag}", "digest": "sha256:def", "username": "alice", ${INTERNET}}`,
    })),
  ]);
  await a.pulled(repo, who(null, null), { tag: 'v1' }, 'x');
  t.notMatch(String(rows()[0]!.metadata), /resolved_ip/, 'no address, no resolved_ip');
});

t.test('the caller each token names', async (t) => {
  const a = activity();
  const meta = async (c: TokenClaims | null): Promise<[unknown, unknown]> => {
    await a.pulled(repo, who(c), { tag: 't' }, 'm');
    const r = rows()[0]!;
    const m = JSON.parse(String(r.metadata)) as Record<string, unknown>;
    delete m.resolved_ip;
    for (const k of ['repo', 'namespace', 'user-agent', 'tag', 'mediaType']) delete m[k];
    return [r.performer, m];
  };
  t.same(await meta(claims({ version: 2, entity_kind: 'robot', entity_reference: 'org+ci' })), ['org+ci', { username: 'org+ci', is_robot: true }]);
  t.same(await meta(claims({ version: 2, entity_kind: 'appspecifictoken', entity_reference: '00000000-0000-4000-8000-000000000001' })), [
    'alice',
    { app_specific_token: '00000000-0000-4000-8000-000000000001', app_specific_token_title: 'laptop', username: 'alice' },
  ]);
  t.same(await meta(claims({ 'com.apostille.roots': {} }, '(anonymous)')), [null, {}], 'an anonymous token');
  t.same(await meta(claims({ version: 2, entity_kind: 'user', entity_reference: 'no-such-uuid' })), [null, {}], 'a user that is gone: anonymous, as in Quay');
  t.same(await meta(claims({ version: 2, entity_kind: 'robot', entity_reference: 'alice' })), [null, {}], 'a robot reference naming a user');
  store.db.prepare('UPDATE "user" SET enabled = 0 WHERE id = ?').run(robot.id);
  const disabled = claims({ version: 2, entity_kind: 'robot', entity_reference: 'org+ci' });
  t.same(await meta(disabled), [null, { username: 'org+ci', is_robot: true }], 'a disabled caller is named but performs nothing (authed_user is None)');
  store.db.prepare('UPDATE "user" SET enabled = 1 WHERE id = ?').run(robot.id);
});

t.test('repo_push notifications', async (t) => {
  for (const uuid of ['n1', 'n2']) {
    store.db
      .prepare(
        `INSERT INTO repositorynotification (uuid, repository_id, event_id, method_id, title, config_json, event_config_json, number_of_failures, last_ran_ms)
      VALUES (?, ?, (SELECT id FROM externalnotificationevent WHERE name = 'repo_push'), (SELECT id FROM externalnotificationmethod WHERE name = 'webhook'), NULL, '{}', '{}', 0, NULL)`,
      )
      .run(uuid, repo.id);
  }
  await activity().pushed(repo, asAlice(), 'v3', 'm');
  await activity().pushed(repo, who(null), 'v4', 'm');
  const items = store.db.prepare('SELECT queue_name, body, available_after, available, retries_remaining FROM queueitem ORDER BY id').all();
  const body = (uuid: string, tag: string, performer: string) =>
    `{"notification_uuid": "${uuid}", "event_data": {"repository": "org/app", "namespace": "org", "name": "app", ` +
    `"docker_url": "quay.example/org/app", "homepage": "https://quay.example/repository/org/app", "updated_tags": ["${tag}"]}, "performer_data": ${performer}}`;
  const item = (uuid: string, tag: string, performer: string) => ({
    queue_name: 'notification/org/app/repo_push/',
    body: body(uuid, tag, performer),
    available_after: sqlTime(NOW),
    available: 1,
    retries_remaining: 5,
  });
  t.same(items, [
    item('n1', 'v3', `{"entity_id": ${alice.id}, "entity_name": "alice"}`),
    item('n2', 'v3', `{"entity_id": ${alice.id}, "entity_name": "alice"}`),
    item('n1', 'v4', '{}'),
    item('n2', 'v4', '{}'),
  ]);
  rows();
});

t.test('refusals, when audited', async (t) => {
  await activity().refused('pull', 'org', 'app', 'v1', who(null));
  t.same(rows(), [], 'not audited by default');
  const a = activity({ auditFailures: { pull: true, push: true, delete: true } });
  t.ok(a.audits('push'));
  await a.refused('pull', 'org', 'app', 'v1', who(null));
  await a.refused('push', 'org', 'nothere', null, asAlice());
  await a.refused('delete', 'nobody', 'app', 'sha256:0f', asAlice());
  t.same(
    rows().map((r) => [r.kind, r.account, r.performer, r.repo, r.ip, r.metadata]),
    [
      ['pull_repo_failed', 'org', null, repo.id, '192.0.2.7', '{"namespace": "org", "repo": "app", "tag": "v1", "message": "access to the requested resource is not authorized"}'],
      ['push_repo_failed', 'org', 'alice', null, '192.0.2.7', '{"namespace": "org", "repo": "nothere", "message": "Repository does not exist"}'],
      ['delete_tag_failed', 'alice', 'alice', null, '192.0.2.7', '{"namespace": "nobody", "repo": "app", "manifest_digest": "sha256:0f", "message": "Namespace does not exist"}'],
    ],
    'no namespace: the lowest user id (alice here) is the account',
  );
  await activity({ auditFailures: { pull: false, push: false, delete: true }, serviceLogAccountId: org.id }).refused('delete', 'nobody', 'app', 'x', who(null));
  t.equal(rows()[0]!.account, 'org', 'SERVICE_LOG_ACCOUNT_ID');
});

t.test('login_success', async (t) => {
  const a = activity();
  await a.loggedIn({ kind: 'user', user: alice }, '192.0.2.9', 'docker/25');
  await a.loggedIn({ kind: 'robot', user: robot }, '192.0.2.9', 'docker/25');
  await a.loggedIn({ kind: 'appspecifictoken', user: alice, title: 'laptop' }, null, '');
  t.same(
    rows().map((r) => [r.kind, r.account, r.performer, r.repo, r.ip, r.metadata]),
    [
      ['login_success', 'alice', 'alice', null, '192.0.2.9', '{"kind": "user", "type": "v2auth", "useragent": "docker/25"}'],
      ['login_success', 'org', 'org+ci', null, '192.0.2.9', '{"kind": "robot", "robot": "org+ci", "type": "v2auth", "useragent": "docker/25"}'],
      ['login_success', 'alice', 'alice', null, null, '{"kind": "app_specific_token", "app_specific_token_title": "laptop", "type": "v2auth", "useragent": ""}'],
    ],
  );
  await activity({ auditLogins: false }).loggedIn({ kind: 'user', user: alice }, null, '');
  t.same(rows(), [], 'ACTION_LOG_AUDIT_LOGINS off');
});

t.test('exempt namespaces', async (t) => {
  await activity({ disabledPullNamespaces: ['org'] }).pulled(repo, asAlice(), { tag: 'v1' }, 'm');
  await activity({ disabledPullNamespaces: ['org'] }).pushed(repo, asAlice(), 'v1', 'm');
  await activity({ disabledNamespaces: ['org'] }).tagsDeleted(repo, asAlice(), ['v1'], 'v1');
  t.same(
    rows().map((r) => r.kind),
    ['push_repo'],
    'DISABLED_FOR_PULL_LOGS skips pulls only, DISABLED_FOR_AUDIT_LOGS everything',
  );
  store.db.exec('DELETE FROM queueitem');
});

t.test('a failed write fails the request unless logging is lenient', async (t) => {
  const failing = new Proxy(store, {
    get: (target, p) =>
      p === 'logAction'
        ? async (_e: ActionLogEntry) => {
            throw new Error('disk full');
          }
        : Reflect.get(target, p, target),
  }) as MetadataStore;
  const pull = (s: Partial<ActivitySettings>) => activity(s, failing).pulled(repo, asAlice(), { tag: 'v1' }, 'm');
  const push = (s: Partial<ActivitySettings>) => activity(s, failing).pushed(repo as RepositoryRef, asAlice(), 'v1', 'm');
  await t.rejects(pull({}), /disk full/, 'strict by default');
  await t.resolves(pull({ lenient: { all: false, pulls: true } }), 'ALLOW_PULLS_WITHOUT_STRICT_LOGGING: pulls go on');
  await t.rejects(push({ lenient: { all: false, pulls: true } }), /disk full/, 'but not pushes');
  await t.resolves(push({ lenient: { all: true, pulls: false } }), 'ALLOW_WITHOUT_STRICT_LOGGING: everything goes on');
});
