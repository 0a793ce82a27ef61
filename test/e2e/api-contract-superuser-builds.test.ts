/**
 * Contract of the superuser, service-key and build rows of /api/v1
 * (api/resources/superuser.ts, api/resources/builds.ts) against a live real
 * Quay on the same database, storage and Redis: every request is asked of
 * both sides as every identity, and the status, Content-Type and normalized
 * JSON must be equal.
 *
 * Beyond initdb's data the test puts build status and log entries into the
 * fixture's own Redis (BUILDLOGS_REDIS), then shuts that Redis down to see
 * the `cannot_load` answers. API_CONTRACT_DB=postgres runs it on PostgreSQL.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import pg from 'pg';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { parse as parseYaml } from 'yaml';
import { diffJson, normalize, startApiPair, type Answer, type IdentityName, EVERYONE } from '../lib/api-contract.js';
import { QUAY_PYTHON } from '../lib/quay-python.js';

t.setTimeout(900_000);

const pair = await startApiPair(t, { database: process.env.API_CONTRACT_DB === 'postgres' ? 'postgres' : 'sqlite' });

const ALL = EVERYONE;

// initdb's ids: builds have fixed uuids, the trigger's is random per initdb.
const triggers = (await pair.call('python', '/api/v1/repository/devtable/building/trigger/', 'devtable')).body as { triggers: { id: string }[] };
const TRIGGER = triggers.triggers[0]!.id;
const BUILD = 'deadbeef-dead-beef-dead-beefdeadbeef';
const DUCK = 'deadduck-dead-duck-dead-duckdeadduck';
const REPO = '/api/v1/repository/devtable/building';

const config = parseYaml(readFileSync(pair.quay.configFile, 'utf8')) as { BUILDLOGS_REDIS: { host: string; port: number } };
const redisPort = config.BUILDLOGS_REDIS.port;

/** One statement on the fixture's database (SQLite file or PostgreSQL URL). */
async function exec(sql: string): Promise<void> {
  const db = pair.quay.database;
  if (/^postgres(ql)?:/.test(db)) {
    const c = new pg.Client({ connectionString: db });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  } else {
    const d = new Database(db);
    try {
      d.pragma('busy_timeout = 10000');
      d.exec(sql);
    } finally {
      d.close();
    }
  }
}

interface Outcome {
  readonly status: number | string;
  readonly contentType: string;
  readonly body: unknown;
}

async function ask(side: 'python' | 'go', path: string, who: IdentityName): Promise<Outcome> {
  try {
    const a: Answer = await pair.call(side, path, who);
    return { status: a.status, contentType: a.contentType, body: normalize(a.body) };
  } catch (e) {
    // Quay drops the connection when an outside service cannot be reached (api/notes/probes.md, 0246).
    return { status: `no answer (${(e as Error).message})`, contentType: '', body: null };
  }
}

/** Every path × identity: equal status, Content-Type and normalized body. */
async function same(tt: Test, paths: readonly string[], who: readonly IdentityName[] = ALL): Promise<void> {
  for (const path of paths) {
    for (const id of who) {
      const py = await ask('python', path, id);
      const go = await ask('go', path, id);
      const d = py.status === go.status ? diffJson(py.body, go.body) : [`status: python ${py.status} ≠ go ${go.status}`];
      if (py.contentType !== go.contentType) d.push(`content-type: python ${py.contentType} ≠ go ${go.contentType}`);
      tt.same(d, [], `${id} GET ${path} (${py.status})`);
    }
  }
}

t.test('superuser lists, users, organisations, quotas, registry size', async (tt) => {
  await same(tt, [
    '/api/v1/superuser/users/',
    '/api/v1/superuser/users/?disabled=false',
    '/api/v1/superuser/users/?limit=3',
    '/api/v1/superuser/users/?limit=0',
    '/api/v1/superuser/users/?limit=-1',
    '/api/v1/superuser/users/?limit=-3',
    '/api/v1/superuser/users/?limit=101',
    '/api/v1/superuser/users/?limit=abc',
    '/api/v1/superuser/users/?limit=2&next_page=garbage',
    '/api/v1/superuser/organizations/',
    '/api/v1/superuser/organizations/?limit=2',
    '/api/v1/superuser/organizations/?limit=101',
    '/api/v1/superuser/users/freshuser',
    '/api/v1/superuser/users/devtable',
    '/api/v1/superuser/users/buynlarge',
    '/api/v1/superuser/users/devtable+dtrobot',
    '/api/v1/superuser/users/nosuchuser',
    '/api/v1/superuser/organization/buynlarge/quota',
    '/api/v1/superuser/users/randomuser/quota',
    '/api/v1/superuser/users/devtable/quota',
    '/api/v1/superuser/organization/nosuchorg/quota',
    '/api/v1/superuser/registrysize/',
    '/api/v1/superuser/apptokens',
    '/api/v1/superuser/apptokens?expiring=true',
    '/api/v1/superuser/config',
  ]);
});

