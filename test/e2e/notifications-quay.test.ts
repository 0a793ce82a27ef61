/**
 * notificationworker in mixed mode, with real Quay on PostgreSQL (initdb's
 * data): items queued by Quay's own spawn_notification are delivered by
 * `quay worker notificationworker`, and the same item delivered by Quay's
 * own NotificationWorker (its poll_queue, run in Quay's environment) reaches
 * the webhook receiver byte for byte the same. Then: in-app notifications,
 * a failing webhook (failure count and retry as Quay), ownership (python owns
 * it: ours claims nothing), an unreadable item (spent, the worker goes on),
 * and a worker killed with SIGKILL mid-delivery (the item is reclaimed after
 * its reservation and delivered once more, as at-least-once delivery does).
 *
 * Quay refuses webhooks to localhost and 127.0.0.1, so the receiver listens
 * on 127.0.0.2 (loopback too).
 */
import t from 'tap';
import http from 'node:http';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ROOT, freePort, run, startChild, tempDir, waitFor, type TLike } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';
import { startQuayPython } from '../lib/quay-python.js';

t.setTimeout(900_000);
await buildSwitchboard();

interface Received {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

/** A webhook receiver on 127.0.0.2: records every request; `/fail` answers 500, `/hang` never answers until released. */
async function receiver(t: TLike): Promise<{ url: string; got: Received[]; release(): void }> {
  const got: Received[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: Buffer.concat(chunks) });
      if (req.url === '/hang') hanging.push(res);
      else res.writeHead(req.url === '/fail' ? 500 : 200).end('ok');
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.2', r));
  t.teardown(() => {
    for (const r of hanging) r.destroy();
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.2:${port}`, got, release: () => hanging.splice(0).forEach((r) => r.writeHead(200).end('ok')) };
}

const quay = await startQuayPython(t, { database: 'postgres', start: false });
const hooks = await receiver(t);
const db = new pg.Client({ connectionString: quay.database });
await db.connect();
t.teardown(() => db.end());

// The TS worker reads Quay's own config.yaml, with the owner switch beside Quay's keys.
const dir = tempDir(t, 'notif-');
const configFor = (owner: 'go' | 'python'): string => {
  const file = join(dir, `config-${owner}.yaml`);
  copyFileSync(quay.configFile, file);
  writeFileSync(file, `${readFileSync(file, 'utf8')}\nMIGRATION:\n  WORKER_OWNER_NOTIFICATIONWORKER: ${owner}\n`);
  return file;
};
const GO = configFor('go');
const PYTHON = configFor('python');
const worker = (config: string, ...extra: string[]): string[] => [
  join(ROOT, 'bin/quay.js'),
  'worker',
  'notificationworker',
  '--mode',
  'standalone',
  '--config',
  config,
  '--data-dir',
  join(dir, 'data'),
  ...extra,
];
const once = async (config = GO): Promise<string> => {
  const r = await run(process.execPath, worker(config, '--once'), { cwd: ROOT, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`quay worker --once exited ${String(r.code)}:\n${r.stderr}`);
  return r.stderr;
};

const PY = `
import json, sys
from app import app, notification_queue
from data import model
`;
/** Quay's own code: a repository with notifications, and spawn_notification as a push calls it. */
const created = JSON.parse(
  (
    await quay.python(`${PY}
user = model.user.get_user("devtable")
repo = model.repository.create_repository("devtable", "hooked", user)
out = {}
for name, method, config in [
    ("ok", "webhook", {"url": "${hooks.url}/ok"}),
    ("inapp", "quay_notification", {"target": {"kind": "user", "name": "devtable"}}),
]:
    out[name] = model.notification.create_repo_notification(repo, "repo_push", method, config, {}).uuid
print(json.dumps(out))`)
  ).trim(),
) as { ok: string; inapp: string };

const SPAWN = `
from notifications import spawn_notification
from data.registry_model import registry_model
repo = registry_model.lookup_repository("devtable", "hooked")
spawn_notification(repo, "repo_push", {"updated_tags": ["latest", "t\\u00e9st"], "pushed_image_count": 2, "ratio": 0.1, "size": 3.0}, performer_data={"entity_id": 1, "entity_name": "devtable"})
`;

const queued = async (): Promise<{ id: number; body: string; retries_remaining: number; available: boolean }[]> =>
  (await db.query("SELECT id, body, retries_remaining, available FROM queueitem WHERE queue_name LIKE 'notification/%' ORDER BY id")).rows;
const failures = async (uuid: string): Promise<number> =>
  Number((await db.query('SELECT number_of_failures FROM repositorynotification WHERE uuid = $1', [uuid])).rows[0].number_of_failures);

t.test("an item Quay queued is delivered by ours; the same item delivered by Quay's worker is the same bytes", async (t) => {
  await quay.python(`${PY}${SPAWN}`);
  const items = await queued();
  t.equal(items.length, 2, 'Quay queued one item per notification');
  const bodies = items.map((i) => i.body);

  const before = Number((await db.query('SELECT count(*) AS n FROM notification n JOIN "user" u ON u.id = n.target_id WHERE u.username = \'devtable\'')).rows[0].n);
  const log1 = await once();
  t.same(await queued(), [], 'ours completed both', { log: log1 });
  t.equal(hooks.got.length, 1, 'one webhook delivery');
  const ours = hooks.got[0]!;
  const inApp = (
    await db.query(
      'SELECT n.metadata_json, k.name FROM notification n JOIN notificationkind k ON k.id = n.kind_id JOIN "user" u ON u.id = n.target_id WHERE u.username = \'devtable\' ORDER BY n.id DESC LIMIT 1',
    )
  ).rows[0];
  t.equal(
    Number((await db.query('SELECT count(*) AS n FROM notification n JOIN "user" u ON u.id = n.target_id WHERE u.username = \'devtable\'')).rows[0].n),
    before + 1,
    'an in-app notification for devtable',
  );
  t.equal(inApp.name, 'repo_push');

  // The same two bodies again, for Quay's own worker.
  await quay.python(`${PY}
for body in json.loads(sys.argv[1] if len(sys.argv) > 1 else ${JSON.stringify(JSON.stringify(bodies))}):
    notification_queue.put(["devtable", "hooked", "repo_push"], body)
from workers.notificationworker.notificationworker import NotificationWorker
NotificationWorker(notification_queue, poll_period_seconds=10, reservation_seconds=30, retry_after_seconds=30).poll_queue()`);
  t.same(await queued(), [], "Quay's worker completed both");
  t.equal(hooks.got.length, 2, "Quay's webhook delivery");
  const theirs = hooks.got[1]!;
  t.equal(ours.body.toString('latin1'), theirs.body.toString('latin1'), 'the webhook bodies are the same bytes');
  t.equal(ours.contentType, theirs.contentType, 'the same Content-Type');
  t.match(ours.body.toString(), /"ratio": 0\.1, "size": 3\.0/, "Python's serialisation (floats as Python writes them)");
  const quayInApp = (await db.query('SELECT n.metadata_json FROM notification n JOIN "user" u ON u.id = n.target_id WHERE u.username = \'devtable\' ORDER BY n.id DESC LIMIT 1'))
    .rows[0];
  t.equal(inApp.metadata_json, quayInApp.metadata_json, "the in-app notifications' metadata are the same text");
  t.equal(await failures(created.ok), 0);
});

t.test('a webhook answering 500: the failure is counted and the item retried after 30 s, as Quay', async (t) => {
  const uuid = (
    await quay.python(`${PY}
repo = model.repository.get_repository("devtable", "hooked")
print(model.notification.create_repo_notification(repo, "repo_push", "webhook", {"url": "${hooks.url}/fail"}, {}).uuid)`)
  ).trim();
  await db.query('DELETE FROM repositorynotification WHERE uuid <> $1 AND repository_id = (SELECT repository_id FROM repositorynotification WHERE uuid = $1)', [uuid]);
  await quay.python(`${PY}${SPAWN}`);
  const n = hooks.got.length;
  await once();
  t.equal(hooks.got.length, n + 1, 'delivered once, answered 500');
  t.equal(await failures(uuid), 1, 'number_of_failures 1');
  const [item] = await queued();
  t.ok(item, 'the item is back on the queue');
  t.equal(item!.retries_remaining, 4, 'one retry spent');
  t.equal(item!.available, true);
  const after = (await db.query('SELECT available_after > now() AT TIME ZONE $1 AS later FROM queueitem WHERE id = $2', ['UTC', item!.id])).rows[0].later;
  t.equal(after, true, 'not available again before its retry_after');
  await db.query("DELETE FROM queueitem WHERE queue_name LIKE 'notification/%'");
});

t.test('while python owns notificationworker ours claims nothing', async (t) => {
  await quay.python(`${PY}${SPAWN}`);
  const before = await queued();
  t.equal(before.length, 1);
  const log = await once(PYTHON);
  t.match(log, /owned by python/);
  t.same(await queued(), before, 'the item is untouched');
  await db.query("DELETE FROM queueitem WHERE queue_name LIKE 'notification/%'");
});

t.test('an unreadable item is spent with a log line, and the worker goes on to the next', async (t) => {
  await quay.python(`${PY}
notification_queue.put(["devtable", "hooked", "repo_push"], "{not json")`);
  await db.query("UPDATE repositorynotification SET config_json = $1 WHERE uuid IN (SELECT uuid FROM repositorynotification WHERE config_json LIKE '%/fail%')", [
    JSON.stringify({ url: `${hooks.url}/ok` }),
  ]);
  await quay.python(`${PY}${SPAWN}`);
  const n = hooks.got.length;
  const log = await once();
  t.match(log, /not a JSON object: marked failed/);
  t.equal(hooks.got.length, n + 1, 'the next item was delivered');
  const left = await queued();
  t.equal(left.length, 1, 'only the unreadable item is left');
  t.equal(left[0]!.retries_remaining, 0, 'spent: never claimed again');
  await db.query("DELETE FROM queueitem WHERE queue_name LIKE 'notification/%'");
});

t.test('a worker killed mid-delivery: the item is reclaimed after its 30 s reservation and delivered again', async (t) => {
  await db.query("UPDATE repositorynotification SET config_json = $1, number_of_failures = 0 WHERE config_json LIKE '%/ok%'", [JSON.stringify({ url: `${hooks.url}/hang` })]);
  await quay.python(`${PY}${SPAWN}`);
  const n = hooks.got.length;
  const first = startChild(t, process.execPath, worker(GO, '--admin-listen', `127.0.0.1:${await freePort()}`), { cwd: ROOT });
  t.ok(await waitFor(() => hooks.got.length > n, 60_000, 50), 'the delivery is in flight');
  first.child.kill('SIGKILL');
  await first.exited;
  const [held] = await queued();
  t.equal(held?.available, false, 'the killed worker still holds the item');
  hooks.release();
  // Back to a receiver that answers, and a new worker: it finds the item once the reservation has expired.
  await db.query("UPDATE repositorynotification SET config_json = $1 WHERE config_json LIKE '%/hang%'", [JSON.stringify({ url: `${hooks.url}/ok` })]);
  const second = startChild(t, process.execPath, worker(GO, '--admin-listen', `127.0.0.1:${await freePort()}`), { cwd: ROOT });
  t.ok(await waitFor(async () => (await queued()).length === 0, 90_000, 500), 'reclaimed and completed');
  t.equal(hooks.got.filter((g, i) => i > n && g.path === '/ok').length, 1, 'delivered once more');
  second.child.kill('SIGTERM');
  const exit = await second.exited;
  t.equal(exit.code, 0, 'SIGTERM: a clean exit');
});