t.test('superuser pages: following Python next_page tokens gives the same pages', async (tt) => {
  for (const start of ['/api/v1/superuser/users/?limit=3', '/api/v1/superuser/organizations/?limit=2', '/api/v1/superuser/logs']) {
    let path = start;
    for (let page = 0; page < 8; page++) {
      await same(tt, [path], ['devtable', 'devtable-super']);
      const next = ((await pair.call('python', path, 'devtable')).body as { next_page?: string }).next_page;
      if (!next) break;
      path = `${start}${start.includes('?') ? '&' : '?'}next_page=${encodeURIComponent(next)}`;
    }
  }
});

t.test('superuser logs and aggregated logs', async (tt) => {
  const queries = ['', '?starttime=12/01/2026', '?starttime=1/2/2026&endtime=12/31/2026', '?starttime=13/01/2026', '?starttime=garbage&endtime=x', '?page=abc', '?page=2'];
  const today = new Date();
  const mdY = (d: Date): string => `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`;
  queries.push(`?starttime=${mdY(new Date(today.getTime() - 3 * 86_400_000))}&endtime=${mdY(today)}`);
  await same(
    tt,
    queries.flatMap((q) => [`/api/v1/superuser/logs${q}`, `/api/v1/superuser/aggregatelogs${q}`]),
    ['anonymous', 'devtable', 'reader', 'devtable-token', 'devtable-super', 'devtable-user-read'],
  );
});

t.test('service keys (jsonify: sorted keys, compact, HTTP dates)', async (tt) => {
  await same(tt, ['/api/v1/superuser/keys', '/api/v1/superuser/keys/kid1', '/api/v1/superuser/keys/kid3', '/api/v1/superuser/keys/kid7', '/api/v1/superuser/keys/nosuchkid']);
  // Byte for byte, not only as JSON.
  for (const path of ['/api/v1/superuser/keys', '/api/v1/superuser/keys/kid1']) {
    const both = await pair.callBoth(path, 'devtable');
    tt.equal(both.go.text, both.python.text, `${path}: the same bytes`);
  }
});

t.test('the change log: Quay reads CHANGELOG.md from its code directory', async (tt) => {
  // Known difference while the file is not next to the config as in Quay's default layout
  // (ROOT_DIR/conf/stack/config.yaml): the go side answers as Quay does without the file.
  const before = await pair.callBoth('/api/v1/superuser/changelog/', 'devtable');
  tt.equal(before.python.status, 200, 'python reads its own CHANGELOG.md');
  tt.equal(before.go.status, 500, 'go: no CHANGELOG.md at <config>/../../ → the unhandled-exception 500');
  tt.match(before.go.contentType, /^text\/html/);
  copyFileSync(join(QUAY_PYTHON, 'src', 'CHANGELOG.md'), join(pair.quay.run, 'CHANGELOG.md'));
  await same(tt, ['/api/v1/superuser/changelog/']);
});

t.test('builds and triggers (no live status in Redis)', async (tt) => {
  await same(tt, [
    `${REPO}/build/`,
    `${REPO}/build/?limit=1`,
    `${REPO}/build/?limit=0`,
    `${REPO}/build/?limit=abc`,
    `${REPO}/build/?since=0`,
    `${REPO}/build/?since=4102444800`,
    `${REPO}/build/?since=x&limit=y`,
    `${REPO}/build/${BUILD}`,
    `${REPO}/build/nosuchbuild`,
    `${REPO}/build/${BUILD}/status`,
    `${REPO}/build/nosuchbuild/status`,
    `${REPO}/build/${BUILD}/logs`,
    `${REPO}/build/${BUILD}/logs?start=2`,
    `${REPO}/build/${BUILD}/logs?start=x`,
    `${REPO}/build/nosuchbuild/logs`,
    `/api/v1/repository/devtable/simple/build/${BUILD}`,
    `/api/v1/repository/devtable/simple/build/${BUILD}/status`,
    '/api/v1/repository/public/publicrepo/build/',
    '/api/v1/repository/nosuch/repo/build/',
    `${REPO}/trigger/`,
    `${REPO}/trigger/${TRIGGER}`,
    `/api/v1/repository/devtable/simple/trigger/${TRIGGER}`,
    `${REPO}/trigger/nosuchtrigger`,
    `${REPO}/trigger/${TRIGGER}/builds`,
    `${REPO}/trigger/${TRIGGER}/builds?limit=1`,
    `${REPO}/trigger/nosuchtrigger/builds`,
    `${REPO}/trigger/${TRIGGER}/namespaces`,
    `${REPO}/trigger/nosuchtrigger/namespaces`,
    `/api/v1/superuser/${BUILD}/build`,
    `/api/v1/superuser/${BUILD}/status`,
    `/api/v1/superuser/${BUILD}/logs`,
    `/api/v1/superuser/${BUILD}/logs/archive`,
    '/api/v1/superuser/nosuchbuild/build',
    '/api/v1/superuser/nosuchbuild/status',
    '/api/v1/superuser/nosuchbuild/logs',
    '/api/v1/superuser/nosuchbuild/logs/archive',
  ]);
});

t.test('archived build logs (log archive in storage)', async (tt) => {
  const PORK = 'deadpork-dead-pork-dead-porkdeadpork';
  await exec(`UPDATE repositorybuild SET logs_archived = ${pair.quay.database.startsWith('postgres') ? 'true' : '1'} WHERE uuid IN ('${PORK}', '${DUCK}')`);
  mkdirSync(join(pair.quay.storageDir, 'logarchive'), { recursive: true });
  writeFileSync(join(pair.quay.storageDir, 'logarchive', PORK), gzipSync(Buffer.from('{"logs": [{"message": "archived \\u00e9", "data": {"f": 1.0}}]}')));
  await same(tt, [
    `${REPO}/build/${PORK}/logs`,
    `${REPO}/build/${DUCK}/logs`,
    `/api/v1/superuser/${PORK}/logs`,
    `/api/v1/superuser/${PORK}/logs/archive`,
    `/api/v1/superuser/${DUCK}/logs/archive`,
  ]);
  const both = await pair.callBoth(`/api/v1/superuser/${PORK}/logs/archive`, 'devtable');
  tt.equal(both.python.status, 200);
  tt.equal(both.go.text, both.python.text, 'the archive, gunzipped, byte for byte');
});

t.test('builds with live status and log entries in Redis', async (tt) => {
  const redis = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const now = Date.now() / 1000;
  // Written as Python's builders write it (json.dumps): floats, including a whole one.
  await redis.set(`builds/${BUILD}/status`, `{"heartbeat": ${now}, "current_command": 2, "total_commands": 5, "push_completion": 0.5, "ratio": 1.0}`);
  await redis.set(`builds/${DUCK}/status`, JSON.stringify({ heartbeat: now - 3600 })); // a stale heartbeat: internalerror → expired
  for (const [i, m] of ['step 1', 'step 2', 'unicode é', 'done'].entries()) {
    await redis.rpush(`builds/${BUILD}/logs`, JSON.stringify({ message: m, type: 'command', data: { n: i, f: 1.5 } }));
  }
  await same(tt, [
    `${REPO}/build/`,
    `${REPO}/build/${BUILD}`,
    `${REPO}/build/${DUCK}/status`,
    `${REPO}/build/${BUILD}/logs`,
    `${REPO}/build/${BUILD}/logs?start=2`,
    `${REPO}/build/${BUILD}/logs?start=-1`,
    `${REPO}/trigger/${TRIGGER}/builds`,
    `/api/v1/superuser/${BUILD}/build`,
    `/api/v1/superuser/${DUCK}/status`,
    `/api/v1/superuser/${BUILD}/logs?start=1`,
  ]);

  // Redis gone: non-terminal builds are `cannot_load`, with Redis's error for a superuser.
  await redis.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
  redis.disconnect();
  // Python's client notices the closed connection on its first call ("Connection closed by server"); later ones connect anew.
  for (let i = 0; i < 3; i++) await pair.call('python', `${REPO}/build/${BUILD}`, 'devtable');
  await same(
    tt,
    [`${REPO}/build/`, `${REPO}/build/${BUILD}/status`, `${REPO}/build/${BUILD}/logs`, `/api/v1/superuser/${BUILD}/build`, `/api/v1/superuser/${BUILD}/logs`],
    ['devtable', 'reader', 'devtable-token', 'devtable-super'],
  );
});
